//! Search engines and link previews: the sitemap lists only public pages, robots.txt keeps
//! the private ones out, public pages carry a description, a canonical address, Open Graph
//! and Twitter tags and (a practice) JSON-LD that no title can break out of; every other
//! page is `noindex`; the preview images are real 1200×630 PNGs; favicon and manifest answer.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use brightspots::store::sql;
use http_body_util::BodyExt;
use scraper::{Html, Selector};
use tower::ServiceExt;

use crate::helpers::{Browser, TestApp};
use crate::review::{field, rubric, send, share, vet};

/// An anonymous GET read as bytes (images are not text).
async fn raw(app: &TestApp, path: &str) -> (StatusCode, HeaderMap, Bytes) {
    app.indexed().await;
    let response = brightspots::app(app.state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

fn base(app: &TestApp) -> String {
    app.state.settings.public_url()
}

/// The `content` of `<meta name|property=…>`, if the page has one.
fn meta(html: &str, key: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(&format!(r#"meta[name="{key}"], meta[property="{key}"]"#)).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|m| m.value().attr("content").map(str::to_string))
}

fn canonical(html: &str) -> Option<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(r#"link[rel="canonical"]"#).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|l| l.value().attr("href").map(str::to_string))
}

fn noindex(html: &str) -> bool {
    meta(html, "robots").is_some_and(|c| c.contains("noindex"))
}

/// The width and height in a PNG's IHDR, after checking its signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

async fn slug_of(app: &TestApp, title: &str) -> String {
    sql::query_scalar("select p.slug from practices p join practice_revisions r on r.practice_id = p.id where r.title = $1")
        .bind(title)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

/// A draft, a submitted, a returned and an archived practice, beside the seed's public ones;
/// returns their slugs.
async fn non_public_practices(app: &TestApp) -> Vec<String> {
    let mut rosa = Browser::local(app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut ada = Browser::local(app, "Ada Coach", "coach", "").await;
    for (title, action) in [
        ("Draft sitemap probe", "save"),
        ("Submitted sitemap probe", "submit"),
        ("Returned sitemap probe", "submit"),
    ] {
        let r = send(
            &mut rosa,
            "/share",
            &share(title, "Talk rose.", &[("action", action)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{title}: {}", r.body);
    }
    let returned = slug_of(app, "Returned sitemap probe").await;
    let revision = field(
        &ada.get(&format!("/review/{returned}")).await.body,
        "revision",
    );
    let r = ada
        .submit(
            &format!("/review/{returned}"),
            &rubric(&revision, "return", "Say how many classrooms tried it."),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let archived = "two-by-ten-conversations".to_string();
    let r = ada
        .submit(
            &format!("/review/{archived}/archive"),
            &[("comment", "Retired for the sitemap test.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    vec![
        slug_of(app, "Draft sitemap probe").await,
        slug_of(app, "Submitted sitemap probe").await,
        returned,
        archived,
    ]
}

#[tokio::test]
async fn the_sitemap_lists_every_public_page_and_nothing_else() {
    let app = TestApp::seeded().await;
    let hidden = non_public_practices(&app).await;
    let (status, headers, body) = raw(&app, "/sitemap.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = String::from_utf8(body.to_vec()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "urlset");
    assert_eq!(
        doc.root_element().tag_name().namespace(),
        Some("http://www.sitemaps.org/schemas/sitemap/0.9")
    );
    let urls: Vec<(String, Option<String>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("url"))
        .map(|u| {
            let child = |name: &str| {
                u.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .map(str::to_string)
            };
            (child("loc").unwrap(), child("lastmod"))
        })
        .collect();
    let base = base(&app);
    let paths: Vec<String> = urls
        .iter()
        .map(|(loc, _)| {
            loc.strip_prefix(&base)
                .unwrap_or_else(|| panic!("{loc} is not absolute on {base}"))
                .to_string()
        })
        .collect();
    for must in [
        "/",
        "/evidence",
        "/challenges",
        "/challenges/academic-discourse",
        "/teams/lincoln-es-step",
        "/schools/lincoln-es",
        "/districts/harbor-usd",
        "/practices/number-talks-sentence-frames",
    ] {
        assert!(paths.iter().any(|p| p == must), "{must} missing: {paths:?}");
    }
    // The seed's 16 vetted practices, less the one archived above.
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.starts_with("/practices/"))
            .count(),
        15,
        "{paths:?}"
    );
    for slug in &hidden {
        assert!(
            !paths.iter().any(|p| p.contains(slug.as_str())),
            "{slug} is not public"
        );
    }
    for private in [
        "/review", "/plc", "/me", "/share", "/admin", "/search", "/signin", "/api/",
    ] {
        assert!(
            !paths.iter().any(|p| p.starts_with(private)),
            "{private} in {paths:?}"
        );
    }
    let (_, lastmod) = &urls[paths
        .iter()
        .position(|p| p == "/practices/number-talks-sentence-frames")
        .unwrap()];
    assert_eq!(lastmod.as_deref(), Some("2025-06-12"));
    // Every address is a page anyone may read, and says so.
    for path in &paths {
        let (status, html) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!noindex(&html), "{path} is noindex but in the sitemap");
        assert_eq!(
            canonical(&html).as_deref(),
            Some(format!("{base}{path}").as_str())
        );
    }
    // There is no numbered file while everything fits in one.
    assert_eq!(raw(&app, "/sitemap-1.xml").await.0, StatusCode::NOT_FOUND);
    assert_eq!(raw(&app, "/sitemap-x.xml").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn robots_txt_keeps_private_and_search_pages_out_and_names_the_sitemap() {
    let app = TestApp::empty().await;
    let (status, text) = app.get("/robots.txt").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.starts_with("User-agent: *\n"), "{text}");
    for path in [
        "/signin", "/auth/", "/review", "/plc", "/me", "/share", "/search?", "/api/", "/admin",
    ] {
        assert!(
            text.lines().any(|l| l == format!("Disallow: {path}")),
            "{path}: {text}"
        );
    }
    assert!(
        !text
            .lines()
            .any(|l| l == "Disallow: /" || l == "Disallow: /practices/")
    );
    assert!(
        text.contains(&format!("\nSitemap: {}/sitemap.xml\n", base(&app))),
        "{text}"
    );
}

#[tokio::test]
async fn a_practice_page_is_described_previewed_and_indexed() {
    let app = TestApp::seeded().await;
    let slug = "number-talks-sentence-frames";
    let page = app.state.db.practice_page(slug).await.unwrap().unwrap();
    let p = &page.practice;
    let html = app.page(&format!("/practices/{slug}")).await;
    let base = base(&app);
    let url = format!("{base}/practices/{slug}");
    let description = brightspots::web::seo::describe(&p.summary);
    assert!(p.summary.starts_with(description.trim_end_matches('…')));
    assert!(description.chars().count() <= 160);
    assert_eq!(
        meta(&html, "description").as_deref(),
        Some(description.as_str())
    );
    assert_eq!(canonical(&html).as_deref(), Some(url.as_str()));
    assert!(!noindex(&html), "a public practice is indexed");
    assert_eq!(meta(&html, "og:title").as_deref(), Some(p.title.as_str()));
    assert_eq!(
        meta(&html, "og:description").as_deref(),
        Some(description.as_str())
    );
    assert_eq!(meta(&html, "og:type").as_deref(), Some("article"));
    assert_eq!(meta(&html, "og:url").as_deref(), Some(url.as_str()));
    assert_eq!(
        meta(&html, "og:site_name").as_deref(),
        Some(app.state.settings.network_name.as_str())
    );
    assert_eq!(meta(&html, "og:image:width").as_deref(), Some("1200"));
    assert_eq!(meta(&html, "og:image:height").as_deref(), Some("630"));
    let alt = meta(&html, "og:image:alt").unwrap();
    assert!(
        alt.contains(&p.title) && alt.contains("Academic discourse"),
        "{alt}"
    );
    assert_eq!(
        meta(&html, "twitter:card").as_deref(),
        Some("summary_large_image")
    );
    assert_eq!(
        meta(&html, "twitter:title").as_deref(),
        Some(p.title.as_str())
    );

    // The image is a real 1200×630 PNG, kept for good at an address that moves with it.
    let image = meta(&html, "og:image").unwrap();
    assert_eq!(meta(&html, "twitter:image").as_ref(), Some(&image));
    let path = image.strip_prefix(&base).expect("absolute");
    assert!(
        path.starts_with(&format!("/practices/{slug}/preview-{}-", p.revision_number)),
        "{path}"
    );
    let (status, headers, png) = raw(&app, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(png_size(&png), (1200, 630));
    // Again: the same bytes (kept, not drawn again differently).
    assert_eq!(raw(&app, path).await.2, png);

    // An old or made-up tag of a public practice leads to today's picture; anything else
    // that is not a public practice's preview is a 404, never a 500.
    let (status, headers, _) = raw(&app, &format!("/practices/{slug}/preview-0-000000.png")).await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(headers["location"], path);
    for missing in [
        "/practices/nope/preview-1.png".to_string(),
        format!("/practices/{slug}/preview-1.gif"),
        format!("/practices/{slug}/picture.png"),
        format!("/practices/{slug}/preview-.png"),
    ] {
        assert_eq!(
            raw(&app, &missing).await.0,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }

    // schema.org data: a LearningResource by the team, of the school, of the district.
    let doc = Html::parse_document(&html);
    let sel = Selector::parse(r#"script[type="application/ld+json"]"#).unwrap();
    let scripts: Vec<_> = doc.select(&sel).collect();
    assert_eq!(scripts.len(), 1);
    let ld: serde_json::Value = serde_json::from_str(&scripts[0].inner_html()).unwrap();
    assert_eq!(ld["@context"], "https://schema.org");
    assert_eq!(ld["@type"], "LearningResource");
    assert_eq!(ld["name"], p.title.as_str());
    assert_eq!(ld["description"], p.summary.as_str());
    assert_eq!(ld["url"], url.as_str());
    assert_eq!(ld["dateModified"], "2025-06-12");
    assert_eq!(
        ld["license"],
        "https://creativecommons.org/licenses/by/4.0/"
    );
    assert_eq!(ld["author"]["name"], p.team_name.as_str());
    assert_eq!(ld["author"]["url"], format!("{base}/teams/lincoln-es-step"));
    assert_eq!(
        ld["author"]["parentOrganization"]["url"],
        format!("{base}/schools/lincoln-es")
    );
    assert_eq!(ld["about"][0]["name"], "Academic discourse");
    assert_eq!(ld["educationalLevel"], "3–5");
}

#[tokio::test]
async fn a_hostile_title_cannot_break_out_of_the_json_ld() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let title = "</script><script>alert(1)</script><!-- x";
    let mut fields = share(title, "Talk rose.", &[("action", "submit")]);
    fields.retain(|(k, _)| k != "summary");
    fields.push((
        "summary".into(),
        "Ends the data </SCRIPT > <!-- <script> early?".into(),
    ));
    let r = send(&mut rosa, "/share", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let slug = slug_of(&app, title).await;
    vet(&mut ada, &slug).await;

    let html = app.page(&format!("/practices/{slug}")).await;
    let doc = Html::parse_document(&html);
    // The only script element is the data block, and it holds all of the title.
    let scripts: Vec<_> = doc.select(&Selector::parse("script").unwrap()).collect();
    assert_eq!(scripts.len(), 1, "{html}");
    assert_eq!(scripts[0].value().attr("type"), Some("application/ld+json"));
    let ld: serde_json::Value = serde_json::from_str(&scripts[0].inner_html()).unwrap();
    assert_eq!(ld["name"], title);
    assert_eq!(
        ld["description"],
        "Ends the data </SCRIPT > <!-- <script> early?"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    // The head's attributes hold it escaped, whole.
    assert_eq!(meta(&html, "og:title").as_deref(), Some(title));
    // And its preview draws it.
    let image = meta(&html, "og:image").unwrap();
    let (status, _, png) = raw(&app, image.strip_prefix(&base(&app)).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(png_size(&png), (1200, 630));
}

#[tokio::test]
async fn pages_that_are_not_public_are_noindex() {
    let app = TestApp::seeded().await;
    for path in [
        "/signin",
        "/search?q=x",
        "/search?grade=9-12",
        "/search?page=2",
        "/practices/nope",
        "/like-mine",
    ] {
        let (_, html) = app.get(path).await;
        assert!(noindex(&html), "{path} must be noindex");
        assert!(canonical(&html).is_none(), "{path} has no canonical");
    }
    let (status, html) = app.get("/practices/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(noindex(&html));
    // The catalog itself, with nothing asked, is a page like the others.
    let (_, html) = app.get("/search").await;
    assert!(!noindex(&html), "/search with nothing asked is the catalog");
    assert_eq!(
        canonical(&html).as_deref(),
        Some(format!("{}/search", app.state.settings.public_url()).as_str())
    );
    // A search is still described, for a link pasted to a colleague.
    let html = app.get("/search?q=talk").await.1;
    assert!(meta(&html, "description").unwrap().contains("talk"));
    // Signed-in pages.
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    for path in ["/me", "/share"] {
        let r = rosa.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(noindex(&r.body), "{path} must be noindex");
    }
    // An archived practice's page stays for its history, out of indexes and previews.
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let r = ada
        .submit(
            "/review/two-by-ten-conversations/archive",
            &[("comment", "Retired.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (status, html) = app.get("/practices/two-by-ten-conversations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(noindex(&html) && meta(&html, "og:image").is_none());
    let (status, _, _) = raw(&app, "/practices/two-by-ten-conversations/preview-1-0.png").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The public reading pages are indexed, each with its own description.
    let mut seen = std::collections::HashSet::new();
    for path in [
        "/",
        "/evidence",
        "/challenges",
        "/challenges/academic-discourse",
        "/teams/lincoln-es-step",
        "/schools/lincoln-es",
        "/districts/harbor-usd",
    ] {
        let html = app.page(path).await;
        assert!(!noindex(&html), "{path}");
        let d = meta(&html, "description").unwrap();
        assert!(d.len() > 40 && d.chars().count() <= 160, "{path}: {d}");
        assert!(seen.insert(d), "{path} shares its description");
        assert_eq!(
            meta(&html, "twitter:card").as_deref(),
            Some("summary_large_image")
        );
    }
}

#[tokio::test]
async fn the_network_preview_favicon_and_manifest_answer() {
    let app = TestApp::seeded().await;
    let html = app.page("/").await;
    let image = meta(&html, "og:image").unwrap();
    let (status, headers, png) = raw(&app, image.strip_prefix(&base(&app)).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(png_size(&png), (1200, 630));
    let (status, headers, _) = raw(&app, "/preview-000.png").await;
    assert!(status.is_redirection(), "{status}");
    assert_eq!(
        headers["location"],
        image.strip_prefix(&base(&app)).unwrap()
    );
    assert_eq!(raw(&app, "/nothing-here").await.0, StatusCode::NOT_FOUND);

    let (status, headers, ico) = raw(&app, "/favicon.ico").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/x-icon");
    assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0], "an ICO with one image");
    assert_eq!(png_size(&ico[22..]), (32, 32));

    let doc = Html::parse_document(&html);
    let links = |rel: &str| -> Vec<String> {
        doc.select(&Selector::parse(&format!(r#"link[rel="{rel}"]"#)).unwrap())
            .filter_map(|l| l.value().attr("href").map(str::to_string))
            .collect()
    };
    let icons = links("icon");
    assert!(icons.iter().any(|h| h == "/favicon.ico"), "{icons:?}");
    let svg = icons.iter().find(|h| h.ends_with(".svg")).unwrap();
    let (status, headers, body) = raw(&app, svg).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(body.starts_with(b"<svg"));

    assert_eq!(links("manifest"), ["/manifest.webmanifest"]);
    let (status, headers, body) = raw(&app, "/manifest.webmanifest").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/manifest+json");
    let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["name"], app.state.settings.network_name.as_str());
    assert_eq!(manifest["start_url"], "/");
    assert_eq!(manifest["theme_color"], "#123c63");
    assert_eq!(manifest["background_color"], "#ffffff");
    for icon in manifest["icons"].as_array().unwrap() {
        let (status, _, body) = raw(&app, icon["src"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{icon}");
        if icon["type"] == "image/png" {
            let size: u32 = icon["sizes"]
                .as_str()
                .unwrap()
                .split('x')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(png_size(&body), (size, size));
        }
    }
}

//! Images in practices: only from the hub and the `image_hosts` setting (any other becomes a
//! link, and the Content-Security-Policy refuses it), and the images and handouts a team
//! uploads, stored in the database and served by the hub itself.

use axum::http::StatusCode;
use brightspots::AppState;
use brightspots::store::sql;

use crate::helpers::{Browser, Resp, TestApp};
use crate::publish::practice_form;

const DISTRICT: &str = "images.district.org";

/// A draft by the Bayview team whose first section is `what_it_is`; returns its slug.
async fn draft(b: &mut Browser<'_>, title: &str, what_it_is: &str) -> String {
    let mut form = practice_form(title, "28", "Talk rose from 41% to 78% of students.");
    for (k, v) in form.iter_mut() {
        if *k == "s-what-it-is" {
            *v = what_it_is;
        }
    }
    form.push(("action", "save"));
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let location = r.location.unwrap();
    location
        .strip_prefix("/practices/")
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string()
}

/// The `img-src` directive of a response's Content-Security-Policy.
fn img_src(r: &Resp) -> String {
    let csp = r
        .headers
        .get("content-security-policy")
        .expect("a CSP")
        .to_str()
        .unwrap();
    csp.split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("img-src "))
        .expect("an img-src directive")
        .to_string()
}

const MIXED: &str = "Our tally: ![Tally chart](/files/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/tally.png)\n\n\
    Logo: ![District logo](https://images.district.org/logo.png)\n\n\
    Pixel: ![Opened](https://tracker.example/p.gif)\n\n\
    Embedded: ![Dot](data:image/png;base64,iVBORw0KGgo=)\n\n\
    Raw: <img src=\"https://tracker.example/raw.gif\" alt=\"raw\">";

#[tokio::test]
async fn images_from_elsewhere_become_links_and_only_the_hub_and_listed_hosts_load() {
    let app = TestApp::seeded_with(|s| s.image_hosts = vec![DISTRICT.into()]).await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let slug = draft(&mut b, "Tally and talk", MIXED).await;
    let preview = b.get(&format!("/practices/{slug}/preview")).await;
    assert_eq!(preview.status, StatusCode::OK);
    let page = &preview.body;
    assert!(
        page.contains("<img src=\"/files/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef/tally.png\" alt=\"Tally chart\""),
        "the hub's own image stays an image"
    );
    assert!(
        page.contains("<img src=\"https://images.district.org/logo.png\" alt=\"District logo\""),
        "an image from a listed host stays an image"
    );
    assert!(
        page.contains("href=\"https://tracker.example/p.gif\"")
            && page.contains("Image: Opened (tracker.example)</a>"),
        "another host's image is a link with its alt text"
    );
    assert!(page.contains("[Image not shown: Dot (embedded in the text)]"));
    // Nothing on the page makes the browser load from the tracker, or embeds an image.
    let doc = scraper::Html::parse_document(page);
    let srcs: Vec<String> = doc
        .select(&scraper::Selector::parse("img").unwrap())
        .filter_map(|i| i.value().attr("src").map(String::from))
        .collect();
    assert_eq!(srcs.len(), 2, "{srcs:?}");
    assert!(!page.contains("data:image"));

    // The policy the browser enforces matches: the hub and the listed host, nothing else.
    assert_eq!(img_src(&preview), format!("'self' https://{DISTRICT}"));
    let public = b.get("/practices/attendance-welcome-calls").await;
    assert_eq!(public.status, StatusCode::OK);
    assert_eq!(img_src(&public), format!("'self' https://{DISTRICT}"));
}

#[tokio::test]
async fn by_default_images_come_from_the_hub_alone() {
    let app = TestApp::seeded().await;
    let mut b = Browser::new(&app);
    for path in ["/", "/practices/attendance-welcome-calls", "/search?q=talk"] {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(
            img_src(&r),
            "'self'",
            "{path}: no https: wildcard, no data:"
        );
    }
}

/// Stored HTML was rendered under the old `image_hosts`: after a restart with new ones, the
/// revisions with images are rendered again, once for the database.
#[tokio::test]
async fn changing_image_hosts_renders_stored_revisions_again() {
    let mut app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let slug = draft(&mut b, "Logo talk", MIXED).await;
    let preview = format!("/practices/{slug}/preview");
    let before = b.get(&preview).await.body;
    assert!(before.contains("Image: District logo (images.district.org)</a>"));
    drop(b);

    app.state.shutdown().await;
    let mut settings = (*app.state.settings).clone();
    settings.image_hosts = vec![DISTRICT.into()];
    app.state = AppState::start(app.state.db.clone(), settings).unwrap();
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = b.get(&preview).await.body;
        if page.contains("<img src=\"https://images.district.org/logo.png\"") {
            assert!(page.contains("Image: Opened (tracker.example)</a>"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not rendered again: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Recorded in the database: no instance renders again under the same policy.
    assert_eq!(app.state.db.apply_image_policy().await.unwrap(), None);
    let recorded: String =
        sql::query_scalar("select value from hub_keys where name = 'image_policy'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert!(recorded.contains(DISTRICT), "{recorded}");
}

#[tokio::test]
async fn image_hosts_must_be_bare_https_host_names() {
    let dir = tempfile::tempdir().unwrap();
    for (value, expect) in [
        ("[\"https://images.district.org\"]", "without a scheme"),
        ("[\"images.district.org/x\"]", "not a host name"),
        ("[\"*.district.org\"]", "not a host name"),
    ] {
        let path = dir.path().join("brightspots.toml");
        std::fs::write(&path, format!("image_hosts = {value}\n")).unwrap();
        let e = brightspots::config::Settings::load(&brightspots::config::Overrides {
            config: Some(path),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("image_hosts") && e.contains(expect),
            "{value}: {e}"
        );
    }
}

/// A PNG as far as the first bytes go (all the hub looks at), `n` bytes long.
pub(crate) fn png(n: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    b.resize(n.max(b.len()), 7);
    b
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

/// An upload form as a browser sends it: the token, then the file, then its description.
fn form(csrf: Option<&str>, file: Option<(&str, &[u8])>, description: &str) -> (String, Vec<u8>) {
    let boundary = "----BrightSpotsTestBoundary7MA4YWxk";
    let mut body = Vec::new();
    let mut field = |head: String, data: &[u8]| {
        body.extend_from_slice(format!("--{boundary}\r\n{head}\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    };
    if let Some(token) = csrf {
        field(
            "Content-Disposition: form-data; name=\"csrf\"".into(),
            token.as_bytes(),
        );
    }
    let (name, data) = file.unwrap_or(("", b""));
    field(
        format!(
            "Content-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: image/png"
        ),
        data,
    );
    field(
        "Content-Disposition: form-data; name=\"description\"".into(),
        description.as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn upload(
    b: &mut Browser<'_>,
    slug: &str,
    csrf: Option<&str>,
    file: Option<(&str, &[u8])>,
    description: &str,
) -> Resp {
    let (content_type, body) = form(csrf, file, description);
    b.send(
        "POST",
        &format!("/practices/{slug}/files"),
        Some((&content_type, body)),
    )
    .await
}

async fn stored_files(app: &TestApp) -> i64 {
    sql::query_scalar("select count(*) from files")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

fn header<'r>(r: &'r Resp, name: &str) -> &'r str {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_team_uploads_an_image_and_a_handout_and_the_hub_serves_them() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let slug = draft(
        &mut b,
        "Tally charts",
        "We keep a tally chart of who spoke.",
    )
    .await;
    let token = b.csrf().await;
    let image = png(3000);
    let r = upload(
        &mut b,
        &slug,
        Some(&token),
        Some(("Exit slip (week 3).png", &image)),
        "Tally of [exit] slips",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sha = brightspots::store::files::sha256_hex(&image);
    let location = r.location.unwrap();
    assert!(
        location.starts_with(&format!("/practices/{slug}/edit?file={sha}")),
        "{location}"
    );
    let edit = b.get(&location).await;
    assert_eq!(edit.status, StatusCode::OK);
    let url = format!("/files/{sha}/Exit-slip-week-3.png");
    assert!(
        edit.body
            .contains(&format!("value=\"![Tally of \\[exit\\] slips]({url})\"")),
        "the Markdown to paste: {}",
        edit.body
    );
    assert!(
        edit.body
            .contains(&format!("<a href=\"{url}\">Exit-slip-week-3.png</a>"))
    );

    // Served from the hub to anyone, as an image and nothing else.
    let mut reader = Browser::new(&app);
    let got = reader.get(&url).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.bytes, image);
    assert_eq!(header(&got, "content-type"), "image/png");
    assert_eq!(header(&got, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&got, "content-disposition"),
        "inline; filename=\"Exit-slip-week-3.png\""
    );
    assert!(header(&got, "cache-control").contains("immutable"));
    assert!(header(&got, "content-security-policy").contains("sandbox"));
    assert!(header(&got, "content-security-policy").contains("default-src 'none'"));
    // Another address is not another file.
    let missing = reader
        .get(&format!("/files/{}/x.png", "0".repeat(64)))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reader.get("/files/not-a-hash/x.png").await.status,
        StatusCode::NOT_FOUND
    );

    // A handout is downloaded, whatever name it came with.
    let r = upload(&mut b, &slug, Some(&token), Some(("plan.png", PDF)), "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let pdf_sha = brightspots::store::files::sha256_hex(PDF);
    let edit = b.get(&r.location.unwrap()).await.body;
    assert!(
        edit.contains(&format!("value=\"[plan](/files/{pdf_sha}/plan.pdf)\"")),
        "{edit}"
    );
    let got = reader.get(&format!("/files/{pdf_sha}/plan.pdf")).await;
    assert_eq!(header(&got, "content-type"), "application/pdf");
    assert_eq!(
        header(&got, "content-disposition"),
        "attachment; filename=\"plan.pdf\""
    );

    // The same image again is stored once; both files are listed on the edit page.
    upload(&mut b, &slug, Some(&token), Some(("again.png", &image)), "").await;
    assert_eq!(stored_files(&app).await, 2);

    // Pasted into the practice, the hub's image is an image in the preview.
    let markdown = format!("Our tally: ![Tally]({url})");
    let slug2 = draft(&mut b, "Tally charts again", &markdown).await;
    let preview = b.get(&format!("/practices/{slug2}/preview")).await.body;
    assert!(preview.contains(&format!("<img src=\"{url}\" alt=\"Tally\"")));

    // Another instance on the same database serves the same bytes.
    let other = app.second_instance().await;
    let mut there = Browser::new(&other);
    assert_eq!(there.get(&url).await.bytes, image);
}

#[tokio::test]
async fn uploads_are_refused_with_a_reason_and_nothing_is_stored() {
    let app = TestApp::seeded_with(|s| s.max_upload_bytes = 10_000).await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let slug = draft(&mut b, "Refusals", "Nothing to see.").await;
    let token = b.csrf().await;
    let image = png(500);

    // Not signed in.
    let mut anonymous = Browser::new(&app);
    let r = upload(&mut anonymous, &slug, None, Some(("a.png", &image)), "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("sign in"), "{}", r.body);

    // Signed in, but the form did not come from the hub's page.
    let r = upload(&mut b, &slug, None, Some(("a.png", &image)), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = upload(&mut b, &slug, Some("forged"), Some(("a.png", &image)), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Another team's member, with a good token.
    let mut other = Browser::local(&app, "Ana Ortiz", "member", "lincoln-es-step").await;
    let other_token = other.csrf().await;
    let r = upload(
        &mut other,
        &slug,
        Some(&other_token),
        Some(("a.png", &image)),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("Only members of the team"), "{}", r.body);

    // Content that is not what the name says, or that could run as a page.
    for (name, content) in [
        (
            "chart.png",
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"[..],
        ),
        (
            "chart.svg",
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        ),
        (
            "photo.png",
            b"<html><script>alert(document.cookie)</script></html>",
        ),
    ] {
        let r = upload(&mut b, &slug, Some(&token), Some((name, content)), "").await;
        assert_eq!(
            r.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name}: {}",
            r.body
        );
        assert!(r.body.contains("SVG images are not accepted"), "{}", r.body);
        assert!(
            r.body.contains("id=\"files\""),
            "the edit page, with the problem"
        );
    }

    // No file chosen.
    let r = upload(&mut b, &slug, Some(&token), None, "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("No file was chosen"), "{}", r.body);

    // Above the limit: told on the edit page, or, far above, before the body is read.
    let r = upload(
        &mut b,
        &slug,
        Some(&token),
        Some(("big.png", &png(20_000))),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(
        r.body.contains("limit of 10 KB, so it was not uploaded"),
        "{}",
        r.body
    );
    let r = upload(
        &mut b,
        &slug,
        Some(&token),
        Some(("huge.png", &png(200_000))),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(
        r.body.contains("limit of 10 KB, so it was not uploaded"),
        "{}",
        r.body
    );

    assert_eq!(stored_files(&app).await, 0);
    let practice_files: i64 = sql::query_scalar("select count(*) from practice_files")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(practice_files, 0);

    // The limit is a limit, not a guess: a file just under it is taken.
    let r = upload(
        &mut b,
        &slug,
        Some(&token),
        Some(("ok.png", &png(10_000))),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(stored_files(&app).await, 1);
}

#[tokio::test]
async fn uploaded_files_round_trip_through_export_and_import() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let slug = draft(&mut b, "Frames poster", "A poster of sentence frames.").await;
    let token = b.csrf().await;
    let image = png(1200);
    let r = upload(
        &mut b,
        &slug,
        Some(&token),
        Some(("poster.png", &image)),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let sha = brightspots::store::files::sha256_hex(&image);

    let dir = tempfile::tempdir().unwrap();
    let catalog = brightspots::store::export_catalog(&app.state.db)
        .await
        .unwrap();
    brightspots::content::write_dir(dir.path(), &catalog).unwrap();
    let path = dir.path().join(format!("files/{slug}/{sha}-poster.png"));
    assert_eq!(std::fs::read(&path).unwrap(), image);

    let fresh = TestApp::empty().await;
    let loaded =
        brightspots::content::load_dir(dir.path(), fresh.state.settings.min_cell()).unwrap();
    brightspots::store::import_catalog(&fresh.state.db, &loaded)
        .await
        .unwrap();
    let mut reader = Browser::new(&fresh);
    let got = reader.get(&format!("/files/{sha}/poster.png")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.bytes, image);
    // And back out again, unchanged.
    let again = brightspots::store::export_catalog(&fresh.state.db)
        .await
        .unwrap();
    assert_eq!(again.files, catalog.files);

    // A file whose content is not what its name says is refused by check and import.
    std::fs::write(&path, png(1300)).unwrap();
    let errors =
        brightspots::content::load_dir(dir.path(), fresh.state.settings.min_cell()).unwrap_err();
    assert!(
        errors.iter().any(
            |e| e.file.contains(&format!("files/{slug}/{sha}-poster.png"))
                && e.message.contains("SHA-256")
        ),
        "{errors:?}"
    );
}

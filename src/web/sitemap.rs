//! `/robots.txt` and `/sitemap.xml`: what search engines may crawl, and every public page.
//!
//! The sitemap lists only pages anyone may read: home, the evidence guide, the challenge
//! areas, every district, school and team, and every public practice (vetted, not archived).
//! Never a search, a form, a signed-in page or a practice that is not public. The protocol
//! allows 50,000 addresses to a file: past that, `/sitemap.xml` is an index of
//! `/sitemap-1.xml`, `/sitemap-2.xml`, … (at the root, since a sitemap may only list
//! addresses below its own directory).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::{AppError, AppResult};

/// Addresses in one sitemap file at most (the protocol's limit).
pub const URLS_PER_SITEMAP: usize = 50_000;

const XML: &str = "application/xml; charset=utf-8";

/// Crawlers come back daily at most; an hour keeps a burst of them off the database.
const CACHE_CONTROL: &str = "public, max-age=3600";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/robots.txt", get(robots))
        .route("/sitemap.xml", get(sitemap))
        // The numbered sitemaps and the network's preview image sit at the root, where a
        // route cannot capture part of a name: this one takes any other single-segment
        // path (static routes still win) and answers what it does not know with a 404,
        // whatever the method, as the fallback would.
        .route(
            "/{file}",
            get(root_file).fallback(|| async { AppError::NotFound }),
        )
}

/// The paths search engines are asked to leave alone: signing in, every signed-in area,
/// searches (results pages are endless and thin: `/search?`, while `/search` itself, the
/// whole catalog, is a page like the others), the API, and forms. A practice's preview
/// image stays allowed (link-preview crawlers read robots.txt too).
const DISALLOWED: &[&str] = &[
    "/signin",
    "/signout",
    "/auth/",
    "/review",
    "/plc",
    "/me",
    "/share",
    "/admin",
    "/search?",
    "/like-mine",
    "/api/",
    "/unsubscribe",
    "/practices/*/edit",
    "/practices/*/preview$",
    "/practices/*/adopt",
    "/practices/*/history",
    "/practices/*/questions",
];

async fn robots(State(state): State<AppState>) -> Response {
    let mut text = String::from("User-agent: *\n");
    for path in DISALLOWED {
        text.push_str(&format!("Disallow: {path}\n"));
    }
    text.push_str(&format!(
        "\nSitemap: {}/sitemap.xml\n",
        state.settings.public_url()
    ));
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE_CONTROL),
        ],
        text,
    )
        .into_response()
}

async fn sitemap(State(state): State<AppState>) -> AppResult<Response> {
    serve(&state, None).await
}

async fn root_file(State(state): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    if let Some(image) = super::previews::site_image(&state, &file).await {
        return image;
    }
    let number = file
        .strip_prefix("sitemap-")
        .and_then(|f| f.strip_suffix(".xml"))
        .filter(|n| !n.starts_with('0'))
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or(AppError::NotFound)?;
    serve(&state, Some(number)).await
}

/// `/sitemap.xml` (`None`) or `/sitemap-{n}.xml`, kept until the catalog changes.
async fn serve(state: &AppState, number: Option<usize>) -> AppResult<Response> {
    let key = match number {
        None => "/sitemap.xml".to_string(),
        Some(n) => format!("/sitemap-{n}.xml"),
    };
    let generation = state.search.generation();
    let body = match state.pages.get(generation, &key) {
        Some((_, body)) => body,
        None => {
            let entries = entries(state).await?;
            let body = document(
                &state.settings.public_url(),
                &entries,
                URLS_PER_SITEMAP,
                number,
            )
            .ok_or(AppError::NotFound)?;
            let body = Bytes::from(body);
            state
                .pages
                .put(generation, key, HeaderMap::new(), body.clone());
            body
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(XML));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    Ok((headers, body).into_response())
}

/// One public page: its path and the day it last changed, when the hub knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub path: String,
    pub lastmod: Option<String>,
}

/// Every public page, in a stable order.
async fn entries(state: &AppState) -> AppResult<Vec<Entry>> {
    let practices = state.db.sitemap_practices().await?;
    // A place's page changes when one of its practices is vetted: its newest vetting.
    let mut newest: HashMap<String, String> = HashMap::new();
    let mut note = |key: String, day: &Option<String>| {
        if let Some(day) = day {
            let at = newest.entry(key).or_default();
            if *at < *day {
                *at = day.clone();
            }
        }
    };
    for p in &practices {
        note(format!("/teams/{}", p.team_slug), &p.vetted_on);
        note(format!("/schools/{}", p.school_slug), &p.vetted_on);
        note(format!("/districts/{}", p.district_slug), &p.vetted_on);
        note("/".into(), &p.vetted_on);
    }
    for (slug, day) in state.db.sitemap_area_days().await? {
        note(format!("/challenges/{slug}"), &day);
    }
    let home = newest.get("/").cloned();
    let page = |path: String| Entry {
        lastmod: newest.get(&path).cloned(),
        path,
    };
    let mut out = vec![
        page("/".into()),
        Entry {
            path: "/challenges".into(),
            lastmod: home,
        },
        // The guide changes with the hub's code, not with the catalog.
        Entry {
            path: "/evidence".into(),
            lastmod: None,
        },
    ];
    out.extend(
        state
            .db
            .areas()
            .await?
            .into_iter()
            .map(|a| page(format!("/challenges/{}", a.slug))),
    );
    // Every district, school and team has a public page, with or without practices yet.
    let mut seen = std::collections::HashSet::new();
    for row in state.db.directory().await? {
        let paths = [
            Some(format!("/districts/{}", row.district_slug)),
            row.school_slug.map(|s| format!("/schools/{s}")),
            row.team_slug.map(|t| format!("/teams/{t}")),
        ];
        for path in paths.into_iter().flatten() {
            if seen.insert(path.clone()) {
                out.push(page(path));
            }
        }
    }
    out.extend(practices.into_iter().map(|p| Entry {
        path: format!("/practices/{}", p.slug),
        lastmod: p.vetted_on,
    }));
    Ok(out)
}

/// The sitemap document asked for, `per_file` addresses to a file: with no number, the one
/// sitemap (everything fits) or the index of the numbered ones; with a number, that file
/// (`None` when there is no such file).
pub fn document(
    base: &str,
    entries: &[Entry],
    per_file: usize,
    number: Option<usize>,
) -> Option<String> {
    let files: Vec<&[Entry]> = entries.chunks(per_file.max(1)).collect();
    match number {
        None if files.len() <= 1 => Some(urlset(base, entries)),
        None => Some(index(base, &files)),
        Some(n) if files.len() > 1 && (1..=files.len()).contains(&n) => {
            Some(urlset(base, files[n - 1]))
        }
        Some(_) => None,
    }
}

fn urlset(base: &str, entries: &[Entry]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for e in entries {
        xml.push_str(&format!(
            "<url><loc>{}</loc>",
            escape(&format!("{base}{}", e.path))
        ));
        if let Some(day) = &e.lastmod {
            xml.push_str(&format!("<lastmod>{}</lastmod>", escape(day)));
        }
        xml.push_str("</url>\n");
    }
    xml.push_str("</urlset>\n");
    xml
}

fn index(base: &str, files: &[&[Entry]]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (i, file) in files.iter().enumerate() {
        let loc = escape(&format!("{base}/sitemap-{}.xml", i + 1));
        xml.push_str(&format!("<sitemap><loc>{loc}</loc>"));
        if let Some(day) = file.iter().filter_map(|e| e.lastmod.as_ref()).max() {
            xml.push_str(&format!("<lastmod>{}</lastmod>", escape(day)));
        }
        xml.push_str("</sitemap>\n");
    }
    xml.push_str("</sitemapindex>\n");
    xml
}

/// Text for an XML element (the sitemap protocol asks for entity-escaped addresses).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize) -> Vec<Entry> {
        (0..n)
            .map(|i| Entry {
                path: format!("/practices/p{i}"),
                lastmod: Some(format!("2025-06-{:02}", i % 28 + 1)),
            })
            .collect()
    }

    #[test]
    fn one_file_holds_everything_up_to_the_limit() {
        let all = entries(3);
        let xml = document("https://hub.example", &all, 3, None).unwrap();
        assert!(xml.contains("<urlset"), "{xml}");
        assert_eq!(xml.matches("<url>").count(), 3);
        assert!(
            xml.contains(
                "<loc>https://hub.example/practices/p2</loc><lastmod>2025-06-03</lastmod>"
            )
        );
        assert_eq!(document("https://hub.example", &all, 3, Some(1)), None);
    }

    #[test]
    fn past_the_limit_the_sitemap_is_an_index_of_numbered_files() {
        let all = entries(7);
        let index = document("https://hub.example", &all, 3, None).unwrap();
        assert!(index.contains("<sitemapindex"), "{index}");
        for n in 1..=3 {
            assert!(index.contains(&format!("<loc>https://hub.example/sitemap-{n}.xml</loc>")));
        }
        assert!(!index.contains("sitemap-4.xml"));
        let files: Vec<String> = (1..=3)
            .map(|n| document("https://hub.example", &all, 3, Some(n)).unwrap())
            .collect();
        let counts: Vec<usize> = files.iter().map(|f| f.matches("<url>").count()).collect();
        assert_eq!(counts, [3, 3, 1]);
        // Every page exactly once, in order.
        let joined = files.concat();
        for e in &all {
            assert_eq!(joined.matches(&format!("{}</loc>", e.path)).count(), 1);
        }
        assert_eq!(document("https://hub.example", &all, 3, Some(0)), None);
        assert_eq!(document("https://hub.example", &all, 3, Some(4)), None);
    }

    #[test]
    fn addresses_are_escaped() {
        let all = [Entry {
            path: "/x?a=1&b=<2>".into(),
            lastmod: None,
        }];
        let xml = document("https://hub.example", &all, 10, None).unwrap();
        assert!(xml.contains("<loc>https://hub.example/x?a=1&amp;b=&lt;2&gt;</loc>"));
    }
}

use axum::http::StatusCode;

use crate::helpers::TestApp;

#[tokio::test]
async fn home_shows_areas_with_counts_and_recent_practices() {
    let app = TestApp::seeded().await;
    let html = app.page("/").await;
    assert!(html.contains("Practices that work in schools like yours"));
    assert!(html.contains(r#"action="/search""#), "search box");
    // Academic discourse: number talks, turn-and-talk, reciprocal teaching, CER lab talk,
    // sentence stems (5 vetted).
    assert!(
        html.contains(r#"<span class="area-name">Academic discourse</span> <span class="count">5 practices</span>"#),
        "{html}"
    );
    // Teacher collaboration only has the submitted (not vetted) peer learning walks.
    assert!(html.contains(r#"<span class="area-name">Teacher collaboration</span> <span class="count">0 practices</span>"#));
    // The most recently vetted seed practice comes first.
    let recent = &html[html.find("Recently vetted").unwrap()..];
    let first = recent.find("/practices/").unwrap();
    assert!(
        recent[first..].starts_with("/practices/two-by-ten-conversations\""),
        "{recent}"
    );
    let second = recent[first + 1..].find("/practices/").unwrap() + first + 1;
    assert!(recent[second..].starts_with("/practices/ninth-grade-success-advisory\""));
    assert!(html.contains("16 vetted practices so far"), "{html}");
}

#[tokio::test]
async fn practice_page_shows_every_part() {
    let app = TestApp::seeded().await;
    let html = app.page("/practices/number-talks-sentence-frames").await;
    for needle in [
        "<h1 id=\"practice-title\">Number talks with sentence frames</h1>",
        "A ten-to-twelve-minute daily routine",
        "href=\"/challenges/academic-discourse\"",
        "href=\"/challenges/math-problem-solving\"",
        "<dd>3–5</dd>",
        "<dd>Math</dd>",
        // Two other schools kept every aspect and improved (content/adoptions.toml).
        "badge-replicated",
        "href=\"/teams/lincoln-es-step\"",
        "href=\"/schools/lincoln-es\"",
        "href=\"/districts/harbor-usd\"",
        "The team's Challenge and Aim (2025-26)",
        "By May, 80% of our 3rd–5th graders",
        "<h2 id=\"s-what-it-is\">What it is</h2>",
        "<h2 id=\"s-evidence\">Evidence</h2>",
        "<h2 id=\"s-essential-aspects\">Essential aspects</h2>",
        "<h2 id=\"s-necessary-conditions\">Necessary conditions</h2>",
        "<h2 id=\"s-measures\">Measures</h2>",
        "Exit slips with a complete written explanation",
        "<td class=\"num\">36%</td><td class=\"num\">69%</td><td class=\"num\">+33 points</td><td class=\"num\">138</td>",
        "<svg class=\"chart\"",
        "Sentence-frame poster set",
        "Licence: CC-BY-4.0",
        "Published May 30, 2025",
        "Vetted by a network coach on June 12, 2025",
    ] {
        assert!(html.contains(needle), "missing {needle:?}");
    }
    // Sections come in reading order.
    let order = [
        "s-what-it-is",
        "s-evidence",
        "s-essential-aspects",
        "s-necessary-conditions",
        "s-getting-started",
        "s-measures",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|id| html.find(&format!("id=\"{id}\"")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

#[tokio::test]
async fn practice_without_licence_shows_the_network_default() {
    let app = TestApp::seeded().await;
    let html = app.page("/practices/turn-and-talk-with-talk-moves").await;
    assert!(html.contains("Licence: CC-BY-4.0."), "default licence");
}

#[tokio::test]
async fn challenge_pages_list_their_vetted_practices() {
    let app = TestApp::seeded().await;
    let html = app.page("/challenges").await;
    assert!(html.contains("href=\"/challenges/chronic-absenteeism\""));
    assert!(
        html.contains("No vetted practice yet"),
        "teacher collaboration has none"
    );
    let html = app.page("/challenges/chronic-absenteeism").await;
    for slug in [
        "attendance-welcome-calls",
        "ninth-grade-success-advisory",
        "two-by-ten-conversations",
        "bus-route-attendance-buddies",
    ] {
        assert!(html.contains(&format!("/practices/{slug}\"")), "{slug}");
    }
    assert!(!html.contains("/practices/number-talks-sentence-frames\""));
}

#[tokio::test]
async fn network_pages_show_who_shared_what() {
    let app = TestApp::seeded().await;
    let html = app.page("/teams/harbor-hs-step").await;
    assert!(html.contains("<h1>Harbor High School STEP team</h1>"));
    assert!(html.contains("fewer than 20% of our 9th graders"));
    assert!(html.contains("/practices/attendance-welcome-calls\""));
    let html = app.page("/schools/pine-valley-k8").await;
    assert!(html.contains("<dd>K–8</dd>") && html.contains("<dd>Rural</dd>"));
    assert!(html.contains("/teams/pine-valley-k8-step\""));
    assert!(html.contains("/practices/cross-age-reading-buddies\""));
    let html = app.page("/districts/cedar-county-schools").await;
    assert!(html.contains("/schools/riverside-ms\"") && html.contains("/schools/maple-grove-es\""));
    assert!(html.contains("/practices/morning-meeting-check-ins\""));
    assert!(
        !html.contains("/practices/peer-learning-walks\""),
        "submitted, not public"
    );
}

#[tokio::test]
async fn unknown_slugs_get_the_html_404_with_a_way_back() {
    let app = TestApp::seeded().await;
    for path in [
        "/practices/nope",
        "/challenges/nope",
        "/teams/nope",
        "/schools/nope",
        "/districts/nope",
        "/nothing/here",
    ] {
        let (status, html) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            html.contains("<h1>Page not found</h1>") && html.contains("href=\"/\""),
            "{path}: {html}"
        );
        assert!(html.contains("<html lang=\"en\">"), "full page with chrome");
    }
}

#[tokio::test]
async fn drafts_and_submissions_are_not_reachable() {
    let app = TestApp::seeded().await;
    // peer-learning-walks is `submitted` in the seed catalog.
    let (status, _) = app.get("/practices/peer-learning-walks").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for path in [
        "/",
        "/challenges/teacher-collaboration",
        "/teams/riverside-ms-step",
        "/schools/riverside-ms",
    ] {
        let html = app.page(path).await;
        assert!(
            !html.contains("peer-learning-walks") && !html.contains("Peer learning walks"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::empty().await;
    assert_eq!(
        app.get("/healthz").await,
        (StatusCode::OK, "ok".to_string())
    );
    assert_eq!(
        app.get("/readyz").await,
        (StatusCode::OK, "ready".to_string())
    );
    app.state.db.close().await;
    assert_eq!(app.get("/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn an_empty_catalog_still_reads_well() {
    let app = TestApp::empty().await;
    let html = app.page("/").await;
    assert!(html.contains("No practice has been vetted yet"));
}

#[tokio::test]
async fn stylesheet_is_served_with_a_long_cache() {
    let app = TestApp::empty().await;
    let home = app.page("/").await;
    let start = home.find("/static/style-").unwrap();
    let href = &home[start..start + home[start..].find('"').unwrap()];
    let response = tower::ServiceExt::oneshot(
        brightspots::app(app.state.clone()),
        axum::http::Request::get(href)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        app.get("/static/style-0000.css").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn serves_on_a_real_port() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::seeded().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(brightspots::serve(listener, app.state.clone(), async {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /practices/attendance-welcome-calls HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-security-policy")
    );
    assert!(response.contains("Welcome-back calls after an absence"));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The cards of a list page, in order.
fn card_slugs(html: &str) -> Vec<String> {
    html.split(r#"<li class="card">"#)
        .skip(1)
        .filter_map(|card| {
            let at = card.find("/practices/")? + "/practices/".len();
            Some(card[at..].split('"').next()?.to_string())
        })
        .collect()
}

/// Long lists come a page at a time, newest vetted first, and every practice is on exactly
/// one page; the counts are the search index's, the same as the search page shows.
#[tokio::test]
async fn long_lists_are_paged_and_counts_match_search() {
    let app = TestApp::empty().await;
    brightspots::store::import_catalog(&app.state.db, &brightspots::generate::catalog(150, 7))
        .await
        .unwrap();
    app.indexed().await;
    let (_, api) = app.get("/api/v1/search?per_page=1").await;
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let area = api["facets"]["challenge"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["count"].as_u64().unwrap() > 24)
        .expect("an area with more than a page");
    let (slug, count) = (
        area["value"].as_str().unwrap(),
        area["count"].as_u64().unwrap(),
    );
    let home = app.page("/").await;
    assert!(
        home.contains(&format!(
            r#"<span class="area-name">{}</span> <span class="count">{count} practices</span>"#,
            area["label"].as_str().unwrap()
        )),
        "{home}"
    );
    assert!(home.contains(&format!("{} vetted practices so far", api["total"])));

    let path = format!("/challenges/{slug}");
    let first = app.page(&path).await;
    assert!(
        first.contains(&format!("Practices 1–24 of {count}, newest vetted first.")),
        "{first}"
    );
    assert!(first.contains(&format!(r#"href="{path}?page=2" rel="next""#)));
    let pages = count.div_ceil(24);
    let mut all = Vec::new();
    for page in 1..=pages {
        let html = app.page(&format!("{path}?page={page}")).await;
        let cards = card_slugs(&html);
        assert_eq!(
            cards.len() as u64,
            if page < pages {
                24
            } else {
                count - 24 * (pages - 1)
            }
        );
        all.extend(cards);
    }
    assert_eq!(
        all[..24],
        card_slugs(&first)[..],
        "page 1 is the list's first page"
    );
    let distinct: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(
        distinct.len() as u64,
        count,
        "every practice on exactly one page"
    );
    // The list is the area browsed newest first: the search API's order, vetting dates never
    // increasing, and no tie left to chance (the generator vets many practices on one day).
    let mut newest = Vec::new();
    for page in 1..=count.div_ceil(100) {
        let (_, body) = app
            .get(&format!(
                "/api/v1/search?challenge={slug}&sort=newest&per_page=100&page={page}"
            ))
            .await;
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        for hit in v["hits"].as_array().unwrap() {
            newest.push((
                hit["slug"].as_str().unwrap().to_string(),
                hit["vetted_on"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert_eq!(
        all,
        newest.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()
    );
    assert!(newest.windows(2).all(|w| w[0].1 >= w[1].1), "{newest:?}");
    // Most adopted: adoption counts never increase, and among equals the newest comes first.
    let (_, body) = app.get("/api/v1/search?sort=adopted&per_page=100").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let adopted: Vec<(u64, String)> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["adoption_count"].as_u64().unwrap(),
                h["vetted_on"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(adopted[0].0 > 0, "the generator's adoptions are counted");
    assert!(adopted.windows(2).all(|w| w[0] >= w[1]), "{adopted:?}");

    for bad in ["0", "999", "two"] {
        let (status, html) = app.get(&format!("{path}?page={bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains(&format!("it has {pages} pages")), "{html}");
    }

    // A district's list is paged the same way, its count from the database.
    let district = api["facets"]["district"][0]["value"].as_str().unwrap();
    let html = app.page(&format!("/districts/{district}")).await;
    let n = api["facets"]["district"][0]["count"].as_u64().unwrap();
    assert!(
        n > 24 && html.contains(&format!("Practices 1–24 of {n}")),
        "{n} {html}"
    );
}

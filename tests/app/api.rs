//! The open API's reads (`/api/v1`): the OpenAPI document and its reference page, the
//! practice list with its cursor, one practice, its public revisions, the network, and the
//! HTTP around them (ETag, 304, Cache-Control, CORS). Never anything non-public.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::{Browser, TestApp};
use crate::review::{send, share};
use brightspots::app;
use brightspots::store::sql;

async fn json(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.get(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A 400 in the one error shape, naming `parameter`.
async fn refused(app: &TestApp, path: &str, parameter: &str) {
    let (status, body) = app.get(path).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["parameter"], parameter, "{path}: {v}");
    assert!(v["error"].as_str().unwrap().len() > 10, "{v}");
}

fn slugs(page: &Value) -> Vec<String> {
    page["practices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `/api/v1/practices?{query}`, following the cursors.
async fn all_pages(app: &TestApp, query: &str) -> (u64, Vec<String>) {
    let mut out = Vec::new();
    let mut path = format!("/api/v1/practices?{query}");
    loop {
        let page = json(app, &path).await;
        out.extend(slugs(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/practices?{query}&cursor={c}"),
            None => return (page["total"].as_u64().unwrap(), out),
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint_and_the_reference_page_shows_them() {
    let app = TestApp::seeded().await;
    let doc = json(&app, "/api/v1/openapi.json").await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/api/v1/search",
        "/api/v1/practices",
        "/api/v1/practices/{slug}",
        "/api/v1/practices/{slug}/revisions",
        "/api/v1/challenge-areas",
        "/api/v1/districts",
        "/api/v1/districts/{slug}",
        "/api/v1/schools/{slug}",
        "/api/v1/teams/{slug}",
    ] {
        assert!(paths.contains(path), "{path} missing from {paths:?}");
    }
    // The filters are the facets the search parser takes.
    let params: Vec<&str> = doc["paths"]["/api/v1/practices"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in [
        "q",
        "challenge",
        "grade",
        "subject",
        "stage",
        "district",
        "level",
        "locale",
        "cursor",
        "limit",
    ] {
        assert!(params.contains(&p), "{p} not in {params:?}");
    }
    assert!(doc["components"]["schemas"]["Error"]["properties"]["error"].is_object());

    let page = app.page("/api/v1/docs").await;
    assert!(page.contains("<h1>Bright Spots API</h1>"), "{page}");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let op = format!("<code>{} {path}</code>", method.to_uppercase());
            assert!(page.contains(&op), "{op}");
        }
    }
    assert!(paths.len() >= 9);
    assert!(page.contains("id=\"schema-Practice\""));
    let parsed = scraper::Html::parse_document(&page);
    assert!(
        parsed.errors.is_empty() || !page.contains("<script"),
        "no script"
    );
}

#[tokio::test]
async fn the_cursor_walks_the_whole_catalog_once_and_filters_match_search() {
    let app = TestApp::seeded().await;
    let search = json(&app, "/api/v1/search?per_page=100").await;
    let public: BTreeSet<String> = search["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap().to_string())
        .collect();
    assert!(public.len() > 4);

    let (total, walked) = all_pages(&app, "limit=2").await;
    assert_eq!(total as usize, public.len());
    assert_eq!(walked.len(), public.len(), "no practice twice: {walked:?}");
    assert_eq!(walked.iter().cloned().collect::<BTreeSet<_>>(), public);

    let area = json(
        &app,
        "/api/v1/search?challenge=chronic-absenteeism&per_page=100",
    )
    .await;
    let (total, walked) = all_pages(&app, "challenge=chronic-absenteeism&limit=1").await;
    assert_eq!(total, area["total"].as_u64().unwrap());
    assert!(total > 0);
    let expected: BTreeSet<String> = area["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(walked.into_iter().collect::<BTreeSet<_>>(), expected);

    // Words narrow the list too; the list keeps its order (newest first) whatever they are.
    let (_, worded) = all_pages(&app, "q=attendance").await;
    assert!(
        worded.contains(&"attendance-welcome-calls".to_string()),
        "{worded:?}"
    );

    let first = json(&app, "/api/v1/practices?limit=3").await;
    let item = &first["practices"][0];
    for field in ["title", "summary", "stage", "url"] {
        assert!(item[field].is_string(), "{field}: {item}");
    }
    assert!(item["team"]["slug"].is_string() && item["district"]["name"].is_string());

    refused(&app, "/api/v1/practices?cursor=abc", "cursor").await;
    refused(&app, "/api/v1/practices?limit=0", "limit").await;
    refused(&app, "/api/v1/practices?limit=101", "limit").await;
    refused(&app, "/api/v1/practices?grade=13", "grade").await;
    refused(&app, "/api/v1/practices?page=2", "page").await;
}

#[tokio::test]
async fn a_practice_has_every_section_as_html_and_markdown_with_its_evidence_and_ledger() {
    let app = TestApp::seeded().await;
    let slug = "attendance-welcome-calls";
    let p = json(&app, &format!("/api/v1/practices/{slug}")).await;
    assert_eq!(p["slug"], slug);
    let doc = app.state.db.edit_target(slug).await.unwrap().unwrap().doc;
    let sections = p["sections"].as_array().unwrap();
    assert_eq!(sections.len(), doc.sections.len());
    for ((kind, md), s) in doc.sections.iter().zip(sections) {
        assert_eq!(s["kind"], kind.key());
        assert_eq!(s["heading"], kind.heading());
        assert_eq!(s["markdown"], md.as_str());
        assert_eq!(
            s["html"].as_str().unwrap(),
            brightspots::content::markdown::render(md)
        );
    }
    assert_eq!(p["measures"].as_array().unwrap().len(), doc.measures.len());
    assert!(p["measures"][0]["n"].as_i64().unwrap() >= 10);
    assert_eq!(
        p["essential_aspects"].as_array().unwrap().len(),
        doc.essential_aspects().len()
    );
    assert_eq!(p["license"], "CC-BY-4.0");
    assert!(p["adoptions"].is_array());
    let (status, body) = app.get("/api/v1/practices/no-such-practice").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["error"].is_string());

    let revisions = json(&app, &format!("/api/v1/practices/{slug}/revisions")).await;
    let list = revisions["revisions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[0]["number"], p["revision"]);
}

#[tokio::test]
async fn nothing_non_public_reaches_the_api() {
    let app = TestApp::seeded().await;
    // A team's draft, never vetted.
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let r = send(
        &mut rosa,
        "/share",
        &share(
            "Secret draft walk",
            "Talk rose from 41% to 78%.",
            &[("action", "submit")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A public practice with a new revision waiting in draft.
    let slug = "attendance-welcome-calls";
    let target = app.state.db.edit_target(slug).await.unwrap().unwrap();
    let mut doc = target.doc.clone();
    doc.summary = "UNVETTED SUMMARY".into();
    for md in doc.sections.values_mut() {
        md.push_str("\n\nUNVETTED TEXT");
    }
    let author: i64 = sql::query_scalar("select id from users where name = 'Rosa Diaz'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    app.state
        .db
        .save_draft(author, &doc, Some(target.current_revision_id), true)
        .await
        .unwrap();

    let (_, all) = all_pages(&app, "limit=100").await;
    assert!(!all.contains(&"secret-draft-walk".to_string()));
    for path in [
        "/api/v1/practices/secret-draft-walk",
        "/api/v1/practices/secret-draft-walk/revisions",
    ] {
        assert_eq!(app.get(path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let mut everything = String::new();
    for path in [
        format!("/api/v1/practices/{slug}"),
        format!("/api/v1/practices/{slug}/revisions"),
        "/api/v1/practices?limit=100".into(),
        "/api/v1/practices?q=unvetted".into(),
        "/api/v1/search?q=unvetted".into(),
        "/api/v1/teams/bayview-ms-step".into(),
        "/api/v1/schools/bayview-ms".into(),
        "/api/v1/districts".into(),
    ] {
        let (status, body) = app.get(&path).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{path}"
        );
        everything.push_str(&body);
    }
    assert!(!everything.contains("UNVETTED"), "a draft's text went out");
    assert!(!everything.contains("Secret draft walk"));
    let revisions = json(&app, &format!("/api/v1/practices/{slug}/revisions")).await;
    assert_eq!(revisions["revisions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_network_with_counts_that_match_the_catalog() {
    let app = TestApp::seeded().await;
    let areas = json(&app, "/api/v1/challenge-areas").await;
    let search = json(&app, "/api/v1/search?per_page=1").await;
    for a in areas.as_array().unwrap() {
        let slug = a["slug"].as_str().unwrap();
        let facet = search["facets"]["challenge"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["value"] == slug)
            .map_or(0, |v| v["count"].as_u64().unwrap());
        assert_eq!(a["practice_count"].as_u64().unwrap(), facet, "{slug}");
    }
    let districts = json(&app, "/api/v1/districts").await;
    let list = districts.as_array().unwrap();
    assert!(!list.is_empty());
    let school = &list[0]["schools"][0];
    let slug = school["slug"].as_str().unwrap();
    let one = json(&app, &format!("/api/v1/schools/{slug}")).await;
    assert_eq!(one["name"], school["name"]);
    assert_eq!(
        one["teams"].as_array().unwrap().len(),
        school["teams"].as_array().unwrap().len()
    );
    let district = json(
        &app,
        &format!("/api/v1/districts/{}", list[0]["slug"].as_str().unwrap()),
    )
    .await;
    assert_eq!(district, list[0]);
    let team = json(&app, "/api/v1/teams/harbor-hs-step").await;
    assert!(
        team["practices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["slug"] == "attendance-welcome-calls"),
        "{team}"
    );
    for path in [
        "/api/v1/teams/nope",
        "/api/v1/schools/nope",
        "/api/v1/districts/nope",
    ] {
        assert_eq!(app.get(path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn etags_answer_304_until_the_catalog_changes_and_any_site_may_read() {
    let app = TestApp::seeded().await;
    app.indexed().await;
    let get = |path: &'static str, tag: Option<String>| {
        let state = app.state.clone();
        async move {
            let mut req = Request::get(path).header(header::ORIGIN, "https://pd.example.org");
            if let Some(tag) = tag {
                req = req.header(header::IF_NONE_MATCH, tag);
            }
            app_response(state, req.body(Body::empty()).unwrap()).await
        }
    };
    let path = "/api/v1/practices/attendance-welcome-calls";
    let (status, headers, _) = get(path, None).await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let (status, headers, body) = get(path, Some(etag.clone())).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(headers[header::ETAG].to_str().unwrap(), etag);
    let (status, _, _) = get(path, Some("\"other\"".into())).await;
    assert_eq!(status, StatusCode::OK);

    // A preflight from another site is answered for reads.
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri(path)
        .header(header::ORIGIN, "https://pd.example.org")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = app_response(app.state.clone(), preflight).await;
    assert!(status.is_success(), "{status}");
    assert!(
        headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("GET")
    );

    // A change to the practice (an adoption, here) changes the answer and its tag.
    let mut kim = Browser::local(&app, "Kim Lee", "member", "bayview-ms-step").await;
    let r = kim
        .submit(
            "/practices/attendance-welcome-calls/adopt",
            &[
                ("team", "bayview-ms-step"),
                ("status", "exploring"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.indexed().await;
    let (status, headers, _) = get(path, Some(etag.clone())).await;
    assert_eq!(status, StatusCode::OK, "the adoption changed the practice");
    assert_ne!(headers[header::ETAG].to_str().unwrap(), etag);
}

async fn app_response(
    state: brightspots::AppState,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app(state).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

/// A GET from `address`, with these headers.
async fn get_from(
    app: &TestApp,
    path: &str,
    address: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let peer: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    app_response(app.state.clone(), req).await
}

#[tokio::test]
async fn rate_limits_answer_429_per_address_and_per_token_and_spare_the_pages() {
    let app = TestApp::seeded_with(|s| {
        s.api.per_address_per_minute = 3;
        s.api.per_token_per_minute = 2;
        s.api.max_concurrent = 1;
    })
    .await;
    app.indexed().await;
    let path = "/api/v1/challenge-areas";
    for _ in 0..3 {
        assert_eq!(
            get_from(&app, path, "192.0.2.1", &[]).await.0,
            StatusCode::OK
        );
    }
    let (status, headers, body) = get_from(&app, path, "192.0.2.1", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("at most 3 a minute"),
        "{v}"
    );
    assert_eq!(
        get_from(&app, path, "192.0.2.2", &[]).await.0,
        StatusCode::OK,
        "another address"
    );
    // The reading pages are not the API's: a limited address still reads them.
    for page in [
        "/",
        "/practices/attendance-welcome-calls",
        "/search?q=attendance",
    ] {
        assert_eq!(
            get_from(&app, page, "192.0.2.1", &[]).await.0,
            StatusCode::OK,
            "{page}"
        );
    }

    // A token has its own allowance, wherever it is used from.
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = crate::tokens::make_token(&mut rosa, "limited", &["read"]).await;
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    assert_eq!(
        get_from(&app, "/api/v1/me", "198.51.100.1", &auth).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get_from(&app, "/api/v1/me", "198.51.100.2", &auth).await.0,
        StatusCode::OK
    );
    let (status, _, body) = get_from(&app, "/api/v1/me", "198.51.100.3", &auth).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(String::from_utf8_lossy(&body).contains("with this token"));

    // At most `max_concurrent` API requests at once: the rest are refused at once, pages not.
    let held = app.state.api_limits.try_begin().unwrap();
    let (status, headers, _) = get_from(&app, path, "192.0.2.9", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert_eq!(
        get_from(&app, "/", "192.0.2.9", &[]).await.0,
        StatusCode::OK
    );
    drop(held);
    assert_eq!(
        get_from(&app, path, "192.0.2.9", &[]).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_proxy_the_client_is_the_last_forwarded_address() {
    let app = TestApp::seeded_with(|s| {
        s.api.per_address_per_minute = 1;
        s.api.behind_proxy = true;
    })
    .await;
    app.indexed().await;
    let path = "/api/v1/districts";
    let proxy = "10.0.0.1";
    // Two clients behind one proxy are two clients; a client cannot pick its address by
    // sending its own header first (the proxy's appended address is the last).
    for client in ["203.0.113.5", "203.0.113.6"] {
        let xff = format!("1.2.3.4, {client}");
        let h = [("x-forwarded-for", xff.as_str())];
        assert_eq!(
            get_from(&app, path, proxy, &h).await.0,
            StatusCode::OK,
            "{client}"
        );
        assert_eq!(
            get_from(&app, path, proxy, &h).await.0,
            StatusCode::TOO_MANY_REQUESTS,
            "{client}"
        );
    }
    // What is not an address is not trusted: the proxy's own address counts.
    let h = [("x-forwarded-for", "not-an-address")];
    assert_eq!(get_from(&app, path, proxy, &h).await.0, StatusCode::OK);
    assert_eq!(
        get_from(&app, path, proxy, &h).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

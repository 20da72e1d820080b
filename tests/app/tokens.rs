//! Personal access tokens (`/me/tokens`) and the API's writes: shown once and kept hashed,
//! scoped, revocable, expiring; a team's token reaches only its team's practices, through
//! the web form's rules; a session is never a token; a token never reaches the logs.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::helpers::{Browser, TestApp};
use brightspots::store::sql;

/// Makes a token at `/me/tokens` with these scopes; returns it as the page showed it.
pub async fn make_token(b: &mut Browser<'_>, name: &str, scopes: &[&str]) -> String {
    let mut fields = vec![("name", name), ("lifetime", "30")];
    fields.extend(scopes.iter().map(|s| ("scope", *s)));
    let r = b.submit("/me/tokens", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let at = r.body.find("value=\"bsp_").expect("the new token is shown") + "value=\"".len();
    r.body[at..at + r.body[at..].find('"').unwrap()].to_string()
}

/// An API request with `token` (if any) and a JSON body (if any).
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = brightspots::app(app.state.clone())
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, value)
}

pub fn practice(title: &str, team: &str) -> Value {
    json!({
        "title": title,
        "summary": "Students restate a peer's idea before adding their own.",
        "team": team,
        "stage": "confirmed",
        "challenge_areas": ["academic-discourse"],
        "grade_bands": ["6-8"],
        "subjects": ["math"],
        "sections": {
            "what-it-is": "Before adding an idea, a student restates the previous one.",
            "evidence": "Talk rose from 41% to 78%.",
            "essential-aspects": "- Restate before you add",
            "necessary-conditions": "- A posted sentence frame"
        },
        "measures": [{
            "name": "Students who spoke", "ingredient": "student-outcome", "unit": "percent",
            "instrument": "Tally", "baseline": 41, "result": 78, "n": 28, "period": "Fall 2025"
        }]
    })
}

fn problem_fields(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_token_is_shown_once_kept_hashed_and_lists_without_its_secret() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = make_token(
        &mut rosa,
        "District data system",
        &["read", "write:practices"],
    )
    .await;
    assert!(token.starts_with("bsp_") && token.len() > 40, "{token}");
    let page = rosa.get("/me/tokens").await.body;
    assert!(page.contains("District data system") && page.contains(&token[..10]));
    assert!(!page.contains(&token), "shown once only");
    let stored: Vec<(String, String, String)> =
        sql::query_as("select hash, prefix, scopes from api_tokens")
            .fetch_all(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].0, token);
    assert_eq!(stored[0].0, brightspots::auth::hash_token(&token));
    assert_eq!(stored[0].2, "read write:practices");

    // A member cannot give a token the coaches' scope; what was typed stays.
    let r = rosa
        .submit(
            "/me/tokens",
            &[("name", "Sneaky"), ("scope", "review"), ("lifetime", "30")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("is not a scope you can give a token")
            && r.body.contains("value=\"Sneaky\"")
    );
    // Nor can anyone make one without signing in, or from another site (no CSRF token).
    let r = Browser::new(&app)
        .post(
            "/me/tokens",
            &[("name", "x"), ("scope", "read"), ("lifetime", "30")],
        )
        .await;
    assert_ne!(r.status, StatusCode::OK);
    let r = rosa
        .post(
            "/me/tokens",
            &[("name", "x"), ("scope", "read"), ("lifetime", "30")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (status, me) = call(&app, "GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Rosa Diaz");
    assert_eq!(me["teams"][0]["slug"], "bayview-ms-step");
}

#[tokio::test]
async fn a_team_writes_through_the_forms_rules_and_history() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = make_token(&mut rosa, "script", &["read", "write:practices"]).await;
    let t = Some(token.as_str());

    // The form's own messages, named as the API names the fields; nothing saved.
    let mut bad = practice("Restate, then add", "bayview-ms-step");
    bad["measures"][0]["n"] = json!(3);
    bad["grade_bands"] = json!(["13"]);
    bad["sections"]["recipe"] = json!("x");
    let (status, v) = call(&app, "POST", "/api/v1/practices", t, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields = problem_fields(&v);
    for f in ["measures[0].n", "grade_bands", "sections.recipe"] {
        assert!(fields.contains(&f.to_string()), "{f} not in {fields:?}");
    }
    let n_message = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["field"] == "measures[0].n")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        n_message.contains("10"),
        "the minimum cell size: {n_message}"
    );
    let made: i64 =
        sql::query_scalar("select count(*) from practices where slug = 'restate-then-add'")
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(made, 0);
    // Another team's slug is not a team of this token's person.
    let (status, v) = call(
        &app,
        "POST",
        "/api/v1/practices",
        t,
        Some(practice("Other", "harbor-hs-step")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(problem_fields(&v).contains(&"team".to_string()));
    // A body that is not JSON gets the error shape too.
    let req = Request::post("/api/v1/practices")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let response = brightspots::app(app.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["error"].is_string());

    let (status, draft) = call(
        &app,
        "POST",
        "/api/v1/practices",
        t,
        Some(practice("Restate, then add", "bayview-ms-step")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["slug"], "restate-then-add");
    assert_eq!(draft["status"], "draft");
    let slug = "restate-then-add";

    // An update needs the base it changed; a stale base saves nothing (409).
    let mut changed = draft.clone();
    changed["summary"] = json!("A new summary.");
    let mut write = changed.clone();
    write.as_object_mut().unwrap().remove("base");
    let (status, _) = call(
        &app,
        "PUT",
        &format!("/api/v1/practices/{slug}/draft"),
        t,
        Some(write),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, saved) = call(
        &app,
        "PUT",
        &format!("/api/v1/practices/{slug}/draft"),
        t,
        Some(changed.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["summary"], "A new summary.");
    assert_eq!(saved["revision"], 2);
    changed["summary"] = json!("Written over the newer revision.");
    let (status, v) = call(
        &app,
        "PUT",
        &format!("/api/v1/practices/{slug}/draft"),
        t,
        Some(changed),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");

    // Measures from a data system: a new revision; a small cell is refused.
    let m = json!({"measures": [{"name": "Exit tickets correct", "ingredient": "student-outcome",
        "unit": "percent", "instrument": "Exit ticket", "baseline": 50, "result": 64, "n": 4,
        "period": "Winter 2026"}]});
    let (status, v) = call(
        &app,
        "POST",
        &format!("/api/v1/practices/{slug}/measures"),
        t,
        Some(m.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        problem_fields(&v).contains(&"measures[1].n".to_string()),
        "{v}"
    );
    let mut m = m;
    m["measures"][0]["n"] = json!(40);
    let (status, v) = call(
        &app,
        "POST",
        &format!("/api/v1/practices/{slug}/measures"),
        t,
        Some(m),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["measures"].as_array().unwrap().len(), 2);
    assert_eq!(v["revision"], 3);

    // Submitting needs the privacy confirmation, as the form does.
    let (status, v) = call(
        &app,
        "POST",
        &format!("/api/v1/practices/{slug}/submit"),
        t,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(problem_fields(&v).contains(&"confirm_privacy".to_string()));
    let (status, v) = call(
        &app,
        "POST",
        &format!("/api/v1/practices/{slug}/submit"),
        t,
        Some(json!({"confirm_privacy": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "submitted");
    // The history the web shows has every revision, by its author; the coach's queue has it.
    let history = rosa.get(&format!("/practices/{slug}/history")).await.body;
    for n in ["1", "2", "3"] {
        assert!(
            history.contains(&format!("Revision {n}")) || history.contains(&format!(">{n}<")),
            "revision {n}"
        );
    }
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    assert!(ada.get("/review").await.body.contains("Restate, then add"));
    // Not public: the public API still does not have it.
    assert_eq!(
        app.get(&format!("/api/v1/practices/{slug}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tokens_are_refused_outside_their_scope_team_life_and_sessions_are_not_tokens() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut hal = Browser::local(&app, "Hal Owner", "member", "harbor-hs-step").await;
    let reader = make_token(&mut rosa, "reader", &["read"]).await;
    let writer = make_token(&mut rosa, "writer", &["write:practices"]).await;
    let hals = make_token(&mut hal, "hal", &["read", "write:practices"]).await;
    let slug = "attendance-welcome-calls"; // Harbor's.

    // Scope: a read token cannot write.
    let (status, v) = call(
        &app,
        "POST",
        "/api/v1/practices",
        Some(&reader),
        Some(practice("X y z", "bayview-ms-step")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(v["error"].as_str().unwrap().contains("write:practices"));
    // Team: Rosa's token cannot read or touch Harbor's practice; Hal's can.
    let (status, _) = call(
        &app,
        "GET",
        &format!("/api/v1/practices/{slug}/draft"),
        Some(&reader),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let m = json!({"measures": [{"name": "m", "ingredient": "student-outcome", "unit": "percent",
        "instrument": "i", "baseline": 1, "result": 2, "n": 40, "period": "p"}]});
    let (status, _) = call(
        &app,
        "POST",
        &format!("/api/v1/practices/{slug}/measures"),
        Some(&writer),
        Some(m.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, draft) = call(
        &app,
        "GET",
        &format!("/api/v1/practices/{slug}/draft"),
        Some(&hals),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let mut write = draft.clone();
    write["summary"] = json!("Rosa's edit");
    let (status, _) = call(
        &app,
        "PUT",
        &format!("/api/v1/practices/{slug}/draft"),
        Some(&writer),
        Some(write),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let revisions: i64 = sql::query_scalar(
        "select count(*) from practice_revisions r join practices p on p.id = r.practice_id where p.slug = $1",
    )
    .bind(slug)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(revisions, 1, "nothing written by the refused requests");

    // Revoked: refused at once.
    let page = rosa.get("/me/tokens").await.body;
    let id: i64 = sql::query_scalar("select id from api_tokens where name = 'reader'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert!(page.contains(&format!("/me/tokens/{id}/revoke")));
    let r = rosa.submit(&format!("/me/tokens/{id}/revoke"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let (status, v) = call(&app, "GET", "/api/v1/me", Some(&reader), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    // Another person cannot revoke Hal's token.
    let hal_id: i64 = sql::query_scalar("select id from api_tokens where name = 'hal'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    rosa.submit(&format!("/me/tokens/{hal_id}/revoke"), &[])
        .await;
    assert_eq!(
        call(&app, "GET", "/api/v1/me", Some(&hals), None).await.0,
        StatusCode::OK
    );

    // Expired: refused.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update api_tokens set expires_at = $1 where name = 'writer'")
        .bind(brightspots::auth::now() - 1)
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        call(&app, "GET", "/api/v1/me", Some(&writer), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Mistyped, another scheme, no token: refused, with how to fix it.
    for auth in [
        format!("Bearer {hals}x"),
        format!("Basic {hals}"),
        "Bearer".into(),
    ] {
        let req = Request::get("/api/v1/me")
            .header(header::AUTHORIZATION, auth.clone())
            .body(Body::empty())
            .unwrap();
        let r = brightspots::app(app.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth}");
        assert!(
            r.headers()[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
    }

    // A session is not a token: the API answers a signed-in browser's request, with its cookie
    // and its CSRF token, as it answers anyone without a token.
    let csrf = rosa.csrf().await;
    let cookie: Vec<String> = rosa
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let req = Request::post("/api/v1/practices")
        .header(header::COOKIE, cookie.join("; "))
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            practice("Cookie made", "bayview-ms-step").to_string(),
        ))
        .unwrap();
    let r = brightspots::app(app.state.clone())
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let made: i64 = sql::query_scalar("select count(*) from practices where slug = 'cookie-made'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(made, 0);
}

/// A token in a header never reaches the logs, not even at debug level, accepted or refused.
#[tokio::test]
async fn tokens_stay_out_of_the_logs() {
    // Captured from the start: every log line the test's runtime writes lands here.
    let (captured, _logging) = crate::helpers::Captured::start();
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let token = make_token(&mut rosa, "logged?", &["read", "write:practices"]).await;
    call(&app, "GET", "/api/v1/me", Some(&token), None).await;
    call(&app, "GET", "/api/v1/me", Some(&format!("{token}x")), None).await;
    call(
        &app,
        "POST",
        "/api/v1/practices",
        Some(&token),
        Some(practice("Logged practice", "bayview-ms-step")),
    )
    .await;
    let logs = captured.text();
    assert!(
        logs.contains("/api/v1/me"),
        "the requests were logged: {logs}"
    );
    assert!(!logs.contains(&token[4..]), "{logs}");
}

#[tokio::test]
async fn a_coach_reviews_and_a_school_reports_its_adoption_with_tokens() {
    let app = TestApp::seeded().await;
    let mut rosa = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut ada = Browser::local(&app, "Ada Coach", "coach", "").await;
    let rosas = make_token(
        &mut rosa,
        "script",
        &["read", "write:practices", "write:adoptions"],
    )
    .await;
    let adas = make_token(&mut ada, "review bot", &["read", "review"]).await;
    let adas_reader = make_token(&mut ada, "reader", &["read"]).await;
    let mut submitted = practice("Restate, then add", "bayview-ms-step");
    submitted["submit"] = json!(true);
    submitted["confirm_privacy"] = json!(true);
    let (status, v) = call(
        &app,
        "POST",
        "/api/v1/practices",
        Some(&rosas),
        Some(submitted),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "submitted");
    let slug = "restate-then-add";
    let path = format!("/api/v1/practices/{slug}/reviews");

    // The coach reads the submission, and decides by the review page's rules.
    let (status, draft) = call(
        &app,
        "GET",
        &format!("/api/v1/practices/{slug}/draft"),
        Some(&adas),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let revision = draft["base"].clone();
    let rubric: Vec<Value> = app
        .state
        .settings
        .rubric
        .iter()
        .map(|c| json!({"criterion": c, "score": "meets"}))
        .collect();
    let (status, v) = call(
        &app,
        "POST",
        &path,
        Some(&adas_reader),
        Some(json!({"revision": revision, "decision": "vet", "rubric": rubric})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no review scope: {v}");
    let (status, v) = call(
        &app,
        "POST",
        &path,
        Some(&rosas),
        Some(json!({"revision": revision, "decision": "vet", "rubric": rubric})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a member's token: {v}");
    let (status, v) = call(
        &app,
        "POST",
        &path,
        Some(&adas),
        Some(json!({"revision": revision, "decision": "return", "rubric": []})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields = problem_fields(&v);
    assert!(
        fields.contains(&"rubric".to_string()) && fields.contains(&"comment".to_string()),
        "{v}"
    );
    let (status, v) = call(
        &app,
        "POST",
        &path,
        Some(&adas),
        Some(json!({"revision": 999999, "decision": "vet", "rubric": rubric})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = call(
        &app,
        "POST",
        &path,
        Some(&adas),
        Some(json!({"revision": revision, "decision": "vet", "rubric": rubric})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{v}");
    let reviews: i64 = sql::query_scalar(
        "select count(*) from reviews r join practices p on p.id = r.practice_id where p.slug = $1",
    )
    .bind(slug)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(reviews, 1, "the decision is in the review history");
    assert_eq!(
        app.get(&format!("/api/v1/practices/{slug}")).await.0,
        StatusCode::OK,
        "public now"
    );

    // Rosa's team adopts Harbor's practice, by the adoption form's rules.
    let adopt = "/api/v1/practices/attendance-welcome-calls/adoptions/bayview-ms-step";
    let mut report = json!({"status": "adopted", "started_on": "2026-09-08", "aspects_kept": [1],
        "outcome": "improved", "measures": [{"name": "Days attended", "ingredient": "student-outcome",
        "unit": "percent", "instrument": "SIS", "baseline": 88, "result": 92, "n": 4, "period": "Fall 2026"}]});
    let (status, v) = call(&app, "PUT", adopt, Some(&adas), Some(report.clone())).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no write:adoptions scope: {v}"
    );
    let (status, v) = call(&app, "PUT", adopt, Some(&rosas), Some(report.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        problem_fields(&v).contains(&"measures[0].n".to_string()),
        "{v}"
    );
    report["measures"][0]["n"] = json!(120);
    report["aspects_kept"] = json!([1, 99]);
    let (status, v) = call(&app, "PUT", adopt, Some(&rosas), Some(report.clone())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        problem_fields(&v).contains(&"aspects_kept".to_string()),
        "{v}"
    );
    report["aspects_kept"] = json!([1]);
    // Another school's team is not Rosa's to report for.
    let (status, _) = call(
        &app,
        "PUT",
        "/api/v1/practices/attendance-welcome-calls/adoptions/lincoln-es-step",
        Some(&rosas),
        Some(report.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, v) = call(&app, "PUT", adopt, Some(&rosas), Some(report)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "adopted");
    assert_eq!(v["outcome"], "improved");
    let public = {
        let (_, body) = app.get("/api/v1/practices/attendance-welcome-calls").await;
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert!(
        public["adoptions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["team"]["slug"] == "bayview-ms-step" && a["measures"][0]["n"] == 120),
        "the ledger shows it: {}",
        public["adoptions"]
    );
}

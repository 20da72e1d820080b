//! Sign-in end to end against a real OAuth2/OIDC provider on loopback, sessions, local mode.

use axum::http::StatusCode;
use brightspots::auth::{ProviderKind, ProviderSettings, Secret};
use brightspots::store::sql;

use crate::helpers::{Browser, TestApp};
use crate::provider::{CLIENT_ID, CLIENT_SECRET, Provider};

pub async fn hub_with(provider: &Provider) -> TestApp {
    hub_configured(provider, |_| {}).await
}

/// The hub with the test provider as `district`, its settings changed by `f`.
pub async fn hub_configured(provider: &Provider, f: impl FnOnce(&mut ProviderSettings)) -> TestApp {
    let base = provider.base.clone();
    TestApp::seeded_with(move |s| {
        let mut p: ProviderSettings = toml::from_str(&format!(
            r#"id = "district"
               kind = "oidc"
               label = "Sign in with Lincoln USD"
               client_id = "{CLIENT_ID}"
               auth_url = "{base}/authorize"
               token_url = "{base}/token"
               userinfo_url = "{base}/userinfo"
               issuer = "{base}"
               allowed_domains = ["lincoln.k12.us"]
               districts = {{ "lincoln.k12.us" = "harbor-usd" }}"#
        ))
        .unwrap();
        assert_eq!(p.kind, ProviderKind::Oidc);
        p.client_secret = Secret::new(CLIENT_SECRET);
        f(&mut p);
        s.providers = vec![p];
        s.admins = vec!["boss@lincoln.k12.us".into()];
    })
    .await
}

/// Starts sign-in in the hub, lets the provider authorize, and returns the callback path.
pub async fn authorize(b: &mut Browser<'_>) -> String {
    authorize_to(b, "/me").await
}

/// The same, asking to come back to `next` (as sent: already URL-encoded).
pub async fn authorize_to(b: &mut Browser<'_>, next: &str) -> String {
    let start = b.get(&format!("/auth/district/login?next={next}")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    let url = start.location.unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("nonce=") && url.contains("state="), "{url}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(
        r.status(),
        303,
        "provider refused: {}",
        r.text().await.unwrap()
    );
    let callback = r.headers()["location"].to_str().unwrap().to_string();
    let path = callback.split_once("/auth/").unwrap().1;
    format!("/auth/{path}")
}

#[tokio::test]
async fn sign_in_succeeds_and_rotates_the_session() {
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    let mut b = Browser::new(&app);
    let signin = b.get("/signin").await;
    assert!(signin.body.contains("Sign in with Lincoln USD"));
    assert!(
        !signin.body.contains("Local sign-in"),
        "local mode must be off with a provider"
    );
    assert!(b.cookies.is_empty(), "a visitor's page view keeps nothing");
    // A session from before sign-in (here a stolen or planted one) is not carried over.
    let visitor = "planted-session-id".to_string();
    b.cookies.insert("bs_session".into(), visitor.clone());

    let callback = authorize(&mut b).await;
    let done = b.get(&callback).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/me"));
    assert_ne!(
        b.cookies["bs_session"], visitor,
        "the session id is rotated at sign-in"
    );
    let home = b.get("/").await.body;
    assert!(home.contains("Ana Ortiz") && home.contains("Sign out"));
    let district: Option<String> = sql::query_scalar(
        "select d.slug from users u join districts d on d.id = u.district_id where u.email = 'ana@lincoln.k12.us'",
    )
    .fetch_optional(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        district.as_deref(),
        Some("harbor-usd"),
        "the provider's domain → district map"
    );

    // The code and state are spent: replaying the callback fails and signs nobody in.
    let mut other = Browser::new(&app);
    other.cookies = b.cookies.clone();
    other.cookies.remove("bs_session");
    let replay = other.get(&callback).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.body.contains("already used"), "{}", replay.body);
    assert!(
        !other.cookies.contains_key("bs_session")
            || !other.get("/").await.body.contains("Sign out")
    );

    // Sign-out ends the session on the server: the old cookie is worthless afterwards.
    let old = b.cookies.clone();
    let out = b.submit("/signout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let mut thief = Browser::new(&app);
    thief.cookies = old;
    assert!(!thief.get("/").await.body.contains("Sign out"));
    assert_eq!(thief.get("/me").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_plain_oauth2_provider_is_read_through_userinfo_and_admins_come_from_settings() {
    let provider = Provider::start().await;
    provider.set(|b| {
        b.id_token = false;
        b.email = Some("boss@lincoln.k12.us".into());
        b.name = "Pat Boss".into();
    });
    // Without an issuer there is no ID token to check: identity is what userinfo says.
    let app = hub_configured(&provider, |p| p.issuer = None).await;
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    assert_eq!(b.get(&callback).await.status, StatusCode::SEE_OTHER);
    let home = b.get("/").await.body;
    assert!(
        home.contains("Pat Boss") && home.contains("href=\"/admin\""),
        "{home}"
    );
}

#[tokio::test]
async fn refusals_explain_themselves_and_sign_nobody_in() {
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;

    // A forged or tampered state.
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    let forged = callback.replace("state=", "state=x");
    let r = b.get(&forged).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("Start again"));
    // The genuine state still works only in the browser that started it.
    let mut stranger = Browser::new(&app);
    assert_eq!(
        stranger.get(&callback).await.status,
        StatusCode::BAD_REQUEST
    );

    // The PKCE verifier kept for the attempt is what the provider checks: a wrong one fails.
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update login_attempts set pkce_verifier = 'not-the-verifier-not-the-verifier-not-the-verifier'")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = b.get(&callback).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("invalid_grant"), "{}", r.body);

    // An ID token issued for another application.
    provider.set(|b| b.audience = "someone-else".into());
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    let r = b.get(&callback).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("another application"), "{}", r.body);
    provider.set(|b| b.audience = CLIENT_ID.into());

    // An account outside the district's domains.
    provider.set(|b| b.email = Some("ana@gmail.com".into()));
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    let r = b.get(&callback).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("lincoln.k12.us"), "{}", r.body);

    // The provider reports an error (the person cancelled).
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    let state = callback.split("state=").nth(1).unwrap().to_string();
    let r = b
        .get(&format!("/auth/district/callback?error=access_denied&error_description=The+user+cancelled&state={state}"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("The user cancelled"), "{}", r.body);

    let users: i64 = sql::query_scalar("select count(*) from users")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(users, 0, "no refused sign-in creates an account");
}

#[tokio::test]
async fn a_provider_that_is_down_is_reported() {
    let provider = Provider::start().await;
    let app = TestApp::seeded_with(|s| {
        let mut p: ProviderSettings = toml::from_str(&format!(
            "id = \"district\"\nkind = \"oidc\"\nclient_id = \"{CLIENT_ID}\"\nauth_url = \"{0}/authorize\"\ntoken_url = \"http://127.0.0.1:9/token\"\nissuer = \"{0}\"\n",
            provider.base
        ))
        .unwrap();
        p.client_secret = Secret::new(CLIENT_SECRET);
        s.providers = vec![p];
    })
    .await;
    let mut b = Browser::new(&app);
    let callback = authorize(&mut b).await;
    let r = b.get(&callback).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert!(r.body.contains("could not be reached"), "{}", r.body);
}

#[tokio::test]
async fn local_mode_and_expired_sessions() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Dana Lee", "coach", "").await;
    assert!(b.get("/").await.body.contains("Dana Lee"));

    // A local sign-in without the form's CSRF token is refused.
    let mut anon = Browser::new(&app);
    let r = anon
        .post("/signin/local", &[("name", "Mallory"), ("role", "admin")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // An idle session ends: the next page asks to sign in again.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update sessions set last_seen_at = last_seen_at - 4 * 86400")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = b.get("/me").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/signin?next=%2Fme"));

    // With a provider configured, local sign-in does not exist.
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    let mut b = Browser::new(&app);
    let page = b.get("/signin").await.body;
    assert!(!page.contains("/signin/local") && crate::helpers::csrf_in(&page).is_none());
    let r = b
        .post("/signin/local", &[("name", "Mallory"), ("role", "admin")])
        .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    let users: i64 = sql::query_scalar("select count(*) from users")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(users, 0);
}

/// The one-time `code` and `state` of a sign-in callback never reach the logs, not even at
/// debug level, where every request's URI is logged.
#[tokio::test]
async fn callback_codes_and_unsubscribe_tokens_stay_out_of_the_logs() {
    use tower::ServiceExt;

    let app = TestApp::empty().await;
    // This test's runtime is current-thread: everything the request logs, it logs here. A
    // test on another thread that ends its own capture at the wrong moment can leave the
    // request span's callsite switched off for a request; the requests are then sent again
    // (the check below needs the request lines themselves, or it would prove nothing).
    let mut logs = String::new();
    for _ in 0..5 {
        let (captured, _logging) = crate::helpers::Captured::start();
        // A provider's callback, and an unsubscribe link (a capability anyone holding it can
        // use).
        for uri in [
            "/auth/x/callback?code=SECRETCODE&state=SECRETSTATE",
            "/unsubscribe?t=SECRETTOKEN",
        ] {
            let response = brightspots::app(app.state.clone())
                .oneshot(
                    axum::http::Request::get(uri)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap();
        }
        logs = captured.text();
        if logs.contains("/auth/x/callback") && logs.contains("/unsubscribe") {
            break;
        }
    }
    assert!(
        logs.contains("/auth/x/callback") && logs.contains("/unsubscribe"),
        "{logs}"
    );
    assert!(
        !logs.contains("SECRETCODE")
            && !logs.contains("SECRETSTATE")
            && !logs.contains("SECRETTOKEN"),
        "{logs}"
    );
}

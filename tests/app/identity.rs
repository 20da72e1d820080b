//! Issue 14's attacks on identity, each against the test OpenID provider signing real tokens:
//! what a sign-in proves, what it may take over, and where it may send the browser.

use axum::http::StatusCode;
use brightspots::auth::{ProviderSettings, Secret};
use brightspots::config::{Overrides, Settings};
use brightspots::domain::Role;
use brightspots::store::sql;
use std::sync::atomic::Ordering;

use crate::auth::{authorize, authorize_to, hub_configured, hub_with};
use crate::helpers::{Browser, TestApp};
use crate::provider::{CLIENT_ID, CLIENT_SECRET, Provider, Signing};

const BOSS: &str = "boss@lincoln.k12.us";

/// Signs in through the provider as it now behaves; returns the browser and the callback's
/// response.
async fn sign_in<'a>(app: &'a TestApp) -> (Browser<'a>, crate::helpers::Resp) {
    let mut b = Browser::new(app);
    let callback = authorize(&mut b).await;
    let r = b.get(&callback).await;
    (b, r)
}

/// What the header shows a browser: signed out, signed in, or signed in as an administrator.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    SignedOut,
    Member,
    Admin,
}

async fn standing(b: &mut Browser<'_>) -> Standing {
    let home = b.get("/").await.body;
    match (home.contains("Sign out"), home.contains("href=\"/admin\"")) {
        (false, _) => Standing::SignedOut,
        (true, false) => Standing::Member,
        (true, true) => Standing::Admin,
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sql::query_scalar(sql)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

async fn subject_of(app: &TestApp, email: &str) -> Option<String> {
    sql::query_scalar("select subject from users where email = $1")
        .bind(email)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_account_is_bound_to_its_subject_and_never_taken_over_by_email() {
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    provider.set(|b| {
        b.email = Some(BOSS.into());
        b.subject = Some("boss-subject".into());
    });
    let (mut boss, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut boss).await, Standing::Admin);

    // No e-mail, but the admin's address as preferred_username, under a new subject.
    provider.set(|b| {
        b.email = None;
        b.email_verified = None;
        b.preferred_username = Some(BOSS.into());
        b.subject = Some("mallory".into());
    });
    let (mut mallory, r) = sign_in(&app).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        r.body.contains("did not share an email address"),
        "{}",
        r.body
    );
    assert_eq!(standing(&mut mallory).await, Standing::SignedOut);

    // The admin's verified e-mail under another subject: refused, the binding kept.
    provider.set(|b| {
        b.email = Some(BOSS.into());
        b.email_verified = Some(true);
        b.preferred_username = None;
    });
    let (mut mallory, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(
        r.body.contains("already belongs to a Bright Spots account"),
        "{}",
        r.body
    );
    assert_eq!(standing(&mut mallory).await, Standing::SignedOut);
    assert_eq!(
        subject_of(&app, BOSS).await.as_deref(),
        Some("boss-subject")
    );
    assert_eq!(count(&app, "select count(*) from users").await, 1);

    // An administrator unlinks the old sign-in (the account was recreated at the district):
    // the next verified sign-in binds the new subject, and the old one's sessions are over.
    let boss_id: i64 = app.state.db.user_id_by_email(BOSS).await.unwrap().unwrap();
    let admin_page = boss.get("/admin").await.body;
    assert!(admin_page.contains("name=\"unlink\""), "{admin_page}");
    let r = boss
        .submit(
            "/admin/people",
            &[("person", &boss_id.to_string()), ("unlink", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut boss).await, Standing::SignedOut);
    provider.set(|b| b.subject = Some("boss-new-subject".into()));
    let (mut again, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut again).await, Standing::Admin);
    assert_eq!(
        subject_of(&app, BOSS).await.as_deref(),
        Some("boss-new-subject")
    );
}

#[tokio::test]
async fn email_links_a_person_set_up_beforehand_only_when_the_provider_vouches_for_it() {
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    let coach = "cole@lincoln.k12.us";
    let id = app.state.db.create_person(coach, "cole").await.unwrap();
    app.state.db.set_role(id, Role::Coach).await.unwrap();

    // The provider does not say it verified the address.
    provider.set(|b| {
        b.email = Some(coach.into());
        b.email_verified = None;
    });
    let (_, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("did not confirm"), "{}", r.body);
    assert_eq!(subject_of(&app, coach).await, None);

    // It does: the first sign-in binds the account, with the role set up for it.
    provider.set(|b| b.email_verified = Some(true));
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(b.get("/").await.body.contains("href=\"/review\""));
    assert_eq!(
        subject_of(&app, coach).await.as_deref(),
        Some("sub-cole@lincoln.k12.us")
    );

    // An address in `admins` that the provider does not vouch for makes nobody an admin.
    provider.set(|b| {
        b.email = Some(BOSS.into());
        b.email_verified = None;
    });
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut b).await, Standing::Member);

    // Nor is that address ever e-mailed (every recipient query wants it confirmed), until the
    // provider vouches for it.
    let confirmed = async |email: &str| -> i64 {
        sql::query_scalar("select email_confirmed from users where email = $1")
            .bind(email)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap()
    };
    assert_eq!((confirmed(BOSS).await, confirmed(coach).await), (0, 1));
    provider.set(|b| b.email_verified = Some(true));
    let (_, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(confirmed(BOSS).await, 1);
}

#[tokio::test]
async fn providers_that_send_email_and_preferred_username_sign_in() {
    let provider = Provider::start().await;
    provider.set(|b| b.preferred_username = Some("aortiz".into()));
    let app = hub_with(&provider).await;
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(b.get("/").await.body.contains("Ana Ortiz"));

    // Through userinfo as well (Keycloak, Okta and Entra send both there too).
    provider.set(|b| b.id_token = false);
    let app = hub_configured(&provider, |p| p.issuer = None).await;
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(b.get("/").await.body.contains("Ana Ortiz"));
}

#[tokio::test]
async fn forged_and_unsigned_id_tokens_are_refused() {
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    for signing in [Signing::Forged, Signing::Unsigned] {
        provider.set(|b| b.signing = signing);
        let (mut b, r) = sign_in(&app).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{signing:?}: {}", r.body);
        assert!(r.body.contains("could not be trusted"), "{}", r.body);
        assert_eq!(standing(&mut b).await, Standing::SignedOut);
    }
    // An ID token is required of a provider with an issuer: leaving it out is no way round.
    provider.set(|b| {
        b.signing = Signing::Key(0);
        b.id_token = false;
    });
    let (_, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("no ID token"), "{}", r.body);
    assert_eq!(count(&app, "select count(*) from users").await, 0);
}

#[tokio::test]
async fn keys_are_kept_and_fetched_again_when_the_provider_rotates_them() {
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    for _ in 0..2 {
        let (_, r) = sign_in(&app).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 1, "kept");
    provider.set(|b| {
        b.published = vec![1];
        b.signing = Signing::Key(1);
    });
    let (_, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        provider.jwks_fetches.load(Ordering::SeqCst),
        2,
        "fetched again"
    );
}

fn microsoft(p: &mut ProviderSettings, base: &str, tenant: Option<&str>) {
    *p = toml::from_str(&format!(
        r#"id = "district"
           kind = "microsoft"
           client_id = "{CLIENT_ID}"
           auth_url = "{base}/authorize"
           token_url = "{base}/token"
           userinfo_url = "{base}/userinfo"
           issuer = "{base}"
           allowed_domains = ["lincoln.k12.us"]"#
    ))
    .unwrap();
    p.tenant = tenant.map(String::from);
    p.client_secret = Secret::new(CLIENT_SECRET);
}

#[tokio::test]
async fn a_pinned_microsoft_tenant_admits_only_its_own_accounts() {
    const OURS: &str = "11111111-1111-1111-1111-111111111111";
    let provider = Provider::start().await;
    let base = provider.base.clone();
    let app = hub_configured(&provider, |p| microsoft(p, &base, Some(OURS))).await;
    provider.set(|b| {
        b.email_verified = None; // Entra does not send it
        b.tid = Some("22222222-2222-2222-2222-222222222222".into());
    });
    let (_, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("wrong tenant"), "{}", r.body);
    provider.set(|b| b.tid = None);
    let (_, r) = sign_in(&app).await;
    assert!(r.body.contains("wrong tenant"), "{}", r.body);

    // Its own tenant: signed in, and the pinned tenant vouches for the e-mail (an admin).
    provider.set(|b| {
        b.tid = Some(OURS.into());
        b.email = Some(BOSS.into());
    });
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut b).await, Standing::Admin);
}

#[tokio::test]
async fn multi_tenant_microsoft_needs_allowed_domains_and_trusts_no_email() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("brightspots.toml");
    std::fs::write(
        &file,
        "[[providers]]\nid = \"entra\"\nkind = \"microsoft\"\nclient_id = \"c\"\n",
    )
    .unwrap();
    let err = Settings::load(&Overrides {
        config: Some(file),
        ..Overrides::default()
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("tenant") && err.contains("allowed_domains"),
        "{err}"
    );

    // With allowed_domains: any tenant may sign in, but its e-mail makes nobody an admin.
    let provider = Provider::start().await;
    let base = provider.base.clone();
    let app = hub_configured(&provider, |p| microsoft(p, &base, None)).await;
    assert!(
        app.state.settings.providers[0]
            .warnings()
            .iter()
            .any(|w| w.contains("multi-tenant"))
    );
    provider.set(|b| {
        b.email_verified = None;
        b.email = Some(BOSS.into());
        b.tid = Some("33333333-3333-3333-3333-333333333333".into());
    });
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut b).await, Standing::Member);
}

#[tokio::test]
async fn a_token_endpoint_failure_is_the_providers_problem() {
    let provider = Provider::start().await;
    provider.set(|b| b.token_status = Some(500));
    let app = hub_with(&provider).await;
    let (_, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY, "{}", r.body);
    assert!(r.body.contains("provider had a problem"), "{}", r.body);
    assert!(!r.body.contains("parse"), "{}", r.body);
}

/// Every way of naming another host (or breaking the header) that a `next` may try.
const HOSTILE_NEXT: [&str; 9] = [
    "/%09/evil.example/",
    "/%0a/evil.example/",
    "/%0d%0aSet-Cookie:%20x=1",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "//evil.example/",
    "https://evil.example/",
    "/.//evil.example",
    "%2F%2Fevil.example",
];

#[tokio::test]
async fn redirects_after_sign_in_stay_on_the_hub() {
    // Local sign-in, and /signin?next= for someone already signed in.
    let app = TestApp::seeded().await;
    for next in HOSTILE_NEXT {
        let mut b = Browser::new(&app);
        let page = b.get(&format!("/signin?next={next}")).await;
        assert_eq!(page.status, StatusCode::OK, "{next}");
        let token = crate::helpers::csrf_in(&page.body).unwrap();
        let decoded = form_urlencoded::parse(format!("n={next}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned();
        let r = b
            .post(
                "/signin/local",
                &[
                    ("csrf", &token),
                    ("name", "Dana Lee"),
                    ("role", "member"),
                    ("next", &decoded),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}: {}", r.body);
        assert_eq!(r.location.as_deref(), Some("/"), "{next}");
        let r = b.get(&format!("/signin?next={next}")).await;
        assert_eq!(r.location.as_deref(), Some("/"), "{next}");
    }
    let mut b = Browser::local(&app, "Dana Lee", "member", "").await;
    let r = b.get("/signin?next=/practices/%C3%A9l%C3%A8ve?x=1").await;
    assert_eq!(
        r.location.as_deref(),
        Some("/practices/%C3%A9l%C3%A8ve?x=1"),
        "a path on the hub is kept"
    );

    // After a provider's callback.
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    for next in HOSTILE_NEXT {
        let mut b = Browser::new(&app);
        let callback = authorize_to(&mut b, next).await;
        let r = b.get(&callback).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}: {}", r.body);
        assert_eq!(r.location.as_deref(), Some("/"), "{next}");
    }
}

#[tokio::test]
async fn local_sign_in_is_only_for_a_hub_reached_on_loopback() {
    let app =
        TestApp::seeded_with(|s| s.public_url = Some("https://spots.coastal.org".into())).await;
    let err = app.state.settings.check_serving().unwrap_err().to_string();
    assert!(
        err.contains("public_url") && err.contains("https://spots.coastal.org"),
        "{err}"
    );
    let mut b = Browser::new(&app);
    let page = b.get("/signin").await.body;
    assert!(!page.contains("/signin/local"), "{page}");
    let r = b
        .post("/signin/local", &[("name", "Mallory"), ("role", "admin")])
        .await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "select count(*) from users").await, 0);

    let app = TestApp::seeded().await;
    assert!(app.state.settings.check_serving().is_ok());
    let app = TestApp::seeded_with(|s| s.public_url = Some("http://localhost:3000".into())).await;
    assert!(app.state.settings.check_serving().is_ok());
}

#[tokio::test]
async fn anonymous_visits_make_the_database_hold_nothing_lasting() {
    // The sign-in page, in local mode and with a provider, creates no session.
    let app = TestApp::seeded().await;
    for _ in 0..3 {
        Browser::new(&app).get("/signin").await;
    }
    assert_eq!(count(&app, "select count(*) from sessions").await, 0);
    let provider = Provider::start().await;
    let app = hub_with(&provider).await;
    let mut b = Browser::new(&app);
    b.get("/signin").await;
    assert_eq!(count(&app, "select count(*) from sessions").await, 0);

    // One browser has one sign-in in flight, however often it starts one.
    for _ in 0..5 {
        b.get("/auth/district/login?next=/").await;
    }
    assert_eq!(count(&app, "select count(*) from login_attempts").await, 1);

    // Many browsers: the attempts in flight are capped.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query(
        r#"with recursive n(i) as (select 1 union all select i + 1 from n where i < 10000)
           insert into login_attempts (state_hash, provider, pkce_verifier, nonce, return_to, created_at)
           select 'flood-' || i, 'district', 'v', 'n', '/', $1 from n"#,
    )
    .bind(time::OffsetDateTime::now_utc().unix_timestamp())
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r = Browser::new(&app).get("/auth/district/login?next=/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("Too many sign-ins"), "{}", r.body);
    assert_eq!(
        count(&app, "select count(*) from login_attempts").await,
        10_001
    );
}

#[tokio::test]
async fn expired_sessions_and_attempts_are_swept_without_anyone_signing_in() {
    let mut app = TestApp::seeded().await;
    let cookies = Browser::local(&app, "Dana Lee", "member", "").await.cookies;
    let mut tx = app.state.db.begin_write().await.unwrap();
    for sql in [
        "insert into sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) values ('old', null, 'c', 0, 0)",
        "insert into login_attempts (state_hash, provider, pkce_verifier, nonce, return_to, created_at) values ('old', 'x', 'v', 'n', '/', 0)",
        "insert into login_attempts (state_hash, provider, pkce_verifier, nonce, return_to, created_at) values ('new', 'x', 'v', 'n', '/', $1)",
    ] {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        sql::query(sql).bind(now).execute(&mut tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    // The sweeper runs when the hub starts, then every ten minutes.
    app.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&app, "select count(*) from login_attempts").await != 1 {
        assert!(std::time::Instant::now() < deadline, "not swept");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        count(&app, "select count(*) from sessions where id_hash = 'old'").await,
        0
    );
    let mut b = Browser::new(&app);
    b.cookies = cookies;
    assert!(
        b.get("/").await.body.contains("Sign out"),
        "a live session stays"
    );
}

#[tokio::test]
async fn google_workspace_admits_its_domains_and_vouches_for_their_addresses() {
    let provider = Provider::start().await;
    let base = provider.base.clone();
    let app = hub_configured(&provider, |p| {
        *p = toml::from_str(&format!(
            r#"id = "district"
               kind = "google"
               client_id = "{CLIENT_ID}"
               auth_url = "{base}/authorize"
               token_url = "{base}/token"
               userinfo_url = "{base}/userinfo"
               issuer = "{base}"
               allowed_domains = ["lincoln.k12.us"]"#
        ))
        .unwrap();
        p.client_secret = Secret::new(CLIENT_SECRET);
    })
    .await;
    // A personal Google account (no `hd`), and another Workspace: refused.
    for hd in [None, Some("elsewhere.org")] {
        provider.set(|b| {
            b.email = Some(BOSS.into());
            b.email_verified = None;
            b.hd = hd.map(String::from);
        });
        let (_, r) = sign_in(&app).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{hd:?}: {}", r.body);
    }
    // The district's Workspace vouches for an address in its domain: an administrator.
    provider.set(|b| b.hd = Some("lincoln.k12.us".into()));
    let (mut b, r) = sign_in(&app).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(standing(&mut b).await, Standing::Admin);
}

#[tokio::test]
async fn a_flood_of_searches_cannot_grow_the_search_log_without_bound() {
    let app = TestApp::empty().await;
    let cap = brightspots::SEARCH_LOG_PER_MINUTE;
    for i in 0..cap + 300 {
        let entry = brightspots::store::SearchLogEntry {
            query: format!("flood {i}"),
            filters: String::new(),
            results: 0,
            took_ms: 1.0,
        };
        app.state.search_log.send(entry).await.unwrap();
    }
    // The writer reaches the cap (however slow the machine), then writes nothing more.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count(&app, "select count(*) from search_log").await < cap as i64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the log never reached its cap"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        count(&app, "select count(*) from search_log").await,
        cap as i64
    );
}

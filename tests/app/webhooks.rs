//! Webhooks through the real router, the real job worker and sender, and a real HTTP
//! receiver in this process: signatures a receiver can verify (checked here with the `hmac`
//! crate, not with the hub's own code), retries after failures with the same delivery id,
//! scopes, only public content ever sent, and only administrators in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use brightspots::store::sql;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::helpers::{Browser, TestApp};
use crate::review::{field, rubric, send, share, vet};

/// The hub's default public URL (a loopback address: local sign-in works in the tests).
const PUBLIC_URL: &str = "http://127.0.0.1:3000";
const SLUG: &str = "restate-then-add";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    event: String,
    delivery: String,
    signature: String,
    body: String,
    /// What the receiver answered.
    status: u16,
}

impl Hit {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A webhook receiver on a port of its own: records every request and answers 500 to the
/// first `failures` of them, 200 after.
struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let recorded = hits.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: String| {
                let recorded = recorded.clone();
                let seen = seen.clone();
                async move {
                    let n = seen.fetch_add(1, Ordering::SeqCst);
                    let status = if n < failures {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    recorded.lock().unwrap().push(Hit {
                        path: uri.path().to_string(),
                        event: header("bright-spots-event"),
                        delivery: header("bright-spots-delivery"),
                        signature: header("bright-spots-signature"),
                        body,
                        status: status.as_u16(),
                    });
                    status
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { base, hits }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came in.
    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} deliveries, got {:#?}",
                hits
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What a receiver does: the signature header's `t` is recent and its `v1` is the
/// HMAC-SHA256 of "<t>.<body>" keyed with the secret.
fn verify(secret: &str, hit: &Hit, now: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in hit.signature.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x.to_string()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", hit.body).as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn hub() -> TestApp {
    TestApp::seeded_with(|s| {
        // Retries at once, so that the test sees them without waiting minutes.
        s.webhook_retry_secs = 0;
    })
    .await
}

/// Registers `url` for `events` through the admin page; returns the secret shown once.
async fn register(
    admin: &mut Browser<'_>,
    url: &str,
    events: &[&str],
    scope: &[(&str, &str)],
) -> String {
    let mut fields = vec![("url", url)];
    fields.extend(events.iter().map(|e| ("event", *e)));
    fields.extend_from_slice(scope);
    let r = admin.submit("/admin/webhooks", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let marker = "id=\"new-secret\" value=\"";
    let at = r.body.find(marker).expect("the secret is shown") + marker.len();
    let secret = r.body[at..at + r.body[at..].find('"').unwrap()].to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    // Shown once: not on the page after.
    assert!(!admin.get("/admin/webhooks").await.body.contains(&secret));
    secret
}

const ALL: &[&str] = &[
    "practice.vetted",
    "practice.revised",
    "practice.archived",
    "practice.restored",
    "practice.adopted",
    "adoption.outcome_reported",
    "practice.replicated",
    "practice.unreplicated",
];

/// Maya's team shares "Restate, then add" and Cora vets it.
async fn publish(maya: &mut Browser<'_>, cora: &mut Browser<'_>) {
    let r = send(
        maya,
        "/share",
        &share("Restate, then add", "Talk rose.", &[("action", "submit")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    vet(cora, SLUG).await;
}

async fn webhook_outbox(app: &TestApp) -> Vec<(String, String, i64, String)> {
    sql::query_as(
        "select kind, state, attempts, body_text from outbox where channel = 'webhook' order by id",
    )
    .fetch_all(app.state.db.reader())
    .await
    .unwrap()
}

#[tokio::test]
async fn signed_deliveries_are_retried_after_failures_until_one_succeeds() {
    let receiver = Receiver::start(2).await;
    let app = hub().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let secret = register(
        &mut admin,
        &format!("{}/hooks", receiver.base),
        &["practice.vetted"],
        &[],
    )
    .await;
    // A second hub instance on the same database runs its own sender: each attempt is still
    // claimed by one of them.
    let _other = app.second_instance().await;

    publish(&mut maya, &mut cora).await;
    let hits = receiver.wait_for(3).await;
    let now = brightspots::auth::now();
    assert_eq!(
        hits.iter().map(|h| h.status).collect::<Vec<_>>(),
        [500, 500, 200],
        "two failures, then one success"
    );
    for h in &hits {
        assert!(verify(&secret, h, now), "{h:?}");
        assert!(!verify("whsec_not-the-secret", h, now));
        // A replay ten minutes later is refused by the timestamp.
        assert!(!verify(&secret, h, now + 600));
        assert_eq!(h.event, "practice.vetted");
        assert_eq!(
            h.delivery, hits[0].delivery,
            "the same delivery id on retries"
        );
        assert_eq!(h.path, "/hooks");
    }
    let body = hits[2].json();
    assert_eq!(body["event"], "practice.vetted");
    assert_eq!(body["delivery"].to_string(), hits[0].delivery);
    let p = &body["practice"];
    assert_eq!(p["slug"], SLUG);
    assert_eq!(p["title"], "Restate, then add");
    assert_eq!(p["url"], format!("{PUBLIC_URL}/practices/{SLUG}"));
    assert_eq!(
        p["api_url"],
        format!("{PUBLIC_URL}/api/v1/practices/{SLUG}")
    );
    assert_eq!(p["team"]["slug"], "bayview-ms-step");
    assert_eq!(p["school"]["slug"], "bayview-ms");
    assert_eq!(p["district"]["slug"], "harbor-usd");
    assert_eq!(p["challenge_areas"][0]["slug"], "academic-discourse");

    // Nothing more comes (from either instance), and the delivery is recorded as sent after
    // three attempts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 3);
    let rows = webhook_outbox(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("sent", 3));
    let page = admin.get("/admin/webhooks").await.body;
    assert!(page.contains("delivered"), "{page}");
    // E-mail is off in this hub: its outbox holds no message, and webhooks went anyway.
    assert!(app.state.db.outbox().await.unwrap().is_empty());

    // A test ping reaches the receiver, signed the same way.
    let id: i64 = sql::query_scalar("select id from webhooks")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let r = admin
        .submit(&format!("/admin/webhooks/{id}/ping"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let hits = receiver.wait_for(4).await;
    assert_eq!(hits[3].event, "ping");
    assert!(verify(&secret, &hits[3], brightspots::auth::now()));
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_given_up_with_its_error() {
    let receiver = Receiver::start(usize::MAX).await;
    let app = hub().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    register(
        &mut admin,
        &format!("{}/down", receiver.base),
        &["practice.vetted"],
        &[],
    )
    .await;
    let id: i64 = sql::query_scalar("select id from webhooks")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let r = admin
        .submit(&format!("/admin/webhooks/{id}/ping"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let attempts = brightspots::webhooks::deliver::MAX_ATTEMPTS as usize;
    receiver.wait_for(attempts).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while webhook_outbox(&app).await[0].1 != "failed" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(receiver.hits().len(), attempts, "no attempt after the last");
    let page = admin.get("/admin/webhooks").await.body;
    assert!(
        page.contains("given up after 7 attempts: the endpoint answered 500 Internal Server Error"),
        "{page}"
    );
}

#[tokio::test]
async fn a_non_public_practice_or_revision_never_reaches_a_receiver() {
    let receiver = Receiver::start(0).await;
    let app = hub().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let mut lina = Browser::local(&app, "Lina Lincoln", "member", "lincoln-es-step").await;
    register(&mut admin, &format!("{}/all", receiver.base), ALL, &[]).await;

    // A practice submitted and returned, never public: nothing is sent about it.
    let r = send(
        &mut maya,
        "/share",
        &share(
            "SECRET-NEVER-PUBLIC practice",
            "SECRET-EVIDENCE",
            &[("action", "submit")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let never = "secret-never-public-practice";
    let revision = field(
        &cora.get(&format!("/review/{never}")).await.body,
        "revision",
    );
    let r = cora
        .submit(
            &format!("/review/{never}"),
            &rubric(&revision, "return", "SECRET-COMMENT"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // A practice vetted (public), then a new revision with secret text submitted and
    // returned: a draft behind the public revision.
    publish(&mut maya, &mut cora).await;
    receiver.wait_for(1).await;
    let base = field(
        &maya.get(&format!("/practices/{SLUG}/edit")).await.body,
        "base",
    );
    let r = send(
        &mut maya,
        &format!("/practices/{SLUG}/edit"),
        &share(
            "Restate, then add SECRET-DRAFT-TITLE",
            "SECRET-DRAFT-EVIDENCE",
            &[("action", "submit"), ("base", &base)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let revision = field(&cora.get(&format!("/review/{SLUG}")).await.body, "revision");
    let r = cora
        .submit(
            &format!("/review/{SLUG}"),
            &rubric(&revision, "return", "SECRET-RETURN-COMMENT"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Events while the draft waits carry the public revision: an adoption, its outcome…
    let mut form = crate::adopt::adoption(
        "lincoln-es-step",
        "testing",
        &[1],
        "",
        "student-outcome",
        "40",
    );
    let path = format!("/practices/{SLUG}/adopt");
    let r = send(&mut lina, &path, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for (k, v) in form.iter_mut() {
        if k == "outcome" {
            *v = "improved".into();
        }
    }
    let r = send(&mut lina, &path, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // (Announced before the archive: an event whose practice is no longer public by the
    // time its job runs sends nothing.)
    receiver.wait_for(3).await;
    // …and archiving it (the news names what the public saw).
    let r = cora
        .submit(
            &format!("/review/{SLUG}/archive"),
            &[("comment", "SECRET-ARCHIVE-REASON")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    let hits = receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits_now = receiver.hits();
    assert_eq!(hits_now.len(), hits.len(), "{hits_now:#?}");
    let events: Vec<&str> = hits.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(
        events,
        [
            "practice.vetted",
            "practice.adopted",
            "adoption.outcome_reported",
            "practice.archived"
        ]
    );
    for h in &hits {
        assert!(
            !h.body.contains("SECRET"),
            "non-public text went out: {}",
            h.body
        );
        assert!(!h.body.contains(never), "{}", h.body);
        assert_eq!(h.json()["practice"]["title"], "Restate, then add");
    }
    let adopted = hits[1].json();
    assert_eq!(adopted["adoption"]["school"]["slug"], "lincoln-es");
    assert_eq!(adopted["adoption"]["status"], "testing");
    assert_eq!(hits[2].json()["adoption"]["outcome"], "improved");
    assert_eq!(hits[3].json()["practice"]["archived"], true);
    // Nor does any delivery waiting or failed in the outbox hold such text.
    for (_, _, _, body) in webhook_outbox(&app).await {
        assert!(!body.contains("SECRET"), "{body}");
    }

    // Once archived, the practice is not public: an adoption report about it sends nothing.
    send(&mut lina, &path, &form).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.hits().len(), 4);
}

#[tokio::test]
async fn endpoints_hear_only_of_their_events_district_and_challenge_area() {
    let receiver = Receiver::start(0).await;
    let app = hub().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let id = |table: &'static str, slug: &'static str| {
        let db = app.state.db.clone();
        async move {
            sql::query_scalar::<i64>(format!("select id from {table} where slug = $1"))
                .bind(slug)
                .fetch_one(db.reader())
                .await
                .unwrap()
                .to_string()
        }
    };
    let harbor = id("districts", "harbor-usd").await;
    let pine = id("districts", "pine-valley-sd").await;
    let discourse = id("challenge_areas", "academic-discourse").await;
    let other_area: String = sql::query_scalar::<i64>(
        "select id from challenge_areas where slug <> 'academic-discourse' order by id limit 1",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap()
    .to_string();
    let url = |path: &str| format!("{}/{path}", receiver.base);
    register(
        &mut admin,
        &url("harbor"),
        &["practice.vetted"],
        &[("district", &harbor)],
    )
    .await;
    register(
        &mut admin,
        &url("pine"),
        &["practice.vetted"],
        &[("district", &pine)],
    )
    .await;
    register(
        &mut admin,
        &url("discourse"),
        &["practice.vetted"],
        &[("area", &discourse)],
    )
    .await;
    register(
        &mut admin,
        &url("other-area"),
        &["practice.vetted"],
        &[("area", &other_area)],
    )
    .await;
    register(
        &mut admin,
        &url("both"),
        &["practice.vetted"],
        &[("district", &harbor), ("area", &discourse)],
    )
    .await;
    register(
        &mut admin,
        &url("archived-only"),
        &["practice.archived"],
        &[],
    )
    .await;
    // Turned off: hears nothing.
    register(&mut admin, &url("off"), &["practice.vetted"], &[]).await;
    let off: i64 = sql::query_scalar("select max(id) from webhooks")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let r = admin
        .submit(&format!("/admin/webhooks/{off}/active"), &[("active", "0")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    publish(&mut maya, &mut cora).await;
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut paths: Vec<String> = receiver.hits().into_iter().map(|h| h.path).collect();
    paths.sort();
    assert_eq!(paths, ["/both", "/discourse", "/harbor"]);
}

#[tokio::test]
async fn only_administrators_manage_webhooks_and_bad_input_is_shown_with_what_was_typed() {
    let app = hub().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let fields = [
        ("url", "https://portal.example/hooks"),
        ("event", "practice.vetted"),
    ];
    for who in [&mut cora, &mut maya] {
        assert_eq!(
            who.get("/admin/webhooks").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            who.submit("/admin/webhooks", &fields).await.status,
            StatusCode::FORBIDDEN
        );
    }
    let mut anonymous = Browser::new(&app);
    assert_ne!(
        anonymous.get("/admin/webhooks").await.status,
        StatusCode::OK
    );
    let r = anonymous.post("/admin/webhooks", &fields).await;
    assert!(r.status.is_client_error(), "{:?}", r.status);
    // An administrator's form without its CSRF token is refused too.
    let r = admin.post("/admin/webhooks", &fields).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let none: i64 = sql::query_scalar("select count(*) from webhooks")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(none, 0);

    // The admin page links to the webhooks page, which is labelled.
    assert!(
        admin
            .get("/admin")
            .await
            .body
            .contains("href=\"/admin/webhooks\"")
    );
    // Bad input: the page again, with the problems and what was typed.
    let r = admin
        .submit(
            "/admin/webhooks",
            &[
                ("url", "ftp://portal.example/hooks"),
                ("event", "practice.archived"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Only https:// (or http://) URLs"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"ftp://portal.example/hooks\""));
    assert!(r.body.contains("value=\"practice.archived\" checked"));
    assert!(!r.body.contains("value=\"practice.vetted\" checked"));
    assert!(r.body.contains("<label for=\"url\">"));
    let r = admin
        .submit(
            "/admin/webhooks",
            &[("url", "https://portal.example/hooks")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Tick at least one event."));
    let r = admin
        .submit(
            "/admin/webhooks",
            &[
                ("url", "https://portal.example/hooks"),
                ("event", "practice.vetted"),
                ("district", "999999"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Choose a district from the list"));

    // Registered, then deleted by an administrator; a coach cannot ping or delete it.
    register(
        &mut admin,
        "https://portal.example/hooks",
        &["practice.vetted"],
        &[],
    )
    .await;
    let id: i64 = sql::query_scalar("select id from webhooks")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    for action in ["ping", "delete", "active"] {
        let r = cora
            .submit(&format!("/admin/webhooks/{id}/{action}"), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{action}");
    }
    let r = admin
        .submit(&format!("/admin/webhooks/{id}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(app.state.db.webhooks().await.unwrap().is_empty());
}

#[tokio::test]
async fn revisions_replication_archive_and_restore_are_announced() {
    let receiver = Receiver::start(0).await;
    let app = hub().await;
    let mut admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let mut maya = Browser::local(&app, "Maya Member", "member", "bayview-ms-step").await;
    let mut cora = Browser::local(&app, "Cora Coach", "coach", "").await;
    let mut lina = Browser::local(&app, "Lina Lincoln", "member", "lincoln-es-step").await;
    let mut pat = Browser::local(&app, "Pat Pine", "member", "pine-valley-k8-step").await;
    publish(&mut maya, &mut cora).await;
    // Registered after the vetting, and not for adoptions: only what follows is heard.
    let wanted: Vec<&str> = ALL
        .iter()
        .copied()
        .filter(|e| {
            ![
                "practice.vetted",
                "practice.adopted",
                "adoption.outcome_reported",
            ]
            .contains(e)
        })
        .collect();
    register(&mut admin, &format!("{}/news", receiver.base), &wanted, &[]).await;
    let path = format!("/practices/{SLUG}/adopt");

    // Two other schools keep every aspect and improve: replicated.
    for (b, team) in [
        (&mut lina, "lincoln-es-step"),
        (&mut pat, "pine-valley-k8-step"),
    ] {
        let form =
            crate::adopt::adoption(team, "adopted", &[1], "improved", "student-outcome", "40");
        let r = send(b, &path, &form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let hits = receiver.wait_for(1).await;
    assert_eq!(hits[0].event, "practice.replicated");
    assert_eq!(hits[0].json()["practice"]["stage"], "replicated");
    // One of them declines: no longer replicated.
    let form = crate::adopt::adoption(
        "pine-valley-k8-step",
        "adopted",
        &[1],
        "declined",
        "student-outcome",
        "40",
    );
    assert_eq!(
        send(&mut pat, &path, &form).await.status,
        StatusCode::SEE_OTHER
    );
    let hits = receiver.wait_for(2).await;
    assert_eq!(hits[1].event, "practice.unreplicated");

    // A new revision vetted: revised, with the new title.
    let base = field(
        &maya.get(&format!("/practices/{SLUG}/edit")).await.body,
        "base",
    );
    let r = send(
        &mut maya,
        &format!("/practices/{SLUG}/edit"),
        &share(
            "Restate, then add (revised)",
            "Talk rose in 6 classrooms.",
            &[("action", "submit"), ("base", &base)],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    vet(&mut cora, SLUG).await;
    let hits = receiver.wait_for(3).await;
    assert_eq!(hits[2].event, "practice.revised");
    assert_eq!(
        hits[2].json()["practice"]["title"],
        "Restate, then add (revised)"
    );

    // Archived, then restored by another coach.
    let r = cora
        .submit(
            &format!("/review/{SLUG}/archive"),
            &[("comment", "Superseded.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let hits = receiver.wait_for(4).await;
    assert_eq!(hits[3].event, "practice.archived");
    let mut cole = Browser::local(&app, "Cole Coach", "coach", "").await;
    let r = cole
        .submit(&format!("/review/{SLUG}/restore"), &[("comment", "Back.")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let hits = receiver.wait_for(5).await;
    assert_eq!(hits[4].event, "practice.restored");
    assert_eq!(hits[4].json()["practice"]["archived"], false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 5);
}

#[tokio::test]
async fn a_claim_whose_sender_stopped_is_sent_again_and_the_mail_sender_leaves_deliveries_alone() {
    use brightspots::store::{Attempt, NewDelivery, NewWebhook};
    let app = hub().await;
    let _admin = Browser::local(&app, "Ada Admin", "admin", "").await;
    let db = &app.state.db;
    let admin: i64 = sql::query_scalar("select id from users")
        .fetch_one(db.reader())
        .await
        .unwrap();
    let hook = db
        .add_webhook(
            &NewWebhook {
                url: "http://127.0.0.1:9/unused".into(),
                secret: brightspots::auth::Secret::new("whsec_x"),
                events: vec!["practice.vetted".into()],
                district_id: None,
                challenge_area_id: None,
            },
            admin,
            0,
        )
        .await
        .unwrap();
    // Due far ahead of the clock, so the running senders never see it: this test is the sender.
    let t = 4_000_000_000;
    let delivery = NewDelivery {
        webhook_id: hook,
        url: "http://127.0.0.1:9/unused".into(),
        event: "practice.vetted".into(),
        about: "event:1".into(),
        body: serde_json::json!({"event": "practice.vetted"}),
    };
    assert_eq!(
        db.enqueue_deliveries(std::slice::from_ref(&delivery), t)
            .await
            .unwrap(),
        1
    );
    // The same event announced again (a retried job) adds nothing.
    assert_eq!(db.enqueue_deliveries(&[delivery], t).await.unwrap(), 0);
    assert!(
        db.claim_mail(t, t + 60).await.unwrap().is_none(),
        "not e-mail"
    );

    let first = db.claim_delivery(t, t + 120).await.unwrap().unwrap();
    assert_eq!(first.attempts, 1);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&first.body).unwrap()["delivery"],
        first.id
    );
    assert!(
        db.claim_delivery(t + 1, t + 121).await.unwrap().is_none(),
        "leased"
    );
    // Its sender stops. The sweep that makes a stale e-mail `uncertain` leaves it be…
    db.settle_mail(t + 200, 0).await.unwrap();
    // …and another sender claims it again once the lease ran out: at least once.
    let again = db.claim_delivery(t + 200, t + 320).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 2));
    // The first claimer's late word changes nothing; the latest claim's is recorded.
    db.record_delivery(&first, &Attempt::Delivered, t + 201)
        .await
        .unwrap();
    assert_eq!(webhook_outbox(&app).await[0].1, "sending");
    db.record_delivery(&again, &Attempt::Delivered, t + 202)
        .await
        .unwrap();
    assert_eq!(webhook_outbox(&app).await[0].1, "sent");
}

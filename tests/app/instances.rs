//! Several hub instances on one database (both backends): what is written through one is
//! on every other's pages and search; a person whose requests alternate between instances
//! stays signed in; a job runs once whichever instances try to claim it.

use axum::http::StatusCode;
use brightspots::store::{Db, sql};

use crate::helpers::{Browser, TestApp, fresh_database_url};
use crate::review::{send, share, vet};

/// A practice shared and submitted by a member and vetted by a coach, all through `app`;
/// its slug is `title`'s.
async fn publish(app: &TestApp, title: &str, slug: &str) {
    let mut rosa = Browser::local(app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let r = send(
        &mut rosa,
        "/share",
        &share(title, "Talk rose from 41% to 78%.", &[("action", "submit")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut ada = Browser::local(app, "Ada Coach", "coach", "").await;
    vet(&mut ada, slug).await;
}

async fn search_total(app: &TestApp, q: &str) -> u64 {
    let (status, body) = app.get(&format!("/api/v1/search?q={q}")).await;
    assert_eq!(status, StatusCode::OK);
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["total"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_write_through_one_instance_is_on_the_others_pages_and_search() {
    let a = TestApp::seeded().await;
    let b = a.second_instance().await;
    // B has cached its anonymous pages and search rows before the write.
    assert_eq!(search_total(&b, "zygomorphic").await, 0);
    let team_page = b.page("/teams/bayview-ms-step").await;
    assert!(!team_page.contains("Zygomorphic restating"));

    let slug = "zygomorphic-restating";
    publish(&a, "Zygomorphic restating", slug).await;

    // `get` waits until B's own index has applied every change in the database: the
    // searchable bound. Nothing of B's is older than that afterwards.
    assert_eq!(search_total(&b, "zygomorphic").await, 1);
    assert!(
        b.page(&format!("/practices/{slug}"))
            .await
            .contains("Zygomorphic restating")
    );
    assert!(
        b.page("/teams/bayview-ms-step")
            .await
            .contains("Zygomorphic restating")
    );

    // A rename of a school through A (an import of the network) reaches B's cached pages and
    // its facet labels too.
    let mut tx = a.state.db.begin_write().await.unwrap();
    sql::query("update schools set name = 'Bayview Renamed MS' where slug = 'bayview-ms'")
        .execute(&mut tx)
        .await
        .unwrap();
    sql::query("insert into changes (practice_id, kind) values (null, 'network')")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        b.page("/teams/bayview-ms-step")
            .await
            .contains("Bayview Renamed MS")
    );
}

#[tokio::test]
async fn requests_alternating_between_instances_stay_signed_in() {
    let a = TestApp::seeded().await;
    let b = a.second_instance().await;
    let on_a = Browser::local(&a, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut on_b = Browser::new(&b);
    on_b.cookies = on_a.cookies.clone();
    let me = on_b.get("/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(me.body.contains("Rosa Diaz"));

    // A form served by A is accepted by B: the CSRF token is the session's, in the database.
    let mut on_a = on_a;
    let token = on_a.csrf().await;
    let mut fields: Vec<(String, String)> = vec![("csrf".into(), token)];
    fields.extend(share("Alternating instances", "Talk rose.", &[]));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = on_b.post("/share", &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Signing out on B ends the session on A.
    let token = on_b.csrf().await;
    let r = on_b.post("/signout", &[("csrf", &token)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let me = on_a.get("/me").await;
    assert_ne!(me.status, StatusCode::OK);
}

#[tokio::test]
async fn a_job_runs_once_when_instances_claim_it_together() {
    // Two handles on one database and no hub running: only this test claims.
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let (a, b) = (
        Db::connect(&url).await.unwrap(),
        Db::connect(&url).await.unwrap(),
    );
    let now = 2_000_000_000;
    a.schedule_job("test", "once", "{}", now).await.unwrap();
    let claims = (0..20).flat_map(|_| {
        [a.clone(), b.clone()]
            .map(|db| tokio::spawn(async move { db.claim_job(now, now + 60).await }))
    });
    let mut won = Vec::new();
    for claim in claims.collect::<Vec<_>>() {
        if let Some(job) = claim.await.unwrap().unwrap() {
            won.push(job);
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let job = &won[0];
    assert_eq!(
        (job.kind.as_str(), job.key.as_str(), job.attempts),
        ("test", "once", 1)
    );

    // A worker that died holds the job until its lease ends; then another takes it over, and
    // the first one's late report changes nothing.
    assert!(b.claim_job(now + 59, now + 120).await.unwrap().is_none());
    let again = b.claim_job(now + 60, now + 120).await.unwrap().unwrap();
    assert_eq!(again.attempts, 2);
    a.finish_job(job, None).await.unwrap();
    assert_eq!(
        a.jobs().await.unwrap().len(),
        1,
        "the stale claimer deleted nothing"
    );

    // A failure is recorded and retried when it says.
    b.fail_job(&again, "smtp said no", now + 200).await.unwrap();
    let rows = a.jobs().await.unwrap();
    assert_eq!(rows[0].2, now + 200);
    assert_eq!(rows[0].4.as_deref(), Some("smtp said no"));
    assert!(a.claim_job(now + 199, now + 300).await.unwrap().is_none());
    let retried = a.claim_job(now + 200, now + 300).await.unwrap().unwrap();
    a.finish_job(&retried, Some((now + 900, "{}")))
        .await
        .unwrap();
    let rows = a.jobs().await.unwrap();
    assert_eq!(
        (rows[0].2, rows[0].3, rows[0].4.as_deref()),
        (now + 900, 0, None)
    );

    // Scheduling again only ever brings a job forward.
    a.schedule_job("test", "once", "{}", now + 5000)
        .await
        .unwrap();
    assert_eq!(a.jobs().await.unwrap()[0].2, now + 900);
    a.schedule_job("test", "once", "{}", now + 10)
        .await
        .unwrap();
    assert_eq!(a.jobs().await.unwrap()[0].2, now + 10);
}

/// A sign-in started on one instance completes on another: the attempt (state, PKCE
/// verifier, nonce) is in the database, not in the instance that started it.
#[tokio::test]
async fn a_sign_in_started_on_one_instance_completes_on_another() {
    let provider = crate::provider::Provider::start().await;
    let a = crate::auth::hub_with(&provider).await;
    let b = a.second_instance().await;
    let mut on_a = Browser::new(&a);
    let callback = crate::auth::authorize(&mut on_a).await;
    let mut on_b = Browser::new(&b);
    on_b.cookies = on_a.cookies.clone();
    let r = on_b.get(&callback).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/me"));
    on_a.cookies = on_b.cookies.clone();
    let home = on_a.get("/").await.body;
    assert!(home.contains("Sign out"), "signed in on A too");
    // The attempt was used up: the same callback on A is refused.
    let again = on_a.get(&callback).await;
    assert_ne!(again.status, StatusCode::SEE_OTHER);
}

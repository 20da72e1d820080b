//! The database's one writer held by someone else (a long `brightspots import`): a person's
//! save comes back with their text and a plain message, reading never waits, and a save with
//! submit is one transaction.

use brightspots::store::{Dialect, sql};
use std::time::Duration;

use axum::http::StatusCode;

use crate::helpers::{Browser, TestApp};
use crate::publish::practice_form;

/// Takes the write lock from another connection, as an import in another process does.
async fn hold_writer(app: &TestApp) -> brightspots::store::Conn {
    let other = brightspots::store::Db::connect(&app.db_url())
        .await
        .unwrap();
    other.begin_write().await.unwrap()
}

async fn release(other: brightspots::store::Conn) {
    other.rollback().await.unwrap();
}

#[tokio::test]
async fn a_save_behind_a_long_import_keeps_the_text_and_says_to_press_again() {
    let app = TestApp::seeded_with(|s| s.write_wait_secs = 1).await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let mut lina = Browser::local(&app, "Lina (Lincoln)", "member", "lincoln-es-step").await;
    let form = practice_form(
        "Restating partners while the hub imports",
        "24",
        "Spoke more.",
    );
    let import = hold_writer(&app).await;
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("The hub is busy"), "{}", r.body);
    assert!(r.body.contains("press the button again"), "{}", r.body);
    assert!(
        r.body.contains("Restating partners while the hub imports")
            && r.body.contains("Before adding an idea, a student restates"),
        "every typed value is kept"
    );
    // The adoption form keeps its answers the same way.
    let r = crate::adopt::send(
        &mut lina,
        &crate::adopt::adoption(
            "lincoln-es-step",
            "testing",
            &[1],
            "improved",
            "student-outcome",
            "24",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("The hub is busy"), "{}", r.body);
    assert!(r.body.contains("Shorter texts for the first two weeks."));
    // Other forms get the same answer as a page, never a 500.
    let r = b.submit("/signout", &[]).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(r.body.contains("The hub is busy"), "{}", r.body);

    release(import).await;
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn reading_pages_never_wait_on_the_writer() {
    // The hub's own wait (30 s here) would be far longer than the bound below.
    let app = TestApp::seeded_with(|s| s.write_wait_secs = 30).await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    let ended = {
        let mut e = Browser::local(&app, "Eli Park", "member", "").await;
        e.cookies.remove("bs_presession");
        e.cookies
    };
    // The idle clock of both sessions is due for a refresh; one of them is also over.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update sessions set last_seen_at = last_seen_at - 120")
        .execute(&mut tx)
        .await
        .unwrap();
    sql::query(
        "update sessions set created_at = 0 where user_id = (select id from users where name = 'Eli Park')",
    )
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let import = hold_writer(&app).await;
    let page = tokio::time::timeout(Duration::from_secs(10), b.get("/challenges"))
        .await
        .expect("a signed-in reader waited on the writer");
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Sign out"));
    let mut e = Browser::new(&app);
    e.cookies = ended;
    let page = tokio::time::timeout(Duration::from_secs(10), e.get("/challenges"))
        .await
        .expect("a reader with an ended session waited on the writer");
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Sign out"));
    release(import).await;
}

#[tokio::test]
async fn save_and_submit_are_one_transaction() {
    let app = TestApp::seeded().await;
    let mut b = Browser::local(&app, "Rosa Diaz", "member", "bayview-ms-step").await;
    // Recording the submission fails (as if the process died there): the save goes too.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let triggers: &[&str] = match app.state.db.dialect() {
        Dialect::Sqlite => &[
            r#"create trigger fail_submission before insert on practice_events
               when new.kind = 'submitted' begin select raise(abort, 'the process died here'); end"#,
        ],
        Dialect::Postgres => &[
            r#"create function fail_submission() returns trigger language plpgsql as $$
               begin raise exception 'the process died here'; end $$"#,
            r#"create trigger fail_submission before insert on practice_events for each row
               when (new.kind = 'submitted') execute function fail_submission()"#,
        ],
    };
    for trigger in triggers {
        sql::query(*trigger).execute(&mut tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut form = practice_form("Restating partners, all or nothing", "24", "Spoke more.");
    form.extend_from_slice(&[("confirm_privacy", "yes"), ("action", "submit")]);
    let r = b.submit("/share", &form).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let saved: i64 = sql::query_scalar(
        "select count(*) from practice_revisions where title = 'Restating partners, all or nothing'",
    )
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert_eq!(
        saved, 0,
        "nothing of a save whose submission failed is kept"
    );
}

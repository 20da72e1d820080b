//! `brightspots copy`: a hub with a history moves to another database (of the backend under
//! test, or SQLite) whole, verified, and is not copied over twice.

use std::process::Command;

use axum::http::StatusCode;
use brightspots::store::{CopyError, CopyOptions, Db, export_catalog, sql};

use crate::adopt::{adoption, send};
use crate::helpers::{Browser, TestApp, fresh_database_url, seed_dir};

/// Every table the copy moves, sessions last.
const TABLES: [&str; 30] = [
    "districts",
    "schools",
    "challenge_areas",
    "teams",
    "users",
    "team_members",
    "practices",
    "practice_revisions",
    "revision_sections",
    "revision_challenge_areas",
    "resources",
    "adoptions",
    "measures",
    "adoption_history",
    "questions",
    "answers",
    "reviews",
    "practice_events",
    "plc_sessions",
    "plc_decisions",
    "search_log",
    "notifications_off",
    "subscriptions",
    "webhooks",
    "outbox",
    "files",
    "practice_files",
    "hub_keys",
    "api_tokens",
    "sessions",
];

/// The practice the history is made on.
const SLUG: &str = "reciprocal-teaching-roles";

fn quarter() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    brightspots::domain::Quarter::containing(today).to_string()
}

/// Gives a seeded hub a history through its router: an archive decision, an adoption changed
/// twice, a PLC session with a decision and searches. Returns the signed-in coach's and
/// member's cookies.
async fn live(app: &TestApp) -> [std::collections::BTreeMap<String, String>; 2] {
    let mut coach = Browser::local(app, "Ada Coach", "coach", "").await;
    let mut member = Browser::local(app, "Lina (Lincoln)", "member", "lincoln-es-step").await;
    for (status, outcome) in [("testing", ""), ("adopted", "improved")] {
        let form = adoption(
            "lincoln-es-step",
            status,
            &[1],
            outcome,
            "student-outcome",
            "40",
        );
        assert_eq!(send(&mut member, &form).await.status, StatusCode::SEE_OTHER);
    }
    let r = coach
        .submit(
            "/review/bus-route-attendance-buddies/archive",
            &[("comment", "The buses changed.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let held = time::OffsetDateTime::now_utc().date().to_string();
    let quarter = quarter();
    let r = coach
        .submit("/plc", &[("quarter", &quarter), ("held_on", &held)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = coach
        .submit(
            &format!("/plc/{quarter}/decisions"),
            &[("agenda", "Attendance"), ("decision", "Ask Riverside")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // E-mail: a subscription, kinds turned off, the unsubscribe key, a message waiting.
    let r = member
        .submit(
            "/me/subscriptions",
            &[("target", "area"), ("value", "academic-discourse")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        member.submit("/me/notifications", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    app.state.db.hub_key("unsubscribe", "a-key").await.unwrap();
    // An uploaded image: a bytes column, copied byte for byte.
    let token = member.csrf().await;
    let r = crate::images::upload(
        &mut member,
        "number-talks-sentence-frames",
        Some(&token),
        Some(("frames.png", &crate::images::png(4096))),
        "Sentence frames",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let lina: i64 = sql::query_scalar("select user_id from team_members limit 1")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    let draft = brightspots::store::Draft {
        // Not a kind Lina can turn off (she turned them all off above).
        kind: "subscription".into(),
        ..crate::mail::draft(0, lina)
    };
    app.state.db.enqueue_mail(&[draft], 1).await.unwrap();
    // Webhooks: an endpoint (scoped, so both nullable columns hold a value) and a delivery.
    let webhook = app
        .state
        .db
        .add_webhook(
            &brightspots::store::NewWebhook {
                url: "https://portal.example/hooks".into(),
                secret: brightspots::auth::Secret::new("whsec_copy"),
                events: vec!["practice.vetted".into()],
                district_id: Some(1),
                challenge_area_id: Some(1),
            },
            lina,
            1,
        )
        .await
        .unwrap();
    app.state
        .db
        .enqueue_deliveries(
            &[brightspots::store::NewDelivery {
                webhook_id: webhook,
                url: "https://portal.example/hooks".into(),
                event: "practice.vetted".into(),
                about: "copy".into(),
                body: serde_json::json!({"event": "practice.vetted"}),
            }],
            // Due far ahead: the test hub's sender leaves it waiting, so the row stays as is.
            i64::MAX / 2,
        )
        .await
        .unwrap();
    // An API token (its hash) that keeps working after the move.
    crate::tokens::make_token(&mut member, "copied", &["read"]).await;
    for q in ["robotics+club", "xyzzy"] {
        app.get(&format!("/search?q={q}")).await;
    }
    // Searches are logged in the background.
    for _ in 0..200 {
        if count(&app.state.db, "search_log").await >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    [coach.cookies, member.cookies]
}

async fn count(db: &Db, table: &str) -> i64 {
    sql::query_scalar(format!("select count(*) from {table}"))
        .fetch_one(db.reader())
        .await
        .unwrap()
}

async fn counts(db: &Db) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push((t, count(db, t).await));
    }
    out
}

/// Whether these cookies are signed in on `app`.
async fn signed_in(app: &TestApp, cookies: &std::collections::BTreeMap<String, String>) -> bool {
    let mut b = Browser {
        app,
        cookies: cookies.clone(),
    };
    b.get("/").await.body.contains("Sign out")
}

/// A page without its "Related practices", which the search index ranks: a rebuilt index and
/// one that has seen deletions weigh terms a little differently.
fn without_related(page: &str) -> String {
    match page.find("<section class=\"part related\"") {
        Some(at) => {
            let end = at + page[at..].find("</section>").unwrap();
            format!("{}{}", &page[..at], &page[end..])
        }
        None => page.to_owned(),
    }
}

/// An app on an existing database.
async fn app_on(url: &str) -> TestApp {
    let url = url.to_owned();
    TestApp::configured(|s| s.database_url = url.into()).await
}

/// Writes each database's export and compares the two trees file by file.
async fn assert_same_export(a: &Db, b: &Db) {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    brightspots::content::write_dir(da.path(), &export_catalog(a).await.unwrap()).unwrap();
    brightspots::content::write_dir(db.path(), &export_catalog(b).await.unwrap()).unwrap();
    let mut files = Vec::new();
    for sub in ["", "practices"] {
        for e in std::fs::read_dir(da.path().join(sub)).unwrap() {
            let path = e.unwrap().path();
            if path.is_file() {
                files.push(path.strip_prefix(da.path()).unwrap().to_owned());
            }
        }
    }
    assert!(files.len() > 17, "{files:?}");
    for f in &files {
        assert_eq!(
            std::fs::read(da.path().join(f)).unwrap(),
            std::fs::read(db.path().join(f)).unwrap(),
            "{}",
            f.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(db.path().join("practices"))
            .unwrap()
            .count(),
        std::fs::read_dir(da.path().join("practices"))
            .unwrap()
            .count()
    );
}

#[tokio::test]
async fn a_sqlite_hub_moves_whole_and_is_not_copied_over_twice() {
    // The move: from SQLite to the backend under test (PostgreSQL in its pass).
    let dir = tempfile::tempdir().unwrap();
    let source_url = format!("sqlite:{}", dir.path().join("source.db").display());
    let source = TestApp::seeded_with(|s| s.database_url = source_url.into()).await;
    let [coach, member] = live(&source).await;
    let before = counts(&source.state.db).await;
    for t in [
        "users",
        "team_members",
        "adoption_history",
        "reviews",
        "plc_sessions",
        "plc_decisions",
        "search_log",
        "notifications_off",
        "subscriptions",
        "webhooks",
        "outbox",
        "hub_keys",
        "api_tokens",
        "files",
        "practice_files",
        "sessions",
    ] {
        assert!(
            before.iter().any(|&(n, c)| n == t && c > 0),
            "the source has {t}"
        );
    }

    let target_url = fresh_database_url(dir.path()).await;
    let to = Db::connect(&target_url).await.unwrap();
    let report = brightspots::store::copy(&source.state.db, &to, CopyOptions::default())
        .await
        .unwrap();
    let copied: Vec<(&str, i64)> = report.tables.iter().map(|&(t, n)| (t, n as i64)).collect();
    let all_but_sessions = &before[..before.len() - 1];
    assert_eq!(before.last().unwrap().0, "sessions");
    assert_eq!(
        copied, all_but_sessions,
        "every table but sessions, every row"
    );
    assert_eq!(counts(&to).await[..before.len() - 1], *all_but_sessions);
    assert_eq!(count(&to, "sessions").await, 0);

    // A hub on the target shows the same pages; without sessions nobody is signed in there.
    let target = app_on(&target_url).await;
    for path in [
        format!("/practices/{SLUG}"),
        "/teams/lincoln-es-step".to_string(),
    ] {
        assert_eq!(
            without_related(&target.page(&path).await),
            without_related(&source.page(&path).await),
            "{path}"
        );
    }
    assert!(signed_in(&source, &coach).await);
    assert!(!signed_in(&target, &coach).await);

    // A second run refuses and writes nothing.
    let held = counts(&to).await;
    let err = brightspots::store::copy(&source.state.db, &to, CopyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CopyError::NotEmpty(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("17 practices") && message.contains("--replace"),
        "{message}"
    );
    assert_eq!(counts(&to).await, held);

    // --replace empties the target first; --sessions keeps people signed in.
    let opts = CopyOptions {
        sessions: true,
        replace: true,
    };
    let report = brightspots::store::copy(&source.state.db, &to, opts)
        .await
        .unwrap();
    assert_eq!(report.tables.last().unwrap().0, "sessions");
    assert_eq!(counts(&to).await, counts(&source.state.db).await);
    assert!(signed_in(&target, &coach).await);
    let mut lina = Browser {
        app: &target,
        cookies: member,
    };
    let form = lina.get(&format!("/practices/{SLUG}/adopt")).await.body;
    assert!(
        form.contains("Lina (Lincoln): adopted, outcome improved")
            && form.contains("Lina (Lincoln): testing"),
        "the adoption's history came along: {form}"
    );
    // New rows get new ids on the target (PostgreSQL's identity sequences were moved on).
    let mut ada = Browser {
        app: &target,
        cookies: coach,
    };
    let path = format!("/plc/{}/decisions", quarter());
    let r = ada
        .submit(&path, &[("agenda", "Next"), ("decision", "Meet in March")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ada.get(&format!("/plc/{}", quarter())).await.body;
    assert!(page.contains("Ask Riverside") && page.contains("Meet in March"));
    assert_same_export(&source.state.db, &to).await;
}

#[tokio::test]
async fn the_way_back_to_sqlite_gives_an_identical_export() {
    // From the backend under test (PostgreSQL in its pass) to a new SQLite file.
    let source = TestApp::seeded().await;
    live(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let to = Db::connect(&format!("sqlite:{}", dir.path().join("back.db").display()))
        .await
        .unwrap();
    let opts = CopyOptions {
        sessions: true,
        replace: false,
    };
    brightspots::store::copy(&source.state.db, &to, opts)
        .await
        .unwrap();
    assert_eq!(counts(&to).await, counts(&source.state.db).await);
    assert_same_export(&source.state.db, &to).await;
    // Floats arrive as they were, to the last bit.
    let took = "select took_ms from search_log order by id";
    let a: Vec<f64> = sql::query_scalar(took)
        .fetch_all(source.state.db.reader())
        .await
        .unwrap();
    let b: Vec<f64> = sql::query_scalar(took)
        .fetch_all(to.reader())
        .await
        .unwrap();
    assert!(!a.is_empty());
    assert_eq!(
        a.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
        b.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn the_command_prints_what_it_copied_and_exits_2_on_a_non_empty_target() {
    let work = tempfile::tempdir().unwrap();
    let printed = std::cell::RefCell::new(String::new());
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_brightspots"))
            .current_dir(work.path())
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "info")
            .args(args)
            .output()
            .unwrap();
        printed.borrow_mut().push_str(&format!("{out:?}"));
        out
    };
    let seed = seed_dir();
    let out = run(&[
        "--database-url",
        "sqlite:source.db",
        "import",
        seed.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    // A password in the URL is never printed (the test server trusts any).
    let mut target = url::Url::parse(&fresh_database_url(work.path()).await).unwrap();
    if target.scheme() == "postgres" {
        target.set_password(Some("s3cret")).unwrap();
    }
    let copy = [
        "copy",
        "--from",
        "sqlite:source.db",
        "--to",
        target.as_str(),
    ];

    let out = run(&copy);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout.contains("  practices                          17\n")
            && stdout.contains("  revision_sections")
            && stdout.contains("verified"),
        "{stdout}"
    );
    assert!(!stdout.contains("  sessions "), "not asked for: {stdout}");

    let out = run(&copy);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr.contains("the target holds") && stderr.contains("17 practices"),
        "{stderr}"
    );

    let out = run(&[&copy[..], &["--replace", "--sessions"]].concat());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("  sessions "), "{stdout}");

    let out = run(&[
        "copy",
        "--from",
        "sqlite:source.db",
        "--to",
        "sqlite:source.db",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let printed = printed.into_inner();
    assert!(!printed.contains("s3cret"), "{printed}");
}

#[tokio::test]
async fn a_column_the_copy_does_not_know_stops_it_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let from = Db::connect(&fresh_database_url(dir.path()).await)
        .await
        .unwrap();
    let to = Db::connect(&format!("sqlite:{}", dir.path().join("to.db").display()))
        .await
        .unwrap();
    // What a later migration might add without the copy being told.
    let mut tx = from.begin_write().await.unwrap();
    sql::query("alter table practices add column featured integer")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let err = brightspots::store::copy(&from, &to, CopyOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("practices.featured is not known"),
        "{err}"
    );
}

#[tokio::test]
async fn a_copy_that_reads_back_different_is_not_kept() {
    // PostgreSQL keeps the sign of a zero and SQLite does not: a difference between the
    // engines that real rows can carry, which the export would not show but the digest must.
    if crate::helpers::postgres_server().is_none() {
        return;
    }
    let source = TestApp::seeded().await;
    let mut tx = source.state.db.begin_write().await.unwrap();
    sql::query(
        "insert into search_log (query, filters, results, took_ms) values ('q', '{}', 0, $1)",
    )
    .bind(-0.0_f64)
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let to = Db::connect(&format!("sqlite:{}", dir.path().join("back.db").display()))
        .await
        .unwrap();
    let err = brightspots::store::copy(&source.state.db, &to, CopyOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CopyError::Mismatch(_)), "{err:?}");
    assert!(
        err.to_string().contains("search_log: the rows differ"),
        "{err}"
    );
    for (table, n) in counts(&to).await {
        assert_eq!(n, 0, "{table}: nothing was kept");
    }
}

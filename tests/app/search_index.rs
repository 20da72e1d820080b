//! The index is derived from the database: it catches up after a stop or a crash, rebuilds
//! when its schema changed, and can be rebuilt from the command line.

use brightspots::store::{Dialect, sql};
use std::process::Command;

use brightspots::content::load_dir;
use brightspots::domain::{Slug, Status};
use brightspots::store::import_catalog;
use serde_json::Value;

use crate::helpers::{TestApp, seed_dir};

pub async fn all_slugs(app: &TestApp) -> Vec<String> {
    let (_, body) = app.get("/api/v1/search?per_page=100").await;
    crate::search::slugs(&serde_json::from_str(&body).unwrap())
}

pub async fn public_slugs(app: &TestApp) -> Vec<String> {
    let mut s: Vec<String> = sql::query_scalar(
        "select slug from practices where public_revision_id is not null and status <> 'archived' order by slug",
    )
    .fetch_all(app.state.db.reader())
    .await
    .unwrap();
    s.sort();
    s
}

#[tokio::test]
async fn the_index_catches_up_after_writes_it_never_saw() {
    let mut app = TestApp::seeded().await;
    // The indexer stops; writes land in the database only (as if it had died between the
    // database commit and the index commit).
    app.state.shutdown().await;
    let behind = app.state.search.indexed().seq;

    let mut catalog = load_dir(&seed_dir(), app.state.settings.min_cell()).unwrap();
    let mut fresh = catalog.practices[0].clone();
    fresh.slug = Slug::parse("brand-new-practice").unwrap();
    fresh.title = "Brand new practice about quokkas".into();
    catalog.practices.push(fresh);
    let archived = catalog
        .practices
        .iter_mut()
        .find(|p| p.slug.as_str() == "cognate-word-walls")
        .unwrap();
    archived.status = Status::Archived;
    import_catalog(&app.state.db, &catalog).await.unwrap();
    // Un-vetting (what a coach's withdrawal will do): no public revision any more.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("update practices set public_revision_id = null, status = 'draft' where slug = 'family-reading-bags'")
        .execute(&mut tx)
        .await
        .unwrap();
    sql::query("insert into changes (practice_id, kind) select id, 'practice' from practices where slug = 'family-reading-bags'")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(app.state.db.last_change().await.unwrap() > behind);

    app.restart().await;
    app.indexed().await;
    let mut found = all_slugs(&app).await;
    let count = found.len();
    found.sort();
    found.dedup();
    assert_eq!(found.len(), count, "every practice exactly once");
    assert_eq!(found, public_slugs(&app).await);
    assert!(found.contains(&"brand-new-practice".to_string()));
    assert!(
        !found.contains(&"cognate-word-walls".to_string()),
        "archived"
    );
    assert!(
        !found.contains(&"family-reading-bags".to_string()),
        "un-vetted"
    );
    let (_, body) = app.get("/api/v1/search?q=quokkas").await;
    assert!(body.contains("brand-new-practice"));
}

#[tokio::test]
async fn a_repeated_search_sees_the_write_made_in_between() {
    let app = TestApp::seeded().await;
    for _ in 0..2 {
        let (_, body) = app.get("/api/v1/search?q=platypus").await;
        assert!(body.contains(r#""total":0"#), "{body}");
    }
    add_to_summary(
        &app,
        "exit-ticket-regrouping",
        "Works with platypus problems.",
    )
    .await;
    app.indexed().await;
    let (_, body) = app.get("/api/v1/search?q=platypus").await;
    assert!(body.contains("exit-ticket-regrouping"), "{body}");
}

#[tokio::test]
async fn writes_become_searchable_while_the_hub_runs() {
    let app = TestApp::seeded().await;
    add_to_summary(
        &app,
        "exit-ticket-regrouping",
        "Works with platypus problems.",
    )
    .await;
    // No wake-up call: the indexer's poll of `changes` must find the write by itself
    // (as it does for an import from the command line while the hub runs).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, body) = app.get("/api/v1/search?q=platypus").await;
        if body.contains("exit-ticket-regrouping") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not searchable: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_index_of_another_schema_is_rebuilt() {
    let mut app = TestApp::seeded().await;
    app.state.shutdown().await;
    let dir = app.state.settings.index_dir.clone();
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("README.md"), "kept").unwrap();
    {
        let mut b = tantivy::schema::Schema::builder();
        let f = b.add_text_field("old", tantivy::schema::TEXT);
        let index = tantivy::Index::create_in_dir(&dir, b.build()).unwrap();
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        w.add_document(tantivy::doc!(f => "stale")).unwrap();
        w.commit().unwrap();
    }
    app.restart().await;
    app.indexed().await;
    assert_eq!(all_slugs(&app).await.len(), public_slugs(&app).await.len());
    assert_eq!(
        std::fs::read_to_string(dir.join("README.md")).unwrap(),
        "kept"
    );
}

fn brightspots(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_brightspots"))
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_from_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", work.path().join("b.db").display());
    let index = work.path().join("idx");
    let index_arg = index.to_str().unwrap();
    let seed = seed_dir();
    assert!(
        brightspots(&["--database-url", &db, "import", seed.to_str().unwrap()])
            .status
            .success()
    );
    let out = brightspots(&["--database-url", &db, "--index-dir", index_arg, "reindex"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("rebuilt the search index"),
        "{out:?}"
    );
    let meta = std::fs::read_to_string(index.join("meta.json")).unwrap();
    let schema = format!(r#"\"schema\":{}"#, brightspots::search::SCHEMA_VERSION);
    assert!(meta.contains(&schema), "{meta}");

    // While a hub holds the index, the command asks that hub to rebuild instead.
    let app = TestApp::seeded().await;
    let out = brightspots(&[
        "--database-url",
        &app.db_url(),
        "--index-dir",
        app.state.settings.index_dir.to_str().unwrap(),
        "reindex",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("asked to rebuild"),
        "{out:?}"
    );
    let requested: i64 = sql::query_scalar("select max(seq) from changes where kind = 'reindex'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    app.indexed().await;
    assert!(app.state.search.indexed().seq >= requested);
    assert_eq!(all_slugs(&app).await.len(), public_slugs(&app).await.len());
}

#[tokio::test]
async fn a_changed_school_reaches_the_index() {
    let app = TestApp::seeded().await;
    let mut catalog = load_dir(&seed_dir(), app.state.settings.min_cell()).unwrap();
    let school = catalog
        .schools
        .iter_mut()
        .find(|s| s.slug.as_str() == "harbor-hs")
        .unwrap();
    school.locale = brightspots::domain::Locale::Rural;
    import_catalog(&app.state.db, &catalog).await.unwrap();
    app.indexed().await;
    let (_, body) = app.get("/api/v1/search?locale=rural&per_page=100").await;
    assert!(
        body.contains("\"attendance-welcome-calls\""),
        "Harbor High is rural now: {body}"
    );
    // Re-importing the same network changes nothing and queues nothing.
    let before = app.state.db.last_change().await.unwrap();
    import_catalog(&app.state.db, &catalog).await.unwrap();
    let after: i64 =
        sql::query_scalar("select count(*) from changes where seq > $1 and kind = 'network'")
            .bind(before)
            .fetch_one(app.state.db.reader())
            .await
            .unwrap();
    assert_eq!(after, 0);
}

#[tokio::test]
async fn api_errors_are_json() {
    let app = TestApp::seeded().await;
    let (status, body) = app.get("/api/v1/nothing").await;
    assert_eq!(status, axum::http::StatusCode::NOT_FOUND);
    let v: Value = serde_json::from_str(&body).expect("JSON");
    assert!(v["error"].as_str().is_some());
}

#[tokio::test]
async fn an_index_ahead_of_its_database_is_rebuilt() {
    let mut app = TestApp::seeded().await;
    app.state.shutdown().await;
    // As if the database had been restored from an older backup: changes the index has
    // seen are gone, and new writes will reuse their numbers.
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("delete from changes where seq > 5")
        .execute(&mut tx)
        .await
        .unwrap();
    sql::query(match app.state.db.dialect() {
        Dialect::Sqlite => "update sqlite_sequence set seq = 5 where name = 'changes'",
        Dialect::Postgres => "select setval(pg_get_serial_sequence('changes', 'seq'), 5)",
    })
    .execute(&mut tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app.restart().await;
    // The index (at seq 21) is ahead of the database (at 5): it must rebuild down to 5.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.state.search.indexed().seq > 5 {
        assert!(std::time::Instant::now() < deadline, "no rebuild");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    add_to_summary(&app, "family-reading-bags", "Includes wombat puppets.").await;
    app.indexed().await;
    let (_, body) = app.get("/api/v1/search?q=wombat").await;
    assert!(body.contains("family-reading-bags"), "{body}");
}

/// Imports the seed catalog again with `words` added to one practice's summary.
async fn add_to_summary(app: &TestApp, slug: &str, words: &str) {
    let mut catalog = load_dir(&seed_dir(), app.state.settings.min_cell()).unwrap();
    let p = catalog
        .practices
        .iter_mut()
        .find(|p| p.slug.as_str() == slug)
        .unwrap();
    p.summary = format!("{} {words}", p.summary);
    import_catalog(&app.state.db, &catalog).await.unwrap();
}

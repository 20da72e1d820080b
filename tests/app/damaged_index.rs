//! A damaged index (a file missing or truncated) is moved aside and rebuilt from the
//! database: the hub starts and serves meanwhile, and `reindex` works on it.

use brightspots::store::sql;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::helpers::TestApp;
use crate::search_index::{all_slugs, public_slugs};

/// One of the index's segment files with this extension.
fn segment_file(dir: &Path, ext: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == ext))
        .unwrap_or_else(|| panic!("no .{ext} file in {}", dir.display()))
}

fn truncate_half(file: &Path) {
    let f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len / 2).unwrap();
}

/// The damaged copies kept beside the index directory.
fn damaged_copies(dir: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}.damaged-", dir.file_name().unwrap().to_string_lossy());
    let mut copies: Vec<PathBuf> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    copies.sort();
    copies
}

/// A GET that does not wait for the indexer (`TestApp::get` does).
async fn get_now(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = brightspots::app(app.state.clone())
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Stops the seeded hub, breaks its index with `damage`, and starts it again: it must start.
async fn restart_damaged(app: &mut TestApp, damage: impl FnOnce(&Path)) {
    app.state.shutdown().await;
    damage(&app.state.settings.index_dir);
    app.restart().await;
}

/// Right after a start on a damaged index: pages are served, and search and `/readyz` say the
/// index is being rebuilt. (In a current-thread runtime the indexer has not run yet.)
async fn serves_while_rebuilding(app: &TestApp) {
    let (status, body) = get_now(app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("search index being rebuilt"), "{body}");
    assert_eq!(
        get_now(app, "/healthz").await,
        (StatusCode::OK, "ok".into())
    );
    let (status, body) = get_now(app, "/practices/exit-ticket-regrouping").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get_now(app, "/api/v1/search?q=talk").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("being rebuilt"), "{body}");
    let (status, body) = get_now(app, "/search?q=talk").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("being rebuilt from the database"), "{body}");
}

/// Once rebuilt: every public practice is found again, and the hub is ready.
async fn rebuilt(app: &TestApp) {
    app.indexed().await;
    assert_eq!(all_slugs(app).await.len(), public_slugs(app).await.len());
    let (_, body) = app.get("/api/v1/search?q=exit+ticket").await;
    assert!(body.contains("exit-ticket-regrouping"), "{body}");
    assert_eq!(
        get_now(app, "/readyz").await,
        (StatusCode::OK, "ready".into())
    );
}

#[tokio::test]
async fn a_missing_store_file_is_moved_aside_and_rebuilt() {
    let mut app = TestApp::seeded().await;
    restart_damaged(&mut app, |dir| {
        std::fs::remove_file(segment_file(dir, "store")).unwrap()
    })
    .await;
    serves_while_rebuilding(&app).await;
    rebuilt(&app).await;
    let dir = &app.state.settings.index_dir;
    let copies = damaged_copies(dir);
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(copies[0].join("meta.json").exists());
    assert!(dir.join("brightspots.lock").exists(), "the lock stays");
}

#[tokio::test]
async fn a_truncated_term_file_is_moved_aside_and_rebuilt() {
    let mut app = TestApp::seeded().await;
    restart_damaged(&mut app, |dir| truncate_half(&segment_file(dir, "term"))).await;
    serves_while_rebuilding(&app).await;
    rebuilt(&app).await;
    assert_eq!(damaged_copies(&app.state.settings.index_dir).len(), 1);
    // The rebuilt index is sound: the next start keeps it (ready once it has caught up).
    app.restart().await;
    app.indexed().await;
    assert_eq!(get_now(&app, "/readyz").await.0, StatusCode::OK);
    assert_eq!(damaged_copies(&app.state.settings.index_dir).len(), 1);
}

#[tokio::test]
async fn only_the_newest_damaged_copy_is_kept() {
    let mut app = TestApp::seeded().await;
    let mut copies = Vec::new();
    for _ in 0..3 {
        restart_damaged(&mut app, |dir| {
            std::fs::remove_file(segment_file(dir, "store")).unwrap()
        })
        .await;
        app.indexed().await;
        copies = damaged_copies(&app.state.settings.index_dir);
        assert_eq!(copies.len(), 1, "{copies:?}");
    }
    rebuilt(&app).await;
    assert!(copies[0].join("meta.json").exists());
}

fn brightspots(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_brightspots"))
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindex_works_on_a_damaged_index() {
    let mut app = TestApp::seeded().await;
    app.state.shutdown().await;
    let dir = app.state.settings.index_dir.clone();
    truncate_half(&segment_file(&dir, "term"));
    std::fs::remove_file(segment_file(&dir, "store")).unwrap();
    let reindex = [
        "--database-url",
        &app.db_url(),
        "--index-dir",
        dir.to_str().unwrap(),
        "reindex",
    ];
    // With the hub stopped: rebuilt here.
    let out = brightspots(&reindex);
    assert!(out.status.success(), "{out:?}");
    let practices = public_slugs(&app).await.len();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{practices} practices")),
        "{out:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("moved it aside"),
        "{out:?}"
    );
    assert_eq!(damaged_copies(&dir).len(), 1);
    app.restart().await;
    rebuilt(&app).await;

    // With the hub running over an index damaged under it: the hub is asked, and rebuilds.
    std::fs::remove_file(segment_file(&dir, "store")).unwrap();
    let out = brightspots(&reindex);
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
    rebuilt(&app).await;
    // The rebuild left the damaged segment behind: the next start finds nothing wrong.
    app.restart().await;
    rebuilt(&app).await;
    assert_eq!(damaged_copies(&dir).len(), 1);
}

/// A database that holds practices but no recorded change (as a copied database does) and
/// no index: `/readyz` says so until the rebuild is done, and its first 200 means every
/// public practice can be found.
#[tokio::test]
async fn a_database_without_changes_is_not_ready_until_rebuilt() {
    let mut app = TestApp::seeded().await;
    app.state.shutdown().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sql::query("delete from changes")
        .execute(&mut tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    std::fs::remove_dir_all(&app.state.settings.index_dir).unwrap();
    app.restart().await;

    let (status, body) = get_now(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while get_now(&app, "/readyz").await.0 != StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (_, body) = get_now(&app, "/api/v1/search?per_page=100").await;
    let found = crate::search::slugs(&serde_json::from_str(&body).unwrap());
    assert_eq!(found.len(), public_slugs(&app).await.len(), "{body}");
}

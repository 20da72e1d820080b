use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use brightspots::config::Settings;
use brightspots::store::{Db, import_catalog};
use brightspots::{AppState, app, content};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The repository's seed catalog.
pub fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("content")
}

/// The app on its own temp database; dropped with the test.
pub struct TestApp {
    /// Holds the temp database until the test ends.
    _dir: tempfile::TempDir,
    pub state: AppState,
}

impl TestApp {
    pub async fn empty() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            database_url: format!("sqlite:{}", dir.path().join("test.db").display()),
            index_dir: dir.path().join("search_index"),
            content_dir: seed_dir(),
            ..Settings::default()
        };
        let db = Db::connect(&settings.database_url).await.unwrap();
        let state = AppState::start(db, settings).unwrap();
        TestApp { _dir: dir, state }
    }

    /// With the seed catalog imported and indexed.
    pub async fn seeded() -> TestApp {
        let t = TestApp::empty().await;
        let catalog = content::load_dir(&seed_dir(), t.state.settings.min_cell()).unwrap();
        import_catalog(&t.state.db, &catalog).await.unwrap();
        t.indexed().await;
        t
    }

    /// Stops the app (the indexer commits and lets go of the index) and starts it again on
    /// the same database and index, as a restart of the server would.
    pub async fn restart(&mut self) {
        self.state.shutdown().await;
        let settings = (*self.state.settings).clone();
        self.state = AppState::start(self.state.db.clone(), settings).unwrap();
    }

    /// Waits until the search index has applied every change in the database.
    pub async fn indexed(&self) {
        let target = self.state.db.last_change().await.unwrap();
        self.state.search.wake();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.state.search.indexed_seq() < target {
            assert!(
                std::time::Instant::now() < deadline,
                "the index did not catch up with seq {target}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    pub fn db_url(&self) -> String {
        self.state.settings.database_url.clone()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = app(self.state.clone())
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// GET that must answer 200 with HTML; returns the body.
    pub async fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }
}

/// Copies the seed catalog into a fresh directory that a test may break.
pub fn seed_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&seed_dir(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

use brightspots::content::load_dir;
use brightspots::store::sql;
use brightspots::store::{Db, import_catalog, import_dir};

use crate::helpers::{TestApp, seed_dir};

/// Writers from two handles (as from two processes: the server and a CLI import) and many
/// tasks at once: every write lands, none fails with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_see_database_is_locked() {
    let app = TestApp::seeded().await;
    let other = Db::connect(&app.db_url()).await.unwrap();
    let catalog = load_dir(&seed_dir(), app.state.settings.min_cell()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let db = if i % 2 == 0 {
            app.state.db.clone()
        } else {
            other.clone()
        };
        let mut mine = catalog.clone();
        // Each writer revises a different practice, after reading every practice first.
        let p = &mut mine.practices[i % catalog.practices.len()];
        p.title = format!("{} (edit {i})", p.title);
        tasks.push(tokio::spawn(
            async move { import_catalog(&db, &mine).await },
        ));
    }
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            panic!("a writer failed: {e:#}");
        }
    }
    let revisions: i64 = sql::query_scalar("select count(*) from practice_revisions")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    // 17 originals + at least one new revision per edit (later imports may revert others').
    assert!(revisions >= 17 + 24, "{revisions}");
    let seqs: Vec<i64> = sql::query_scalar("select seq from changes order by seq")
        .fetch_all(app.state.db.reader())
        .await
        .unwrap();
    assert!(seqs.windows(2).all(|w| w[1] > w[0]));
}

#[tokio::test]
async fn the_database_is_in_wal_mode_with_foreign_keys() {
    let app = TestApp::empty().await;
    if app.state.db.dialect() == brightspots::store::Dialect::Postgres {
        // Nothing to switch on there: the property that matters is that a row pointing at
        // nothing is refused.
        let refused = sql::query("insert into teams (slug, name, school_id, cycle, challenge_area_id, aim) values ('t', 't', 999, 'c', 999, 'a')")
            .execute(app.state.db.reader())
            .await;
        assert!(refused.is_err());
        return;
    }
    let mode: String = sql::query_scalar("pragma journal_mode")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sql::query_scalar("pragma foreign_keys")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn a_failed_import_leaves_nothing_behind() {
    let app = TestApp::empty().await;
    let mut catalog = load_dir(&seed_dir(), app.state.settings.min_cell()).unwrap();
    // Bypass validation to make the database refuse the last write (a team that does not exist):
    // everything before it must roll back.
    catalog.practices.last_mut().unwrap().team =
        brightspots::domain::Slug::parse("ghost-team").unwrap();
    assert!(import_catalog(&app.state.db, &catalog).await.is_err());
    assert!(app.state.db.is_empty().await.unwrap());
    let areas: i64 = sql::query_scalar("select count(*) from challenge_areas")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(areas, 0);
}

/// The primitive under every store write: read, then write, in one transaction, from two
/// handles at once. A deferred transaction fails here ("database is locked" on the upgrade
/// from reader to writer); `begin_write` must not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_then_write_transactions_queue_instead_of_failing() {
    let app = TestApp::seeded().await;
    let other = Db::connect(&app.db_url()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let db = if i % 2 == 0 {
            app.state.db.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin_write().await?;
            let id: i64 = sql::query_scalar("select min(id) from practices")
                .fetch_one(&mut tx)
                .await?;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            sql::query("insert into changes (practice_id, kind) values ($1, 'test')")
                .bind(id)
                .execute(&mut tx)
                .await?;
            tx.commit().await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("no writer may fail");
    }
    let n: i64 = sql::query_scalar("select count(*) from changes where kind = 'test'")
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(n, 32);
}

/// A generated catalog written to `dir`: `n` practices, valid.
fn generated(dir: &std::path::Path, n: usize) {
    let rest = brightspots::generate::stream(n, 7, |p| {
        brightspots::content::write_practice_file(dir, &p).unwrap();
    });
    brightspots::content::write_shared_files(dir, &rest).unwrap();
}

async fn practice_count(db: &Db) -> i64 {
    sql::query_scalar("select count(*) from practices")
        .fetch_one(db.reader())
        .await
        .unwrap()
}

/// A directory is imported in batches as it is read; a file broken after several batches
/// were written still leaves nothing behind, and every problem is reported.
#[tokio::test]
async fn a_directory_streams_in_and_a_late_broken_file_rolls_all_of_it_back() {
    let app = TestApp::empty().await;
    let db = &app.state.db;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("practices")).unwrap();
    generated(dir.path(), 700);
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("practices"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let last = files.last().unwrap().clone();
    let good = std::fs::read_to_string(&last).unwrap();
    std::fs::write(&last, good.replacen("title = ", "titel = ", 1)).unwrap();

    let written = std::sync::atomic::AtomicUsize::new(0);
    let result = import_dir(
        async || Ok((db.begin_write().await?, db.renderer().clone())),
        dir.path(),
        app.state.settings.min_cell(),
        |done, _| written.store(done, std::sync::atomic::Ordering::Relaxed),
    )
    .await
    .unwrap();
    let errors = result.unwrap_err();
    assert!(
        errors.iter().any(|e| e
            .file
            .ends_with(&*last.file_name().unwrap().to_string_lossy())),
        "{errors:?}"
    );
    assert!(
        written.load(std::sync::atomic::Ordering::Relaxed) >= 256,
        "batches were written before the broken file was read"
    );
    assert_eq!(practice_count(db).await, 0, "rolled back");
    assert!(db.is_empty().await.unwrap());

    std::fs::write(&last, good).unwrap();
    let report = import_dir(
        async || Ok((db.begin_write().await?, db.renderer().clone())),
        dir.path(),
        app.state.settings.min_cell(),
        |_, _| {},
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.practices_created, 700);
    assert_eq!(practice_count(db).await, 700);
    assert_eq!(
        load_dir(dir.path(), app.state.settings.min_cell())
            .unwrap()
            .adoptions
            .len(),
        report.adoptions
    );
}

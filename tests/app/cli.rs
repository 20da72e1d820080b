//! The binary itself: exit codes and messages of check/import/export.

use brightspots::store::sql;
use std::process::Command;

use crate::helpers::{seed_copy, seed_dir};

fn brightspots(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_brightspots"))
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_import_export_from_the_command_line() {
    let work = tempfile::tempdir().unwrap();
    let seed = seed_dir();
    let out = brightspots(work.path(), &["check", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid — 17 practices"));

    let out = brightspots(work.path(), &["import", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    // The report says what a measure without a design became.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(
            " pre-post, 2 comparison (a measure that names no design is recorded as pre-post"
        ),
        "{said}"
    );
    assert!(
        work.path().join("brightspots.db").exists(),
        "default database in the working directory"
    );

    let out = brightspots(work.path(), &["export", "exported"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        work.path()
            .join("exported/practices/number-talks-sentence-frames.md")
            .exists()
    );
}

#[test]
fn a_broken_directory_imports_nothing_and_exits_non_zero() {
    let work = tempfile::tempdir().unwrap();
    let broken = seed_copy();
    let path = broken
        .path()
        .join("practices/number-talks-sentence-frames.md");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("n = 138", "n = 4", 1);
    std::fs::write(&path, text).unwrap();
    for cmd in ["check", "import"] {
        let out = brightspots(work.path(), &[cmd, broken.path().to_str().unwrap()]);
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("number-talks-sentence-frames.md:28: measures[1].n: 4 is below the minimum cell size of 10"), "{err}");
        assert!(err.contains("nothing was imported"), "{err}");
    }
    assert!(
        !work.path().join("brightspots.db").exists(),
        "import opened no database"
    );
}

#[test]
fn settings_errors_are_clear() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("brightspots.toml"),
        "min_cell_size = \"ten\"\n",
    )
    .unwrap();
    let out = brightspots(work.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("brightspots.toml:1"), "{err}");
}

#[test]
fn user_grant_makes_the_first_admin_and_serve_refuses_local_sign_in_on_a_network() {
    let work = tempfile::tempdir().unwrap();
    let out = brightspots(
        work.path(),
        &["user", "grant", "Boss@Lincoln.k12.us", "--role", "admin"],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("boss@lincoln.k12.us is now administrator")
    );
    let out = brightspots(
        work.path(),
        &["user", "grant", "not-an-email", "--role", "admin"],
    );
    assert!(!out.status.success());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let role: String = rt.block_on(async {
        let db = brightspots::store::Db::connect(&format!(
            "sqlite:{}",
            work.path().join("brightspots.db").display()
        ))
        .await
        .unwrap();
        sql::query_scalar("select role from users where email = 'boss@lincoln.k12.us'")
            .fetch_one(db.reader())
            .await
            .unwrap()
    });
    assert_eq!(role, "admin");

    // No provider and a non-loopback address: local sign-in would be open to a network.
    let out = brightspots(work.path(), &["--bind", "0.0.0.0:0", "serve"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("local sign-in"),
        "{out:?}"
    );
}

#[test]
fn generate_streams_the_same_catalog_it_builds_in_memory() {
    let work = tempfile::tempdir().unwrap();
    let out = brightspots(
        work.path(),
        &[
            "generate",
            "--practices",
            "60",
            "--seed",
            "3",
            "--out",
            "gen",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let check = brightspots(work.path(), &["check", "gen"]);
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("valid — 60 practices"),
        "{check:?}"
    );
    let expected = tempfile::tempdir().unwrap();
    brightspots::content::write_dir(expected.path(), &brightspots::generate::catalog(60, 3))
        .unwrap();
    for file in ["network.toml", "adoptions.toml", "challenge-areas.toml"] {
        assert_eq!(
            std::fs::read_to_string(work.path().join("gen").join(file)).unwrap(),
            std::fs::read_to_string(expected.path().join(file)).unwrap(),
            "{file}"
        );
    }
    let names = |d: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(d.join("practices"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&work.path().join("gen")), names(expected.path()));
}

/// The commands on the database under test (PostgreSQL in CI's second pass): import, export,
/// an offline reindex and `user grant`, all through the binary.
#[tokio::test]
async fn the_commands_work_on_the_backend_under_test() {
    let work = tempfile::tempdir().unwrap();
    let url = crate::helpers::fresh_database_url(work.path()).await;
    let run = |args: &[&str]| {
        let mut all = vec!["--database-url", url.as_str(), "--index-dir", "index"];
        all.extend_from_slice(args);
        brightspots(work.path(), &all)
    };
    let seed = seed_dir();
    let out = run(&["import", seed.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let out = run(&["export", "exported"]);
    assert!(out.status.success(), "{out:?}");
    let exported = work
        .path()
        .join("exported/practices/number-talks-sentence-frames.md");
    assert_eq!(
        std::fs::read_to_string(exported).unwrap(),
        std::fs::read_to_string(seed.join("practices/number-talks-sentence-frames.md")).unwrap()
    );
    let out = run(&["reindex"]);
    assert!(out.status.success(), "{out:?}");
    assert!(work.path().join("index/meta.json").exists());
    let out = run(&["user", "grant", "boss@lincoln.k12.us", "--role", "coach"]);
    assert!(out.status.success(), "{out:?}");
    let db = brightspots::store::Db::connect(&url).await.unwrap();
    let role: String =
        sql::query_scalar("select role from users where email = 'boss@lincoln.k12.us'")
            .fetch_one(db.reader())
            .await
            .unwrap();
    assert_eq!(role, "coach");
}

//! schemathesis (PyPI) against the served OpenAPI document, with its default checks: it
//! generates requests from the document, valid and invalid, and fails on any 5xx and on any
//! answer (status, content type, headers, body) the document does not describe.

use std::time::Duration;

use crate::helpers::{TestApp, venv};

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    // Limits high enough for a thousand requests in a few seconds.
    let app = TestApp::seeded_with(|s| {
        s.api.per_address_per_minute = 1_000_000;
        s.api.per_token_per_minute = 1_000_000;
        s.api.max_concurrent = 64;
    })
    .await;
    // A token of a coach on a team, with every scope: the writes are tested as a caller who
    // may make them, not only refused.
    let mut coach =
        crate::helpers::Browser::local(&app, "Sam Schema", "coach", "bayview-ms-step").await;
    let token = crate::tokens::make_token(
        &mut coach,
        "schemathesis",
        &["read", "write:practices", "write:adoptions", "review"],
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = brightspots::app(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let python = venv("tests/api/requirements.txt").join("bin/python");
    let report = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new(python)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/api/schemathesis.toml"
        ))
        .arg("run")
        .arg(format!("http://127.0.0.1:{port}/api/v1/openapi.json"))
        // Enough cases per operation to try every parameter bad and good; seeded, so a
        // failure here fails the same way again.
        .args(["--max-examples", "40", "--seed", "42", "--workers", "2"])
        .args(["--request-timeout", "10"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--report-dir")
        .arg(report.path())
        // Its cache (`.schemathesis/`) goes there too, not into the working tree.
        .current_dir(report.path())
        .env("NO_COLOR", "1")
        .output();
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("schemathesis finishes in ten minutes")
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really tested every operation (a document with no paths would pass too).
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert!(operations >= 9);
    assert!(
        stdout.contains(&format!("{operations} selected / {operations} total")),
        "{stdout}"
    );
    assert!(
        stdout.contains("passed") && !stdout.contains(" 0 generated"),
        "{stdout}"
    );
}

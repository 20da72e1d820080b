//! The HTTP benchmark harness runs end to end on a tiny catalog (the figures are meaningless
//! at this size and in a debug build; what is tested is that every step works and reports).

use std::process::Command;

#[test]
fn the_http_harness_runs_end_to_end_on_a_tiny_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/bench-http.sh"
        ))
        .arg("60")
        .env("BRIGHTSPOTS_BIN", env!("CARGO_BIN_EXE_brightspots"))
        .env("BENCH_HTTP_DIR", dir.path())
        .env("PORT", port.to_string())
        // Two seconds: under the whole suite's load a debug-build search can take over one, and
        // wrk counts only the requests that finish within the run.
        .env("DURATION", "2")
        .env("CONNECTIONS", "2")
        .env("VISIBLE", "3")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every endpoint answered requests, in both runs (with and without the result cache).
    for path in [
        "/healthz",
        "/",
        "/practices/{slug}",
        "/search",
        "/api/v1/search",
        // Issue 20's natural queries (`brightspots generate --queries`).
        "/api/v1/search(natural)",
    ] {
        let rows: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with(&format!("| 2 | {path} |")))
            .collect();
        let runs = if path.contains("search") || path == "/healthz" {
            2
        } else {
            1
        };
        assert_eq!(rows.len(), runs, "{path}:\n{stdout}");
        for row in rows {
            let rps: f64 = row.split('|').nth(3).unwrap().trim().parse().unwrap();
            assert!(rps > 0.0, "{row}");
        }
    }
    let visible = stdout
        .lines()
        .find(|l| l.starts_with("p50 ") && l.ends_with("(3 practices)"))
        .unwrap_or_else(|| panic!("no write-to-visible figures:\n{stdout}"));
    assert!(visible.contains("p95 "), "{visible}");
    assert!(stdout.contains("Server peak RSS: "), "{stdout}");
    // A second instance on the same database: written on A, searched on B (the review queue
    // of a tiny catalog may run out before B's turn, so only the report is checked).
    assert!(
        stdout.lines().any(|l| l.starts_with("on B: p50 ")),
        "{stdout}"
    );
    assert!(stdout.contains("Instance B peak RSS: "), "{stdout}");
    let summary = std::fs::read_to_string(dir.path().join("summary.txt")).unwrap();
    for key in [
        "import_s ",
        "reindex_s ",
        "cached:2:/api/v1/search ",
        "uncached:2:/api/v1/search(natural) ",
        "visible_b ",
        "rss_b_mb ",
    ] {
        assert!(summary.contains(key), "{key}:\n{summary}");
    }
    // The long tail of new searches draws from the catalog's words.
    let tail = std::fs::read_to_string(dir.path().join("tail-words.txt")).unwrap();
    assert!(tail.lines().count() >= 20, "{tail}");
}

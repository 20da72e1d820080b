//! Every page type in real Chromium, anonymous and signed in, at a desktop width and at 320
//! CSS pixels (WCAG 1.4.10 reflow): axe-core finds no violation, nothing sticks out sideways,
//! the console shows no error (a CSP violation, a failed request), and the Nu HTML Checker
//! finds no error in the HTML as served.
//!
//! Needs Chromium, Node.js and Java: `helpers::chromium` and `helpers::java` install Debian's
//! packages when missing, `helpers::node_package` installs `tests/browser/` as locked.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp, chromium, java, node_package, run};

/// Widths every page is opened at: a laptop, and the narrowest phone WCAG asks to reflow to.
const WIDTHS: [u32; 2] = [1280, 320];

/// One page to open: as whom, where, what to do on it first, and the status it answers.
struct Visit {
    label: String,
    path: String,
    who: Option<&'static str>,
    steps: Vec<Value>,
    status: u16,
}

fn visit(who: Option<&'static str>, path: &str) -> Visit {
    Visit {
        label: format!("{} {path}", who.unwrap_or("anonymous")),
        path: path.to_string(),
        who,
        steps: Vec::new(),
        status: 200,
    }
}

/// A form sent as a person would send it, to audit the page that answers (with its errors).
fn sent(who: &'static str, path: &str, fill: &[(&str, &str)], click: &str, status: u16) -> Visit {
    let mut steps: Vec<Value> = fill
        .iter()
        .map(|(selector, value)| json!({ "fill": selector, "value": value }))
        .collect();
    steps.push(json!({ "click": click }));
    Visit {
        label: format!("{who} {path} (sent: {click})"),
        steps,
        status,
        ..visit(Some(who), path)
    }
}

#[tokio::test]
async fn every_page_type_passes_axe_and_the_html_checker_and_fits_a_phone() {
    let app = TestApp::seeded().await;
    let mut sessions: BTreeMap<&str, Browser> = BTreeMap::new();
    sessions.insert(
        "member",
        Browser::local(&app, "Mia Member", "member", "harbor-hs-step").await,
    );
    sessions.insert(
        "admin",
        Browser::local(&app, "Ada Admin", "admin", "harbor-hs-step").await,
    );
    // What some pages show only once it exists: a quarterly review, a webhook, a question.
    let admin = sessions.get_mut("admin").unwrap();
    let r = admin
        .submit("/plc", &[("quarter", "2026-Q4"), ("held_on", "2026-12-10")])
        .await;
    assert_eq!(r.status, axum::http::StatusCode::SEE_OTHER, "{}", r.body);
    let r = admin
        .submit(
            "/admin/webhooks",
            &[
                ("url", "http://127.0.0.1:9/hooks"),
                ("event", "practice.vetted"),
            ],
        )
        .await;
    assert!(r.body.contains("new-secret"));
    let token = brightspots::notify::sign(
        &app.state,
        1,
        &brightspots::notify::Unsubscribe::Kind(brightspots::notify::REVIEWED.into()),
    )
    .await
    .unwrap();

    let mut visits: Vec<Visit> = Vec::new();
    let public = [
        "/",
        "/practices/number-talks-sentence-frames",
        "/practices/ninth-grade-success-advisory",
        "/practices/sentence-stems-for-science-talk",
        "/practices/attendance-welcome-calls/history",
        "/evidence",
        "/challenges",
        "/challenges/academic-discourse",
        "/teams/lincoln-es-step",
        "/schools/lincoln-es",
        "/districts/harbor-usd",
        "/search",
        "/search?q=attendance&grade=9-12",
        "/search?q=zzzz",
        "/like-mine",
        "/like-mine?school=riverside-ms",
        "/api/v1/docs",
    ];
    for path in public {
        visits.push(visit(None, path));
    }
    visits.push(visit(None, "/signin"));
    visits.push(Visit {
        status: 404,
        ..visit(None, "/no-such-page")
    });
    visits.push(visit(None, &format!("/unsubscribe?t={token}")));
    for path in [
        "/",
        "/practices/number-talks-sentence-frames",
        "/search?q=attendance",
        "/share",
        "/me",
        "/me/notifications",
        "/me/tokens",
        "/practices/attendance-welcome-calls/edit",
        "/practices/attendance-welcome-calls/preview",
        "/practices/attendance-welcome-calls/history?from=1&to=1",
        "/practices/reciprocal-teaching-roles/adopt",
    ] {
        visits.push(visit(Some("member"), path));
    }
    visits.push(sent(
        "member",
        "/share",
        &[("#title", "")],
        "button[value=save]",
        422,
    ));
    visits.push(sent(
        "member",
        "/practices/number-talks-sentence-frames",
        &[("form.question-form textarea", "Maria scored 45: what next?")],
        "form.question-form button[type=submit]",
        422,
    ));
    // An upload refused for what it is, and one taken (the page then shows what to paste).
    for (name, bytes, status) in [
        ("notes.png", b"<svg onload=alert(1)>".to_vec(), 415),
        ("chart.png", crate::images::png(64), 200),
    ] {
        use base64::Engine;
        let mut upload = sent(
            "member",
            "/practices/attendance-welcome-calls/edit",
            &[],
            "form.upload button[type=submit]",
            status,
        );
        upload.label = format!("{} ({name})", upload.label);
        upload.steps.insert(
            0,
            json!({ "upload": "#upload-file", "name": name, "type": "image/png",
                    "content": base64::engine::general_purpose::STANDARD.encode(&bytes) }),
        );
        visits.push(upload);
    }
    for path in [
        "/",
        "/review",
        "/review/peer-learning-walks",
        "/review/ninth-grade-success-advisory",
        "/plc",
        "/plc/2026-Q4",
        "/admin",
        "/admin/webhooks",
    ] {
        visits.push(visit(Some("admin"), path));
    }

    // Served on a real port, for a real browser.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = brightspots::app(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let work = tempfile::tempdir().unwrap();
    let html_dir = work.path().join("html");
    std::fs::create_dir(&html_dir).unwrap();
    let plan = json!({
        "base": base,
        "chromium": chromium(),
        "widths": WIDTHS,
        "html_dir": html_dir,
        "pages": visits.iter().map(|v| json!({
            "label": v.label,
            "path": v.path,
            "steps": v.steps,
            "status": v.status,
            "cookies": v.who.map(|who| sessions[who].cookies.iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect::<Vec<_>>()).unwrap_or_default(),
        })).collect::<Vec<_>>(),
    });
    let plan_file = work.path().join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).unwrap();

    let tools = node_package("tests/browser");
    let audit = tokio::process::Command::new("node")
        .arg(tools.join("audit.mjs"))
        .arg(&plan_file)
        .output()
        .await
        .expect("node runs");
    assert!(
        audit.status.success(),
        "the audit failed to run:\n{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let report: Vec<Value> = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(
        report.len(),
        visits.len() * WIDTHS.len(),
        "every visit reported"
    );

    let mut findings = Vec::new();
    for page in &report {
        let at = format!("{} at {} px", page["label"], page["width"]);
        for v in page["axe"].as_array().unwrap() {
            findings.push(format!(
                "{at}: axe {} ({}): {}",
                v["id"], v["help"], v["nodes"]
            ));
        }
        if !page["overflow"].is_null() {
            findings.push(format!(
                "{at}: {} px wide, sticking out: {}",
                page["overflow"]["width"], page["overflow"]["elements"]
            ));
        }
        for p in page["problems"].as_array().unwrap() {
            findings.push(format!("{at}: {p}"));
        }
    }
    findings.extend(html_errors(&tools, &html_dir, &visits));
    assert!(
        findings.is_empty(),
        "{} findings:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

/// The Nu HTML Checker's errors in the pages as served (the audit saved each one's source as
/// `{n}.html`, numbered as the visits).
fn html_errors(tools: &Path, html_dir: &Path, visits: &[Visit]) -> Vec<String> {
    // A page that could not be audited saved nothing: its finding is in the audit's report.
    let out = run(std::process::Command::new(java())
        .arg("-jar")
        .arg(tools.join("node_modules/vnu-jar/build/dist/vnu.jar"))
        .args(["--errors-only", "--format", "json", "--exit-zero-always"])
        .arg(html_dir));
    // The checker reports on stderr.
    let report: Value = serde_json::from_slice(&out.stderr).expect("vnu's JSON report");
    report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let file = m["url"].as_str().unwrap_or_default();
            let n: usize = file
                .rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".html"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(usize::MAX);
            let label = visits.get(n).map_or(file, |v| v.label.as_str());
            format!(
                "{label}: HTML {} at line {}: {} ({})",
                m["type"],
                m["lastLine"],
                m["message"],
                m["extract"].as_str().unwrap_or_default().trim()
            )
        })
        .collect()
}

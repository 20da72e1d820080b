//! Pages are valid, accessible HTML: language, landmarks, one h1, headings in order, labelled
//! controls, and a stylesheet whose colour pairs meet WCAG AA.

use scraper::{Html, Selector};

use crate::helpers::TestApp;

const PAGES: &[&str] = &[
    "/",
    "/practices/number-talks-sentence-frames",
    "/practices/sentence-stems-for-science-talk",
    "/practices/ninth-grade-success-advisory",
    "/evidence",
    "/challenges",
    "/challenges/academic-discourse",
    "/teams/lincoln-es-step",
    "/schools/lincoln-es",
    "/districts/harbor-usd",
    "/search?q=attendance&grade=9-12",
    "/search?q=zzzz",
    "/like-mine",
    "/like-mine?school=riverside-ms",
    "/search?sort=like-mine&school=lincoln-es",
    "/no-such-page",
];

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

pub fn check_page(path: &str, html: &str) {
    let doc = Html::parse_document(html);
    assert!(
        doc.errors.is_empty() || doc.errors.iter().all(|e| !e.contains("Unexpected token")),
        "{path}: {:?}",
        doc.errors
    );
    assert_eq!(select(&doc, "html[lang=en]").len(), 1, "{path}: lang");
    assert!(!select(&doc, "head > title").is_empty(), "{path}: title");
    let title = select(&doc, "head > title")[0].text().collect::<String>();
    assert!(
        !title.contains('<') && title.chars().count() < 200,
        "{path}: the title is a short plain text: {title:?}"
    );
    for landmark in ["header.site", "nav[aria-label]", "main#main", "footer.site"] {
        assert_eq!(select(&doc, landmark).len(), 1, "{path}: {landmark}");
    }
    assert_eq!(
        select(&doc, "a.skip[href='#main']").len(),
        1,
        "{path}: skip link"
    );
    assert_eq!(select(&doc, "h1").len(), 1, "{path}: exactly one h1");

    let levels: Vec<u8> = select(&doc, "h1, h2, h3, h4, h5, h6")
        .iter()
        .map(|h| h.value().name()[1..].parse().unwrap())
        .collect();
    let mut previous = 1;
    for (i, level) in levels.iter().enumerate() {
        if i > 0 || path != "/" {
            assert!(
                *level <= previous + 1,
                "{path}: heading h{level} after h{previous} ({levels:?})"
            );
        }
        previous = *level;
    }
    // The first heading inside <main> is the h1 (the header has none).
    assert_eq!(select(&doc, "main h1").len(), 1, "{path}: h1 in main");

    for control in select(&doc, "input, select, textarea") {
        if control.value().attr("type") == Some("hidden") {
            continue;
        }
        // A control inside its <label> is labelled by it (checkboxes and radios).
        let wrapped = control
            .ancestors()
            .any(|a| a.value().as_element().is_some_and(|e| e.name() == "label"));
        if wrapped {
            continue;
        }
        let id = control
            .value()
            .attr("id")
            .unwrap_or_else(|| panic!("{path}: control without id"));
        let labelled = !select(&doc, &format!("label[for='{id}']")).is_empty()
            || control.value().attr("aria-label").is_some();
        assert!(labelled, "{path}: control #{id} has no label");
    }
    for img in select(&doc, "img") {
        assert!(img.value().attr("alt").is_some(), "{path}: img without alt");
    }
    for svg in select(&doc, "svg") {
        assert_eq!(svg.value().attr("role"), Some("img"), "{path}: svg role");
        assert!(
            svg.value().attr("aria-labelledby").is_some(),
            "{path}: svg name"
        );
    }
    for table in select(&doc, "table") {
        assert!(
            !select(&Html::parse_fragment(&table.html()), "th").is_empty(),
            "{path}: table headers"
        );
    }
}

#[tokio::test]
async fn every_page_is_accessible_html() {
    let app = TestApp::seeded().await;
    for path in PAGES {
        let (_, html) = app.get(path).await;
        check_page(path, &html);
    }
}

/// The pages behind sign-in: the share form (with errors shown), /me, history, admin.
#[tokio::test]
async fn signed_in_pages_are_accessible_html() {
    let app = TestApp::seeded().await;
    let mut b = crate::helpers::Browser::local(&app, "Hal Owner", "admin", "harbor-hs-step").await;
    let invalid = b
        .submit(
            "/share",
            &[
                ("title", ""),
                ("team", "harbor-hs-step"),
                ("action", "save"),
            ],
        )
        .await;
    assert!(invalid.body.contains("field-error"));
    check_page("/share (invalid)", &invalid.body);
    check_page("/signin", &app.page("/signin").await);
    let opened = b
        .submit("/plc", &[("quarter", "2026-Q4"), ("held_on", "2026-12-10")])
        .await;
    assert_eq!(opened.status, axum::http::StatusCode::SEE_OTHER);
    let subscribed = b
        .submit(
            "/me/subscriptions",
            &[("target", "school"), ("value", "lincoln-es")],
        )
        .await;
    assert_eq!(subscribed.status, axum::http::StatusCode::SEE_OTHER);
    let token = brightspots::notify::sign(
        &app.state,
        1,
        &brightspots::notify::Unsubscribe::Kind(brightspots::notify::REVIEWED.into()),
    )
    .await
    .unwrap();
    let unsubscribe = format!("/unsubscribe?t={token}");
    // Webhooks: the registration with its secret, the form with errors, then the list.
    let registered = b
        .submit(
            "/admin/webhooks",
            &[
                ("url", "http://127.0.0.1:9/hooks"),
                ("event", "practice.vetted"),
            ],
        )
        .await;
    assert!(registered.body.contains("new-secret"));
    check_page("/admin/webhooks (registered)", &registered.body);
    let invalid = b.submit("/admin/webhooks", &[("url", "not a url")]).await;
    assert!(invalid.body.contains("field-error"));
    check_page("/admin/webhooks (invalid)", &invalid.body);
    let r = b.submit("/admin/webhooks/1/ping", &[]).await;
    assert_eq!(r.status, axum::http::StatusCode::SEE_OTHER);
    // A question flagged for privacy: the page again with the flags, the box and the error.
    let flagged = b
        .submit(
            "/practices/number-talks-sentence-frames/questions",
            &[("text", "Maria scored 45: what next?")],
        )
        .await;
    assert!(flagged.body.contains("field-error"));
    check_page("/practices/{slug}/questions (flagged)", &flagged.body);
    // API tokens: a new one shown, the form with errors, then the list.
    let made = b
        .submit(
            "/me/tokens",
            &[("name", "Portal"), ("scope", "read"), ("lifetime", "90")],
        )
        .await;
    assert!(made.body.contains("value=\"bsp_"));
    check_page("/me/tokens (made)", &made.body);
    let invalid = b.submit("/me/tokens", &[("lifetime", "90")]).await;
    check_page("/me/tokens (invalid)", &invalid.body);
    for path in [
        "/me/tokens",
        "/api/v1/docs",
        "/share",
        "/me",
        "/me/notifications",
        unsubscribe.as_str(),
        "/challenges/academic-discourse",
        "/schools/lincoln-es",
        "/search?q=attendance&grade=9-12",
        "/admin",
        "/admin/webhooks",
        "/practices/attendance-welcome-calls/edit",
        "/practices/attendance-welcome-calls/preview",
        "/practices/attendance-welcome-calls/history?from=1&to=1",
        "/review",
        "/review/peer-learning-walks",
        "/review/ninth-grade-success-advisory",
        "/plc",
        "/plc/2026-Q4",
        "/practices/reciprocal-teaching-roles/adopt",
        "/practices/number-talks-sentence-frames",
    ] {
        let r = b.get(path).await;
        assert_eq!(r.status, axum::http::StatusCode::OK, "{path}");
        check_page(path, &r.body);
    }
}

// Contrast, from the stylesheet's own colour variables.

fn css() -> &'static str {
    include_str!("../../static/style.css")
}

fn var(name: &str) -> (f64, f64, f64) {
    let css = css();
    let start = css
        .find(&format!("--{name}: #"))
        .unwrap_or_else(|| panic!("--{name} missing"));
    let hex = css[start..].split('#').nth(1).unwrap();
    let hex = &hex[..6];
    let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
    (c(0), c(2), c(4))
}

fn luminance((r, g, b): (f64, f64, f64)) -> f64 {
    let lin = |c: f64| {
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

fn contrast(fg: &str, bg: &str) -> f64 {
    let (a, b) = (luminance(var(fg)), luminance(var(bg)));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

#[test]
fn text_colours_meet_wcag_aa() {
    for (fg, bg) in [
        ("text", "bg"),
        ("muted", "bg"),
        ("text", "panel"),
        ("muted", "panel"),
        ("link", "bg"),
        ("link", "panel"),
        ("brand-text", "brand-bg"),
        ("brand-text", "link"), // buttons
        ("promising-text", "promising-bg"),
        ("confirmed-text", "confirmed-bg"),
        ("replicated-text", "replicated-bg"),
        ("notice-text", "notice-bg"),
        ("error-text", "error-bg"),
        ("text", "add-bg"),
        ("text", "del-bg"),
        ("link", "bg"), // secondary buttons
    ] {
        let ratio = contrast(fg, bg);
        assert!(ratio >= 4.5, "--{fg} on --{bg}: {ratio:.2}:1");
    }
    // The focus ring is a non-text element: 3:1 against the page.
    assert!(contrast("focus", "bg") >= 3.0);
}

#[test]
fn focus_is_visible_and_print_drops_the_chrome() {
    assert!(css().contains(":focus-visible { outline: 3px solid var(--focus)"));
    let print = &css()[css().find("@media print").unwrap()..];
    assert!(print.contains("header.site, footer.site"));
    assert!(css().contains("@media (max-width: 40rem)"), "phone layout");
}

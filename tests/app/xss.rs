//! The XSS corpus (`tests/data/xss-corpus.txt`) through the real render pipeline: nothing
//! executable may come out. The checker is proven to have teeth on the unsanitised HTML.

use brightspots::content::markdown;
use scraper::Html;

const DANGEROUS_ELEMENTS: &[&str] = &[
    "script",
    "style",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "meta",
    "link",
    "form",
    "input",
    "button",
    "textarea",
    "select",
    "template",
    "noscript",
    "xmp",
    "plaintext",
    "video",
    "audio",
    "source",
    "portal",
    "dialog",
];
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "srcset",
    "background",
    "poster",
    "cite",
    "data",
];

fn corpus() -> Vec<String> {
    let text = include_str!("../data/xss-corpus.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("\\n", "\n").replace("\\t", "\t"))
        .collect()
}

/// What in `html` could execute: an element, attribute or URL, described.
fn executable(html: &str) -> Vec<String> {
    let doc = Html::parse_fragment(html);
    let mut found = Vec::new();
    for node in doc.tree.nodes() {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        let name = el.name().to_ascii_lowercase();
        if DANGEROUS_ELEMENTS.contains(&name.as_str()) {
            found.push(format!("<{name}>"));
        }
        for (attr, value) in el.attrs() {
            let attr = attr.to_ascii_lowercase();
            if attr.starts_with("on") || attr == "style" || attr == "srcdoc" {
                found.push(format!("{attr}= on <{name}>"));
            }
            if URL_ATTRIBUTES.contains(&attr.as_str()) && !safe_url(value) {
                found.push(format!("{attr}={value:?} on <{name}>"));
            }
        }
    }
    found
}

/// As a browser parses it: tabs, newlines and controls are dropped, and a "scheme" with
/// characters a scheme cannot have (`java%09script:`) makes the URL a relative path.
fn safe_url(url: &str) -> bool {
    let url: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = url.find(':');
    let path_start = url.find(['/', '?', '#']).unwrap_or(url.len());
    match scheme_end {
        Some(i) if i < path_start && is_scheme(&url[..i]) => {
            ["http", "https", "mailto"].contains(&&url[..i])
        }
        _ => true, // relative
    }
}

fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

#[test]
fn corpus_is_big_enough() {
    assert!(corpus().len() >= 100, "{} payloads", corpus().len());
}

#[test]
fn nothing_executable_survives_rendering() {
    let mut failures = Vec::new();
    for payload in corpus() {
        let html = markdown::render(&payload);
        let bad = executable(&html);
        if !bad.is_empty() {
            failures.push(format!("{payload:?}\n  → {html:?}\n  {bad:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} payloads got through:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn links_that_survive_carry_rel() {
    for payload in corpus() {
        let html = markdown::render(&payload);
        let doc = Html::parse_fragment(&html);
        for node in doc.tree.nodes() {
            if let Some(el) = node.value().as_element()
                && el.name() == "a"
                && el.attr("href").is_some()
            {
                assert_eq!(
                    el.attr("rel"),
                    Some("nofollow noopener noreferrer"),
                    "{payload:?} → {html}"
                );
            }
        }
    }
}

#[test]
fn the_checker_catches_unsanitised_output() {
    // Without the sanitiser most payloads are live: proof that the check above can fail.
    let caught = corpus()
        .iter()
        .filter(|p| {
            let mut raw = String::new();
            pulldown_cmark::html::push_html(
                &mut raw,
                pulldown_cmark::Parser::new_ext(p, markdown::options()),
            );
            !executable(&raw).is_empty()
        })
        .count();
    assert!(
        caught * 10 >= corpus().len() * 7,
        "only {caught} of {} caught unsanitised",
        corpus().len()
    );
}

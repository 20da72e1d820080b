//! `check` and `import` over whole catalog directories (issue 19): one set of limits for files
//! and the form, every problem of every file in one run, and nothing in `practices/` skipped
//! without a word.

use brightspots::store::sql;
use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use brightspots::content::{load_dir, parse_practice};
use brightspots::domain::limits::{
    MAX_LINE, MAX_MEASURES, MAX_RESOURCES, MAX_SECTION, MAX_SUMMARY, MAX_TAG, MAX_TAGS, MAX_TITLE,
    MAX_URL,
};
use brightspots::domain::{CellSize, Vocabulary};
use brightspots::store::import_catalog;

use crate::helpers::{Browser, TestApp, seed_copy};

fn brightspots(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_brightspots"))
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

/// The sizes of a generated practice.
#[derive(Clone, Copy)]
struct Sizes {
    title: usize,
    summary: usize,
    section: usize,
    tags: usize,
    tag: usize,
    measures: usize,
    line: usize,
    resources: usize,
    url: usize,
}

impl Sizes {
    fn small() -> Sizes {
        Sizes {
            title: 30,
            summary: 80,
            section: 200,
            tags: 2,
            tag: 12,
            measures: 1,
            line: 30,
            resources: 1,
            url: 40,
        }
    }

    /// Every size exactly at its limit.
    fn at_limits() -> Sizes {
        Sizes {
            title: MAX_TITLE,
            summary: MAX_SUMMARY,
            section: MAX_SECTION,
            tags: MAX_TAGS,
            tag: MAX_TAG,
            measures: MAX_MEASURES,
            line: MAX_LINE,
            resources: MAX_RESOURCES,
            url: MAX_URL,
        }
    }
}

/// Exactly `n` characters of text (some of them two bytes long), with no space at either
/// end; `line` starts each line (a bullet, so that every section is a valid list).
fn text(n: usize, seed: &str, lines: bool) -> String {
    let unit = if lines {
        format!("- {seed} élève explains réasoning to a partner\n")
    } else {
        format!("{seed} élève réasoning ")
    };
    let mut s: String = unit.chars().cycle().take(n).collect();
    if s.ends_with(char::is_whitespace) {
        s.pop();
        s.push('x');
    }
    s
}

/// A valid practice file of the seed's `lincoln-es-step` team with the given sizes.
fn practice(z: Sizes) -> String {
    let tags: Vec<String> = (0..z.tags)
        .map(|i| format!("\"{}\"", text(z.tag, &format!("t{i}"), false)))
        .collect();
    let mut out = format!(
        "+++\ntitle = \"{}\"\nsummary = \"{}\"\nchallenge_areas = [\"academic-discourse\"]\n\
         grade_bands = [\"3-5\"]\nsubjects = [\"math\"]\nteam = \"lincoln-es-step\"\n\
         stage = \"confirmed\"\nstatus = \"draft\"\ntags = [{}]\n",
        text(z.title, "Title", false),
        text(z.summary, "Summary", false),
        tags.join(", ")
    );
    for i in 0..z.measures {
        out.push_str(&format!(
            "\n[[measures]]\nname = \"{}\"\ningredient = \"student-outcome\"\ninstrument = \"{}\"\n\
             unit = \"percent\"\nbaseline = 10\nresult = 20\nn = 30\nperiod = \"{}\"\n",
            text(z.line, &format!("Name{i}"), false),
            text(z.line, &format!("Instrument{i}"), false),
            text(z.line, &format!("Period{i}"), false),
        ));
    }
    for i in 0..z.resources {
        let url = format!("https://example.org/{i}/");
        let pad = z.url.saturating_sub(url.chars().count());
        out.push_str(&format!(
            "\n[[resources]]\ntitle = \"{}\"\nurl = \"{url}{}\"\n",
            text(z.line, &format!("Resource{i}"), false),
            "a".repeat(pad)
        ));
    }
    out.push_str("+++\n");
    for heading in [
        "What it is",
        "Evidence",
        "Essential aspects",
        "Necessary conditions",
        "Getting started",
        "Discovery story",
        "Adaptations",
    ] {
        out.push_str(&format!(
            "\n## {heading}\n\n{}\n",
            text(z.section, heading.split(' ').next().unwrap(), true)
        ));
    }
    out
}

/// The 1-based line of the first line of `text` that starts with `start`.
fn line_of(text: &str, start: &str) -> usize {
    text.lines().position(|l| l.starts_with(start)).unwrap() + 1
}

#[test]
fn a_practice_over_any_limit_is_reported_by_check_and_refused_by_import() {
    let work = tempfile::tempdir().unwrap();
    let dir = seed_copy();
    let db = format!("sqlite:{}", work.path().join("hub.db").display());
    let out = brightspots(
        work.path(),
        &[
            "--database-url",
            &db,
            "import",
            dir.path().to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{out:?}");

    let small = Sizes::small();
    // (file, generated text, first characters of the line, field, message)
    let mut cases: Vec<(&str, String, &str, &str, String)> = Vec::new();
    let mut case = |name, sizes: Sizes, at, field, message: String| {
        cases.push((name, practice(sizes), at, field, message));
    };
    case(
        "over-title",
        Sizes {
            title: MAX_TITLE + 1,
            ..small
        },
        "title",
        "title",
        format!(
            "is {} characters long; the limit is {MAX_TITLE}",
            MAX_TITLE + 1
        ),
    );
    case(
        "over-summary",
        Sizes {
            summary: MAX_SUMMARY + 1,
            ..small
        },
        "summary",
        "summary",
        format!(
            "is {} characters long; the limit is {MAX_SUMMARY}",
            MAX_SUMMARY + 1
        ),
    );
    case(
        "over-tags",
        Sizes {
            tags: MAX_TAGS + 1,
            ..small
        },
        "tags",
        "tags",
        format!("has {} tags; the limit is {MAX_TAGS}", MAX_TAGS + 1),
    );
    case(
        "over-tag",
        Sizes {
            tag: MAX_TAG + 1,
            tags: 1,
            ..small
        },
        "tags",
        "tags[1]",
        format!(
            "is {} characters long; a tag has 1 to {MAX_TAG} characters",
            MAX_TAG + 1
        ),
    );
    case(
        "over-measures",
        Sizes {
            measures: MAX_MEASURES + 1,
            ..small
        },
        "[[measures]]",
        "measures",
        format!(
            "has {} measures; the limit is {MAX_MEASURES}",
            MAX_MEASURES + 1
        ),
    );
    case(
        "over-resources",
        Sizes {
            resources: MAX_RESOURCES + 1,
            ..small
        },
        "[[resources]]",
        "resources",
        format!(
            "has {} resources; the limit is {MAX_RESOURCES}",
            MAX_RESOURCES + 1
        ),
    );
    case(
        "over-url",
        Sizes {
            url: MAX_URL + 1,
            ..small
        },
        "url",
        "resources[1].url",
        format!("is {} characters long; the limit is {MAX_URL}", MAX_URL + 1),
    );
    case(
        "over-measure-name",
        Sizes {
            line: MAX_LINE + 1,
            resources: 0,
            ..small
        },
        "name",
        "measures[1].name",
        format!(
            "is {} characters long; the limit is {MAX_LINE}",
            MAX_LINE + 1
        ),
    );
    let long_section = practice(small).replacen(
        &text(small.section, "What", true),
        &text(MAX_SECTION + 1, "What", true),
        1,
    );
    cases.push((
        "over-section",
        long_section,
        "## What it is",
        "## What it is",
        format!(
            "is {} characters long; the limit is {MAX_SECTION}",
            MAX_SECTION + 1
        ),
    ));
    // The form refuses control characters; so must a file.
    let bell = practice(small).replacen("- What élève", "- What él\u{7}ve", 1);
    cases.push((
        "control-character",
        bell,
        "## What it is",
        "## What it is",
        "contains an invisible control character (U+0007)".into(),
    ));

    for (name, text, _, _, _) in &cases {
        std::fs::write(dir.path().join(format!("practices/{name}.md")), text).unwrap();
    }
    for cmd in ["check", "import"] {
        let out = brightspots(
            work.path(),
            &["--database-url", &db, cmd, dir.path().to_str().unwrap()],
        );
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        for (name, text, at, field, message) in &cases {
            let file = dir.path().join(format!("practices/{name}.md"));
            let expected = format!(
                "{}:{}: {field}: {message}",
                file.display(),
                line_of(text, at)
            );
            assert!(err.contains(&expected), "{cmd}: {expected}\nin\n{err}");
        }
        // The measure's instrument and period are as long as its name.
        let measure = &cases.iter().find(|c| c.0 == "over-measure-name").unwrap().1;
        for field in ["instrument", "period"] {
            assert!(
                err.contains(&format!(
                    "over-measure-name.md:{}: measures[1].{field}: is {} characters long",
                    line_of(measure, field),
                    MAX_LINE + 1
                )),
                "{cmd}: {err}"
            );
        }
        assert!(
            err.ends_with(&format!(
                "{} problems found; nothing was imported.\n",
                cases.len() + 2
            )),
            "{cmd}: {err}"
        );
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    let slugs: Vec<String> = rt.block_on(async {
        let db = brightspots::store::Db::connect(&db).await.unwrap();
        sql::query_scalar("select slug from practices order by slug")
            .fetch_all(db.reader())
            .await
            .unwrap()
    });
    assert_eq!(slugs.len(), 17, "nothing was imported: {slugs:?}");
}

#[tokio::test]
async fn a_practice_at_every_limit_imports_and_saves_through_the_form_unchanged() {
    let dir = seed_copy();
    let text = practice(Sizes::at_limits());
    std::fs::write(dir.path().join("practices/at-the-limits.md"), &text).unwrap();
    let imported = parse_practice(
        "at-the-limits.md",
        "at-the-limits",
        &text,
        CellSize::DEFAULT,
    )
    .expect("a practice at every limit is valid");

    let app = TestApp::empty().await;
    let catalog = load_dir(dir.path(), CellSize::DEFAULT).unwrap();
    import_catalog(&app.state.db, &catalog).await.unwrap();

    let mut b = Browser::local(&app, "Lena Ortiz", "member", "lincoln-es-step").await;
    let form = b.get("/practices/at-the-limits/edit").await;
    assert_eq!(form.status, StatusCode::OK);
    let marker = "name=\"base\" value=\"";
    let at = form.body.find(marker).unwrap() + marker.len();
    let base = form.body[at..at + form.body[at..].find('"').unwrap()].to_string();

    // What a browser sends back: every field as shown, textareas with CRLF line ends.
    let doc = &imported;
    let mut fields: Vec<(String, String)> = vec![
        ("base".into(), base),
        ("title".into(), doc.title.clone()),
        ("summary".into(), doc.summary.clone()),
        ("team".into(), doc.team.to_string()),
        ("stage".into(), doc.stage.as_str().into()),
        ("tags".into(), doc.tags.join(", ")),
        ("action".into(), "save".into()),
    ];
    fields.extend(
        doc.challenge_areas
            .iter()
            .map(|a| ("area".to_string(), a.to_string())),
    );
    fields.extend(
        doc.grade_bands
            .iter()
            .map(|g| ("grade".into(), g.as_str().into())),
    );
    fields.extend(
        doc.subjects
            .iter()
            .map(|s| ("subject".into(), s.as_str().into())),
    );
    for (kind, md) in &doc.sections {
        fields.push((format!("s-{}", kind.key()), md.replace('\n', "\r\n")));
    }
    for m in &doc.measures {
        for (k, v) in [
            ("name", m.name.clone()),
            ("ingredient", m.ingredient.as_str().into()),
            ("unit", m.unit.as_str().into()),
            ("instrument", m.instrument.clone()),
            ("baseline", m.baseline.to_string()),
            ("result", m.result.to_string()),
            ("n", m.n.to_string()),
            ("period", m.period.clone()),
        ] {
            fields.push((format!("m-{k}"), v));
        }
    }
    for r in &doc.resources {
        fields.push(("r-title".into(), r.title.clone()));
        fields.push(("r-url".into(), r.url.clone()));
    }
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = b.submit("/practices/at-the-limits/edit", &fields).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "{}",
        r.body
            .split("field-error")
            .skip(1)
            .map(|e| &e[..e.len().min(200)])
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        r.location.as_deref(),
        Some("/practices/at-the-limits/edit?saved=1")
    );

    let saved = app
        .state
        .db
        .edit_target("at-the-limits")
        .await
        .unwrap()
        .unwrap()
        .doc;
    assert_eq!(saved.title, doc.title);
    assert_eq!(saved.summary, doc.summary);
    assert_eq!(saved.tags, doc.tags);
    assert_eq!(saved.sections, doc.sections);
    assert_eq!(saved.measures, doc.measures);
    assert_eq!(saved.resources, doc.resources);
}

fn replace_in(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn append_to(path: &Path, text: &str) {
    let mut all = std::fs::read_to_string(path).unwrap();
    all.push_str(text);
    std::fs::write(path, all).unwrap();
}

#[test]
fn check_reports_the_problems_of_every_file_in_one_run() {
    let work = tempfile::tempdir().unwrap();
    let dir = seed_copy();
    let d = dir.path();
    let practices = d.join("practices");
    // 1. network.toml is not TOML: what names a team cannot be checked, and is not reported.
    append_to(&d.join("network.toml"), "\n[[team]\nslug = \"x\"\n");
    replace_in(
        &practices.join("exit-ticket-regrouping.md"),
        "team = \"lincoln-es-step\"",
        "team = \"nobody-step\"",
    );
    // 2. A challenge area twice.
    append_to(
        &d.join("challenge-areas.toml"),
        "\n[[area]]\nslug = \"writing\"\nname = \"Writing again\"\ndescription = \"Twice.\"\n",
    );
    // 3. A practice's own rule; adoptions of it are not told it does not exist.
    replace_in(
        &practices.join("number-talks-sentence-frames.md"),
        "n = 138",
        "n = 3",
    );
    // 4. A reference that does not depend on network.toml: still checked.
    replace_in(
        &practices.join("peer-learning-walks.md"),
        "[\"teacher-collaboration\"]",
        "[\"teacher-colaboration\"]",
    );
    // 5. and 6. A practice saved with the wrong extension, and an adoption of it.
    std::fs::write(
        practices.join("x.MD"),
        std::fs::read_to_string(practices.join("turn-and-talk-with-talk-moves.md")).unwrap(),
    )
    .unwrap();
    append_to(
        &d.join("adoptions.toml"),
        "\n[[adoption]]\npractice = \"x\"\nteam = \"bayview-ms-step\"\nstatus = \"exploring\"\n",
    );
    // 7. An adoption's own rule, and 8. an aspect the (valid) practice does not have.
    replace_in(
        &d.join("adoptions.toml"),
        "outcome = \"improved\"",
        "outcome = \"better\"",
    );
    replace_in(
        &d.join("adoptions.toml"),
        "aspects_kept = [1, 2, 3, 4, 5]",
        "aspects_kept = [1, 2, 99]",
    );

    let expected = [
        "network.toml:".to_string(),
        "challenge-areas.toml:".to_string(),
        "\"writing\" is used twice".to_string(),
        "number-talks-sentence-frames.md:28: measures[1].n: 3 is below the minimum cell size"
            .to_string(),
        "peer-learning-walks.md:4: challenge_areas: \"teacher-colaboration\" is not in challenge-areas.toml".to_string(),
        format!(
            "{}: not read: practice files end in .md (lowercase); rename it to x.md",
            practices.join("x.MD").display()
        ),
        "adoption[6].practice: \"x\" is not a practice in practices/ (practices/x.MD was not read: practice files end in .md (lowercase)".to_string(),
        "adoption[2].outcome: \"better\"".to_string(),
        "adoptions.toml:6: adoption[1].aspects_kept: 99 is not an aspect of \"attendance-welcome-calls\"".to_string(),
    ];
    for cmd in ["check", "import"] {
        let out = brightspots(work.path(), &[cmd, d.to_str().unwrap()]);
        assert!(!out.status.success(), "{cmd}");
        let err = String::from_utf8_lossy(&out.stderr);
        for e in &expected {
            assert!(err.contains(e.as_str()), "{cmd}: {e}\nin\n{err}");
        }
        assert!(!err.contains("nobody-step"), "{cmd}: {err}");
        assert!(
            err.ends_with("8 problems found; nothing was imported.\n"),
            "{cmd}: {err}"
        );
    }
    assert!(!work.path().join("brightspots.db").exists());
}

#[test]
fn every_entry_of_practices_that_is_not_read_is_reported() {
    let dir = seed_copy();
    let practices = dir.path().join("practices");
    let valid =
        std::fs::read_to_string(practices.join("turn-and-talk-with-talk-moves.md")).unwrap();
    for name in ["shout.MD", "long.markdown", "notes.txt", "README"] {
        std::fs::write(practices.join(name), &valid).unwrap();
    }
    std::fs::create_dir(practices.join("drafts")).unwrap();
    // Nobody's work: ignored without a word.
    for name in [".gitkeep", ".DS_Store", "turn-and-talk-with-talk-moves.md~"] {
        std::fs::write(practices.join(name), "").unwrap();
    }
    let errors = load_dir(dir.path(), CellSize::DEFAULT).expect_err("files were not read");
    let mut reported: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    reported.sort();
    let path = |name: &str| practices.join(name).display().to_string();
    assert_eq!(
        reported,
        vec![
            format!(
                "{}: not read: practice files end in .md; rename it to README.md if it is a practice, or move it out of practices/",
                path("README")
            ),
            format!(
                "{}: not read: it is a folder; practices/ holds one file per practice, practices/<slug>.md, and no folders",
                path("drafts")
            ),
            format!(
                "{}: not read: practice files end in .md; rename it to long.md if it is a practice, or move it out of practices/",
                path("long.markdown")
            ),
            format!(
                "{}: not read: practice files end in .md; rename it to notes.md if it is a practice, or move it out of practices/",
                path("notes.txt")
            ),
            format!(
                "{}: not read: practice files end in .md (lowercase); rename it to shout.md",
                path("shout.MD")
            ),
        ]
    );
}

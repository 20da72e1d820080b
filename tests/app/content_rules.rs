//! Every rule of the content format, fed a broken file: the error names the file, the line,
//! the field, and what would be valid.

use brightspots::content::{ContentError, load_dir, parse_practice};
use brightspots::domain::CellSize;

use crate::helpers::seed_copy;

const VALID: &str = r#"+++
title = "Number talks with sentence frames"
summary = "A ten-minute daily routine."
challenge_areas = ["academic-discourse", "math-problem-solving"]
grade_bands = ["3-5"]
subjects = ["math"]
team = "lincoln-es-step"
stage = "confirmed"
status = "vetted"
published_on = 2025-05-30
vetted_on = 2025-06-12
tags = ["number talks"]

[[measures]]
name = "Exit slips with a complete explanation"
ingredient = "student-outcome"
instrument = "Weekly exit slip"
unit = "percent"
baseline = 38
result = 71
n = 112
period = "2024-09 to 2024-12"

[[resources]]
title = "Poster"
url = "https://example.org/frames.pdf"
+++

## What it is
A routine.

## Evidence
Exit slips rose.

## Essential aspects
- Frames are posted.
- Students write.

## Necessary conditions
- Twelve minutes a day.
"#;

fn parse(text: &str) -> Result<brightspots::domain::PracticeDoc, Vec<ContentError>> {
    parse_practice("practices/x.md", "x", text, CellSize::DEFAULT)
}

/// Parses `VALID` with `from` replaced by `to`, expecting exactly the given error.
fn broken(from: &str, to: &str) -> Vec<ContentError> {
    assert!(VALID.contains(from), "{from:?} not in the valid file");
    parse(&VALID.replacen(from, to, 1)).expect_err("should be refused")
}

fn assert_error(
    errors: &[ContentError],
    line: Option<usize>,
    field: Option<&str>,
    fragments: &[&str],
) {
    let found = errors.iter().any(|e| {
        e.line == line
            && e.field.as_deref() == field
            && fragments.iter().all(|f| e.message.contains(f))
    });
    assert!(
        found,
        "expected line {line:?} field {field:?} with {fragments:?}, got {errors:#?}"
    );
}

#[test]
fn the_valid_file_parses() {
    let doc = parse(VALID).unwrap();
    assert_eq!(doc.title, "Number talks with sentence frames");
    assert_eq!(
        doc.essential_aspects(),
        vec!["Frames are posted.", "Students write."]
    );
}

#[test]
fn missing_front_matter() {
    let errors = parse("## What it is\nx\n").unwrap_err();
    assert_error(&errors, Some(1), None, &["starts with a line \"+++\""]);
    let errors = parse("+++\ntitle = \"x\"\n").unwrap_err();
    assert_error(&errors, Some(1), None, &["then a line \"+++\""]);
}

#[test]
fn toml_syntax_error_points_at_its_line() {
    let errors = broken("team = \"lincoln-es-step\"", "team = lincoln-es-step");
    assert_eq!(errors[0].line, Some(7), "{errors:?}");
    assert!(
        errors[0].to_string().starts_with("practices/x.md:7: "),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_front_matter_key_is_a_typo() {
    let errors = broken("tags = ", "tagz = ");
    assert!(errors[0].message.contains("tagz"), "{errors:?}");
    assert_eq!(errors[0].line, Some(12));
}

#[test]
fn missing_required_key() {
    let errors = broken("summary = \"A ten-minute daily routine.\"\n", "");
    assert!(errors[0].message.contains("summary"), "{errors:?}");
}

#[test]
fn empty_title() {
    assert_error(
        &broken(
            "title = \"Number talks with sentence frames\"",
            "title = \"  \"",
        ),
        Some(2),
        Some("title"),
        &["must not be empty"],
    );
}

#[test]
fn too_many_challenge_areas() {
    let errors = broken(
        r#"challenge_areas = ["academic-discourse", "math-problem-solving"]"#,
        r#"challenge_areas = ["a", "b", "c", "d"]"#,
    );
    assert_error(&errors, Some(4), Some("challenge_areas"), &["1 to 3"]);
    let errors = broken(
        r#"challenge_areas = ["academic-discourse", "math-problem-solving"]"#,
        "challenge_areas = []",
    );
    assert_error(&errors, Some(4), Some("challenge_areas"), &["1 to 3"]);
}

#[test]
fn unknown_grade_band_lists_the_valid_ones() {
    assert_error(
        &broken(r#"["3-5"]"#, r#"["3rd"]"#),
        Some(5),
        Some("grade_bands"),
        &["\"3rd\"", "\"PK\"", "\"9-12\""],
    );
}

#[test]
fn unknown_subject() {
    assert_error(
        &broken(r#"["math"]"#, r#"["maths"]"#),
        Some(6),
        Some("subjects"),
        &["\"maths\"", "\"cross-curricular\""],
    );
}

#[test]
fn replicated_cannot_be_typed() {
    assert_error(
        &broken(r#"stage = "confirmed""#, r#"stage = "replicated""#),
        Some(8),
        Some("stage"),
        &["earned from adoptions"],
    );
}

#[test]
fn unknown_status() {
    assert_error(
        &broken(r#"status = "vetted""#, r#"status = "published""#),
        Some(9),
        Some("status"),
        &["\"draft\"", "\"archived\""],
    );
}

#[test]
fn vetted_needs_its_dates() {
    assert_error(
        &broken("published_on = 2025-05-30\n", ""),
        None,
        Some("published_on"),
        &["required when status = \"vetted\""],
    );
    assert_error(
        &broken("vetted_on = 2025-06-12\n", ""),
        None,
        Some("vetted_on"),
        &["required when status = \"vetted\""],
    );
    // A draft needs neither.
    let draft = VALID
        .replace("status = \"vetted\"", "status = \"draft\"")
        .replace("published_on = 2025-05-30\n", "")
        .replace("vetted_on = 2025-06-12\n", "");
    parse(&draft).unwrap();
}

#[test]
fn dates_are_plain_and_in_order() {
    assert_error(
        &broken("vetted_on = 2025-06-12", "vetted_on = 2025-04-01"),
        Some(11),
        Some("vetted_on"),
        &["before published_on"],
    );
    assert_error(
        &broken("vetted_on = 2025-06-12", "vetted_on = 2025-06-12T10:00:00Z"),
        Some(11),
        Some("vetted_on"),
        &["plain date"],
    );
    assert!(
        broken("vetted_on = 2025-06-12", "vetted_on = \"June\"")[0]
            .message
            .contains("date")
    );
}

#[test]
fn confirmed_needs_a_student_outcome_measure() {
    assert_error(
        &broken(
            r#"ingredient = "student-outcome""#,
            r#"ingredient = "teaching-practice""#,
        ),
        Some(14),
        Some("measures"),
        &[
            "confirmed practice needs at least one measure",
            "student-outcome",
        ],
    );
    // A promising practice does not.
    parse(
        &VALID
            .replace(
                r#"ingredient = "student-outcome""#,
                r#"ingredient = "teaching-practice""#,
            )
            .replace("stage = \"confirmed\"", "stage = \"promising\""),
    )
    .unwrap();
}

#[test]
fn measure_fields() {
    assert_error(
        &broken("n = 112", "n = 9"),
        Some(21),
        Some("measures[1].n"),
        &["below the minimum cell size of 10"],
    );
    assert_error(
        &broken(r#"unit = "percent""#, r#"unit = "pct""#),
        Some(18),
        Some("measures[1].unit"),
        &["\"percent\"", "\"rating\""],
    );
    assert_error(
        &broken(
            r#"ingredient = "student-outcome""#,
            r#"ingredient = "outcome""#,
        ),
        Some(16),
        Some("measures[1].ingredient"),
        &["\"student-outcome\""],
    );
    assert_error(
        &broken("result = 71", "result = 171"),
        Some(20),
        Some("measures[1].result"),
        &["between 0 and 100"],
    );
    assert_error(
        &broken(r#"instrument = "Weekly exit slip""#, r#"instrument = """#),
        Some(17),
        Some("measures[1].instrument"),
        &["must not be empty"],
    );
    // Text in a number field is a type error on its line.
    let errors = broken("baseline = 38", "baseline = \"38%\"");
    assert_eq!(errors[0].line, Some(19), "{errors:?}");
}

#[test]
fn min_cell_size_is_a_setting() {
    let strict = parse_practice("x.md", "x", VALID, CellSize::parse(200).unwrap()).unwrap_err();
    assert_error(
        &strict,
        Some(21),
        Some("measures[1].n"),
        &["minimum cell size of 200"],
    );
}

#[test]
fn resources_need_web_addresses() {
    assert_error(
        &broken("https://example.org/frames.pdf", "javascript:alert(1)"),
        Some(26),
        Some("resources[1].url"),
        &["https://"],
    );
}

#[test]
fn required_sections() {
    let errors = broken("## Evidence\nExit slips rose.\n", "");
    assert_error(&errors, None, None, &["\"## Evidence\" is required"]);
    let errors = broken("## What it is\nA routine.\n", "## What it is\n\n");
    assert_error(&errors, None, None, &["\"## What it is\" is empty"]);
}

#[test]
fn aspects_and_conditions_are_bullet_lists() {
    let errors = broken(
        "- Frames are posted.\n- Students write.\n",
        "Frames are posted and students write.\n",
    );
    assert_error(
        &errors,
        None,
        None,
        &["\"## Essential aspects\" must be a bullet list"],
    );
    let errors = broken("- Twelve minutes a day.\n", "1. Twelve minutes a day.\n");
    assert_error(
        &errors,
        None,
        None,
        &["\"## Necessary conditions\" must be a bullet list"],
    );
}

#[test]
fn unknown_heading_is_a_typo() {
    let errors = broken("## Evidence", "## Evidense");
    assert_error(
        &errors,
        Some(32),
        None,
        &["unknown section \"## Evidense\"", "\"## Evidence\""],
    );
}

#[test]
fn duplicate_section_and_text_before_the_first() {
    let errors = broken(
        "## Necessary conditions",
        "## Evidence\nAgain.\n\n## Necessary conditions",
    );
    assert!(
        errors.iter().any(|e| e.message.contains("appears twice")),
        "{errors:?}"
    );
    let errors = broken("+++\n\n## What it is", "+++\nStray text.\n\n## What it is");
    assert_error(&errors, Some(28), None, &["text before the first section"]);
}

#[test]
fn headings_inside_code_fences_do_not_split_sections() {
    let doc =
        parse(&VALID.replace("A routine.", "A routine.\n\n```\n## Not a heading\n```")).unwrap();
    assert!(
        doc.sections
            .values()
            .any(|s| s.contains("## Not a heading"))
    );
}

#[test]
fn bad_slug_and_bad_bytes() {
    let e = parse_practice(
        "practices/Bad_Name.md",
        "Bad_Name",
        VALID,
        CellSize::DEFAULT,
    )
    .unwrap_err();
    assert!(
        e[0].message
            .contains("the file name must be the practice's slug"),
        "{e:?}"
    );
    let e = parse(&VALID.replace("A routine.", "A\0routine.")).unwrap_err();
    assert!(e[0].message.contains("NUL"), "{e:?}");
}

// Cross-file rules, through a whole directory.

fn dir_errors(edit: impl FnOnce(&std::path::Path)) -> Vec<ContentError> {
    let dir = seed_copy();
    edit(dir.path());
    load_dir(dir.path(), CellSize::DEFAULT).expect_err("should be refused")
}

fn replace_in(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn practice_must_name_a_known_team_and_areas() {
    let errors = dir_errors(|d| {
        replace_in(
            &d.join("practices/number-talks-sentence-frames.md"),
            "team = \"lincoln-es-step\"",
            "team = \"lincoln-step\"",
        )
    });
    let e = errors
        .iter()
        .find(|e| e.field.as_deref() == Some("team"))
        .unwrap();
    assert!(
        e.file
            .ends_with("practices/number-talks-sentence-frames.md")
            && e.line == Some(7),
        "{e}"
    );
    assert!(
        e.message.contains("\"lincoln-step\" is not a team")
            && e.message.contains("\"lincoln-es-step\""),
        "{e}"
    );

    let errors = dir_errors(|d| {
        replace_in(
            &d.join("practices/number-talks-sentence-frames.md"),
            "\"math-problem-solving\"]",
            "\"math\"]",
        )
    });
    assert!(
        errors
            .iter()
            .any(|e| e.field.as_deref() == Some("challenge_areas")
                && e.message
                    .contains("\"math\" is not in challenge-areas.toml")),
        "{errors:?}"
    );
}

#[test]
fn network_references_and_vocabularies() {
    let errors = dir_errors(|d| {
        replace_in(
            &d.join("network.toml"),
            "district = \"harbor-usd\"",
            "district = \"harbour-usd\"",
        )
    });
    let e = &errors[0];
    assert_eq!(
        (e.field.as_deref(), e.line),
        (Some("school[1].district"), Some(16)),
        "{e}"
    );
    assert!(
        e.message.contains("\"harbour-usd\" is not a district"),
        "{e}"
    );

    let errors = dir_errors(|d| {
        replace_in(
            &d.join("network.toml"),
            "level = \"elementary\"",
            "level = \"primary\"",
        )
    });
    assert_eq!(errors[0].field.as_deref(), Some("school[1].level"));
    assert!(errors[0].message.contains("\"k-12\""));

    let errors = dir_errors(|d| {
        replace_in(
            &d.join("network.toml"),
            "locale = \"urban\"",
            "locale = \"city\"",
        )
    });
    assert_eq!(errors[0].field.as_deref(), Some("school[1].locale"));

    let errors = dir_errors(|d| {
        replace_in(
            &d.join("network.toml"),
            "school = \"lincoln-es\"",
            "school = \"lincoln\"",
        )
    });
    assert!(
        errors
            .iter()
            .any(|e| e.field.as_deref() == Some("team[1].school")),
        "{errors:?}"
    );
}

#[test]
fn duplicate_slugs_are_refused() {
    let errors = dir_errors(|d| {
        replace_in(
            &d.join("challenge-areas.toml"),
            "slug = \"reading-comprehension\"",
            "slug = \"academic-discourse\"",
        )
    });
    assert!(
        errors
            .iter()
            .any(|e| e.field.as_deref() == Some("area[2].slug")
                && e.message.contains("used twice")
                && e.line == Some(7)),
        "{errors:?}"
    );
}

#[test]
fn adoption_rules() {
    let adoptions = |d: &std::path::Path| d.join("adoptions.toml");
    let errors = dir_errors(|d| {
        replace_in(
            &adoptions(d),
            "practice = \"attendance-welcome-calls\"",
            "practice = \"no-such-practice\"",
        )
    });
    assert!(
        errors
            .iter()
            .any(|e| e.field.as_deref() == Some("adoption[1].practice") && e.line == Some(2)),
        "{errors:?}"
    );

    let errors = dir_errors(|d| {
        replace_in(
            &adoptions(d),
            "aspects_kept = [1, 2, 3, 4, 5]",
            "aspects_kept = [1, 2, 9]",
        )
    });
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("9 is not an aspect")),
        "{errors:?}"
    );

    let errors = dir_errors(|d| {
        replace_in(
            &adoptions(d),
            "team = \"ridgeline-hs-step\"",
            "team = \"harbor-hs-step\"",
        )
    });
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("does not adopt its own practice")),
        "{errors:?}"
    );

    let errors = dir_errors(|d| {
        replace_in(
            &adoptions(d),
            "outcome = \"improved\"",
            "outcome = \"better\"",
        )
    });
    assert!(
        errors.iter().any(|e| e.message.contains("\"no-change\"")),
        "{errors:?}"
    );

    let errors = dir_errors(|d| replace_in(&adoptions(d), "n = 87", "n = 4"));
    assert!(
        errors.iter().any(|e| e
            .field
            .as_deref()
            .is_some_and(|f| f.ends_with(".measures[1].n"))
            && e.message.contains("minimum cell size")),
        "{errors:?}"
    );

    let errors = dir_errors(|d| replace_in(&adoptions(d), "outcome = \"improved\"\n", ""));
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("is required when status")),
        "{errors:?}"
    );
}

#[test]
fn invalid_utf8_is_reported_with_its_line() {
    let errors = dir_errors(|d| {
        let path = d.join("practices/cognate-word-walls.md");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.splice(4..4, [b'\n', 0xff, 0xfe]);
        std::fs::write(path, bytes).unwrap();
    });
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("not valid UTF-8") && e.line == Some(3)),
        "{errors:?}"
    );
}

#[test]
fn every_error_in_the_directory_is_reported_at_once() {
    let errors = dir_errors(|d| {
        replace_in(
            &d.join("practices/number-talks-sentence-frames.md"),
            "n = 138",
            "n = 3",
        );
        replace_in(
            &d.join("practices/cognate-word-walls.md"),
            "## Evidence",
            "## Evidance",
        );
    });
    assert!(errors.len() >= 2, "{errors:?}");
}

#[test]
fn a_file_saved_with_crlf_line_ends_counts_each_line_break_once() {
    // 200 lines of 99 characters: 19,999 characters with `\n` line ends (the last is
    // trimmed), 20,199 if each CRLF counted twice.
    let evidence = format!("{}\n", "x".repeat(99)).repeat(200);
    let text = VALID
        .replacen("Exit slips rose.\n", &evidence, 1)
        .replace('\n', "\r\n");
    let doc = parse(&text).expect("within the limit");
    let stored = &doc.sections[&brightspots::domain::SectionKind::Evidence];
    assert!(!stored.contains('\r'), "stored as the form stores it");
    assert_eq!(stored.chars().count(), 19_999);
}

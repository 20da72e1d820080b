//! `questions.toml`: questions members asked a practice's team, with their answers. People
//! are not part of the content format (they sign in), so who asked or answered is a display
//! name and, optionally, the team they spoke for.

use serde::Deserialize;

use super::error::ContentError;
use super::files::Parsed;
use super::locate::Locator;
use super::practice_file::Problems;
use super::tomlw::TomlWriter;
use crate::domain::Slug;
use crate::domain::limits::{control_character, too_long};
use crate::domain::question::{MAX_AUTHOR, QuestionText};

/// One question on a practice, and its answers in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionDoc {
    pub practice: Slug,
    /// The name shown for who asked.
    pub asked_by: String,
    /// The team they asked as, if any.
    pub team: Option<Slug>,
    pub asked_on: time::Date,
    pub text: String,
    /// Hidden by the originating team or a coach: only they see it.
    pub hidden: bool,
    pub answers: Vec<AnswerDoc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnswerDoc {
    pub answered_by: String,
    /// The team the answer speaks for: the originating or an adopting team's answers are
    /// marked as such.
    pub team: Option<Slug>,
    pub answered_on: time::Date,
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionsFile {
    #[serde(default)]
    question: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    practice: String,
    asked_by: String,
    team: Option<String>,
    asked_on: toml::value::Datetime,
    text: String,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    answers: Vec<RawAnswer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    answered_by: String,
    team: Option<String>,
    answered_on: toml::value::Datetime,
    text: String,
}

/// Parses `questions.toml`; that the practices and teams exist is checked by the catalog,
/// which knows them. Returns the locator for those errors.
pub fn parse_questions(file: &str, text: &str) -> Parsed<(Vec<QuestionDoc>, Locator)> {
    let mut p = Problems {
        file,
        locator: Locator::new(text, 1),
        errors: Vec::new(),
    };
    if text.contains('\0') {
        p.errors.push(ContentError::new(
            file,
            None,
            None,
            "the file contains a NUL byte",
        ));
        return Parsed {
            rows: None,
            errors: p.errors,
        };
    }
    let raw: QuestionsFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            p.toml(text, 1, &e);
            return Parsed {
                rows: None,
                errors: p.errors,
            };
        }
    };
    let mut out = Vec::new();
    for (i, q) in raw.question.into_iter().enumerate() {
        let at = format!("question[{}]", i + 1);
        let practice = p.slug(&format!("{at}.practice"), &q.practice);
        let team = q
            .team
            .as_deref()
            .and_then(|t| p.slug(&format!("{at}.team"), t));
        let asked_by = name(&mut p, &format!("{at}.asked_by"), &q.asked_by);
        let asked_on = p.date(&format!("{at}.asked_on"), Some(q.asked_on));
        let question_text = text_of(&mut p, &format!("{at}.text"), &q.text);
        let mut answers = Vec::new();
        for (j, a) in q.answers.into_iter().enumerate() {
            let at = format!("{at}.answers[{}]", j + 1);
            let team = a
                .team
                .as_deref()
                .and_then(|t| p.slug(&format!("{at}.team"), t));
            let answered_by = name(&mut p, &format!("{at}.answered_by"), &a.answered_by);
            let answered_on = p.date(&format!("{at}.answered_on"), Some(a.answered_on));
            if let (Some(asked), Some(answered)) = (asked_on, answered_on)
                && answered < asked
            {
                p.field(
                    &format!("{at}.answered_on"),
                    format!("{answered} is before the question was asked ({asked})"),
                );
            }
            let text = text_of(&mut p, &format!("{at}.text"), &a.text);
            if let (Some(answered_by), Some(answered_on), Some(text)) =
                (answered_by, answered_on, text)
            {
                answers.push(AnswerDoc {
                    answered_by,
                    team,
                    answered_on,
                    text,
                });
            }
        }
        if let (Some(practice), Some(asked_by), Some(asked_on), Some(text)) =
            (practice, asked_by, asked_on, question_text)
        {
            out.push(QuestionDoc {
                practice,
                asked_by,
                team,
                asked_on,
                text,
                hidden: q.hidden,
                answers,
            });
        }
    }
    Parsed {
        rows: Some((out, p.locator)),
        errors: p.errors,
    }
}

/// A display name: one line, not empty, at most [`MAX_AUTHOR`] characters.
fn name(p: &mut Problems, field: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let problem = if value.is_empty() {
        Some("must not be empty; give the name shown for who wrote it".to_string())
    } else if value.contains(['\n', '\r']) {
        Some("must be one line".to_string())
    } else {
        too_long(value, MAX_AUTHOR).or_else(|| control_character(value))
    };
    match problem {
        Some(message) => {
            p.field(field, message);
            None
        }
        None => Some(value.to_string()),
    }
}

/// A question's or answer's text, by the rules of the form.
fn text_of(p: &mut Problems, field: &str, value: &str) -> Option<String> {
    QuestionText::parse(value)
        .map(QuestionText::into_string)
        .map_err(|e| p.field(field, e))
        .ok()
}

pub fn write_questions(questions: &[QuestionDoc]) -> String {
    let mut w = TomlWriter::default();
    for q in questions {
        w.table("question");
        w.str("practice", q.practice.as_str());
        w.str("asked_by", &q.asked_by);
        w.opt_str("team", q.team.as_ref().map(Slug::as_str));
        w.date("asked_on", Some(q.asked_on));
        w.str("text", &q.text);
        if q.hidden {
            w.raw("hidden", true);
        }
        for a in &q.answers {
            w.table("question.answers");
            w.str("answered_by", &a.answered_by);
            w.opt_str("team", a.team.as_ref().map(Slug::as_str));
            w.date("answered_on", Some(a.answered_on));
            w.str("text", &a.text);
        }
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"[[question]]
practice = "number-talks"
asked_by = "Dana Ortiz"
team = "maple-step"
asked_on = 2025-10-02
text = "How long did the frames stay up?"

[[question.answers]]
answered_by = "Ana Lima"
team = "lincoln-step"
answered_on = 2025-10-06
text = "All year."

[[question]]
practice = "number-talks"
asked_by = "Sam"
asked_on = 2025-11-02
text = "Second?"
hidden = true
"#;

    #[test]
    fn parses_and_writes_back_the_same() {
        let parsed = parse_questions("questions.toml", FILE);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let (qs, _) = parsed.rows.unwrap();
        assert_eq!(qs.len(), 2);
        assert_eq!(qs[0].answers.len(), 1);
        assert!(qs[1].hidden);
        assert_eq!(write_questions(&qs), FILE);
    }

    #[test]
    fn errors_name_line_and_field() {
        let bad = FILE.replace("answered_on = 2025-10-06", "answered_on = 2025-09-01");
        let errors = parse_questions("questions.toml", &bad).errors;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(11));
        assert_eq!(
            errors[0].field.as_deref(),
            Some("question[1].answers[1].answered_on")
        );
        let empty = FILE.replace("text = \"Second?\"", "text = \"  \"");
        let errors = parse_questions("questions.toml", &empty).errors;
        assert_eq!(errors[0].field.as_deref(), Some("question[2].text"));
        assert_eq!(errors[0].line, Some(18));
    }
}

//! Questions to a practice's team and their answers: the text rules the web form and
//! `questions.toml` share, so that whatever an import accepts the form would too.

use super::limits::{control_character, too_long};

/// Characters of a question or an answer (as stored: trimmed, with `\n` line ends).
pub const MAX_QUESTION: usize = 2_000;
/// Characters of the name shown beside a question or answer in `questions.toml`.
pub const MAX_AUTHOR: usize = 80;

/// The text of a question or an answer: not empty, at most [`MAX_QUESTION`] characters, no
/// invisible control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionText(String);

impl QuestionText {
    /// The text as stored (trimmed, `\n` line ends), or what is wrong with it, as a phrase
    /// that follows the field's name ("must not be empty").
    pub fn parse(text: &str) -> Result<QuestionText, String> {
        let text = text.trim().replace("\r\n", "\n");
        if text.is_empty() {
            return Err("must not be empty".into());
        }
        if let Some(problem) = too_long(&text, MAX_QUESTION).or_else(|| control_character(&text)) {
            return Err(problem);
        }
        Ok(QuestionText(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// How an answer is marked: by whom it speaks for, relative to the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// A member of the team that shared the practice.
    OriginatingTeam,
    /// A member of a team that adopted it.
    AdoptingTeam,
    /// Anyone else in the network.
    Member,
}

impl Voice {
    /// The mark shown beside an answer; empty for an ordinary member's.
    pub fn label(self) -> &'static str {
        match self {
            Voice::OriginatingTeam => "Originating team",
            Voice::AdoptingTeam => "Adopting team",
            Voice::Member => "",
        }
    }

    /// A CSS class suffix.
    pub fn key(self) -> &'static str {
        match self {
            Voice::OriginatingTeam => "originating",
            Voice::AdoptingTeam => "adopting",
            Voice::Member => "member",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(
            QuestionText::parse("  How long?\r\nReally? ")
                .unwrap()
                .as_str(),
            "How long?\nReally?"
        );
        assert_eq!(
            QuestionText::parse(" \n ").unwrap_err(),
            "must not be empty"
        );
        assert!(
            QuestionText::parse(&"x".repeat(MAX_QUESTION + 1))
                .unwrap_err()
                .contains("the limit is 2000")
        );
        assert!(QuestionText::parse("a\u{0}b").is_err());
    }
}

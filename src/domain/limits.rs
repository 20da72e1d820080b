//! The sizes a practice (and an adoption) keeps to, wherever it is written: a content file
//! read by `check`/`import`, or the web form. One set, so that whatever `import` accepts the
//! team can open in the form and save again unchanged — a practice bigger than the form
//! allows could never be edited.
//!
//! Together they also keep the largest valid practice well under the form's request limit
//! (`auth::MAX_FORM_BYTES`), even in four-byte characters, percent-encoded; a test checks it.

/// Characters of a practice's title.
pub const MAX_TITLE: usize = 200;
/// Characters of a practice's summary.
pub const MAX_SUMMARY: usize = 600;
/// Characters of each Markdown section (as stored: trimmed, with `\n` line ends).
pub const MAX_SECTION: usize = 20_000;
/// Tags on a practice.
pub const MAX_TAGS: usize = 20;
/// Characters of one tag.
pub const MAX_TAG: usize = 60;
/// Measures of a practice, and of an adoption.
pub const MAX_MEASURES: usize = 50;
/// Resources (links) of a practice.
pub const MAX_RESOURCES: usize = 20;
/// Characters of a resource's URL.
pub const MAX_URL: usize = 2_000;
/// Characters of a one-line text: a measure's name, instrument and period, a resource's
/// title, the license.
pub const MAX_LINE: usize = 200;
/// Characters of an adoption's adaptations.
pub const MAX_ADAPTATIONS: usize = 5_000;

/// The most boxes a group of checkboxes (challenge areas, grade bands, subjects, aspects)
/// sends: more than any form offers, so only a tampered form reaches it.
pub const MAX_TICKED: usize = 32;
/// The longest name a person signing in locally may choose.
pub const MAX_LOCAL_NAME: usize = 80;

/// Characters as a form limit counts them: a browser sends a line break as CRLF but counts
/// it once against `maxlength`, so the server does too.
pub fn typed_len(text: &str) -> usize {
    text.chars().filter(|c| *c != '\r').count()
}

/// The problem with a text longer than `max` characters, if it is.
pub fn too_long(text: &str, max: usize) -> Option<String> {
    let n = text.chars().count();
    (n > max).then(|| format!("is {n} characters long; the limit is {max}"))
}

/// The problem with more than `max` items, if there are: "has 21 tags; the limit is 20".
pub fn too_many(n: usize, max: usize, what: &str) -> Option<String> {
    (n > max).then(|| format!("has {n} {what}; the limit is {max}"))
}

/// The problem with an invisible control character (tab and line ends are text), if there
/// is one: the form refuses them, so a file must too.
pub fn control_character(text: &str) -> Option<String> {
    let c = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))?;
    Some(format!(
        "contains an invisible control character (U+{:04X}); remove it",
        u32::from(c)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest valid practice, every character four bytes long and percent-encoded
    /// (12 bytes a character), still fits in one form post: a practice `import` accepts can
    /// always be saved from the form.
    #[test]
    fn the_largest_practice_fits_in_a_form_post() {
        let sections = crate::domain::SectionKind::ALL.len() * MAX_SECTION;
        let measures = MAX_MEASURES * 3 * MAX_LINE;
        let resources = MAX_RESOURCES * (MAX_LINE + MAX_URL);
        let chars = MAX_TITLE
            + MAX_SUMMARY
            + MAX_TAGS * (MAX_TAG + 2)
            + MAX_LINE
            + sections
            + measures
            + resources;
        // Field names, numbers, choices and the CSRF token: generously.
        let overhead = 64 * 1024;
        assert!(chars * 12 + overhead < crate::auth::MAX_FORM_BYTES);
    }
}

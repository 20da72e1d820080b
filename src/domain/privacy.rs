//! The privacy gate's second half (the first is the minimum cell size of measures): text
//! that looks like it identifies a student. These are flags for the author and the
//! reviewer, not refusals — a heuristic cannot be sure, a person can.

/// One passage that may identify a student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyFlag {
    /// Where it is, as the form names it ("Evidence", "Measure 2").
    pub place: String,
    pub reason: &'static str,
    /// The passage, shortened.
    pub excerpt: String,
}

const SCORE_VERBS: &[&str] = &[
    "scored", "got", "earned", "received", "had", "reached", "made", "went",
];

/// Capitalised words that are not names even when a number follows.
const NOT_NAMES: &[&str] = &[
    "The",
    "A",
    "An",
    "In",
    "On",
    "By",
    "At",
    "Of",
    "Our",
    "We",
    "They",
    "Grade",
    "Grades",
    "Week",
    "Weeks",
    "Unit",
    "Units",
    "Period",
    "Periods",
    "Cycle",
    "Spring",
    "Fall",
    "Autumn",
    "Winter",
    "Summer",
    "Term",
    "Quarter",
    "Semester",
    "Year",
    "Room",
    "Lesson",
    "Module",
    "Step",
    "Phase",
    "Chapter",
    "Section",
    "Table",
    "Figure",
    "Baseline",
    "Result",
    "Results",
    "Students",
    "Teachers",
    "Class",
    "Classes",
    "Average",
    "Mean",
    "Median",
    "Total",
    "Math",
    "Reading",
    "Science",
    "English",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Only",
    "About",
    "Nearly",
    "Over",
    "Under",
    "From",
    "To",
    "And",
    "Then",
    "After",
    "Before",
    "When",
    "All",
    "Most",
    "Some",
    "Each",
    "Every",
    "Level",
    "Tier",
    "Form",
    "Everyone",
    "Nobody",
    "Half",
    "Many",
    "Several",
    "Both",
    "These",
    "This",
    "That",
    "Those",
    "Girls",
    "Boys",
    "Learners",
    "Readers",
    "Writers",
    "Scores",
    "Attendance",
    "Participation",
    "Overall",
    "Together",
    "Later",
    "Finally",
    "Again",
];

/// Everything in `text` that looks like a student's name next to a score, a student ID
/// number, an email address or a birth date.
pub fn scan(place: &str, text: &str) -> Vec<PrivacyFlag> {
    let mut out = Vec::new();
    let mut flag = |reason: &'static str, at: usize, len: usize| {
        let start = floor_char(text, at.saturating_sub(30));
        let end = ceil_char(text, (at + len + 30).min(text.len()));
        let excerpt = text[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !out
            .iter()
            .any(|f: &PrivacyFlag| f.reason == reason && f.excerpt == excerpt)
        {
            out.push(PrivacyFlag {
                place: place.to_string(),
                reason,
                excerpt,
            });
        }
    };
    let words: Vec<(usize, &str)> = words(text);
    for (i, &(at, w)) in words.iter().enumerate() {
        let bare = w.trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '.');
        let bare = bare.trim_end_matches('.');
        if let Some((local, domain)) = bare.split_once('@')
            && !local.is_empty()
            && domain.contains('.')
        {
            flag("an email address", at, w.len());
            continue;
        }
        let digits = bare.chars().filter(char::is_ascii_digit).count();
        if digits >= 6 && bare.chars().all(|c| c.is_ascii_digit()) {
            flag("a number that could be a student ID", at, w.len());
            continue;
        }
        let lower = bare.to_lowercase();
        if matches!(lower.as_str(), "dob" | "birthday" | "birthdate")
            || (lower == "born" && next_is_date(&words, i))
            || (lower == "birth" && i > 0 && words[i - 1].1.eq_ignore_ascii_case("of"))
        {
            flag("a birth date", at, w.len());
            continue;
        }
        // A sentence may start with a name too, so position is not a reason to skip.
        if looks_like_name(bare) && followed_by_score(&words, i) {
            flag("a student's name next to a score", at, w.len());
        }
    }
    out
}

/// Everything in a practice that may identify a student, by the part it is in.
pub fn scan_doc(doc: &super::PracticeDoc) -> Vec<PrivacyFlag> {
    scan_parts(
        &doc.title,
        &doc.summary,
        doc.sections
            .iter()
            .map(|(kind, md)| (kind.heading(), md.as_str())),
        doc.measures
            .iter()
            .map(|m| [&m.name, &m.instrument, &m.period]),
    )
}

/// The flags of a practice's parts, however it is held (a stored document or a form being
/// filled in): title, summary, each section under its heading, and each measure's name,
/// instrument and period.
pub fn scan_parts<'a, S: AsRef<str>>(
    title: &str,
    summary: &str,
    sections: impl IntoIterator<Item = (&'a str, &'a str)>,
    measures: impl IntoIterator<Item = [S; 3]>,
) -> Vec<PrivacyFlag> {
    let mut flags = scan("Title", title);
    flags.extend(scan("Summary", summary));
    for (heading, md) in sections {
        flags.extend(scan(heading, md));
    }
    for (i, [name, instrument, period]) in measures.into_iter().enumerate() {
        let text = format!(
            "{} {} {}",
            name.as_ref(),
            instrument.as_ref(),
            period.as_ref()
        );
        flags.extend(scan(&format!("Measure {}", i + 1), &text));
    }
    flags
}

fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

fn looks_like_name(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_uppercase())
        && w.chars().count() >= 3
        && chars.all(|c| c.is_lowercase())
        && !NOT_NAMES.contains(&w)
}

fn is_number(w: &str) -> bool {
    let w = w.trim_matches(|c: char| "()%,.;:".contains(c));
    !w.is_empty()
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '/')
}

/// "Maria scored 45", "Maria: 45", "Maria (45%)", "Maria Lopez got 3/4".
fn followed_by_score(words: &[(usize, &str)], i: usize) -> bool {
    let name = words[i].1;
    let mut j = i + 1;
    if name.ends_with(':') || name.ends_with(',') {
        return words.get(j).is_some_and(|w| is_number(w.1));
    }
    if words
        .get(j)
        .is_some_and(|w| looks_like_name(w.1.trim_end_matches([':', ','])))
    {
        j += 1; // a surname
    }
    match words.get(j) {
        Some((_, w)) if is_number(w) && w.starts_with('(') => true,
        Some((_, w)) if SCORE_VERBS.contains(&w.to_lowercase().as_str()) => {
            words.get(j + 1).is_some_and(|w| is_number(w.1))
                || (words.get(j + 1).is_some_and(|w| w.1 == "a")
                    && words.get(j + 2).is_some_and(|w| is_number(w.1)))
        }
        _ => false,
    }
}

fn next_is_date(words: &[(usize, &str)], i: usize) -> bool {
    words[i + 1..]
        .iter()
        .take(3)
        .any(|(_, w)| w.chars().filter(char::is_ascii_digit).count() >= 4)
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(text: &str) -> Vec<&'static str> {
        scan("Evidence", text)
            .into_iter()
            .map(|f| f.reason)
            .collect()
    }

    #[test]
    fn flags_what_identifies_a_student() {
        assert_eq!(
            reasons("In week 3, Maria scored 45 on the exit ticket."),
            ["a student's name next to a score"]
        );
        assert_eq!(
            reasons("Results: Jayden Cole (78%) improved most."),
            ["a student's name next to a score"]
        );
        assert_eq!(
            reasons("Write to maria.l@lincoln.k12.us for the data."),
            ["an email address"]
        );
        assert_eq!(
            reasons("Student 20231587 moved up a tier."),
            ["a number that could be a student ID"]
        );
        assert_eq!(
            reasons("One student (DOB 03/14/2012) was absent."),
            ["a birth date"]
        );
        assert_eq!(reasons("She was born 2012-03-14."), ["a birth date"]);
    }

    #[test]
    fn leaves_aggregate_evidence_alone() {
        for text in [
            "Grade 7 students scored 45% on the unit test, up from 31%.",
            "The median rose from 2.1 to 3.4. Maria Montessori inspired the routine.",
            "In Spring 2025, 112 students took the benchmark (n = 112).",
            "Attendance rose to 94.5% across 6 classrooms.",
            "We met on 2025-10-01 and again in November 2025.",
        ] {
            assert!(reasons(text).is_empty(), "{text}: {:?}", reasons(text));
        }
    }
}

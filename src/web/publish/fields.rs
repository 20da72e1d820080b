//! The parts of the forms' fields that are not the practice: caps on repeated fields while
//! parsing, what is told when values were dropped, and how a problem's field is named and
//! linked in a page's list of problems.

use std::borrow::Cow;

use crate::domain::MEASURE_FIELDS;
use crate::domain::{MAX_MEASURES, MAX_RESOURCES, MAX_TAG, MAX_TICKED, SectionKind};

/// Keeps a ticked checkbox value once, up to [`MAX_TICKED`]; past that `field` is noted as
/// having dropped values.
pub(super) fn tick(
    list: &mut Vec<String>,
    value: Cow<'_, str>,
    field: &'static str,
    dropped: &mut Vec<&'static str>,
) {
    if list.iter().any(|v| *v == value) {
        return;
    }
    if list.len() < MAX_TICKED {
        list.push(value.into_owned());
    } else if !dropped.contains(&field) {
        dropped.push(field);
    }
}

/// Keeps one value of a repeated row input (`r-title`…), up to [`MAX_RESOURCES`] rows.
pub(super) fn keep_row(
    list: &mut Vec<String>,
    value: Cow<'_, str>,
    field: &'static str,
    dropped: &mut Vec<&'static str>,
) {
    if list.len() < MAX_RESOURCES {
        list.push(value.into_owned());
    } else if !dropped.contains(&field) {
        dropped.push(field);
    }
}

/// What the person is told beside a field whose values past its cap were dropped.
pub fn dropped_message(field: &str) -> String {
    match field {
        "measures" => format!(
            "The table holds at most {MAX_MEASURES} rows; the rows past {MAX_MEASURES} were not kept"
        ),
        "resources" => format!(
            "The list holds at most {MAX_RESOURCES} resources; the ones past {MAX_RESOURCES} were not kept"
        ),
        _ => format!(
            "More than {MAX_TICKED} boxes were sent; the ones past {MAX_TICKED} were not kept"
        ),
    }
}

/// The number of the tag a content-format field names (`tags[2]` is 2).
pub(super) fn tag_number(field: &str) -> Option<usize> {
    field.strip_prefix("tags[")?.strip_suffix(']')?.parse().ok()
}

/// One sentence for every tag that is too long, naming the first few ("Tag 2 is…",
/// "Tags 2, 5 and 9 are…"): a field of many long tags gets one line, not one per tag.
pub(super) fn long_tags_message(numbers: &[usize]) -> String {
    const NAMED: usize = 5;
    let named: Vec<String> = numbers.iter().take(NAMED).map(|n| n.to_string()).collect();
    let more = numbers.len().saturating_sub(NAMED);
    match (named.as_slice(), more) {
        ([one], _) => format!("Tag {one} is longer than {MAX_TAG} characters"),
        ([first @ .., last], 0) => format!(
            "Tags {} and {last} are longer than {MAX_TAG} characters",
            first.join(", ")
        ),
        _ => format!(
            "Tags {} and {more} more are longer than {MAX_TAG} characters",
            named.join(", ")
        ),
    }
}

/// The row and input of a row field (`m2-n` is measure row 2's `n`) whose letter is `kind`.
pub(super) fn row_field(field: &str, kind: char) -> Option<(usize, &str)> {
    let (head, sub) = field.strip_prefix(kind)?.split_once('-')?;
    Some((head.parse().ok()?, sub))
}

/// Whether a form of `measures` and `resources` rows draws the field `m{n}-…`/`r{n}-…`.
pub fn row_drawn(field: &str, measures: usize, resources: usize) -> bool {
    match (row_field(field, 'm'), row_field(field, 'r')) {
        (Some((n, sub)), _) => (1..=measures).contains(&n) && MEASURE_FIELDS.contains(&sub),
        (_, Some((n, sub))) => (1..=resources).contains(&n) && matches!(sub, "title" | "url"),
        _ => false,
    }
}

/// A field's name as the person reads it in the list of problems ("Measure 2: n (students)").
pub fn field_label(field: &str) -> String {
    if let Some(kind) = field.strip_prefix("s-").and_then(SectionKind::from_key) {
        return kind.heading().into();
    }
    if let Some((row, sub)) = row_field(field, 'm') {
        let sub = match sub {
            "n" => "n (students)",
            "better" => "which way is better",
            "comparison_baseline" => "comparison group's baseline",
            "comparison_result" => "comparison group's result",
            "comparison_n" => "comparison group's n",
            "p_value" => "p-value",
            other => other,
        };
        return format!("Measure {row}: {sub}");
    }
    if let Some((row, sub)) = row_field(field, 'r') {
        return format!("Resource {row}: {sub}");
    }
    match field {
        "title" => "Title",
        "summary" => "Summary",
        "team" => "Team",
        "stage" => "Evidence stage",
        "areas" => "Challenge areas",
        "grades" => "Grade bands",
        "subjects" => "Subjects",
        "tags" => "Tags",
        "license" => "License",
        "measures" => "Measures",
        "resources" => "Resources",
        "confirm_privacy" => "Privacy confirmation",
        "cost-start_hours" => "Hours to start",
        "cost-weekly_hours" => "Hours per week",
        "cost-materials_per_classroom" => "Materials per classroom",
        "cost-currency" => "Currency",
        "cost-staff_roles" => "Staff roles needed",
        "status" => "Where your team is",
        "started_on" => "Started on",
        "aspects" => "Essential aspects",
        "adaptations" => "Adaptations",
        "outcome" => "Outcome",
        "form" => "Not saved",
        other => other,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list of problems names every field as the form's label does, never by its id
    /// (`s-essential-aspects`, `m1-comparison_n`, `cost-currency`).
    #[test]
    fn every_field_a_problem_can_name_reads_as_words() {
        let mut fields: Vec<String> = SectionKind::ALL
            .iter()
            .map(|k| format!("s-{}", k.key()))
            .collect();
        fields.extend(MEASURE_FIELDS.iter().map(|f| format!("m2-{f}")));
        fields.extend(["r3-title", "r3-url"].map(String::from));
        fields.extend(
            [
                "title",
                "summary",
                "team",
                "stage",
                "areas",
                "grades",
                "subjects",
                "tags",
                "license",
                "measures",
                "resources",
                "confirm_privacy",
                "cost-start_hours",
                "cost-weekly_hours",
                "cost-materials_per_classroom",
                "cost-currency",
                "cost-staff_roles",
                "status",
                "started_on",
                "aspects",
                "adaptations",
                "outcome",
            ]
            .map(String::from),
        );
        for field in fields {
            let label = field_label(&field);
            // The id's prefix (`s-`, `m2-`, `cost-`) or an underscore would show it is one.
            let prefix = field.split_once('-').map(|(p, _)| format!("{p}-"));
            assert!(
                label != field
                    && !label.contains('_')
                    && prefix.is_none_or(|p| !label.contains(&p))
                    && label.starts_with(char::is_uppercase),
                "{field} reads as {label:?}"
            );
        }
    }
}

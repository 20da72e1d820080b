//! Turning stored values into what people read: labels, dates, numbers.

use crate::domain::{GradeBand, Level, Locale, Measure, Stage, Subject, Vocabulary};
use crate::store::pages::Card;
use crate::store::parse_list;

/// "2025-06-12" → "June 12, 2025"; anything unparsable is shown as stored.
pub fn date(iso: &str) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match time::Date::parse(iso, format) {
        Ok(d) => format!("{} {}, {}", d.month(), d.day(), d.year()),
        Err(_) => iso.to_string(),
    }
}

/// The date at the start of an ISO date or timestamp ("2025-06-12T08:00:00Z").
pub fn parse_date(iso: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(iso.get(..10)?, format).ok()
}

/// A stored timestamp ("2026-12-02T05:15:23Z") as people read it: "December 2, 2026, 05:15
/// UTC"; a plain date as `date` shows it; anything else as it is.
pub fn when(iso: &str) -> String {
    match (parse_date(iso), iso.get(11..16)) {
        (Some(d), Some(hm)) if iso.as_bytes().get(10) == Some(&b'T') => {
            format!("{} {}, {}, {hm} UTC", d.month(), d.day(), d.year())
        }
        _ => date(iso),
    }
}

pub fn opt_date(iso: &Option<String>) -> String {
    iso.as_deref().map(date).unwrap_or_default()
}

/// Labels of a JSON list of vocabulary values (skipping any that are not).
pub fn labels<V: Vocabulary>(json: &str) -> Vec<&'static str> {
    parse_list(json)
        .iter()
        .filter_map(|s| V::parse(s).ok())
        .map(V::label)
        .collect()
}

pub fn grade_labels(json: &str) -> String {
    labels::<GradeBand>(json).join(", ")
}

pub fn subject_labels(json: &str) -> Vec<&'static str> {
    labels::<Subject>(json)
}

pub fn label<V: Vocabulary>(value: &str) -> &'static str {
    V::parse(value).map(V::label).unwrap_or("")
}

pub fn level_label(value: &str) -> &'static str {
    label::<Level>(value)
}

pub fn locale_label(value: &str) -> &'static str {
    label::<Locale>(value)
}

/// The evidence stage as a badge: its key (for styling), label and what it means.
pub struct StageBadge {
    pub key: &'static str,
    pub label: &'static str,
    pub meaning: &'static str,
}

pub fn stage(value: &str) -> StageBadge {
    let stage = Stage::parse(value).unwrap_or(Stage::Promising);
    StageBadge {
        key: stage.as_str(),
        label: stage.label(),
        meaning: match stage {
            Stage::Promising => "seen in positive outliers during Discover; not yet tested",
            Stage::Confirmed => "tested by the team with measures during Confirm",
            Stage::Replicated => {
                "improved outcomes in at least two other schools that kept every essential aspect"
            }
        },
    }
}

/// A practice in a list, ready to show.
pub struct CardView {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub stage: StageBadge,
    pub grades: String,
    pub team_slug: String,
    pub team_name: String,
    pub school_slug: String,
    pub school_name: String,
    pub district_name: String,
    pub vetted_on: String,
}

impl From<Card> for CardView {
    fn from(c: Card) -> Self {
        CardView {
            stage: stage(&c.stage),
            grades: grade_labels(&c.grade_bands),
            vetted_on: opt_date(&c.vetted_on),
            slug: c.slug,
            title: c.title,
            summary: c.summary,
            team_slug: c.team_slug,
            team_name: c.team_name,
            school_slug: c.school_slug,
            school_name: c.school_name,
            district_name: c.district_name,
        }
    }
}

pub fn cards(cards: Vec<Card>) -> Vec<CardView> {
    cards.into_iter().map(CardView::from).collect()
}

/// A figure with its unit: "38%", "3.4 points".
pub fn figure(value: f64, unit: crate::domain::Unit) -> String {
    let n = num(value);
    match unit {
        crate::domain::Unit::Percent => format!("{n}%"),
        other => format!("{n} {}", other.label()),
    }
}

/// A measure row of the evidence table.
pub struct MeasureView {
    pub name: String,
    pub ingredient: &'static str,
    pub instrument: String,
    pub baseline: String,
    pub result: String,
    pub change: String,
    pub n: i64,
    pub period: String,
    /// How the figures were gathered, with the comparison group's figures where there is one:
    /// "Comparison group: 40% → 41% (n = 120), p = 0.01".
    pub design: String,
    /// "lower is better" where that is so, else empty.
    pub better: &'static str,
}

impl From<&Measure> for MeasureView {
    fn from(m: &Measure) -> Self {
        let delta = m.result - m.baseline;
        let sign = if delta > 0.0 {
            "+"
        } else if delta < 0.0 {
            "−"
        } else {
            "±"
        };
        let unit = if m.unit == crate::domain::Unit::Percent {
            " points"
        } else {
            ""
        };
        MeasureView {
            name: m.name.clone(),
            ingredient: m.ingredient.label(),
            instrument: m.instrument.clone(),
            baseline: figure(m.baseline, m.unit),
            result: figure(m.result, m.unit),
            change: format!("{sign}{}{unit}", num(delta.abs())),
            n: m.n,
            period: m.period.clone(),
            design: design_words(m),
            better: if m.better == crate::domain::Better::Lower {
                "lower is better"
            } else {
                ""
            },
        }
    }
}

fn design_words(m: &Measure) -> String {
    use crate::domain::Design;
    let kind = match m.design {
        Design::PrePost => return "Before and after, no comparison group".into(),
        Design::Comparison => "Comparison group",
        Design::Randomized => "Randomized comparison group",
    };
    let mut out = kind.to_string();
    if let Some(c) = m.comparison {
        out.push_str(&format!(
            ": {} → {} (n = {})",
            figure(c.baseline, m.unit),
            figure(c.result, m.unit),
            c.n
        ));
    }
    if let Some(p) = m.p_value {
        out.push_str(&format!(", p = {}", crate::content::format_number(p)));
    }
    out
}

/// The ESSA evidence level of a practice as its page tells it.
pub struct EssaView {
    /// "Tier 4 · Demonstrates a rationale", or "Not yet at an ESSA tier".
    pub label: String,
    /// `tier-4`, or `none`: the style and the search filter's value.
    pub key: &'static str,
    pub reason: String,
    pub next: Option<String>,
    /// A higher tier the figures support that a coach has not confirmed: said so.
    pub pending: Option<&'static str>,
    /// Whether a coach confirmed the tier shown (above 4).
    pub confirmed: bool,
}

impl EssaView {
    pub fn new(input: &crate::store::EssaInput) -> EssaView {
        let a = input.assess();
        let shown = a.shown(input.confirmed);
        EssaView {
            label: shown.map_or("Not yet at an ESSA tier".into(), |t| t.label().into()),
            key: shown.map_or("none", |t| t.key()),
            reason: a.reason.clone(),
            next: a.next.clone(),
            pending: a.pending(input.confirmed).map(|t| t.label()),
            confirmed: shown.is_some_and(|t| t < crate::domain::essa::Tier::Rationale),
        }
    }
}

/// The "what it takes" box: (what, how much) rows of what the team said.
pub fn cost_rows(c: &crate::domain::Cost) -> Vec<(&'static str, String)> {
    let hours = |h: f64| {
        if h == 1.0 {
            "1 hour".to_string()
        } else if h < 1.0 && h > 0.0 {
            format!("{} minutes", num(h * 60.0))
        } else {
            format!("{} hours", num(h))
        }
    };
    let mut rows = Vec::new();
    if let Some(h) = c.start_hours {
        rows.push(("Time for a teacher to start", hours(h)));
    }
    if let Some(h) = c.weekly_hours {
        rows.push((
            "Ongoing time",
            if h == 0.0 {
                "none beyond lesson time".into()
            } else {
                format!("{} per week", hours(h))
            },
        ));
    }
    if let Some(m) = c.materials {
        rows.push((
            "Materials",
            if m == 0.0 {
                "no cost".into()
            } else {
                format!(
                    "{} {} per classroom",
                    num(m),
                    c.currency.as_deref().unwrap_or("")
                )
            },
        ));
    }
    if !c.staff_roles.is_empty() {
        rows.push(("Staff roles needed", c.staff_roles.join(", ")));
    }
    rows
}

/// A number for reading: at most two decimals, no trailing zeros.
pub fn num(value: f64) -> String {
    crate::content::format_number((value * 100.0).round() / 100.0)
}

#[cfg(test)]
mod when_tests {
    #[test]
    fn timestamps_read_as_dates_and_times() {
        assert_eq!(
            super::when("2026-12-02T05:15:23Z"),
            "December 2, 2026, 05:15 UTC"
        );
        assert_eq!(super::when("2026-12-02"), "December 2, 2026");
        assert_eq!(super::when("soon"), "soon");
    }
}

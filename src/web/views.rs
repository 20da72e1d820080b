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
        }
    }
}

/// A number for reading: at most two decimals, no trailing zeros.
pub fn num(value: f64) -> String {
    crate::content::format_number((value * 100.0).round() / 100.0)
}

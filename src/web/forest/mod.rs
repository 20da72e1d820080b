//! "Across every school that tried it": a forest-plot style chart of each school's change on
//! comparable student-outcome measures, beside the replication ledger. Inline SVG like the
//! other charts (no script, scales through its viewBox, readable without colour: every row
//! says in words whether it improved, and the shapes differ), followed by a table of the same
//! figures.
//!
//! Rows come from the originating team's public revision and from the adoptions the ledger
//! shows, beyond `exploring`. There are no confidence intervals to draw, so none are drawn; a
//! pooled figure appears only where every row of a panel measured the same thing in the same
//! unit.

use std::collections::{HashMap, HashSet};

use super::views;
use crate::domain::{AdoptionStatus, Ingredient, Measure, Outcome, Unit, Vocabulary};
use crate::store::AdoptionView;

mod draw;
#[cfg(test)]
mod tests;

/// The sentence shown wherever figures are not pooled because they measure different things.
pub const NOT_COMPARABLE: &str = "These measures are not comparable, so no pooled figure is shown.";

/// The change a row shows: raw, as the axis says (result − baseline), so a fall in absences
/// reads as a fall; whether it worked is the adopting team's recorded outcome, and the
/// Measures table says which way is better.
pub fn change(m: &Measure) -> f64 {
    m.result - m.baseline
}

/// The originating school, as the practice page knows it.
pub struct Origin<'a> {
    pub school_slug: &'a str,
    pub school: &'a str,
    pub district: &'a str,
}

/// Everything the practice page shows of the chart.
pub struct Forest {
    /// Adopting schools (other than the originating one), beyond exploring, that report
    /// improvement and have not discontinued.
    pub improved: usize,
    /// Adopting schools (other than the originating one) beyond exploring.
    pub tried: usize,
    /// The n of the latest student-outcome measure of each school counted once: the
    /// originating school and every school in `tried`.
    pub students: i64,
    pub panels: Vec<Panel>,
    /// How many different measures the rows hold, counting those only the originating
    /// school reported (which are not charted here: "Measures" charts them).
    pub measures: usize,
}

impl Forest {
    /// The schools did not all measure the same thing: no figure pools across them.
    pub fn several_measures(&self) -> bool {
        self.measures > 1
    }

    pub fn not_comparable(&self) -> &'static str {
        NOT_COMPARABLE
    }
}

/// One comparable measure: its chart and table.
pub struct Panel {
    pub id: String,
    pub name: String,
    pub unit: &'static str,
    pub svg: String,
    pub rows: Vec<RowView>,
    /// "+27.1 percentage points (n-weighted mean of 2 schools, 225 students)", when every row
    /// measured the same thing in the same unit.
    pub pooled: Option<String>,
    /// Rows in different units: the panel says so instead of pooling.
    pub mixed_units: bool,
}

/// A row of a panel's table.
pub struct RowView {
    pub school: String,
    pub district: String,
    pub originating: bool,
    pub status: &'static str,
    /// Why a discontinued adoption stopped.
    pub reason: Option<String>,
    pub outcome: &'static str,
    pub verdict: &'static str,
    pub baseline: String,
    pub result: String,
    pub change: String,
    pub n: i64,
    pub aspects: String,
}

/// How a row is drawn and labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    Originating,
    Improved,
    DidNotImprove,
    NotReported,
}

/// One school's measure before it is drawn.
struct Row<'a> {
    school_slug: &'a str,
    school: &'a str,
    district: &'a str,
    adoption: Option<&'a AdoptionView>,
    measure: &'a Measure,
}

impl Row<'_> {
    fn verdict(&self) -> Verdict {
        let Some(a) = self.adoption else {
            return Verdict::Originating;
        };
        if a.status == AdoptionStatus::Discontinued.as_str() {
            return Verdict::DidNotImprove;
        }
        match a.outcome.as_deref().and_then(|o| Outcome::parse(o).ok()) {
            Some(Outcome::Improved) => Verdict::Improved,
            Some(_) => Verdict::DidNotImprove,
            None => Verdict::NotReported,
        }
    }

    fn label(&self) -> &'static str {
        let discontinued = self
            .adoption
            .is_some_and(|a| a.status == AdoptionStatus::Discontinued.as_str());
        match self.verdict() {
            Verdict::Originating => "originating school",
            Verdict::Improved => "improved",
            Verdict::NotReported => "outcome not yet reported",
            Verdict::DidNotImprove if discontinued => "did not improve: discontinued",
            Verdict::DidNotImprove => match self.adoption.and_then(|a| a.outcome.as_deref()) {
                Some("declined") => "did not improve: declined",
                _ => "did not improve: no change",
            },
        }
    }

    fn view(&self) -> RowView {
        let m = self.measure;
        let (status, reason, outcome, aspects) = match self.adoption {
            None => (
                "Originating school",
                None,
                "its own Confirm-phase evidence",
                "all (it wrote them)".to_string(),
            ),
            Some(a) => (
                views::label::<AdoptionStatus>(&a.status),
                discontinued_reason(a),
                a.outcome
                    .as_deref()
                    .map_or("not yet reported", views::label::<Outcome>),
                a.fidelity(),
            ),
        };
        RowView {
            school: self.school.to_string(),
            district: self.district.to_string(),
            originating: self.adoption.is_none(),
            status,
            reason,
            outcome,
            verdict: self.label(),
            baseline: views::figure(m.baseline, m.unit),
            result: views::figure(m.result, m.unit),
            change: change_text(change(m), m.unit),
            n: m.n,
            aspects,
        }
    }
}

/// Why a discontinued adoption stopped: the adoption record has no field of its own for it,
/// so it is the team's adaptations note, where the adoption form asks for it.
pub fn discontinued_reason(a: &AdoptionView) -> Option<String> {
    (a.status == AdoptionStatus::Discontinued.as_str()).then(|| {
        match a.adaptations.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => format!("Reason given: {text}"),
            _ => "No reason given.".to_string(),
        }
    })
}

/// "+33 percentage points", "−0.4 rating", "±0 count".
pub fn change_text(delta: f64, unit: Unit) -> String {
    let sign = if delta > 0.0 {
        "+"
    } else if delta < 0.0 {
        "−"
    } else {
        "±"
    };
    format!("{sign}{} {}", views::num(delta.abs()), change_unit(unit))
}

fn change_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Percent => "percentage points",
        other => other.label(),
    }
}

/// A measure's name compared case- and whitespace-insensitively.
fn key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A student-outcome measure large enough to show.
fn shown(m: &Measure, min_cell: i64) -> bool {
    m.ingredient == Ingredient::StudentOutcome
        && m.n >= min_cell
        && m.comparison.is_none_or(|c| c.n >= min_cell)
}

/// The adoptions that count as having tried the practice: those the ledger shows, beyond
/// exploring.
fn tried(adoptions: &[AdoptionView]) -> impl Iterator<Item = &AdoptionView> {
    adoptions
        .iter()
        .filter(|a| a.status != AdoptionStatus::Exploring.as_str())
}

/// The chart's figures from the originating team's public measures (`own`) and the ledger's
/// adoptions. Measures with n below `min_cell` are left out everywhere, though none should
/// have been stored.
pub fn build(
    origin: &Origin<'_>,
    own: &[Measure],
    adoptions: &[AdoptionView],
    min_cell: i64,
) -> Forest {
    let own: Vec<&Measure> = own.iter().filter(|m| shown(m, min_cell)).collect();
    let own_names: HashSet<String> = own.iter().map(|m| key(&m.name)).collect();

    let mut groups: Vec<Group<'_>> = Vec::new();
    for m in &own {
        let row = Row {
            school_slug: origin.school_slug,
            school: origin.school,
            district: origin.district,
            adoption: None,
            measure: m,
        };
        place(&mut groups, &own_names, row);
    }
    for a in tried(adoptions) {
        for m in a.measures.iter().filter(|m| shown(m, min_cell)) {
            let row = Row {
                school_slug: &a.school_slug,
                school: &a.school_name,
                district: &a.district_name,
                adoption: Some(a),
                measure: m,
            };
            place(&mut groups, &own_names, row);
        }
    }

    let measures = groups.len();
    let panels = groups
        .into_iter()
        .map(|(_, _, rows)| rows)
        // A measure only the originating team reported is already charted in "Measures".
        .filter(|rows| rows.iter().any(|r| r.adoption.is_some()))
        .enumerate()
        .map(|(i, rows)| panel(&format!("forest-{}", i + 1), &rows))
        .collect();

    let others: Vec<&AdoptionView> = tried(adoptions)
        .filter(|a| a.school_slug != origin.school_slug)
        .collect();
    let schools = |keep: &dyn Fn(&AdoptionView) -> bool| {
        others
            .iter()
            .filter(|a| keep(a))
            .map(|a| a.school_slug.as_str())
            .collect::<HashSet<_>>()
            .len()
    };
    let tried_count = schools(&|_| true);
    let improved = schools(&|a| {
        a.status != AdoptionStatus::Discontinued.as_str()
            && a.outcome.as_deref() == Some(Outcome::Improved.as_str())
    });

    // Students: each school once, its latest student-outcome measure (the last listed, of
    // its most recently reported adoption; periods are free text, so not compared).
    let mut students: HashMap<&str, i64> = HashMap::new();
    if let Some(m) = own.last() {
        students.insert(origin.school_slug, m.n);
    }
    let mut latest = others.clone();
    latest.sort_by(|a, b| {
        let when = |x: &AdoptionView| x.updated_at.clone().or_else(|| x.started_on.clone());
        when(b).cmp(&when(a))
    });
    for a in latest {
        if let Some(m) = a.measures.iter().rev().find(|m| shown(m, min_cell)) {
            students.entry(&a.school_slug).or_insert(m.n);
        }
    }

    Forest {
        improved,
        tried: tried_count,
        students: students.values().sum(),
        panels,
        measures,
    }
}

/// Rows of one measure: its compared name, and its unit unless the name is one of the
/// practice's own measures.
type Group<'a> = (String, Option<Unit>, Vec<Row<'a>>);

/// Puts a row in its group: an adoption's measure named like one of the practice's own joins
/// it (whatever its unit); any other joins those of the same name and unit. One row per
/// school (per adoption) and measure: the last one listed.
fn place<'a>(groups: &mut Vec<Group<'a>>, own_names: &HashSet<String>, row: Row<'a>) {
    let name = key(&row.measure.name);
    let unit = (!own_names.contains(&name)).then_some(row.measure.unit);
    let at = match groups.iter().position(|(n, u, _)| *n == name && *u == unit) {
        Some(at) => at,
        None => {
            groups.push((name, unit, Vec::new()));
            groups.len() - 1
        }
    };
    let rows = &mut groups[at].2;
    let same = |r: &Row<'_>| {
        r.school_slug == row.school_slug && r.adoption.map(|a| a.id) == row.adoption.map(|a| a.id)
    };
    match rows.iter().position(same) {
        Some(i) => rows[i] = row,
        None => rows.push(row),
    }
}

fn panel(id: &str, rows: &[Row<'_>]) -> Panel {
    let first = rows[0].measure;
    let mixed_units = rows.iter().any(|r| r.measure.unit != first.unit);
    let pooled = (rows.len() >= 2 && !mixed_units).then(|| {
        let total: i64 = rows.iter().map(|r| r.measure.n).sum();
        let schools: HashSet<&str> = rows.iter().map(|r| r.school_slug).collect();
        let weighted: f64 = rows
            .iter()
            .map(|r| change(r.measure) * r.measure.n as f64)
            .sum();
        format!(
            "{} (the mean change across {} schools, weighted by n; {} students)",
            change_text(weighted / total.max(1) as f64, first.unit),
            schools.len(),
            total
        )
    });
    Panel {
        id: id.to_string(),
        name: first.name.clone(),
        unit: if mixed_units {
            "each school's own unit"
        } else {
            change_unit(first.unit)
        },
        svg: draw::svg(id, rows, mixed_units),
        rows: rows.iter().map(Row::view).collect(),
        pooled,
        mixed_units,
    }
}

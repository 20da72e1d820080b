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
use std::fmt::Write;

use super::chart::escape;
use super::views;
use crate::domain::{AdoptionStatus, Ingredient, Measure, Outcome, Unit, Vocabulary};
use crate::store::AdoptionView;

const WIDTH: f64 = 640.0;
const PLOT_LEFT: f64 = 24.0;
const PLOT_RIGHT: f64 = 616.0;
const ROW: f64 = 48.0;
const TOP: f64 = 8.0;
const AXIS: f64 = 44.0;

/// The sentence shown wherever figures are not pooled because they measure different things.
pub const NOT_COMPARABLE: &str = "These measures are not comparable, so no pooled figure is shown.";

/// The change a row shows. The one place to turn it round when a measure says lower is
/// better; until then it is the raw change, and whether it worked is the adopting team's
/// recorded outcome.
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
    m.ingredient == Ingredient::StudentOutcome && m.n >= min_cell
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
        svg: svg(id, rows, mixed_units),
        rows: rows.iter().map(Row::view).collect(),
        pooled,
        mixed_units,
    }
}

/// One panel: a row per school, a line from zero to its change and a marker whose shape says
/// what happened, under a vertical zero line and an axis.
fn svg(id: &str, rows: &[Row<'_>], mixed_units: bool) -> String {
    let changes: Vec<f64> = rows.iter().map(|r| change(r.measure)).collect();
    let lo = changes.iter().copied().fold(0.0_f64, f64::min);
    let hi = changes.iter().copied().fold(0.0_f64, f64::max);
    let span = if hi - lo > f64::EPSILON { hi - lo } else { 1.0 };
    let (lo, hi) = (lo - span * 0.06, hi.max(lo + span) + span * 0.06);
    let x = |v: f64| PLOT_LEFT + (v - lo) / (hi - lo) * (PLOT_RIGHT - PLOT_LEFT);
    let zero = x(0.0);
    let axis_y = TOP + ROW * rows.len() as f64;
    let height = axis_y + AXIS;
    let first = rows[0].measure;
    let unit = if mixed_units {
        "in each row's own unit".to_string()
    } else {
        format!("in {}", change_unit(first.unit))
    };
    let title = format!(
        "{}: change at each school that tried it",
        truncate(&first.name, 120)
    );
    let desc: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} ({}): from {} to {}, {}, n = {}",
                r.school,
                r.label(),
                views::figure(r.measure.baseline, r.measure.unit),
                views::figure(r.measure.result, r.measure.unit),
                change_text(change(r.measure), r.measure.unit),
                r.measure.n
            )
        })
        .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg class="chart forest-chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">
<title id="{id}-title">{}</title>
<desc id="{id}-desc">{}</desc>"##,
        escape(&title),
        escape(&desc.join("; "))
    );
    // The zero line runs down the rows' lines and breaks for their text.
    for i in 0..rows.len() {
        let from = TOP + ROW * i as f64 + 19.0;
        let to = if i + 1 == rows.len() {
            axis_y
        } else {
            from + 27.0
        };
        let _ = write!(
            out,
            r##"<line x1="{zero:.1}" y1="{from:.1}" x2="{zero:.1}" y2="{to:.1}" stroke="#1f2d3d" stroke-width="1.5"/>"##
        );
    }
    let _ = writeln!(
        out,
        r##"<line x1="{PLOT_LEFT}" y1="{axis_y:.1}" x2="{PLOT_RIGHT}" y2="{axis_y:.1}" stroke="#1f2d3d"/>
<text x="{zero:.1}" y="{:.1}" text-anchor="middle" class="chart-value">0</text>"##,
        axis_y + 16.0
    );
    for (i, r) in rows.iter().enumerate() {
        let top = TOP + ROW * i as f64;
        let y = top + 32.0;
        let c = change(r.measure);
        let _ = writeln!(
            out,
            r##"<g class="forest-row forest-{}"><text x="0" y="{:.1}" class="chart-name">{}</text><text x="{WIDTH}" y="{:.1}" text-anchor="end" class="chart-value">{}</text><line x1="{zero:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#1f2d3d" stroke-width="3"/>{}</g>"##,
            verdict_class(r.verdict()),
            top + 14.0,
            escape(&format!("{} — {}", truncate(r.school, 36), r.label())),
            top + 14.0,
            escape(&format!("{} · n = {}", signed(c), r.measure.n)),
            x(c),
            marker(r.verdict(), x(c), y),
        );
    }
    // The ends of the axis, where they are far enough from zero to be read apart from it.
    let least = changes.iter().copied().fold(f64::INFINITY, f64::min);
    let most = changes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ends = if most > least {
        vec![least, most]
    } else {
        vec![most]
    };
    for value in ends {
        if (x(value) - zero).abs() > 40.0 {
            let _ = writeln!(
                out,
                r##"<line x1="{at:.1}" y1="{axis_y:.1}" x2="{at:.1}" y2="{:.1}" stroke="#1f2d3d"/><text x="{at:.1}" y="{:.1}" text-anchor="middle" class="chart-value">{}</text>"##,
                axis_y + 4.0,
                axis_y + 16.0,
                escape(&signed(value)),
                at = x(value),
            );
        }
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="chart-label">change (result − baseline), {}</text>"##,
        WIDTH / 2.0,
        axis_y + 36.0,
        escape(&unit)
    );
    out.push_str("</svg>");
    out
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", views::num(v))
    } else if v < 0.0 {
        format!("−{}", views::num(-v))
    } else {
        "0".into()
    }
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Originating => "originating",
        Verdict::Improved => "improved",
        Verdict::DidNotImprove => "not-improved",
        Verdict::NotReported => "not-reported",
    }
}

/// The same size for every verdict; the shape tells them apart: a filled diamond for the
/// originating school, a filled circle for improvement, an open square for no improvement,
/// an open circle for an outcome not yet reported.
fn marker(v: Verdict, x: f64, y: f64) -> String {
    const INK: &str = "#1f2d3d";
    match v {
        Verdict::Originating => format!(
            r#"<polygon points="{x:.1},{:.1} {:.1},{y:.1} {x:.1},{:.1} {:.1},{y:.1}" fill="{INK}"/>"#,
            y - 9.0,
            x + 9.0,
            y + 9.0,
            x - 9.0
        ),
        Verdict::Improved => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="7.5" fill="{INK}"/>"#),
        Verdict::DidNotImprove => format!(
            r##"<rect x="{:.1}" y="{:.1}" width="14" height="14" fill="#fff" stroke="{INK}" stroke-width="3"/>"##,
            x - 7.0,
            y - 7.0
        ),
        Verdict::NotReported => format!(
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="7" fill="#fff" stroke="{INK}" stroke-width="3" stroke-dasharray="3 2"/>"##
        ),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(name: &str, unit: Unit, baseline: f64, result: f64, n: i64) -> Measure {
        Measure {
            name: name.into(),
            ingredient: Ingredient::StudentOutcome,
            instrument: "i".into(),
            unit,
            baseline,
            result,
            n,
            period: "p".into(),
        }
    }

    fn adoption(
        id: i64,
        school: &str,
        status: &str,
        outcome: Option<&str>,
        measures: Vec<Measure>,
    ) -> AdoptionView {
        AdoptionView {
            id,
            practice_slug: "p".into(),
            practice_title: "P".into(),
            team_slug: format!("{school}-team"),
            team_name: "Team".into(),
            school_slug: school.into(),
            school_name: format!("{school} School"),
            level: "middle".into(),
            locale: "urban".into(),
            district_name: "District".into(),
            status: status.into(),
            started_on: None,
            aspects_kept: "[1,2]".into(),
            aspects: r#"["a","b"]"#.into(),
            adaptations: Some("Too little time in the schedule.".into()),
            outcome: outcome.map(String::from),
            revision_number: 1,
            public_number: Some(1),
            updated_at: Some(format!("2026-01-0{id}")),
            measures,
        }
    }

    const ORIGIN: Origin<'static> = Origin {
        school_slug: "home",
        school: "Home School",
        district: "Home District",
    };

    #[test]
    fn groups_comparable_measures_and_pools_only_them() {
        let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
        let adoptions = [
            adoption(
                1,
                "a",
                "adopted",
                Some("improved"),
                vec![measure("exit  SLIPS", Unit::Percent, 40.0, 60.0, 100)],
            ),
            adoption(
                2,
                "b",
                "adopted",
                Some("declined"),
                vec![measure("Reading level", Unit::Points, 3.0, 2.5, 40)],
            ),
            adoption(
                3,
                "c",
                "exploring",
                None,
                vec![measure("Exit slips", Unit::Percent, 1.0, 99.0, 50)],
            ),
        ];
        let f = build(&ORIGIN, &own, &adoptions, 10);
        assert_eq!(f.panels.len(), 2);
        let p = &f.panels[0];
        assert_eq!(p.rows.len(), 2, "exploring is not charted");
        assert!(p.rows[0].originating);
        assert_eq!(p.rows[1].change, "+20 percentage points");
        // (33 × 100 + 20 × 100) / 200
        assert!(
            p.pooled
                .as_deref()
                .unwrap()
                .starts_with("+26.5 percentage points")
        );
        let q = &f.panels[1];
        assert_eq!(q.rows[0].verdict, "did not improve: declined");
        assert_eq!(q.rows[0].change, "−0.5 points");
        assert!(q.pooled.is_none(), "one school: nothing to pool");
        assert!(f.several_measures());
        assert_eq!((f.improved, f.tried, f.students), (1, 2, 240));
    }

    #[test]
    fn a_name_match_in_another_unit_is_not_pooled() {
        let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
        let adoptions = [adoption(
            1,
            "a",
            "adopted",
            Some("improved"),
            vec![measure("Exit Slips", Unit::Count, 4.0, 9.0, 30)],
        )];
        let f = build(&ORIGIN, &own, &adoptions, 10);
        assert_eq!(f.panels.len(), 1);
        assert!(f.panels[0].mixed_units && f.panels[0].pooled.is_none());
    }

    #[test]
    fn small_cells_and_other_ingredients_are_left_out() {
        let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
        let mut practice = measure("Exit slips", Unit::Percent, 10.0, 20.0, 50);
        practice.ingredient = Ingredient::TeachingPractice;
        let adoptions = [adoption(
            1,
            "a",
            "discontinued",
            Some("improved"),
            vec![
                measure("Exit slips", Unit::Percent, 11.0, 77.0, 9),
                practice,
            ],
        )];
        let f = build(&ORIGIN, &own, &adoptions, 10);
        assert!(
            f.panels.is_empty(),
            "only the originating school's measure is left"
        );
        assert!(!f.several_measures());
        assert_eq!((f.improved, f.tried, f.students), (0, 1, 100));
    }

    #[test]
    fn discontinued_rows_say_why_and_are_drawn_as_not_improving() {
        let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
        let adoptions = [adoption(
            1,
            "a",
            "discontinued",
            Some("improved"),
            vec![measure("Exit slips", Unit::Percent, 40.0, 45.0, 30)],
        )];
        let f = build(&ORIGIN, &own, &adoptions, 10);
        let row = &f.panels[0].rows[1];
        assert_eq!(row.verdict, "did not improve: discontinued");
        assert_eq!(
            row.reason.as_deref(),
            Some("Reason given: Too little time in the schedule.")
        );
        let svg = &f.panels[0].svg;
        assert!(
            svg.contains("forest-not-improved") && svg.contains("<rect"),
            "{svg}"
        );
        assert!(svg.contains("forest-originating") && svg.contains("<polygon"));
        assert!(svg.contains("change (result − baseline), in percentage points"));
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title id=\"forest-1-title\">"));
    }

    #[test]
    fn a_measure_only_the_originating_school_reported_still_makes_them_incomparable() {
        let own = [measure("Exit slips", Unit::Percent, 36.0, 69.0, 100)];
        let adoptions = [adoption(
            1,
            "a",
            "adopted",
            Some("improved"),
            vec![measure("Benchmark", Unit::Percent, 40.0, 45.0, 30)],
        )];
        let f = build(&ORIGIN, &own, &adoptions, 10);
        assert_eq!(
            f.panels.len(),
            1,
            "the originating school's own measure is in Measures"
        );
        assert!(f.several_measures());
        assert!(f.panels[0].pooled.is_none());
    }

    #[test]
    fn names_are_escaped() {
        let own = [measure("<b>x</b>", Unit::Percent, 1.0, 2.0, 10)];
        let adoptions = [adoption(
            1,
            "a",
            "adopted",
            None,
            vec![measure("<B>X</B>", Unit::Percent, 1.0, 3.0, 10)],
        )];
        let svg = &build(&ORIGIN, &own, &adoptions, 10).panels[0].svg;
        assert!(
            !svg.contains("<b>") && svg.contains("&lt;b&gt;x&lt;/b&gt;"),
            "{svg}"
        );
        assert!(svg.contains("outcome not yet reported"));
    }
}

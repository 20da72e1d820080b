//! A panel of the forest chart as inline SVG.

use std::fmt::Write;

use super::{Row, Verdict, change, change_text, change_unit};
use crate::web::chart::escape;
use crate::web::views;

const WIDTH: f64 = 640.0;
const PLOT_LEFT: f64 = 24.0;
const PLOT_RIGHT: f64 = 616.0;
const ROW: f64 = 48.0;
const TOP: f64 = 8.0;
const AXIS: f64 = 44.0;

/// One panel: a row per school, a line from zero to its change and a marker whose shape says
/// what happened, under a vertical zero line and an axis.
pub(super) fn svg(id: &str, rows: &[Row<'_>], mixed_units: bool) -> String {
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

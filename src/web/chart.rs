//! The baseline-vs-result chart of a practice's measures, as inline SVG: no script, prints
//! well, and readable without colour (baseline bars are hatched outlines, results are solid,
//! every bar is labelled with its value). The table beside it holds the same figures.

use std::fmt::Write;

use crate::domain::{Measure, Unit};

const WIDTH: f64 = 640.0;
const LABEL: f64 = 80.0; // "Baseline"/"Result" column
const BAR_MAX: f64 = 440.0;
const ROW: f64 = 78.0;

pub fn measures_svg(measures: &[Measure]) -> String {
    measures_chart("chart", "Baseline and result of each measure", measures)
}

/// The same chart under another id (a page may show several).
pub fn measures_chart(id: &str, title: &str, measures: &[Measure]) -> String {
    if measures.is_empty() {
        return String::new();
    }
    let height = ROW * measures.len() as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">
<title id="{id}-title">{}</title>
<desc id="{id}-desc">{}</desc>
<defs><pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#1f2d3d" stroke-width="2"/></pattern></defs>
"##,
        escape(title),
        escape(&describe(measures))
    );
    for (i, m) in measures.iter().enumerate() {
        let y = ROW * i as f64 + 16.0;
        let max = if m.unit == Unit::Percent {
            100.0
        } else {
            m.baseline.max(m.result).max(1.0) * 1.1
        };
        let scale = |v: f64| (v.max(0.0) / max * BAR_MAX).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="0" y="{y}" class="chart-name">{}</text>
<text x="0" y="{}" class="chart-label">Baseline</text><rect x="{LABEL}" y="{}" width="{:.1}" height="18" fill="url(#{id}-hatch)" stroke="#1f2d3d"/><text x="{:.1}" y="{}" class="chart-value">{}</text>
<text x="0" y="{}" class="chart-label">Result</text><rect x="{LABEL}" y="{}" width="{:.1}" height="18" fill="#1f2d3d"/><text x="{:.1}" y="{}" class="chart-value">{}</text>
"##,
            escape(&truncate(&m.name, 80)),
            y + 21.0,
            y + 7.0,
            scale(m.baseline),
            LABEL + scale(m.baseline) + 6.0,
            y + 21.0,
            escape(&super::views::figure(m.baseline, m.unit)),
            y + 45.0,
            y + 31.0,
            scale(m.result),
            LABEL + scale(m.result) + 6.0,
            y + 45.0,
            escape(&super::views::figure(m.result, m.unit)),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn describe(measures: &[Measure]) -> String {
    measures
        .iter()
        .map(|m| {
            format!(
                "{}: from {} to {}",
                m.name,
                super::views::figure(m.baseline, m.unit),
                super::views::figure(m.result, m.unit)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A labelled horizontal bar per value, for the quarterly review's trends. `id` keeps the
/// title and description ids unique when a page has several charts.
pub fn bars_svg(id: &str, title: &str, bars: &[(String, i64)]) -> String {
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let row = 26.0;
    let height = row * bars.len() as f64 + 8.0;
    let description: Vec<String> = bars.iter().map(|(l, v)| format!("{l}: {v}")).collect();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg">
<title id="{id}-title">{}</title>
<desc id="{id}-desc">{}</desc>
"##,
        escape(title),
        escape(&description.join("; "))
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = row * i as f64 + 4.0;
        let width = (*value as f64 / max * BAR_MAX).max(1.0);
        let _ = writeln!(
            svg,
            r##"<text x="0" y="{}" class="chart-label">{}</text><rect x="{LABEL}" y="{y}" width="{width:.1}" height="18" fill="#1f2d3d"/><text x="{:.1}" y="{}" class="chart-value">{value}</text>"##,
            y + 14.0,
            escape(label),
            LABEL + width + 6.0,
            y + 14.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Ingredient;

    #[test]
    fn names_are_escaped_and_values_labelled() {
        let m = Measure {
            name: "<script>x</script> & more".into(),
            ingredient: Ingredient::StudentOutcome,
            instrument: "i".into(),
            unit: Unit::Percent,
            baseline: 38.0,
            result: 71.0,
            n: 100,
            period: "p".into(),
            design: Default::default(),
            better: Default::default(),
            comparison: None,
            p_value: None,
        };
        let svg = measures_svg(&[m]);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;x&lt;/script&gt; &amp; more"));
        assert!(svg.contains(">38%<") && svg.contains(">71%<"));
        assert!(svg.contains("from 38% to 71%"));
    }
}

//! `practices/<slug>.md`: TOML front matter between `+++` lines, then Markdown sections under
//! level-2 headings.

use std::collections::BTreeMap;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use serde::Deserialize;

use super::error::ContentError;
use super::locate::{Locator, line_of};
use super::tomlw::TomlWriter;
use crate::domain::{
    Better, CellSize, Comparison, Cost, Design, GradeBand, Ingredient, Measure, PracticeDoc,
    Resource, SectionKind, Slug, Stage, Status, Subject, Unit, Vocabulary,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    title: String,
    summary: String,
    challenge_areas: Vec<String>,
    grade_bands: Vec<String>,
    subjects: Vec<String>,
    team: String,
    stage: String,
    status: String,
    published_on: Option<toml::value::Datetime>,
    vetted_on: Option<toml::value::Datetime>,
    #[serde(default)]
    tags: Vec<String>,
    license: Option<String>,
    #[serde(default)]
    measures: Vec<RawMeasure>,
    #[serde(default)]
    resources: Vec<RawResource>,
    #[serde(default)]
    cost: RawCost,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCost {
    start_hours: Option<f64>,
    weekly_hours: Option<f64>,
    materials_per_classroom: Option<f64>,
    currency: Option<String>,
    #[serde(default)]
    staff_roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeasure {
    name: String,
    ingredient: String,
    instrument: String,
    unit: String,
    baseline: f64,
    result: f64,
    n: i64,
    period: String,
    design: Option<String>,
    better: Option<String>,
    comparison_baseline: Option<f64>,
    comparison_result: Option<f64>,
    comparison_n: Option<i64>,
    p_value: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    title: String,
    url: String,
}

/// Collects errors for one file, each placed on the line of its field.
pub(super) struct Problems<'a> {
    pub file: &'a str,
    pub locator: Locator,
    pub errors: Vec<ContentError>,
}

impl Problems<'_> {
    pub fn field(&mut self, field: &str, message: impl Into<String>) {
        let line = self.locator.line(field);
        self.errors
            .push(ContentError::new(self.file, line, Some(field), message));
    }

    /// Parses a closed-vocabulary value, recording an error when it is not one.
    pub fn vocab<V: Vocabulary>(&mut self, field: &str, value: &str) -> Option<V> {
        V::parse(value).map_err(|e| self.field(field, e)).ok()
    }

    pub fn slug(&mut self, field: &str, value: &str) -> Option<Slug> {
        Slug::parse(value).map_err(|e| self.field(field, e)).ok()
    }

    pub fn date(
        &mut self,
        field: &str,
        value: Option<toml::value::Datetime>,
    ) -> Option<time::Date> {
        let dt = value?;
        match (dt.date, dt.time, dt.offset) {
            (Some(d), None, None) => time::Month::try_from(d.month)
                .ok()
                .and_then(|m| time::Date::from_calendar_date(i32::from(d.year), m, d.day).ok())
                .or_else(|| {
                    self.field(field, format!("{dt} is not a calendar date"));
                    None
                }),
            _ => {
                self.field(
                    field,
                    format!("{dt} is not a plain date; write it as 2025-05-30"),
                );
                None
            }
        }
    }

    pub fn measures(&mut self, prefix: &str, raw: Vec<RawMeasure>) -> Vec<Measure> {
        raw.into_iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let at = format!("{prefix}[{}]", i + 1);
                let ingredient =
                    self.vocab::<Ingredient>(&format!("{at}.ingredient"), &m.ingredient);
                let unit = self.vocab::<Unit>(&format!("{at}.unit"), &m.unit);
                let design = match &m.design {
                    Some(d) => self.vocab::<Design>(&format!("{at}.design"), d),
                    None => Some(Design::PrePost),
                };
                let better = match &m.better {
                    Some(b) => self.vocab::<Better>(&format!("{at}.better"), b),
                    None => Some(Better::Higher),
                };
                let comparison = match (m.comparison_baseline, m.comparison_result, m.comparison_n)
                {
                    (Some(baseline), Some(result), Some(n)) => Some(Comparison {
                        baseline,
                        result,
                        n,
                    }),
                    (None, None, None) => None,
                    (baseline, result, n) => {
                        for (field, given) in [
                            ("comparison_baseline", baseline.is_some()),
                            ("comparison_result", result.is_some()),
                            ("comparison_n", n.is_some()),
                        ] {
                            if !given {
                                self.field(
                                    &format!("{at}.{field}"),
                                    "is required with the other comparison figures: the \
                                     comparison group's baseline, result and n",
                                );
                            }
                        }
                        None
                    }
                };
                Some(Measure {
                    name: m.name,
                    ingredient: ingredient?,
                    instrument: m.instrument,
                    unit: unit?,
                    baseline: m.baseline,
                    result: m.result,
                    n: m.n,
                    period: m.period,
                    design: design?,
                    better: better?,
                    comparison,
                    p_value: m.p_value,
                })
            })
            .collect()
    }

    /// Records a TOML syntax or shape error; `first_line` is the file line where `toml` starts.
    pub fn toml(&mut self, toml: &str, first_line: usize, err: &toml::de::Error) {
        let line = err.span().map(|s| first_line + line_of(toml, s.start) - 1);
        let message = err.message().trim().to_string();
        self.errors
            .push(ContentError::new(self.file, line, None, message));
    }
}

/// Parses and validates one practice file. `file` names it in errors; the slug is its file name.
pub fn parse_practice(
    file: &str,
    slug: &str,
    text: &str,
    min_cell: CellSize,
) -> Result<PracticeDoc, Vec<ContentError>> {
    let fail = |line, msg: &str| Err(vec![ContentError::new(file, line, None, msg)]);
    let slug = match Slug::parse(slug) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                None,
                &format!("the file name must be the practice's slug: {e}"),
            );
        }
    };
    if text.contains('\0') {
        return fail(
            None,
            "the file contains a NUL byte; save it as plain UTF-8 text",
        );
    }
    let Some((front, body, body_line)) = split_front_matter(text) else {
        return fail(
            Some(1),
            "a practice file starts with a line \"+++\", then TOML front matter, then a line \"+++\", then the Markdown sections",
        );
    };
    let mut p = Problems {
        file,
        locator: Locator::new(front, 2),
        errors: Vec::new(),
    };
    let fm: FrontMatter = match toml::from_str(front) {
        Ok(fm) => fm,
        Err(e) => {
            p.toml(front, 2, &e);
            return Err(p.errors);
        }
    };

    let (sections, heading_lines) = parse_sections(&mut p, body, body_line);
    let challenge_areas: Vec<Slug> = fm
        .challenge_areas
        .iter()
        .enumerate()
        .filter_map(|(i, s)| p.slug(&format!("challenge_areas[{}]", i + 1), s))
        .collect();
    let grade_bands: Vec<GradeBand> = fm
        .grade_bands
        .iter()
        .filter_map(|s| p.vocab("grade_bands", s))
        .collect();
    let subjects: Vec<Subject> = fm
        .subjects
        .iter()
        .filter_map(|s| p.vocab("subjects", s))
        .collect();
    let team = p.slug("team", &fm.team);
    let stage = p.vocab::<Stage>("stage", &fm.stage);
    let status = p.vocab::<Status>("status", &fm.status);
    let published_on = p.date("published_on", fm.published_on);
    let vetted_on = p.date("vetted_on", fm.vetted_on);
    let measures = p.measures("measures", fm.measures);
    let resources = fm
        .resources
        .into_iter()
        .map(|r| Resource {
            title: r.title,
            url: r.url,
        })
        .collect();

    let (Some(team), Some(stage), Some(status)) = (team, stage, status) else {
        return Err(p.errors);
    };
    let doc = PracticeDoc {
        slug,
        title: fm.title,
        summary: fm.summary,
        challenge_areas,
        grade_bands,
        subjects,
        team,
        stage,
        status,
        published_on,
        vetted_on,
        tags: fm.tags,
        license: fm.license,
        measures,
        resources,
        cost: Cost {
            start_hours: fm.cost.start_hours,
            weekly_hours: fm.cost.weekly_hours,
            materials: fm.cost.materials_per_classroom,
            currency: fm.cost.currency,
            staff_roles: fm.cost.staff_roles,
        },
        sections,
    };
    for (field, message) in doc.problems(min_cell) {
        if field == "sections" {
            p.errors.push(ContentError::new(file, None, None, message));
        } else if let Some(kind) = field
            .strip_prefix("## ")
            .and_then(SectionKind::from_heading)
        {
            // A section's own problem: on the line of its heading.
            let line = heading_lines.get(&kind).copied();
            p.errors
                .push(ContentError::new(file, line, Some(&field), message));
        } else {
            p.field(&field, message);
        }
    }
    if p.errors.is_empty() {
        Ok(doc)
    } else {
        Err(p.errors)
    }
}

/// `(front matter, body, file line where the body starts)`.
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Some((front, body, line_of(front, front.len()) + 2));
        }
        offset += line.len();
    }
    None
}

/// The sections of a practice, and the file line of each one's heading.
type Sections = (BTreeMap<SectionKind, String>, BTreeMap<SectionKind, usize>);

/// Splits the Markdown body at its level-2 headings.
fn parse_sections(p: &mut Problems, body: &str, body_line: usize) -> Sections {
    // (heading text, heading byte range)
    let mut headings: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut current: Option<(String, usize)> = None;
    for (event, range) in Parser::new_ext(body, super::markdown::options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2,
                ..
            }) => current = Some((String::new(), range.start)),
            Event::End(TagEnd::Heading(HeadingLevel::H2)) => {
                if let Some((text, start)) = current.take() {
                    headings.push((text, start..range.end));
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((text, _)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            _ => {}
        }
    }
    let line = |offset: usize| body_line + line_of(body, offset) - 1;
    let first = headings.first().map_or(body.len(), |(_, r)| r.start);
    if !body[..first].trim().is_empty() {
        p.errors.push(ContentError::new(
            p.file,
            Some(line(
                body[..first]
                    .find(|c: char| !c.is_whitespace())
                    .unwrap_or(0),
            )),
            None,
            "text before the first section: start the body with \"## What it is\"",
        ));
    }
    let mut sections = BTreeMap::new();
    let mut lines = BTreeMap::new();
    for (i, (heading, range)) in headings.iter().enumerate() {
        let end = headings.get(i + 1).map_or(body.len(), |(_, r)| r.start);
        let Some(kind) = SectionKind::from_heading(heading) else {
            let valid: Vec<String> = SectionKind::ALL
                .iter()
                .map(|k| format!("\"## {}\"", k.heading()))
                .collect();
            p.errors.push(ContentError::new(
                p.file,
                Some(line(range.start)),
                None,
                format!(
                    "unknown section \"## {heading}\"; the sections are {}",
                    valid.join(", ")
                ),
            ));
            continue;
        };
        // Stored with `\n` line ends, as the form stores them: a file saved on Windows is
        // the same practice, and its sizes count a line break once.
        if sections
            .insert(kind, body[range.end..end].trim().replace("\r\n", "\n"))
            .is_some()
        {
            p.errors.push(ContentError::new(
                p.file,
                Some(line(range.start)),
                None,
                format!("the section \"## {}\" appears twice", kind.heading()),
            ));
        }
        lines.insert(kind, line(range.start));
    }
    (sections, lines)
}

/// Writes a practice in the canonical layout of the content format.
pub fn write_practice(doc: &PracticeDoc) -> String {
    let mut w = TomlWriter::default();
    w.str("title", &doc.title);
    w.str("summary", &doc.summary);
    w.strs(
        "challenge_areas",
        &doc.challenge_areas
            .iter()
            .map(Slug::as_str)
            .collect::<Vec<_>>(),
    );
    w.strs(
        "grade_bands",
        &doc.grade_bands
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>(),
    );
    w.strs(
        "subjects",
        &doc.subjects.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    );
    w.str("team", doc.team.as_str());
    w.str("stage", doc.stage.as_str());
    w.str("status", doc.status.as_str());
    w.date("published_on", doc.published_on);
    w.date("vetted_on", doc.vetted_on);
    if !doc.tags.is_empty() {
        w.strs("tags", &doc.tags);
    }
    w.opt_str("license", doc.license.as_deref());
    write_cost(&mut w, &doc.cost);
    write_measures(&mut w, "measures", &doc.measures);
    for r in &doc.resources {
        w.table("resources");
        w.str("title", &r.title);
        w.str("url", &r.url);
    }
    let mut out = format!("+++\n{}+++\n", w.out);
    for (kind, md) in &doc.sections {
        out.push_str(&format!("\n## {}\n\n{}\n", kind.heading(), md));
    }
    out
}

pub(super) fn write_measures(w: &mut TomlWriter, table: &str, measures: &[Measure]) {
    for m in measures {
        w.table(table);
        w.str("name", &m.name);
        w.str("ingredient", m.ingredient.as_str());
        w.str("instrument", &m.instrument);
        w.str("unit", m.unit.as_str());
        w.number("baseline", m.baseline);
        w.number("result", m.result);
        w.raw("n", m.n);
        w.str("period", &m.period);
        // Defaults are left out, so catalogs written before designs existed round-trip.
        if m.design != Design::PrePost {
            w.str("design", m.design.as_str());
        }
        if m.better != Better::Higher {
            w.str("better", m.better.as_str());
        }
        if let Some(c) = &m.comparison {
            w.number("comparison_baseline", c.baseline);
            w.number("comparison_result", c.result);
            w.raw("comparison_n", c.n);
        }
        if let Some(p) = m.p_value {
            w.number("p_value", p);
        }
    }
}

fn write_cost(w: &mut TomlWriter, cost: &Cost) {
    if cost.is_empty() {
        return;
    }
    w.single_table("cost");
    for (key, value) in [
        ("start_hours", cost.start_hours),
        ("weekly_hours", cost.weekly_hours),
        ("materials_per_classroom", cost.materials),
    ] {
        if let Some(v) = value {
            w.number(key, v);
        }
    }
    w.opt_str("currency", cost.currency.as_deref());
    if !cost.staff_roles.is_empty() {
        w.strs("staff_roles", &cost.staff_roles);
    }
}

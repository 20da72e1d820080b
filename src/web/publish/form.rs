//! The share-out form as typed: raw strings (so a failed validation shows every value again),
//! parsed into a `PracticeDoc` with each problem keyed to the field it belongs to.

use std::collections::BTreeMap;

use super::fields::{dropped_message, keep_row, long_tags_message, tag_number, tick};
use crate::content::format_number;
use crate::domain::{
    CellSize, Comparison, Cost, GradeBand, Ingredient, MAX_MEASURES, MEASURE_FIELDS, Measure,
    PracticeDoc, Resource, SectionKind, Slug, Stage, Status, Subject, Unit, Vocabulary,
};

#[derive(Debug, Clone, Default)]
pub struct MeasureRow {
    pub name: String,
    pub ingredient: String,
    pub unit: String,
    pub instrument: String,
    pub baseline: String,
    pub result: String,
    pub n: String,
    pub period: String,
    pub design: String,
    pub better: String,
    pub comparison_baseline: String,
    pub comparison_result: String,
    pub comparison_n: String,
    pub p_value: String,
}

impl MeasureRow {
    /// The typed value of a comparison field, by its name in the form.
    pub fn comparison_value(&self, field: &str) -> &str {
        match field {
            "comparison_baseline" => &self.comparison_baseline,
            "comparison_result" => &self.comparison_result,
            "comparison_n" => &self.comparison_n,
            "p_value" => &self.p_value,
            _ => "",
        }
    }
}

impl CostForm {
    /// The inputs of the form's "what it takes" box: (field, label, value, inputmode, hint).
    pub fn inputs(&self) -> [(&'static str, &'static str, &str, &'static str, &'static str); 5] {
        [
            (
                "start_hours",
                "Hours for a teacher to start",
                &self.start_hours,
                "decimal",
                "Reading, preparing materials and training before the first use.",
            ),
            (
                "weekly_hours",
                "Hours per week to keep it going",
                &self.weekly_hours,
                "decimal",
                "Beyond the lesson time it replaces.",
            ),
            (
                "materials_per_classroom",
                "Materials cost per classroom",
                &self.materials,
                "decimal",
                "0 when it needs nothing that costs money.",
            ),
            (
                "currency",
                "Currency",
                &self.currency,
                "text",
                "A three-letter code such as USD or EUR.",
            ),
            (
                "staff_roles",
                "Staff roles needed besides the teacher",
                &self.staff_roles,
                "text",
                "Comma-separated, e.g. instructional coach, counselor.",
            ),
        ]
    }
}

/// The "what it takes" fields as typed.
#[derive(Debug, Clone, Default)]
pub struct CostForm {
    pub start_hours: String,
    pub weekly_hours: String,
    pub materials: String,
    pub currency: String,
    /// Comma-separated, like tags.
    pub staff_roles: String,
}

#[derive(Debug, Clone, Default)]
pub struct PracticeForm {
    /// The revision the form was loaded from (empty for a new practice).
    pub base: String,
    pub title: String,
    pub summary: String,
    pub team: String,
    pub stage: String,
    pub areas: Vec<String>,
    pub grades: Vec<String>,
    pub subjects: Vec<String>,
    pub tags: String,
    pub license: String,
    pub sections: BTreeMap<String, String>,
    pub measures: Vec<MeasureRow>,
    pub resources: Vec<(String, String)>,
    pub cost: CostForm,
    pub confirm_privacy: bool,
    pub action: String,
    /// What the parser dropped past a cap (rows, links, ticked boxes), told next to its field.
    /// Caps hold while parsing, so a form of 50,000 rows never becomes a page of 50,000 rows.
    pub dropped: Problems,
}

/// Problems by form field: `title`, `s-evidence`, `m2-n` (rows count from 1), `r1-url`…
pub type Problems = BTreeMap<String, Vec<String>>;

impl PracticeForm {
    pub fn parse(body: &[u8]) -> PracticeForm {
        let mut f = PracticeForm::default();
        let mut r_titles = Vec::new();
        let mut r_urls = Vec::new();
        let mut too_many = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "base" => f.base = v.into_owned(),
                "title" => f.title = v.into_owned(),
                "summary" => f.summary = v.into_owned(),
                "team" => f.team = v.into_owned(),
                "stage" => f.stage = v.into_owned(),
                "area" => tick(&mut f.areas, v, "areas", &mut too_many),
                "grade" => tick(&mut f.grades, v, "grades", &mut too_many),
                "subject" => tick(&mut f.subjects, v, "subjects", &mut too_many),
                "tags" => f.tags = v.into_owned(),
                "license" => f.license = v.into_owned(),
                "cost-start_hours" => f.cost.start_hours = v.into_owned(),
                "cost-weekly_hours" => f.cost.weekly_hours = v.into_owned(),
                "cost-materials_per_classroom" => f.cost.materials = v.into_owned(),
                "cost-currency" => f.cost.currency = v.into_owned(),
                "cost-staff_roles" => f.cost.staff_roles = v.into_owned(),
                "confirm_privacy" => f.confirm_privacy = v == "yes",
                "action" => f.action = v.into_owned(),
                "r-title" => keep_row(&mut r_titles, v, "resources", &mut too_many),
                "r-url" => keep_row(&mut r_urls, v, "resources", &mut too_many),
                key => {
                    if let Some(section) = key.strip_prefix("s-")
                        && SectionKind::from_key(section).is_some()
                    {
                        f.sections.insert(section.to_string(), v.into_owned());
                    }
                }
            }
        }
        let (measures, measures_dropped) = measure_rows(body);
        f.measures = measures;
        if measures_dropped {
            too_many.push("measures");
        }
        f.resources = r_titles
            .into_iter()
            .zip(r_urls.into_iter().chain(std::iter::repeat(String::new())))
            .collect();
        for field in too_many {
            f.dropped
                .entry(field.into())
                .or_insert_with(|| vec![dropped_message(field)]);
        }
        f
    }

    pub fn from_doc(doc: &PracticeDoc, base: i64) -> PracticeForm {
        PracticeForm {
            base: base.to_string(),
            title: doc.title.clone(),
            summary: doc.summary.clone(),
            team: doc.team.to_string(),
            stage: doc.stage.as_str().into(),
            areas: doc.challenge_areas.iter().map(|a| a.to_string()).collect(),
            grades: doc.grade_bands.iter().map(|g| g.as_str().into()).collect(),
            subjects: doc.subjects.iter().map(|s| s.as_str().into()).collect(),
            tags: doc.tags.join(", "),
            license: doc.license.clone().unwrap_or_default(),
            sections: doc
                .sections
                .iter()
                .map(|(k, v)| (k.key().to_string(), v.clone()))
                .collect(),
            measures: rows_of(&doc.measures),
            resources: doc
                .resources
                .iter()
                .map(|r| (r.title.clone(), r.url.clone()))
                .collect(),
            cost: CostForm {
                start_hours: doc.cost.start_hours.map(format_number).unwrap_or_default(),
                weekly_hours: doc.cost.weekly_hours.map(format_number).unwrap_or_default(),
                materials: doc.cost.materials.map(format_number).unwrap_or_default(),
                currency: doc.cost.currency.clone().unwrap_or_default(),
                staff_roles: doc.cost.staff_roles.join(", "),
            },
            confirm_privacy: false,
            action: String::new(),
            dropped: Problems::new(),
        }
    }

    pub fn section(&self, key: &str) -> &str {
        self.sections.get(key).map_or("", String::as_str)
    }

    /// The doc this form describes, and what stops it from being saved. `complete` also
    /// checks what a submission needs (every required section, areas, grades, subjects).
    /// `areas` are the network's challenge areas (slug, name): a ticked value that is none of
    /// them is a problem of the form, not a database error.
    pub fn to_doc(
        &self,
        slug: Slug,
        min_cell: CellSize,
        complete: bool,
        areas: &[(String, String)],
    ) -> (PracticeDoc, Problems) {
        // Dropped rows stop a save: the person checks what was kept before it is stored.
        let mut problems = self.dropped.clone();
        let mut add =
            |field: &str, msg: String| problems.entry(field.to_string()).or_default().push(msg);
        let mut texts: Vec<(String, &str)> = vec![
            ("title".into(), &self.title),
            ("summary".into(), &self.summary),
            ("tags".into(), &self.tags),
            ("license".into(), &self.license),
            ("cost-currency".into(), &self.cost.currency),
            ("cost-staff_roles".into(), &self.cost.staff_roles),
        ];
        for (k, v) in &self.sections {
            texts.push((format!("s-{k}"), v));
        }
        for (i, m) in self.measures.iter().enumerate() {
            for (f, v) in [
                ("name", &m.name),
                ("instrument", &m.instrument),
                ("period", &m.period),
            ] {
                texts.push((format!("m{}-{f}", i + 1), v));
            }
        }
        // Bytes that were not UTF-8 arrive replaced; every other rule on text (control
        // characters, sizes) is the practice's own, below.
        for (field, value) in &texts {
            if value.contains('\u{FFFD}') {
                add(field, "contains bytes that are not valid text (UTF-8); retype the affected characters".into());
            }
        }
        let stage = match Stage::parse(&self.stage) {
            Ok(s @ (Stage::Promising | Stage::Confirmed)) => s,
            // A draft may leave it for later; it is kept as promising, where every practice
            // starts, and the form shows it so.
            Err(_) if !complete && self.stage.trim().is_empty() => Stage::Promising,
            Ok(Stage::Replicated) | Err(_) => {
                add("stage", "choose promising or confirmed".into());
                Stage::Promising
            }
        };
        let team = Slug::parse(&self.team).unwrap_or_else(|_| slug.clone());
        let grade_bands: Vec<GradeBand> =
            vocab_list(&self.grades, "grades", "a grade band", &mut add);
        let subjects: Vec<Subject> = vocab_list(&self.subjects, "subjects", "a subject", &mut add);
        let mut challenge_areas = Vec::new();
        for a in &self.areas {
            match Slug::parse(a) {
                Ok(slug) if areas.iter().any(|(known, _)| known == a) => challenge_areas.push(slug),
                _ => add("areas", unknown_choice(a, "a challenge area")),
            }
        }
        let (rows, measures): (Vec<usize>, Vec<Measure>) =
            parse_measures(&self.measures, min_cell, &mut add)
                .into_iter()
                .unzip();
        let (resource_rows, resources): (Vec<usize>, Vec<Resource>) = self
            .resources
            .iter()
            .enumerate()
            .filter(|(_, (t, u))| !(t.trim().is_empty() && u.trim().is_empty()))
            .map(|(i, (t, u))| {
                let r = Resource {
                    title: t.trim().into(),
                    url: u.trim().into(),
                };
                (i + 1, r)
            })
            .unzip();
        let sections = self
            .sections
            .iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .filter_map(|(k, v)| Some((SectionKind::from_key(k)?, v.trim().replace("\r\n", "\n"))))
            .collect();
        let mut hours =
            |field: &str, v: &str| optional_number(v, &format!("cost-{field}"), &mut add);
        let cost = Cost {
            start_hours: hours("start_hours", &self.cost.start_hours),
            weekly_hours: hours("weekly_hours", &self.cost.weekly_hours),
            materials: hours("materials_per_classroom", &self.cost.materials),
            currency: Some(self.cost.currency.trim().to_ascii_uppercase())
                .filter(|c| !c.is_empty()),
            staff_roles: split_tags(&self.cost.staff_roles),
        };
        let doc = PracticeDoc {
            slug,
            title: self.title.trim().to_string(),
            summary: self.summary.trim().replace("\r\n", "\n"),
            challenge_areas,
            grade_bands,
            subjects,
            team,
            stage,
            status: Status::Draft,
            published_on: None,
            vetted_on: None,
            tags: split_tags(&self.tags),
            license: Some(self.license.trim().to_string()).filter(|l| !l.is_empty()),
            measures,
            resources,
            cost,
            sections,
        };
        // The rules every practice obeys, wherever it is written (a content file too), keyed
        // to the form's fields. Completeness waits for submission; everything else (sizes,
        // numbers, the cell size, links) stops a save.
        let mut rules = doc.save_problems(min_cell);
        if complete {
            rules.extend(doc.completeness_problems());
        }
        let mut long_tags = Vec::new();
        for (field, message) in rules {
            if let Some(n) = tag_number(&field) {
                long_tags.push(n);
                continue;
            }
            let key = form_key(&field, &message, &rows, &resource_rows);
            add(&key, message);
        }
        if !long_tags.is_empty() {
            add("tags", long_tags_message(&long_tags));
        }
        (doc, problems)
    }
}

/// The measures of a table of rows, each with the row it came from (counting from 1), each
/// problem keyed `m{row}-{field}`. Empty rows are skipped, so a measure's place in the list is
/// not its row. (The minimum cell size is checked by `Measure::problems`.)
pub fn parse_measures(
    rows: &[MeasureRow],
    min_cell: CellSize,
    add: &mut dyn FnMut(&str, String),
) -> Vec<(usize, Measure)> {
    let mut measures = Vec::new();
    for (i, m) in rows.iter().enumerate() {
        let row = i + 1;
        let blank = [
            &m.name,
            &m.instrument,
            &m.baseline,
            &m.result,
            &m.n,
            &m.period,
            &m.comparison_baseline,
            &m.comparison_result,
            &m.comparison_n,
            &m.p_value,
        ]
        .iter()
        .all(|v| v.trim().is_empty());
        if blank {
            continue; // an empty row left in the table is not a measure
        }
        let number = |field: &str, v: &str, problems: &mut dyn FnMut(&str, String)| -> f64 {
            match v
                .trim()
                .replace(',', "")
                .trim_end_matches('%')
                .parse::<f64>()
            {
                Ok(x) if x.is_finite() => x,
                _ => {
                    problems(
                        &format!("m{row}-{field}"),
                        format!("\"{v}\" is not a number; type digits such as 42 or 3.5"),
                    );
                    0.0
                }
            }
        };
        let baseline = number("baseline", &m.baseline, add);
        let result = number("result", &m.result, add);
        let n = match m.n.trim().parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                add(
                    &format!("m{row}-n"),
                    format!("\"{}\" is not a whole number of students", m.n),
                );
                min_cell.get()
            }
        };
        let ingredient = Ingredient::parse(&m.ingredient).map_err(|_| {
            add(
                &format!("m{row}-ingredient"),
                "choose an ingredient: student outcome, teaching practice or professional condition"
                    .into(),
            )
        });
        let unit = Unit::parse(&m.unit).map_err(|_| {
            add(
                &format!("m{row}-unit"),
                "choose a unit from the list".into(),
            )
        });
        let design = vocab_or_default(
            &m.design,
            row,
            "design",
            "choose how the figures were gathered",
            add,
        );
        let better = vocab_or_default(
            &m.better,
            row,
            "better",
            "choose whether higher or lower is better",
            add,
        );
        let at = |field: &str| format!("m{row}-{field}");
        let c_baseline = optional_number(&m.comparison_baseline, &at("comparison_baseline"), add);
        let c_result = optional_number(&m.comparison_result, &at("comparison_result"), add);
        let c_n = optional_whole(&m.comparison_n, &at("comparison_n"), add);
        let p_value = optional_number(&m.p_value, &at("p_value"), add);
        let comparison = match (c_baseline, c_result, c_n) {
            (Some(baseline), Some(result), Some(n)) => Some(Comparison {
                baseline,
                result,
                n,
            }),
            (None, None, None) => None,
            (b, r, n) => {
                for (field, given) in [
                    ("comparison_baseline", b.is_some()),
                    ("comparison_result", r.is_some()),
                    ("comparison_n", n.is_some()),
                ] {
                    if !given {
                        add(
                            &at(field),
                            "fill in the comparison group's baseline, result and n together".into(),
                        );
                    }
                }
                None
            }
        };
        let (Ok(ingredient), Ok(unit)) = (ingredient, unit) else {
            continue;
        };
        measures.push((
            row,
            Measure {
                name: m.name.trim().to_string(),
                ingredient,
                instrument: m.instrument.trim().to_string(),
                unit,
                baseline,
                result,
                n,
                period: m.period.trim().to_string(),
                design,
                better,
                comparison,
                p_value,
            },
        ));
    }
    measures
}

/// The values of a group of checkboxes; one that is none of the choices is a problem at
/// `field`.
fn vocab_list<V: Vocabulary>(
    values: &[String],
    field: &str,
    what: &str,
    add: &mut dyn FnMut(&str, String),
) -> Vec<V> {
    let mut list = Vec::new();
    for v in values {
        match V::parse(v) {
            Ok(x) => list.push(x),
            Err(_) => add(field, unknown_choice(v, what)),
        }
    }
    list
}

/// What a value that is none of a field's choices is told ("null" is not a subject…).
fn unknown_choice(value: &str, what: &str) -> String {
    let shown: String = value.chars().take(60).collect();
    format!("\"{shown}\" is not {what}; tick among those listed")
}

/// The rows of a measures table as posted (`m-name`, `m-n`… once per row): at most
/// [`MAX_MEASURES`], and whether rows past them were dropped. Only the kept values are ever
/// held, however many rows a body sends.
pub fn measure_rows(body: &[u8]) -> (Vec<MeasureRow>, bool) {
    let mut fields: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut dropped = false;
    for (k, v) in form_urlencoded::parse(body) {
        if let Some(field) = k.strip_prefix("m-")
            && let Some(name) = MEASURE_FIELDS.iter().find(|n| **n == field)
        {
            let values = fields.entry(name).or_default();
            if values.len() < MAX_MEASURES {
                values.push(v.into_owned());
            } else {
                dropped = true;
            }
        }
    }
    // Every row sends all its inputs, so the n-th value of each belongs to row n.
    let rows = fields.values().map(Vec::len).max().unwrap_or(0);
    let take = |name: &str, i: usize| {
        fields
            .get(name)
            .and_then(|v| v.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let rows = (0..rows)
        .map(|i| MeasureRow {
            name: take("name", i),
            ingredient: take("ingredient", i),
            unit: take("unit", i),
            instrument: take("instrument", i),
            baseline: take("baseline", i),
            result: take("result", i),
            n: take("n", i),
            period: take("period", i),
            design: take("design", i),
            better: take("better", i),
            comparison_baseline: take("comparison_baseline", i),
            comparison_result: take("comparison_result", i),
            comparison_n: take("comparison_n", i),
            p_value: take("p_value", i),
        })
        .collect();
    (rows, dropped)
}

/// Applies an "add a measure row" or "remove measure N" button; false when `action` is
/// neither. Nothing is saved: the form is shown again with the table changed. A full table
/// gets no new row (the form shows no button then; this is for a form sent anyway).
pub fn change_measure_rows(rows: &mut Vec<MeasureRow>, action: &str) -> bool {
    if let Some(row) = action
        .strip_prefix("remove-measure-")
        .and_then(|n| n.parse::<usize>().ok())
    {
        if row < rows.len() {
            rows.remove(row);
        }
        true
    } else if action == "add-measure" {
        if rows.len() < MAX_MEASURES {
            rows.push(MeasureRow::default());
        }
        true
    } else {
        false
    }
}

/// The tags of the comma-separated tags field.
fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Measures as table rows, for a form.
pub fn rows_of(measures: &[Measure]) -> Vec<MeasureRow> {
    measures
        .iter()
        .map(|m| MeasureRow {
            name: m.name.clone(),
            ingredient: m.ingredient.as_str().into(),
            unit: m.unit.as_str().into(),
            instrument: m.instrument.clone(),
            baseline: format_number(m.baseline),
            result: format_number(m.result),
            n: m.n.to_string(),
            period: m.period.clone(),
            design: m.design.as_str().into(),
            better: m.better.as_str().into(),
            comparison_baseline: m
                .comparison
                .map(|c| format_number(c.baseline))
                .unwrap_or_default(),
            comparison_result: m
                .comparison
                .map(|c| format_number(c.result))
                .unwrap_or_default(),
            comparison_n: m.comparison.map(|c| c.n.to_string()).unwrap_or_default(),
            p_value: m.p_value.map(format_number).unwrap_or_default(),
        })
        .collect()
}

/// The comparison inputs of a measure row: (field, label, inputmode).
pub const COMPARISON_FIELDS: [(&str, &str, &str); 4] = [
    (
        "comparison_baseline",
        "Comparison group: baseline",
        "decimal",
    ),
    ("comparison_result", "Comparison group: result", "decimal"),
    ("comparison_n", "Comparison group: n (students)", "numeric"),
    ("p_value", "p-value of the difference (optional)", "decimal"),
];

/// The choices of a measure's design and direction, for the measures table.
pub fn design_choices() -> Vec<(&'static str, &'static str)> {
    super::pairs::<crate::domain::Design>()
}

pub fn better_choices() -> Vec<(&'static str, &'static str)> {
    super::pairs::<crate::domain::Better>()
}

/// A number typed in an optional field: `None` when blank; a problem at `field` when it is
/// not a number.
fn optional_number(v: &str, field: &str, add: &mut dyn FnMut(&str, String)) -> Option<f64> {
    let t = v.trim();
    if t.is_empty() {
        return None;
    }
    match t
        .replace(',', "")
        .trim_end_matches('%')
        .trim_start_matches(['$', '€', '£'])
        .parse::<f64>()
    {
        Ok(x) if x.is_finite() => Some(x),
        _ => {
            add(
                field,
                format!(
                    "\"{v}\" is not a number; type digits such as 42 or 3.5, or leave it empty"
                ),
            );
            None
        }
    }
}

fn optional_whole(v: &str, field: &str, add: &mut dyn FnMut(&str, String)) -> Option<i64> {
    let t = v.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<i64>()
        .map_err(|_| add(field, format!("\"{v}\" is not a whole number of students")))
        .ok()
}

/// A choice of a select whose first option is the default: blank means the default.
fn vocab_or_default<V: Vocabulary + Default>(
    v: &str,
    row: usize,
    field: &str,
    hint: &str,
    add: &mut dyn FnMut(&str, String),
) -> V {
    if v.trim().is_empty() {
        return V::default();
    }
    V::parse(v).unwrap_or_else(|_| {
        add(&format!("m{row}-{field}"), hint.into());
        V::default()
    })
}

/// The form field a content-format field name (`measures[2].n`, `sections`) belongs to.
/// `measure_rows` and `resource_rows` hold the form row of each measure and resource (blank
/// rows are neither, so the second measure may be on the third row).
fn form_key(field: &str, message: &str, measure_rows: &[usize], resource_rows: &[usize]) -> String {
    for (prefix, key, rows) in [
        ("measures[", "m", measure_rows),
        ("resources[", "r", resource_rows),
    ] {
        if let Some(rest) = field.strip_prefix(prefix)
            && let Some((n, sub)) = rest.split_once("].")
        {
            let row = n
                .parse::<usize>()
                .ok()
                .and_then(|n| rows.get(n.wrapping_sub(1)))
                .map_or_else(|| n.to_string(), usize::to_string);
            return format!("{key}{row}-{sub}");
        }
    }
    if field == "sections"
        && let Some(kind) = SectionKind::ALL
            .into_iter()
            .find(|k| message.contains(&format!("## {}\"", k.heading())))
    {
        return format!("s-{}", kind.key());
    }
    if let Some(kind) = field
        .strip_prefix("## ")
        .and_then(SectionKind::from_heading)
    {
        return format!("s-{}", kind.key());
    }
    if field.starts_with("tags[") {
        return "tags".into();
    }
    if let Some(rest) = field.strip_prefix("cost.") {
        return format!("cost-{}", rest.split('[').next().unwrap_or(rest));
    }
    match field {
        "challenge_areas" => "areas".into(),
        "grade_bands" => "grades".into(),
        other => other.into(),
    }
}

/// A slug for a new practice from its title.
pub fn slug_from_title(title: &str) -> Option<Slug> {
    let mut s = String::new();
    for c in title.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    let s: String = s.trim_matches('-').chars().take(60).collect();
    Slug::parse(s.trim_end_matches('-')).ok()
}

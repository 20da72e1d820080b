//! A practice (share-out) as the team wrote it, and the rules every practice obeys wherever it
//! comes from (a content file or, later, the web form).

use std::collections::BTreeMap;

use time::Date;

use super::limits::{
    MAX_LINE, MAX_MEASURES, MAX_RESOURCES, MAX_SECTION, MAX_SUMMARY, MAX_TAG, MAX_TAGS, MAX_TITLE,
    MAX_URL, control_character, too_long, too_many,
};
use super::{CellSize, GradeBand, Ingredient, Measure, Resource, Slug, Stage, Status, Subject};

/// The Markdown sections of a practice, in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SectionKind {
    WhatItIs,
    LogicModel,
    Evidence,
    EssentialAspects,
    NecessaryConditions,
    GettingStarted,
    DiscoveryStory,
    Adaptations,
}

impl SectionKind {
    pub const ALL: [SectionKind; 8] = [
        SectionKind::WhatItIs,
        SectionKind::LogicModel,
        SectionKind::Evidence,
        SectionKind::EssentialAspects,
        SectionKind::NecessaryConditions,
        SectionKind::GettingStarted,
        SectionKind::DiscoveryStory,
        SectionKind::Adaptations,
    ];

    /// The level-2 heading that starts the section in a content file and on the page.
    pub fn heading(self) -> &'static str {
        match self {
            SectionKind::WhatItIs => "What it is",
            SectionKind::LogicModel => "Logic model",
            SectionKind::Evidence => "Evidence",
            SectionKind::EssentialAspects => "Essential aspects",
            SectionKind::NecessaryConditions => "Necessary conditions",
            SectionKind::GettingStarted => "Getting started",
            SectionKind::DiscoveryStory => "Discovery story",
            SectionKind::Adaptations => "Adaptations",
        }
    }

    /// A stable key for storage and HTML ids.
    pub fn key(self) -> &'static str {
        match self {
            SectionKind::WhatItIs => "what-it-is",
            SectionKind::LogicModel => "logic-model",
            SectionKind::Evidence => "evidence",
            SectionKind::EssentialAspects => "essential-aspects",
            SectionKind::NecessaryConditions => "necessary-conditions",
            SectionKind::GettingStarted => "getting-started",
            SectionKind::DiscoveryStory => "discovery-story",
            SectionKind::Adaptations => "adaptations",
        }
    }

    pub fn from_heading(heading: &str) -> Option<SectionKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.heading().eq_ignore_ascii_case(heading.trim()))
    }

    pub fn from_key(key: &str) -> Option<SectionKind> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn required(self) -> bool {
        matches!(
            self,
            SectionKind::WhatItIs
                | SectionKind::Evidence
                | SectionKind::EssentialAspects
                | SectionKind::NecessaryConditions
        )
    }

    /// Sections whose content is a bullet list, one item per aspect or condition.
    pub fn is_list(self) -> bool {
        matches!(
            self,
            SectionKind::EssentialAspects | SectionKind::NecessaryConditions
        )
    }
}

/// What it takes to start and keep up a practice. Every figure is optional: a team says what
/// it knows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cost {
    /// Hours a teacher needs before the first use (reading, preparing materials, training).
    pub start_hours: Option<f64>,
    /// Hours per week to keep it going, beyond the lesson time it replaces.
    pub weekly_hours: Option<f64>,
    /// Materials cost per classroom, in `currency`.
    pub materials: Option<f64>,
    /// ISO 4217 code (`USD`); required with a materials cost above zero.
    pub currency: Option<String>,
    /// Roles besides the classroom teacher that the practice needs (a coach, a counselor).
    pub staff_roles: Vec<String>,
}

/// The search filter on materials cost: (value, label).
pub const MATERIALS_BANDS: [(&str, &str); 2] = [
    ("no-cost", "No materials cost"),
    ("some-cost", "Materials to buy"),
];

/// The search filter on a teacher's time to start: (value, label).
pub const START_BANDS: [(&str, &str); 3] = [
    ("up-to-2-hours", "2 hours or less to start"),
    ("2-to-8-hours", "2 to 8 hours to start"),
    ("over-8-hours", "More than 8 hours to start"),
];

impl Cost {
    pub fn is_empty(&self) -> bool {
        *self == Cost::default()
    }

    /// The materials band a search filters on; `None` when the team did not say.
    pub fn materials_band(&self) -> Option<&'static str> {
        let m = self.materials?;
        Some(if m > 0.0 {
            MATERIALS_BANDS[1].0
        } else {
            MATERIALS_BANDS[0].0
        })
    }

    /// The time-to-start band a search filters on; `None` when the team did not say.
    pub fn start_band(&self) -> Option<&'static str> {
        let h = self.start_hours?;
        Some(match h {
            h if h <= 2.0 => START_BANDS[0].0,
            h if h <= 8.0 => START_BANDS[1].0,
            _ => START_BANDS[2].0,
        })
    }

    fn problems(&self, push: &mut impl FnMut(&str, String)) {
        for (field, value, max) in [
            ("cost.start_hours", self.start_hours, MAX_HOURS),
            ("cost.weekly_hours", self.weekly_hours, MAX_HOURS),
            (
                "cost.materials_per_classroom",
                self.materials,
                MAX_MATERIALS,
            ),
        ] {
            match value {
                Some(v) if !v.is_finite() || v < 0.0 => {
                    push(field, format!("{v} must be a number of at least 0"))
                }
                Some(v) if v > max => push(field, format!("{v} is more than {max}")),
                _ => {}
            }
        }
        match self.currency.as_deref() {
            Some(c) if !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())) => push(
                "cost.currency",
                format!(
                    "\"{c}\" is not a currency code; use three capital letters such as USD or EUR"
                ),
            ),
            None if self.materials.is_some_and(|m| m > 0.0) => push(
                "cost.currency",
                "is required with a materials cost above zero (USD, EUR…)".into(),
            ),
            _ => {}
        }
        if let Some(msg) = too_many(self.staff_roles.len(), MAX_ROLES, "staff roles") {
            push("cost.staff_roles", msg);
        }
        for (i, role) in self.staff_roles.iter().enumerate() {
            let n = role.chars().count();
            if role.trim().is_empty() || n > MAX_TAG {
                push(
                    &format!("cost.staff_roles[{}]", i + 1),
                    format!("is {n} characters long; a role has 1 to {MAX_TAG} characters"),
                );
            }
        }
    }
}

const MAX_HOURS: f64 = 1000.0;
const MAX_MATERIALS: f64 = 1_000_000.0;
const MAX_ROLES: usize = 8;

/// A practice as written by its team: the content of one revision plus its status.
#[derive(Debug, Clone, PartialEq)]
pub struct PracticeDoc {
    pub slug: Slug,
    pub title: String,
    pub summary: String,
    pub challenge_areas: Vec<Slug>,
    pub grade_bands: Vec<GradeBand>,
    pub subjects: Vec<Subject>,
    pub team: Slug,
    pub stage: Stage,
    pub status: Status,
    pub published_on: Option<Date>,
    pub vetted_on: Option<Date>,
    pub tags: Vec<String>,
    pub license: Option<String>,
    pub measures: Vec<Measure>,
    pub resources: Vec<Resource>,
    pub cost: Cost,
    /// Markdown source of each present section, trimmed.
    pub sections: BTreeMap<SectionKind, String>,
}

impl PracticeDoc {
    /// Every rule a practice breaks, as (field, message). Fields are named as in the content
    /// format; measures and resources count from 1 (`measures[2].n`); a section's own
    /// problems are named by its heading (`## Evidence`). A draft or a returned practice may
    /// be incomplete, as on the web: only one that was submitted (or since vetted or
    /// archived) must be complete.
    pub fn problems(&self, min_cell: CellSize) -> Vec<(String, String)> {
        let mut out = self.save_problems(min_cell);
        if !matches!(self.status, Status::Draft | Status::Returned) {
            out.extend(self.completeness_problems());
        }
        out
    }

    /// What stops any save, even of a draft: sizes, numbers, the cell size, links, dates.
    pub fn save_problems(&self, min_cell: CellSize) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |field: &str, msg: String| out.push((field.to_string(), msg));

        // A draft may lack its summary (completeness waits for submission), never its title:
        // the title names it everywhere.
        if self.title.trim().is_empty() {
            push("title", "must not be empty".into());
        }
        for (field, value, max) in [
            ("title", &self.title, MAX_TITLE),
            ("summary", &self.summary, MAX_SUMMARY),
        ] {
            if let Some(msg) = too_long(value, max) {
                push(field, msg);
            }
        }
        if let Some(msg) = self.license.as_deref().and_then(|l| too_long(l, MAX_LINE)) {
            push("license", msg);
        }
        if self.stage == Stage::Replicated {
            push(
                "stage",
                "\"replicated\" is earned from adoptions, never typed in; use \"promising\" or \"confirmed\"".into(),
            );
        }
        if self.status == Status::Vetted {
            if self.published_on.is_none() {
                push(
                    "published_on",
                    "is required when status = \"vetted\"".into(),
                );
            }
            if self.vetted_on.is_none() {
                push("vetted_on", "is required when status = \"vetted\"".into());
            }
        }
        if let (Some(p), Some(v)) = (self.published_on, self.vetted_on)
            && v < p
        {
            push("vetted_on", format!("{v} is before published_on ({p})"));
        }
        if let Some(msg) = too_many(self.tags.len(), MAX_TAGS, "tags") {
            push("tags", msg);
        }
        for (i, tag) in self.tags.iter().enumerate() {
            let n = tag.chars().count();
            if tag.trim().is_empty() || n > MAX_TAG {
                push(
                    &format!("tags[{}]", i + 1),
                    format!("is {n} characters long; a tag has 1 to {MAX_TAG} characters"),
                );
            }
        }
        if let Some(msg) = too_many(self.measures.len(), MAX_MEASURES, "measures") {
            push("measures", msg);
        }
        for (i, m) in self.measures.iter().enumerate() {
            for (field, msg) in m.problems(min_cell) {
                push(&format!("measures[{}].{field}", i + 1), msg);
            }
        }
        if let Some(msg) = too_many(self.resources.len(), MAX_RESOURCES, "resources") {
            push("resources", msg);
        }
        for (i, r) in self.resources.iter().enumerate() {
            let at = format!("resources[{}]", i + 1);
            if r.title.trim().is_empty() {
                push(&format!("{at}.title"), "must not be empty".into());
            } else if let Some(msg) = too_long(&r.title, MAX_LINE) {
                push(&format!("{at}.title"), msg);
            }
            if let Some(msg) = too_long(&r.url, MAX_URL) {
                push(&format!("{at}.url"), msg);
            } else if !(r.url.starts_with("https://") || r.url.starts_with("http://")) {
                push(
                    &format!("{at}.url"),
                    format!(
                        "\"{}\" is not a web address; use an https:// or http:// URL",
                        r.url
                    ),
                );
            }
        }
        self.cost.problems(&mut push);
        for (kind, md) in &self.sections {
            if let Some(msg) = too_long(md, MAX_SECTION) {
                push(&format!("## {}", kind.heading()), msg);
            }
            if crate::content::markdown::has_level_two_heading(md) {
                push(
                    &format!("## {}", kind.heading()),
                    "has a level-2 heading (a line starting with \"## \", or underlined with \
                     ---), which starts a new section in the content format; use \"### \" for \
                     a heading inside a section"
                        .into(),
                );
            }
        }
        for (field, text) in self.texts() {
            if let Some(msg) = control_character(text) {
                push(&field, msg);
            }
        }
        out
    }

    /// What a practice needs before it is submitted for review (a draft may lack it).
    pub fn completeness_problems(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |field: &str, msg: String| out.push((field.to_string(), msg));
        if self.summary.trim().is_empty() {
            push("summary", "must not be empty".into());
        }
        if !(1..=3).contains(&self.challenge_areas.len()) {
            push(
                "challenge_areas",
                format!(
                    "has {} entries; a practice links to 1 to 3 challenge areas",
                    self.challenge_areas.len()
                ),
            );
        }
        if has_duplicates(&self.challenge_areas) {
            push(
                "challenge_areas",
                "lists the same challenge area twice".into(),
            );
        }
        if self.grade_bands.is_empty() {
            push("grade_bands", "must name at least one grade band".into());
        }
        if has_duplicates(&self.grade_bands) {
            push("grade_bands", "lists the same grade band twice".into());
        }
        if self.subjects.is_empty() {
            push("subjects", "must name at least one subject".into());
        }
        if has_duplicates(&self.subjects) {
            push("subjects", "lists the same subject twice".into());
        }
        if self.stage == Stage::Confirmed
            && !self
                .measures
                .iter()
                .any(|m| m.ingredient == Ingredient::StudentOutcome)
        {
            push(
                "measures",
                "a confirmed practice needs at least one measure with ingredient = \"student-outcome\"".into(),
            );
        }
        for kind in SectionKind::ALL {
            match self.sections.get(&kind) {
                None if kind.required() => push(
                    "sections",
                    format!("the section \"## {}\" is required", kind.heading()),
                ),
                Some(md) if md.trim().is_empty() => push(
                    "sections",
                    format!("the section \"## {}\" is empty", kind.heading()),
                ),
                Some(md)
                    if kind.is_list() && crate::content::markdown::bullet_items(md).is_empty() =>
                {
                    push(
                        "sections",
                        format!(
                            "\"## {}\" must be a bullet list (lines starting with \"- \") with at least one item",
                            kind.heading()
                        ),
                    )
                }
                _ => {}
            }
        }
        out
    }

    /// Every free text of the practice with its field, for the rules that apply to all text.
    fn texts(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = vec![
            ("title".into(), &self.title),
            ("summary".into(), &self.summary),
        ];
        out.extend(self.license.as_deref().map(|l| ("license".into(), l)));
        for (i, t) in self.tags.iter().enumerate() {
            out.push((format!("tags[{}]", i + 1), t));
        }
        out.extend(
            self.cost
                .currency
                .as_deref()
                .map(|c| ("cost.currency".into(), c)),
        );
        for (i, r) in self.cost.staff_roles.iter().enumerate() {
            out.push((format!("cost.staff_roles[{}]", i + 1), r));
        }
        for (i, r) in self.resources.iter().enumerate() {
            out.push((format!("resources[{}].title", i + 1), &r.title));
            out.push((format!("resources[{}].url", i + 1), &r.url));
        }
        for (kind, md) in &self.sections {
            out.push((format!("## {}", kind.heading()), md));
        }
        out
    }

    /// The essential aspects, one per bullet, as an adopter ticks them off.
    pub fn essential_aspects(&self) -> Vec<String> {
        self.sections
            .get(&SectionKind::EssentialAspects)
            .map(|md| crate::content::markdown::bullet_items(md))
            .unwrap_or_default()
    }
}

fn has_duplicates<T: Ord + Clone>(items: &[T]) -> bool {
    let mut sorted = items.to_vec();
    sorted.sort();
    sorted.windows(2).any(|w| w[0] == w[1])
}

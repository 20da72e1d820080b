//! A practice (share-out) as the team wrote it, and the rules every practice obeys wherever it
//! comes from (a content file or, later, the web form).

use std::collections::BTreeMap;

use time::Date;

use super::{CellSize, GradeBand, Ingredient, Measure, Resource, Slug, Stage, Status, Subject};

/// The Markdown sections of a practice, in reading order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SectionKind {
    WhatItIs,
    Evidence,
    EssentialAspects,
    NecessaryConditions,
    GettingStarted,
    DiscoveryStory,
    Adaptations,
}

impl SectionKind {
    pub const ALL: [SectionKind; 7] = [
        SectionKind::WhatItIs,
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
    /// Markdown source of each present section, trimmed.
    pub sections: BTreeMap<SectionKind, String>,
}

pub const MAX_TITLE: usize = 200;
pub const MAX_SUMMARY: usize = 600;
/// The longest a section's Markdown may be, in characters.
pub const MAX_SECTION: usize = 20_000;
/// The most characters a tag has.
pub const MAX_TAG: usize = 60;
/// The most tags a practice carries (a search facet, not an essay).
pub const MAX_TAGS: usize = 20;
/// The most measures a practice (or an adoption) reports: enough for every figure a Confirm
/// phase produces, few enough that a reader sees the change.
pub const MAX_MEASURES: usize = 50;
/// The most resource links a practice shares.
pub const MAX_RESOURCES: usize = 20;

impl PracticeDoc {
    /// Every rule a practice breaks, as (field, message). Fields are named as in the content
    /// format; measures and resources count from 1 (`measures[2].n`).
    pub fn problems(&self, min_cell: CellSize) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |field: &str, msg: String| out.push((field.to_string(), msg));

        for (field, value, max) in [
            ("title", &self.title, MAX_TITLE),
            ("summary", &self.summary, MAX_SUMMARY),
        ] {
            if value.trim().is_empty() {
                push(field, "must not be empty".into());
            } else if value.chars().count() > max {
                push(
                    field,
                    format!(
                        "is {} characters long; keep it to {max}",
                        value.chars().count()
                    ),
                );
            }
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
        if self.stage == Stage::Replicated {
            push(
                "stage",
                "\"replicated\" is earned from adoptions, never typed in; use \"promising\" or \"confirmed\"".into(),
            );
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
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.chars().count() > MAX_TAG {
                push(
                    &format!("tags[{}]", i + 1),
                    format!("a tag has 1 to {MAX_TAG} characters"),
                );
            }
        }
        for (i, m) in self.measures.iter().enumerate() {
            for (field, msg) in m.problems(min_cell) {
                push(&format!("measures[{}].{field}", i + 1), msg);
            }
        }
        for (i, r) in self.resources.iter().enumerate() {
            if r.title.trim().is_empty() {
                push(
                    &format!("resources[{}].title", i + 1),
                    "must not be empty".into(),
                );
            }
            if !(r.url.starts_with("https://") || r.url.starts_with("http://")) {
                push(
                    &format!("resources[{}].url", i + 1),
                    format!(
                        "\"{}\" is not a web address; use an https:// or http:// URL",
                        r.url
                    ),
                );
            }
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

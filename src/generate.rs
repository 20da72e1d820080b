//! Generates a large, valid catalog for benchmarks: deterministic for a seed, written in the
//! content format. Text is drawn from the seed catalog's own vocabulary with a Zipf-like
//! distribution, so it searches like real practices do.

use std::collections::BTreeMap;

use crate::content::{AdoptionDoc, AreaDoc, Catalog, DistrictDoc, SchoolDoc, TeamDoc};
use crate::domain::{
    AdoptionStatus, Better, Cost, Design, GradeBand, Ingredient, Level, Locale, Measure, Outcome,
    PracticeDoc, Resource, SectionKind, Slug, Stage, Status, Subject, Unit, Vocabulary,
};

const VOCABULARY: &str = include_str!("../data/vocabulary.txt");

const AREAS: [(&str, &str); 11] = [
    ("academic-discourse", "Academic discourse"),
    ("reading-comprehension", "Reading comprehension"),
    ("math-problem-solving", "Math problem solving"),
    ("writing", "Writing"),
    ("english-learners", "English learners' language development"),
    ("chronic-absenteeism", "Chronic absenteeism"),
    ("ninth-grade-transition", "Ninth-grade transition"),
    (
        "belonging-and-sel",
        "Belonging and social-emotional learning",
    ),
    ("family-engagement", "Family engagement"),
    ("science-inquiry", "Science inquiry"),
    ("teacher-collaboration", "Teacher collaboration"),
];

/// `n` distinct queries as teachers type them, for the benchmarks (issue 20): two to six
/// everyday words, often a term of the education vocabulary (`data/synonyms.txt`: "english
/// learners", "9th grade", "sel"), words of the catalog drawn by how often the catalog uses
/// them, now and then a small word ("in", "dont") or an everyday word the catalog may not
/// have ("kids", "phones"). The four examples come first. Deterministic; no query
/// repeats.
pub fn natural_queries(n: usize) -> Vec<String> {
    const SYNONYMS: &str = include_str!("../data/synonyms.txt");
    let terms: Vec<&str> = SYNONYMS
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|t| t.split(' ').count() <= 3)
        .collect();
    let small = ["in", "for", "with", "dont", "to", "how", "of", "the", "not"];
    let everyday = [
        "kids",
        "check",
        "ins",
        "quiet",
        "struggling",
        "readers",
        "late",
        "phones",
        "lunch",
        "morning",
        "routine",
        "anxiety",
        "calm",
        "behavior",
        "hallway",
        "grade",
        "talk",
        "math",
        "science",
        "reading",
        "writing",
        "parents",
        "homework",
    ];
    let words = Words::default();
    let mut rng = Rng::new(20);
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = [
        "chronic absence 9th grade",
        "english learners science",
        "kids dont talk in math",
        "social emotional learning check ins",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    seen.extend(out.iter().cloned());
    while out.len() < n {
        let len = rng.range(2, 6);
        let mut q: Vec<String> = Vec::new();
        if rng.range(0, 9) < 6 {
            let t = terms[rng.range(0, terms.len() - 1)];
            q.extend(t.split(' ').map(str::to_string));
        }
        while q.len() < len {
            let roll = rng.range(0, 9);
            if roll < 2 {
                q.push(everyday[rng.range(0, everyday.len() - 1)].to_string());
            } else if roll < 3 && !q.is_empty() {
                q.push(small[rng.range(0, small.len() - 1)].to_string());
            } else {
                let w = words.word(&mut rng);
                if !crate::search::is_stop_word(w) && w.len() >= 3 {
                    q.push(w.to_string());
                }
            }
        }
        q.truncate(6);
        let q = q.join(" ");
        if seen.insert(q.clone()) {
            out.push(q);
        }
    }
    out.truncate(n);
    out
}

/// splitmix64: tiny, fast, and the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() - 1)]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// Words with a Zipf-like sampler (weight of rank r is 1/r).
pub struct Words {
    words: Vec<&'static str>,
    cumulative: Vec<f64>,
}

impl Default for Words {
    fn default() -> Self {
        let words: Vec<&str> = VOCABULARY
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect();
        let mut total = 0.0;
        let cumulative = (1..=words.len())
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        Words { words, cumulative }
    }
}

impl Words {
    pub fn word(&self, rng: &mut Rng) -> &'static str {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        let x = (rng.next_u64() as f64 / u64::MAX as f64) * total;
        let i = self
            .cumulative
            .partition_point(|c| *c < x)
            .min(self.words.len() - 1);
        self.words[i]
    }

    fn sentence(&self, rng: &mut Rng, min: usize, max: usize) -> String {
        let n = rng.range(min, max);
        let mut s: Vec<&str> = (0..n).map(|_| self.word(rng)).collect();
        let mut first = s[0].to_string();
        first[..1].make_ascii_uppercase();
        s[0] = "";
        format!("{first}{}.", s.join(" "))
    }

    /// Between `min` and about `max` words of prose in paragraphs.
    fn prose(&self, rng: &mut Rng, min: usize, max: usize) -> String {
        let words = rng.range(min, max);
        let mut out = String::new();
        let mut count = 0;
        while count < words {
            let mut paragraph = Vec::new();
            for _ in 0..rng.range(3, 6) {
                let s = self.sentence(rng, 8, 20);
                count += s.split(' ').count();
                paragraph.push(s);
            }
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&paragraph.join(" "));
        }
        out
    }

    fn bullets(&self, rng: &mut Rng, prefix: &str) -> String {
        (0..rng.range(3, 5))
            .map(|_| format!("{prefix}{}", self.sentence(rng, 10, 20)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn slug(s: &str) -> Slug {
    Slug::parse(s).expect("generated slugs are valid")
}

/// A catalog of `practices` practices with its network and adoptions, the same for a seed.
pub fn catalog(practices: usize, seed: u64) -> Catalog {
    let mut all = Vec::with_capacity(practices);
    let mut c = stream(practices, seed, |p| all.push(p));
    c.practices = all;
    c
}

/// Generates the catalog, handing each practice to `each` as soon as it exists (a million
/// practices are gigabytes of text: `generate` writes them out one by one). Returns the rest
/// of the catalog: network, areas and adoptions, with no practices.
pub fn stream(practices: usize, seed: u64, mut each: impl FnMut(PracticeDoc)) -> Catalog {
    let mut rng = Rng::new(seed);
    let words = Words::default();
    let districts = (practices / 2_000).max(3);
    let mut c = Catalog {
        areas: AREAS
            .iter()
            .map(|(s, n)| AreaDoc {
                slug: slug(s),
                name: n.to_string(),
                description: format!("{n}, across the network."),
            })
            .collect(),
        ..Default::default()
    };
    for d in 0..districts {
        c.districts.push(DistrictDoc {
            slug: slug(&format!("district-{d}")),
            name: format!("District {d} Unified"),
        });
        for s in 0..4 {
            let school = format!("school-{d}-{s}");
            c.schools.push(SchoolDoc {
                slug: slug(&school),
                name: format!("{} School {d}-{s}", capitalize(words.word(&mut rng))),
                district: slug(&format!("district-{d}")),
                level: *rng.pick(Level::ALL),
                locale: *rng.pick(Locale::ALL),
                profile: Default::default(),
            });
            c.teams.push(TeamDoc {
                slug: slug(&format!("{school}-step")),
                name: format!("STEP team {d}-{s}"),
                school: slug(&school),
                cycle: "2025-26".into(),
                challenge_area: slug(rng.pick(&AREAS).0),
                aim: words.sentence(&mut rng, 15, 25),
            });
        }
    }
    for i in 0..practices {
        let p = practice(&mut rng, &words, i, &c.teams);
        adopt(&mut rng, &words, &p, &mut c);
        each(p);
    }
    c
}

/// About one vetted practice in ten is adopted by one to three other teams.
fn adopt(rng: &mut Rng, words: &Words, p: &PracticeDoc, c: &mut Catalog) {
    if !rng.chance(10) || p.status != Status::Vetted {
        return;
    }
    let aspects = p.essential_aspects().len() as u32;
    let mut adopters = BTreeMap::new();
    for _ in 0..rng.range(1, 3) {
        let team = rng.pick(&c.teams).slug.clone();
        if team != p.team {
            adopters.insert(team, ());
        }
    }
    for team in adopters.into_keys() {
        let status = *rng.pick(&[
            AdoptionStatus::Testing,
            AdoptionStatus::Adopted,
            AdoptionStatus::Adapted,
        ]);
        let done = status != AdoptionStatus::Testing;
        c.adoptions.push(AdoptionDoc {
            practice: p.slug.clone(),
            team,
            status,
            started_on: time::Date::from_calendar_date(2025, time::Month::September, 8).ok(),
            aspects_kept: (1..=aspects).filter(|_| rng.chance(90)).collect(),
            adaptations: done.then(|| words.sentence(rng, 8, 16)),
            outcome: done.then(|| *rng.pick(Outcome::ALL)),
            measures: if done {
                vec![measure(rng, words, Ingredient::StudentOutcome)]
            } else {
                Vec::new()
            },
        });
    }
}

fn capitalize(w: &str) -> String {
    let mut s = w.to_string();
    if let Some(f) = s.get_mut(..1) {
        f.make_ascii_uppercase();
    }
    s
}

fn measure(rng: &mut Rng, words: &Words, ingredient: Ingredient) -> Measure {
    let baseline = rng.range(10, 60) as f64;
    Measure {
        name: words.sentence(rng, 4, 8).trim_end_matches('.').to_string(),
        ingredient,
        instrument: words.sentence(rng, 4, 10),
        unit: Unit::Percent,
        baseline,
        result: (baseline + rng.range(0, 35) as f64).min(100.0),
        n: rng.range(10, 300) as i64,
        period: "2024-09 to 2025-04".into(),
        design: Design::PrePost,
        better: Better::Higher,
        comparison: None,
        p_value: None,
    }
}

fn practice(rng: &mut Rng, words: &Words, i: usize, teams: &[TeamDoc]) -> PracticeDoc {
    let title_words: Vec<&str> = (0..rng.range(3, 6)).map(|_| words.word(rng)).collect();
    let title = capitalize(&title_words.join(" "));
    let key: String = title_words
        .iter()
        .take(3)
        .map(|w| w.replace(|c: char| !c.is_ascii_alphanumeric(), ""))
        .collect::<Vec<_>>()
        .join("-");
    let slug = slug(&format!("p{i}-{key}").to_ascii_lowercase());
    let mut areas: Vec<Slug> = Vec::new();
    for _ in 0..rng.range(1, 3) {
        let a = Slug::parse(rng.pick(&AREAS).0).expect("area slug");
        if !areas.contains(&a) {
            areas.push(a);
        }
    }
    let mut grade_bands = vec![*rng.pick(GradeBand::ALL)];
    let g2 = *rng.pick(GradeBand::ALL);
    if rng.chance(30) && g2 != grade_bands[0] {
        grade_bands.push(g2);
    }
    let subjects = vec![*rng.pick(Subject::ALL)];
    let status = if rng.chance(90) {
        Status::Vetted
    } else {
        *rng.pick(&[Status::Draft, Status::Submitted])
    };
    let day = rng.range(0, 600) as i64;
    let published = time::Date::from_calendar_date(2025, time::Month::January, 6).expect("date")
        + time::Duration::days(day);
    let vetted = published + time::Duration::days(rng.range(3, 30) as i64);
    let mut sections = BTreeMap::new();
    sections.insert(SectionKind::WhatItIs, words.prose(rng, 120, 250));
    sections.insert(SectionKind::Evidence, words.prose(rng, 150, 300));
    sections.insert(SectionKind::EssentialAspects, words.bullets(rng, "- "));
    sections.insert(SectionKind::NecessaryConditions, words.bullets(rng, "- "));
    sections.insert(SectionKind::GettingStarted, words.bullets(rng, "1. "));
    sections.insert(SectionKind::DiscoveryStory, words.prose(rng, 80, 200));
    if rng.chance(60) {
        sections.insert(SectionKind::Adaptations, words.prose(rng, 50, 150));
    }
    let mut measures = vec![measure(rng, words, Ingredient::StudentOutcome)];
    for _ in 0..rng.range(0, 2) {
        let ingredient = *rng.pick(&[
            Ingredient::TeachingPractice,
            Ingredient::ProfessionalCondition,
        ]);
        measures.push(measure(rng, words, ingredient));
    }
    PracticeDoc {
        slug,
        title,
        summary: words.sentence(rng, 18, 32),
        challenge_areas: areas,
        grade_bands,
        subjects,
        team: rng.pick(teams).slug.clone(),
        stage: if rng.chance(85) {
            Stage::Confirmed
        } else {
            Stage::Promising
        },
        status,
        published_on: (status == Status::Vetted).then_some(published),
        vetted_on: (status == Status::Vetted).then_some(vetted),
        tags: (0..rng.range(1, 3))
            .map(|_| words.word(rng).to_string())
            .collect(),
        license: None,
        measures,
        resources: vec![Resource {
            title: words.sentence(rng, 3, 6),
            url: format!("https://example.org/resources/{i}"),
        }],
        // From the index, not the random stream, so the rest of a seed's catalog is unchanged.
        cost: Cost {
            start_hours: Some((i % 7) as f64),
            weekly_hours: Some((i % 3) as f64 * 0.5),
            materials: Some((i % 4 * 25) as f64),
            currency: Some("USD".into()),
            staff_roles: Vec::new(),
        },
        sections,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_catalogs_are_valid_and_deterministic() {
        let a = catalog(60, 7);
        assert_eq!(a, catalog(60, 7));
        assert_ne!(a.practices[0].title, catalog(60, 8).practices[0].title);
        let dir = tempfile::tempdir().unwrap();
        crate::content::write_dir(dir.path(), &a).unwrap();
        let back = crate::content::load_dir(dir.path(), crate::domain::CellSize::DEFAULT)
            .unwrap_or_else(|e| {
                panic!(
                    "{}",
                    e.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
        assert_eq!(back.practices.len(), 60);
        let words: usize = a.practices[0]
            .sections
            .values()
            .map(|s| s.split_whitespace().count())
            .sum();
        assert!((500..=1600).contains(&words), "{words} words");
    }
}

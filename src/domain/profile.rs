//! A school's optional profile, and how alike two schools are: what "schools like mine" ranks
//! practices by.
//!
//! A profile holds **bands only**, never counts: an enrolment band and, for the shares of
//! economically disadvantaged students, English learners and students with disabilities, a
//! band of 20 percentage points. No band says how many students of a group a school has, so
//! nothing here is small enough to identify a student.
//!
//! **The similarity score** of two schools is a whole number of points, 0 to
//! `MAX_SIMILARITY` (14), and each part only counts what both schools say:
//!
//! | compared | points |
//! |---|---|
//! | level | 3 the same; 1 when the grades overlap (a K–8 school and a middle school; a K–12 school and any) |
//! | locale | 3 the same NCES locale (both given); otherwise 2 the same locale (urban, suburban, town, rural) |
//! | enrolment band, and each of the three share bands | 2 the same band; 1 the next band; nothing further apart, or when either school has not said |
//!
//! A school without a profile is compared on its level and locale only (at most 6 points):
//! it is less comparable, never wrongly comparable.

use std::collections::HashMap;

use super::{EnrolmentBand, Level, Locale, NcesLocale, ShareBand, Stage, Vocabulary};

/// The highest similarity: the same level, NCES locale and every band.
pub const MAX_SIMILARITY: u32 = 14;

/// What a school may say about itself beyond its level and locale. Every part is optional.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchoolProfile {
    pub nces_locale: Option<NcesLocale>,
    pub enrolment: Option<EnrolmentBand>,
    pub economically_disadvantaged: Option<ShareBand>,
    pub english_learners: Option<ShareBand>,
    pub students_with_disabilities: Option<ShareBand>,
}

/// The field names of a profile, as `network.toml` and the admin form spell them.
pub const PROFILE_FIELDS: [&str; 5] = [
    "nces_locale",
    "enrolment",
    "economically_disadvantaged",
    "english_learners",
    "students_with_disabilities",
];

impl NcesLocale {
    /// The NCES code (11–43).
    pub fn code(self) -> u8 {
        let i = Self::ALL.iter().position(|l| *l == self).expect("listed") as u8;
        (i / 3 + 1) * 10 + i % 3 + 1
    }

    /// The coarse locale this NCES locale is part of.
    pub fn locale(self) -> Locale {
        match self.code() / 10 {
            1 => Locale::Urban,
            2 => Locale::Suburban,
            3 => Locale::Town,
            _ => Locale::Rural,
        }
    }

    /// Reads the spelling (`suburb-large`) or the NCES code (`21`).
    pub fn parse_either(s: &str) -> Result<NcesLocale, String> {
        if let Ok(code) = s.trim().parse::<u8>() {
            return Self::ALL
                .iter()
                .copied()
                .find(|l| l.code() == code)
                .ok_or_else(|| {
                    format!("{code} is not an NCES locale code; the codes are 11–13, 21–23, 31–33 and 41–43")
                });
        }
        Self::parse(s).map_err(|e| format!("{e}, or its NCES code (11–43)"))
    }
}

impl SchoolProfile {
    /// Whether the school said nothing beyond its level and locale.
    pub fn is_empty(&self) -> bool {
        *self == SchoolProfile::default()
    }

    /// An NCES locale must lie inside the school's locale (`suburb-large` is suburban).
    pub fn check_locale(&self, locale: Locale) -> Result<(), String> {
        match self.nces_locale {
            Some(n) if n.locale() != locale => Err(format!(
                "\"{n}\" ({}, code {}) is a {} locale, but the school's locale is \"{locale}\"; \
                 change one of them so that they agree",
                n.label(),
                n.code(),
                n.locale().as_str()
            )),
            _ => Ok(()),
        }
    }

    /// The parts given, as (field, file spelling), in `PROFILE_FIELDS` order.
    pub fn parts(&self) -> Vec<(&'static str, &'static str)> {
        let values = [
            self.nces_locale.map(|v| v.as_str()),
            self.enrolment.map(|v| v.as_str()),
            self.economically_disadvantaged.map(|v| v.as_str()),
            self.english_learners.map(|v| v.as_str()),
            self.students_with_disabilities.map(|v| v.as_str()),
        ];
        PROFILE_FIELDS
            .iter()
            .zip(values)
            .filter_map(|(f, v)| Some((*f, v?)))
            .collect()
    }
}

/// A school as the similarity sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolTraits {
    pub slug: String,
    pub name: String,
    pub level: Level,
    pub locale: Locale,
    pub profile: SchoolProfile,
}

fn levels_overlap(a: Level, b: Level) -> bool {
    use Level::*;
    matches!(
        (a, b),
        (K12, _) | (_, K12) | (K8, Elementary | Middle) | (Elementary | Middle, K8)
    )
}

fn band_points<V: Vocabulary + PartialEq>(a: Option<V>, b: Option<V>) -> u32 {
    let pos = |v: V| V::ALL.iter().position(|x| *x == v).expect("listed");
    match (a, b) {
        (Some(a), Some(b)) => match pos(a).abs_diff(pos(b)) {
            0 => 2,
            1 => 1,
            _ => 0,
        },
        _ => 0,
    }
}

/// How alike two schools are, 0 to `MAX_SIMILARITY` (the table in this module's comment).
pub fn similarity(a: &SchoolTraits, b: &SchoolTraits) -> u32 {
    let level = if a.level == b.level {
        3
    } else if levels_overlap(a.level, b.level) {
        1
    } else {
        0
    };
    let locale = match (a.profile.nces_locale, b.profile.nces_locale) {
        (Some(x), Some(y)) if x == y => 3,
        _ if a.locale == b.locale => 2,
        _ => 0,
    };
    let (p, q) = (&a.profile, &b.profile);
    level
        + locale
        + band_points(p.enrolment, q.enrolment)
        + band_points(p.economically_disadvantaged, q.economically_disadvantaged)
        + band_points(p.english_learners, q.english_learners)
        + band_points(p.students_with_disabilities, q.students_with_disabilities)
}

/// Something a school has exactly as another has it, for the reason a practice is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trait {
    Level(Level),
    Locale(Locale),
    Nces(NcesLocale),
    Enrolment(EnrolmentBand),
    Disadvantaged(ShareBand),
    EnglishLearners(ShareBand),
    Disabilities(ShareBand),
}

/// What `of` says of itself (level, locale and each part of its profile).
fn traits(of: &SchoolTraits) -> Vec<Trait> {
    let p = &of.profile;
    let mut out = vec![Trait::Level(of.level), Trait::Locale(of.locale)];
    out.extend(p.nces_locale.map(Trait::Nces));
    out.extend(p.enrolment.map(Trait::Enrolment));
    out.extend(p.economically_disadvantaged.map(Trait::Disadvantaged));
    out.extend(p.english_learners.map(Trait::EnglishLearners));
    out.extend(p.students_with_disabilities.map(Trait::Disabilities));
    out
}

/// "suburban middle schools, 40–60 % English learners": what the traits say, in plain words.
fn describe(shared: &[Trait], plural: bool) -> String {
    let level = shared.iter().find_map(|t| match t {
        Trait::Level(l) => Some(match l {
            Level::Elementary => "elementary",
            Level::Middle => "middle",
            Level::High => "high",
            Level::K8 => "K–8",
            Level::K12 => "K–12",
        }),
        _ => None,
    });
    let locale = shared.iter().find_map(|t| match t {
        Trait::Locale(l) => Some(l.label().to_lowercase()),
        _ => None,
    });
    let mut parts = Vec::new();
    if level.is_some() || locale.is_some() {
        let words: Vec<String> = [locale, level.map(str::to_string)]
            .into_iter()
            .flatten()
            .collect();
        let noun = if plural { "schools" } else { "school" };
        let article = if plural { "" } else { "a " };
        parts.push(format!("{article}{} {noun}", words.join(" ")));
    }
    for t in shared {
        parts.push(match t {
            Trait::Level(_) | Trait::Locale(_) => continue,
            Trait::Nces(n) => format!("in a {}", n.label()),
            Trait::Enrolment(e) => e.label().to_string(),
            Trait::Disadvantaged(b) => format!("{} economically disadvantaged", b.label()),
            Trait::EnglishLearners(b) => format!("{} English learners", b.label()),
            Trait::Disabilities(b) => format!("{} students with disabilities", b.label()),
        });
    }
    parts.join(", ")
}

/// A public practice and the schools where it worked: an adopting school that reports
/// *improved* and kept every essential aspect of the revision it adopted.
#[derive(Debug, Clone)]
pub struct WorkedAt {
    /// The practice's id (what the search index knows it by).
    pub id: i64,
    pub practice: String,
    pub title: String,
    pub stage: Stage,
    /// The school that shared it.
    pub origin: String,
    /// Slugs of the schools where it worked, each once.
    pub schools: Vec<String>,
}

/// A practice as "schools like mine" shows it for one school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub id: i64,
    pub practice: String,
    /// The similarity of the most similar other school where it worked (0 when none).
    pub best: u32,
    /// How many other schools it worked in.
    pub schools: usize,
    /// Whether it worked at the school asked about too.
    pub at_home: bool,
    /// Why it is shown, in plain words.
    pub reason: String,
    /// The order as one number, larger first (what `sort=like-mine` sorts search results by).
    pub key: u64,
}

/// The practices that worked somewhere, for `target`: best first. The order is the most
/// similar school where each worked (`similarity`), then how many schools it worked in, then
/// its evidence stage (replicated, confirmed, promising), then its title. The school asked
/// about is left out of that order (a practice that worked there is shown, and says so, but
/// ranks by the other schools), and so are practices that it shared itself: its teams cannot
/// adopt them.
pub fn rank(
    target: &SchoolTraits,
    schools: &HashMap<String, SchoolTraits>,
    worked: &[WorkedAt],
) -> Vec<Ranked> {
    let mut out: Vec<(Ranked, Stage, &str)> = Vec::new();
    for w in worked {
        if w.origin == target.slug {
            continue;
        }
        let at_home = w.schools.contains(&target.slug);
        let mut others: Vec<(u32, &SchoolTraits)> = w
            .schools
            .iter()
            .filter(|s| **s != target.slug)
            .filter_map(|s| schools.get(s))
            .map(|s| (similarity(target, s), s))
            .collect();
        if others.is_empty() && !at_home {
            continue;
        }
        others.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.name.cmp(&b.1.name)));
        let best = others.first().map_or(0, |o| o.0);
        let stage = match w.stage {
            Stage::Replicated => 3,
            Stage::Confirmed => 2,
            Stage::Promising => 1,
        };
        let key = (best as u64) * 1_000_000 + (others.len().min(99_999) as u64) * 10 + stage;
        let others: Vec<&SchoolTraits> = others.into_iter().map(|o| o.1).collect();
        out.push((
            Ranked {
                id: w.id,
                practice: w.practice.clone(),
                best,
                schools: others.len(),
                at_home,
                reason: reason(target, &others, at_home),
                key,
            },
            w.stage,
            &w.title,
        ));
    }
    out.sort_by(|a, b| {
        b.0.key
            .cmp(&a.0.key)
            .then(a.2.cmp(b.2))
            .then(a.0.practice.cmp(&b.0.practice))
    });
    out.into_iter().map(|(r, _, _)| r).collect()
}

/// "Improved at 2 schools like yours: suburban middle schools, 40–60 % English learners".
/// `others` are the other schools where it worked, most similar first.
fn reason(target: &SchoolTraits, others: &[&SchoolTraits], at_home: bool) -> String {
    let n = others.len();
    let schools = if n == 1 {
        "1 school".to_string()
    } else {
        format!("{n} schools")
    };
    let mine = traits(target);
    let shared_by_all: Vec<Trait> = mine
        .iter()
        .copied()
        .filter(|t| others.iter().all(|o| traits(o).contains(t)))
        .collect();
    let mut text = if n == 0 {
        "Improved at your school; no other school has reported it yet".to_string()
    } else if !shared_by_all.is_empty() {
        format!(
            "Improved at {schools} like yours: {}",
            describe(&shared_by_all, n > 1)
        )
    } else {
        let closest: Vec<Trait> = traits(others[0])
            .into_iter()
            .filter(|t| mine.contains(t))
            .collect();
        if closest.is_empty() {
            format!("Improved at {schools}, none much like yours")
        } else {
            format!(
                "Improved at {schools}; the closest to yours is {}",
                describe(&closest, false)
            )
        }
    };
    if at_home && n > 0 {
        text.push_str(", and at your school");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school(slug: &str, level: Level, locale: Locale, profile: SchoolProfile) -> SchoolTraits {
        SchoolTraits {
            slug: slug.into(),
            name: slug.into(),
            level,
            locale,
            profile,
        }
    }

    #[test]
    fn nces_codes_and_locales() {
        assert_eq!(NcesLocale::CityLarge.code(), 11);
        assert_eq!(NcesLocale::SuburbLarge.code(), 21);
        assert_eq!(NcesLocale::RuralRemote.code(), 43);
        assert_eq!(NcesLocale::TownDistant.locale(), Locale::Town);
        assert_eq!(
            NcesLocale::parse_either("22"),
            Ok(NcesLocale::SuburbMidsize)
        );
        assert_eq!(
            NcesLocale::parse_either("rural-fringe"),
            Ok(NcesLocale::RuralFringe)
        );
        assert!(NcesLocale::parse_either("14").is_err());
        let p = SchoolProfile {
            nces_locale: Some(NcesLocale::CitySmall),
            ..Default::default()
        };
        assert!(p.check_locale(Locale::Urban).is_ok());
        assert!(p.check_locale(Locale::Rural).unwrap_err().contains("urban"));
    }

    #[test]
    fn similarity_follows_the_table() {
        let full = SchoolProfile {
            nces_locale: Some(NcesLocale::SuburbLarge),
            enrolment: Some(EnrolmentBand::From600),
            economically_disadvantaged: Some(ShareBand::To40),
            english_learners: Some(ShareBand::To60),
            students_with_disabilities: Some(ShareBand::To20),
        };
        let a = school("a", Level::Middle, Locale::Suburban, full);
        assert_eq!(similarity(&a, &a), MAX_SIMILARITY);
        let b = school(
            "b",
            Level::K8,
            Locale::Suburban,
            SchoolProfile {
                nces_locale: Some(NcesLocale::SuburbSmall),
                english_learners: Some(ShareBand::To80),
                ..Default::default()
            },
        );
        // overlapping level 1, same coarse locale 2, adjacent English-learner band 1.
        assert_eq!(similarity(&a, &b), 4);
        let c = school("c", Level::High, Locale::Rural, SchoolProfile::default());
        assert_eq!(similarity(&a, &c), 0);
    }

    #[test]
    fn the_reason_names_what_the_schools_share_with_yours() {
        let el = SchoolProfile {
            english_learners: Some(ShareBand::To60),
            ..Default::default()
        };
        let me = school("me", Level::Middle, Locale::Suburban, el);
        let x = school("x", Level::Middle, Locale::Suburban, el);
        let y = school("y", Level::Middle, Locale::Suburban, el);
        assert_eq!(
            reason(&me, &[&x, &y], false),
            "Improved at 2 schools like yours: suburban middle schools, 40–60 % English learners"
        );
        let z = school("z", Level::High, Locale::Rural, SchoolProfile::default());
        assert_eq!(
            reason(&me, &[&x, &z], true),
            "Improved at 2 schools; the closest to yours is a suburban middle school, 40–60 % English learners, and at your school"
        );
        assert_eq!(
            reason(&me, &[&z], false),
            "Improved at 1 school, none much like yours"
        );
    }
}

//! `challenge-areas.toml`, `network.toml` and `adoptions.toml`: parsing and canonical writing.

use serde::Deserialize;

use super::error::ContentError;
use super::locate::Locator;
use super::practice_file::{Problems, RawMeasure, write_measures};
use super::tomlw::TomlWriter;
use crate::domain::limits::{MAX_ADAPTATIONS, MAX_MEASURES, control_character, too_long, too_many};
use crate::domain::{
    AdoptionStatus, EnrolmentBand, Level, Locale, Measure, NcesLocale, Outcome, SchoolProfile,
    ShareBand, Slug, Vocabulary,
};

#[derive(Debug, Clone, PartialEq)]
pub struct AreaDoc {
    pub slug: Slug,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DistrictDoc {
    pub slug: Slug,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SchoolDoc {
    pub slug: Slug,
    pub name: String,
    pub district: Slug,
    pub level: Level,
    pub locale: Locale,
    /// Optional bands for "schools like mine" (`domain::profile`).
    pub profile: SchoolProfile,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamDoc {
    pub slug: Slug,
    pub name: String,
    pub school: Slug,
    pub cycle: String,
    pub challenge_area: Slug,
    pub aim: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionDoc {
    pub practice: Slug,
    pub team: Slug,
    pub status: AdoptionStatus,
    pub started_on: Option<time::Date>,
    /// 1-based positions in the practice's essential-aspects list.
    pub aspects_kept: Vec<u32>,
    pub adaptations: Option<String>,
    pub outcome: Option<Outcome>,
    pub measures: Vec<Measure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreasFile {
    #[serde(default)]
    area: Vec<RawArea>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArea {
    slug: String,
    name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    #[serde(default)]
    district: Vec<RawDistrict>,
    #[serde(default)]
    school: Vec<RawSchool>,
    #[serde(default)]
    team: Vec<RawTeam>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDistrict {
    slug: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchool {
    slug: String,
    name: String,
    district: String,
    level: String,
    locale: String,
    nces_locale: Option<NcesValue>,
    enrolment: Option<String>,
    economically_disadvantaged: Option<String>,
    english_learners: Option<String>,
    students_with_disabilities: Option<String>,
}

/// An NCES locale as its spelling (`"suburb-large"`) or its code (`21` or `"21"`).
#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "an NCES locale, as its name (\"suburb-large\") or its code (21)"
)]
enum NcesValue {
    Code(i64),
    Text(String),
}

/// Reads a school's profile fields (`at` is `school[N]`); a bad value is reported, and left
/// out of the profile.
fn parse_profile(
    p: &mut Problems,
    at: &str,
    s: &RawSchool,
    locale: Option<Locale>,
) -> SchoolProfile {
    let nces_locale = s.nces_locale.as_ref().and_then(|v| {
        let text = match v {
            NcesValue::Code(c) => c.to_string(),
            NcesValue::Text(t) => t.clone(),
        };
        NcesLocale::parse_either(&text)
            .map_err(|e| p.field(&format!("{at}.nces_locale"), e))
            .ok()
    });
    let enrolment = s
        .enrolment
        .as_deref()
        .and_then(|v| p.vocab::<EnrolmentBand>(&format!("{at}.enrolment"), v));
    let mut share = |field: &str, v: &Option<String>| {
        v.as_deref()
            .and_then(|v| p.vocab::<ShareBand>(&format!("{at}.{field}"), v))
    };
    let profile = SchoolProfile {
        nces_locale,
        enrolment,
        economically_disadvantaged: share(
            "economically_disadvantaged",
            &s.economically_disadvantaged,
        ),
        english_learners: share("english_learners", &s.english_learners),
        students_with_disabilities: share(
            "students_with_disabilities",
            &s.students_with_disabilities,
        ),
    };
    if let Some(locale) = locale
        && let Err(e) = profile.check_locale(locale)
    {
        p.field(&format!("{at}.nces_locale"), e);
    }
    profile
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    slug: String,
    name: String,
    school: String,
    cycle: String,
    challenge_area: String,
    aim: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdoptionsFile {
    #[serde(default)]
    adoption: Vec<RawAdoption>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdoption {
    practice: String,
    team: String,
    status: String,
    started_on: Option<toml::value::Datetime>,
    #[serde(default)]
    aspects_kept: Vec<u32>,
    adaptations: Option<String>,
    outcome: Option<String>,
    #[serde(default)]
    measures: Vec<RawMeasure>,
}

/// What a shared file yielded. `rows` is `None` when the file is not TOML of the right shape:
/// nothing in it is known, so what refers to it cannot be checked. Otherwise it holds every
/// row that could be read (a row with a bad field is still there when its slug is good), and
/// `errors` the file's problems.
pub struct Parsed<T> {
    pub rows: Option<T>,
    pub errors: Vec<ContentError>,
}

impl<T> Parsed<T> {
    fn of(rows: T, errors: Vec<ContentError>) -> Parsed<T> {
        Parsed {
            rows: Some(rows),
            errors,
        }
    }

    fn unreadable(p: Problems) -> Parsed<T> {
        Parsed {
            rows: None,
            errors: p.errors,
        }
    }
}

fn problems<'a>(file: &'a str, text: &str) -> Problems<'a> {
    Problems {
        file,
        locator: Locator::new(text, 1),
        errors: Vec::new(),
    }
}

fn deserialize<T: serde::de::DeserializeOwned>(p: &mut Problems, text: &str) -> Option<T> {
    if text.contains('\0') {
        p.errors.push(ContentError::new(
            p.file,
            None,
            None,
            "the file contains a NUL byte",
        ));
        return None;
    }
    toml::from_str(text).map_err(|e| p.toml(text, 1, &e)).ok()
}

fn non_empty(p: &mut Problems, field: &str, value: &str) {
    if value.trim().is_empty() {
        p.field(field, "must not be empty");
    }
}

pub fn parse_areas(file: &str, text: &str) -> Parsed<Vec<AreaDoc>> {
    let mut p = problems(file, text);
    let Some(raw) = deserialize::<AreasFile>(&mut p, text) else {
        return Parsed::unreadable(p);
    };
    let mut out = Vec::new();
    for (i, a) in raw.area.into_iter().enumerate() {
        let at = format!("area[{}]", i + 1);
        non_empty(&mut p, &format!("{at}.name"), &a.name);
        non_empty(&mut p, &format!("{at}.description"), &a.description);
        if let Some(slug) = p.slug(&format!("{at}.slug"), &a.slug) {
            out.push(AreaDoc {
                slug,
                name: a.name,
                description: a.description,
            });
        }
    }
    Parsed::of(out, p.errors)
}

pub struct Network {
    pub districts: Vec<DistrictDoc>,
    pub schools: Vec<SchoolDoc>,
    pub teams: Vec<TeamDoc>,
    /// Every school and team whose slug is good, even when another field of its row is
    /// not: references to them are not reported as unknown.
    pub school_slugs: Vec<Slug>,
    pub team_slugs: Vec<Slug>,
}

pub fn parse_network(file: &str, text: &str) -> Parsed<Network> {
    let mut p = problems(file, text);
    let Some(raw) = deserialize::<NetworkFile>(&mut p, text) else {
        return Parsed::unreadable(p);
    };
    let mut net = Network {
        districts: vec![],
        schools: vec![],
        teams: vec![],
        school_slugs: vec![],
        team_slugs: vec![],
    };
    for (i, d) in raw.district.into_iter().enumerate() {
        let at = format!("district[{}]", i + 1);
        non_empty(&mut p, &format!("{at}.name"), &d.name);
        if let Some(slug) = p.slug(&format!("{at}.slug"), &d.slug) {
            net.districts.push(DistrictDoc { slug, name: d.name });
        }
    }
    for (i, s) in raw.school.into_iter().enumerate() {
        let at = format!("school[{}]", i + 1);
        non_empty(&mut p, &format!("{at}.name"), &s.name);
        let slug = p.slug(&format!("{at}.slug"), &s.slug);
        let district = p.slug(&format!("{at}.district"), &s.district);
        let level = p.vocab::<Level>(&format!("{at}.level"), &s.level);
        let locale = p.vocab::<Locale>(&format!("{at}.locale"), &s.locale);
        let profile = parse_profile(&mut p, &at, &s, locale);
        net.school_slugs.extend(slug.clone());
        if let (Some(slug), Some(district), Some(level), Some(locale)) =
            (slug, district, level, locale)
        {
            net.schools.push(SchoolDoc {
                slug,
                name: s.name,
                district,
                level,
                locale,
                profile,
            });
        }
    }
    for (i, t) in raw.team.into_iter().enumerate() {
        let at = format!("team[{}]", i + 1);
        non_empty(&mut p, &format!("{at}.name"), &t.name);
        non_empty(&mut p, &format!("{at}.cycle"), &t.cycle);
        non_empty(&mut p, &format!("{at}.aim"), &t.aim);
        let slug = p.slug(&format!("{at}.slug"), &t.slug);
        let school = p.slug(&format!("{at}.school"), &t.school);
        let area = p.slug(&format!("{at}.challenge_area"), &t.challenge_area);
        net.team_slugs.extend(slug.clone());
        if let (Some(slug), Some(school), Some(challenge_area)) = (slug, school, area) {
            net.teams.push(TeamDoc {
                slug,
                name: t.name,
                school,
                cycle: t.cycle,
                challenge_area,
                aim: t.aim,
            });
        }
    }
    Parsed::of(net, p.errors)
}

/// Parses `adoptions.toml`; cross-file rules (the practice exists, aspects are in range) are
/// checked by the catalog, which knows the practices. Returns the locator for those errors.
pub fn parse_adoptions(
    file: &str,
    text: &str,
    min_cell: crate::domain::CellSize,
) -> Parsed<(Vec<AdoptionDoc>, Locator)> {
    let mut p = problems(file, text);
    let Some(raw) = deserialize::<AdoptionsFile>(&mut p, text) else {
        return Parsed::unreadable(p);
    };
    let mut out = Vec::new();
    for (i, a) in raw.adoption.into_iter().enumerate() {
        let at = format!("adoption[{}]", i + 1);
        let practice = p.slug(&format!("{at}.practice"), &a.practice);
        let team = p.slug(&format!("{at}.team"), &a.team);
        let status = p.vocab::<AdoptionStatus>(&format!("{at}.status"), &a.status);
        let started_on = p.date(&format!("{at}.started_on"), a.started_on);
        let outcome = a
            .outcome
            .as_deref()
            .and_then(|o| p.vocab::<Outcome>(&format!("{at}.outcome"), o));
        if let Some(text) = &a.adaptations {
            // The same limits as the adoption form, so an imported adoption can be edited.
            let problem = too_long(text, MAX_ADAPTATIONS).or_else(|| control_character(text));
            if let Some(message) = problem {
                p.field(&format!("{at}.adaptations"), message);
            }
        }
        if let Some(message) = too_many(a.measures.len(), MAX_MEASURES, "measures") {
            p.field(&format!("{at}.measures"), message);
        }
        let measures = p.measures(&format!("{at}.measures"), a.measures);
        for (j, m) in measures.iter().enumerate() {
            for (field, msg) in m.problems(min_cell) {
                p.field(&format!("{at}.measures[{}].{field}", j + 1), msg);
            }
        }
        // An outcome given but misspelled is reported once, above.
        if let Some(status) = status
            && a.outcome.is_none()
            && !matches!(status, AdoptionStatus::Exploring | AdoptionStatus::Testing)
        {
            p.field(
                &format!("{at}.outcome"),
                format!(
                    "is required when status = \"{status}\"; use one of {}",
                    Outcome::ALL
                        .iter()
                        .map(|o| format!("\"{o}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let mut kept = a.aspects_kept.clone();
        kept.sort_unstable();
        kept.dedup();
        if kept != a.aspects_kept {
            p.field(
                &format!("{at}.aspects_kept"),
                "list each position once, in increasing order",
            );
        }
        if let (Some(practice), Some(team), Some(status)) = (practice, team, status) {
            out.push(AdoptionDoc {
                practice,
                team,
                status,
                started_on,
                aspects_kept: a.aspects_kept,
                adaptations: a.adaptations,
                outcome,
                measures,
            });
        }
    }
    Parsed::of((out, p.locator), p.errors)
}

pub fn write_areas(areas: &[AreaDoc]) -> String {
    let mut w = TomlWriter::default();
    for a in areas {
        w.table("area");
        w.str("slug", a.slug.as_str());
        w.str("name", &a.name);
        w.str("description", &a.description);
    }
    w.out
}

pub fn write_network(
    districts: &[DistrictDoc],
    schools: &[SchoolDoc],
    teams: &[TeamDoc],
) -> String {
    let mut w = TomlWriter::default();
    for d in districts {
        w.table("district");
        w.str("slug", d.slug.as_str());
        w.str("name", &d.name);
    }
    for s in schools {
        w.table("school");
        w.str("slug", s.slug.as_str());
        w.str("name", &s.name);
        w.str("district", s.district.as_str());
        w.str("level", s.level.as_str());
        w.str("locale", s.locale.as_str());
        for (field, value) in s.profile.parts() {
            w.str(field, value);
        }
    }
    for t in teams {
        w.table("team");
        w.str("slug", t.slug.as_str());
        w.str("name", &t.name);
        w.str("school", t.school.as_str());
        w.str("cycle", &t.cycle);
        w.str("challenge_area", t.challenge_area.as_str());
        w.str("aim", &t.aim);
    }
    w.out
}

pub fn write_adoptions(adoptions: &[AdoptionDoc]) -> String {
    let mut w = TomlWriter::default();
    for a in adoptions {
        w.table("adoption");
        w.str("practice", a.practice.as_str());
        w.str("team", a.team.as_str());
        w.str("status", a.status.as_str());
        w.date("started_on", a.started_on);
        w.raw(
            "aspects_kept",
            format!(
                "[{}]",
                a.aspects_kept
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        w.opt_str("adaptations", a.adaptations.as_deref());
        w.opt_str("outcome", a.outcome.map(|o| o.as_str()));
        write_measures(&mut w, "adoption.measures", &a.measures);
    }
    w.out
}

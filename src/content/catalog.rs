//! A whole catalog directory: every file parsed, every cross-file reference checked.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use super::error::ContentError;
use super::files::{self, AdoptionDoc, AreaDoc, DistrictDoc, SchoolDoc, TeamDoc};
use super::practice_file::{parse_practice, write_practice};
use crate::domain::{CellSize, PracticeDoc, Slug};

pub const AREAS_FILE: &str = "challenge-areas.toml";
pub const NETWORK_FILE: &str = "network.toml";
pub const ADOPTIONS_FILE: &str = "adoptions.toml";
pub const PRACTICES_DIR: &str = "practices";

/// Everything a catalog directory holds, validated. Practices are sorted by slug.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub areas: Vec<AreaDoc>,
    pub districts: Vec<DistrictDoc>,
    pub schools: Vec<SchoolDoc>,
    pub teams: Vec<TeamDoc>,
    pub practices: Vec<PracticeDoc>,
    pub adoptions: Vec<AdoptionDoc>,
}

/// Reads and validates a catalog directory. Any error anywhere means no catalog: the caller
/// imports all of it or nothing.
pub fn load_dir(dir: &Path, min_cell: CellSize) -> Result<Catalog, Vec<ContentError>> {
    let mut errors = Vec::new();
    let mut catalog = Catalog::default();
    let name = |f: &str| dir.join(f).display().to_string();

    let read = |file: &str, errors: &mut Vec<ContentError>| -> Option<String> {
        let path = dir.join(file);
        match fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(e) => {
                    let line = super::locate::line_of(
                        &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
                        usize::MAX,
                    );
                    errors.push(ContentError::new(
                        &path.display().to_string(),
                        Some(line),
                        None,
                        "the file is not valid UTF-8; save it as UTF-8 text",
                    ));
                    None
                }
            },
            Err(e) => {
                errors.push(ContentError::new(
                    &path.display().to_string(),
                    None,
                    None,
                    format!("cannot be read: {e}"),
                ));
                None
            }
        }
    };

    if !dir.is_dir() {
        return Err(vec![ContentError::new(
            &dir.display().to_string(),
            None,
            None,
            "is not a directory; a catalog directory holds challenge-areas.toml, network.toml and practices/",
        )]);
    }
    if let Some(text) = read(AREAS_FILE, &mut errors) {
        match files::parse_areas(&name(AREAS_FILE), &text) {
            Ok(areas) => catalog.areas = areas,
            Err(e) => errors.extend(e),
        }
    }
    if let Some(text) = read(NETWORK_FILE, &mut errors) {
        match files::parse_network(&name(NETWORK_FILE), &text) {
            Ok(net) => {
                catalog.districts = net.districts;
                catalog.schools = net.schools;
                catalog.teams = net.teams;
            }
            Err(e) => errors.extend(e),
        }
    }
    let practice_dir = dir.join(PRACTICES_DIR);
    let mut entries: Vec<_> = match fs::read_dir(&practice_dir) {
        Ok(rd) => rd.filter_map(Result::ok).map(|e| e.path()).collect(),
        Err(e) => {
            errors.push(ContentError::new(
                &practice_dir.display().to_string(),
                None,
                None,
                format!("cannot be read: {e}"),
            ));
            Vec::new()
        }
    };
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let rel = format!(
            "{PRACTICES_DIR}/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let Some(text) = read(&rel, &mut errors) else {
            continue;
        };
        let slug = path.file_stem().unwrap_or_default().to_string_lossy();
        match parse_practice(&name(&rel), &slug, &text, min_cell) {
            Ok(doc) => catalog.practices.push(doc),
            Err(e) => errors.extend(e),
        }
    }
    let mut adoption_lines = None;
    if dir.join(ADOPTIONS_FILE).exists()
        && let Some(text) = read(ADOPTIONS_FILE, &mut errors)
    {
        match files::parse_adoptions(&name(ADOPTIONS_FILE), &text, min_cell) {
            Ok((adoptions, locator)) => {
                catalog.adoptions = adoptions;
                adoption_lines = Some(locator);
            }
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        check_references(&catalog, dir, adoption_lines.as_ref(), &mut errors);
    }
    if errors.is_empty() {
        Ok(catalog)
    } else {
        Err(errors)
    }
}

/// Cross-file rules: unique slugs, and every reference names something that exists.
fn check_references(
    c: &Catalog,
    dir: &Path,
    adoption_lines: Option<&super::locate::Locator>,
    errors: &mut Vec<ContentError>,
) {
    let name = |f: &str| dir.join(f).display().to_string();
    let mut err = |file: String, field: String, message: String| {
        errors.push(ContentError::new(&file, None, Some(&field), message));
    };
    let unique = |slugs: Vec<&Slug>,
                  file: &str,
                  table: &str,
                  err: &mut dyn FnMut(String, String, String)| {
        let mut seen = HashSet::new();
        for (i, s) in slugs.into_iter().enumerate() {
            if !seen.insert(s) {
                err(
                    name(file),
                    format!("{table}[{}].slug", i + 1),
                    format!("\"{s}\" is used twice; slugs must be unique"),
                );
            }
        }
    };
    unique(
        c.areas.iter().map(|a| &a.slug).collect(),
        AREAS_FILE,
        "area",
        &mut err,
    );
    unique(
        c.districts.iter().map(|a| &a.slug).collect(),
        NETWORK_FILE,
        "district",
        &mut err,
    );
    unique(
        c.schools.iter().map(|a| &a.slug).collect(),
        NETWORK_FILE,
        "school",
        &mut err,
    );
    unique(
        c.teams.iter().map(|a| &a.slug).collect(),
        NETWORK_FILE,
        "team",
        &mut err,
    );

    let areas: HashSet<&Slug> = c.areas.iter().map(|a| &a.slug).collect();
    let districts: HashSet<&Slug> = c.districts.iter().map(|d| &d.slug).collect();
    let schools: HashSet<&Slug> = c.schools.iter().map(|s| &s.slug).collect();
    let teams: HashSet<&Slug> = c.teams.iter().map(|t| &t.slug).collect();
    let listed = |set: &HashSet<&Slug>, what: &str| -> String {
        let mut v: Vec<String> = set.iter().map(|s| format!("\"{s}\"")).collect();
        v.sort();
        if v.is_empty() {
            format!("no {what} is defined yet")
        } else {
            format!("valid: {}", v.join(", "))
        }
    };
    for (i, s) in c.schools.iter().enumerate() {
        if !districts.contains(&s.district) {
            err(
                name(NETWORK_FILE),
                format!("school[{}].district", i + 1),
                format!(
                    "\"{}\" is not a district in network.toml ({})",
                    s.district,
                    listed(&districts, "district")
                ),
            );
        }
    }
    for (i, t) in c.teams.iter().enumerate() {
        if !schools.contains(&t.school) {
            err(
                name(NETWORK_FILE),
                format!("team[{}].school", i + 1),
                format!(
                    "\"{}\" is not a school in network.toml ({})",
                    t.school,
                    listed(&schools, "school")
                ),
            );
        }
        if !areas.contains(&t.challenge_area) {
            err(
                name(NETWORK_FILE),
                format!("team[{}].challenge_area", i + 1),
                format!(
                    "\"{}\" is not in challenge-areas.toml ({})",
                    t.challenge_area,
                    listed(&areas, "challenge area")
                ),
            );
        }
    }
    let practices: HashMap<&Slug, &PracticeDoc> =
        c.practices.iter().map(|p| (&p.slug, p)).collect();
    for p in &c.practices {
        let file = name(&format!("{PRACTICES_DIR}/{}.md", p.slug));
        if !teams.contains(&p.team) {
            err(
                file.clone(),
                "team".into(),
                format!(
                    "\"{}\" is not a team in network.toml ({})",
                    p.team,
                    listed(&teams, "team")
                ),
            );
        }
        for a in &p.challenge_areas {
            if !areas.contains(a) {
                err(
                    file.clone(),
                    "challenge_areas".into(),
                    format!(
                        "\"{a}\" is not in challenge-areas.toml ({})",
                        listed(&areas, "challenge area")
                    ),
                );
            }
        }
    }
    let team_of: HashMap<&Slug, &Slug> = c.practices.iter().map(|p| (&p.slug, &p.team)).collect();
    let mut pairs = HashSet::new();
    for (i, a) in c.adoptions.iter().enumerate() {
        let at = format!("adoption[{}]", i + 1);
        let file = name(ADOPTIONS_FILE);
        let Some(practice) = practices.get(&a.practice) else {
            err(
                file,
                format!("{at}.practice"),
                format!("\"{}\" is not a practice in practices/", a.practice),
            );
            continue;
        };
        if !teams.contains(&a.team) {
            err(
                file.clone(),
                format!("{at}.team"),
                format!("\"{}\" is not a team in network.toml", a.team),
            );
        }
        if team_of.get(&a.practice) == Some(&&a.team) {
            err(
                file.clone(),
                format!("{at}.team"),
                "a team does not adopt its own practice".into(),
            );
        }
        if !pairs.insert((&a.practice, &a.team)) {
            err(
                file.clone(),
                format!("{at}.team"),
                format!(
                    "\"{}\" already adopts \"{}\"; one adoption per team and practice",
                    a.team, a.practice
                ),
            );
        }
        let total = practice.essential_aspects().len() as u32;
        for pos in &a.aspects_kept {
            if *pos == 0 || *pos > total {
                err(
                    file.clone(),
                    format!("{at}.aspects_kept"),
                    format!(
                        "{pos} is not an aspect of \"{}\", which has {total} essential aspects (1 to {total})",
                        a.practice
                    ),
                );
            }
        }
    }
    // Place reference errors on their lines where we can.
    for e in errors.iter_mut() {
        if e.line.is_none()
            && let Some(field) = &e.field
        {
            e.line = if e.file.ends_with(ADOPTIONS_FILE) {
                adoption_lines.and_then(|l| l.line(field))
            } else {
                fs::read_to_string(&e.file).ok().and_then(|text| {
                    let front = text.strip_prefix("+++\n").map_or(text.as_str(), |t| t);
                    let first = if front.len() < text.len() { 2 } else { 1 };
                    super::locate::Locator::new(front, first).line(field)
                })
            };
        }
    }
}

/// Writes a catalog in the canonical layout. Practice files no longer in the catalog are
/// removed, so that exporting over a checkout mirrors the database.
pub fn write_dir(dir: &Path, c: &Catalog) -> std::io::Result<()> {
    let practices = dir.join(PRACTICES_DIR);
    write_shared_files(dir, c)?;
    let keep: HashSet<String> = c
        .practices
        .iter()
        .map(|p| format!("{}.md", p.slug))
        .collect();
    for entry in fs::read_dir(&practices)? {
        let path = entry?.path();
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        if file.ends_with(".md") && !keep.contains(&file) {
            fs::remove_file(&path)?;
        }
    }
    for p in &c.practices {
        write_practice_file(dir, p)?;
    }
    Ok(())
}

/// Writes one practice's file into a catalog directory.
pub fn write_practice_file(dir: &Path, p: &crate::domain::PracticeDoc) -> std::io::Result<()> {
    fs::write(
        dir.join(PRACTICES_DIR).join(format!("{}.md", p.slug)),
        write_practice(p),
    )
}

/// Writes everything of a catalog but its practices: areas, network, adoptions (and creates
/// the practices folder).
pub fn write_shared_files(dir: &Path, c: &Catalog) -> std::io::Result<()> {
    fs::create_dir_all(dir.join(PRACTICES_DIR))?;
    fs::write(dir.join(AREAS_FILE), files::write_areas(&c.areas))?;
    fs::write(
        dir.join(NETWORK_FILE),
        files::write_network(&c.districts, &c.schools, &c.teams),
    )?;
    let adoptions = dir.join(ADOPTIONS_FILE);
    if c.adoptions.is_empty() {
        if adoptions.exists() {
            fs::remove_file(adoptions)?;
        }
    } else {
        fs::write(adoptions, files::write_adoptions(&c.adoptions))?;
    }
    Ok(())
}

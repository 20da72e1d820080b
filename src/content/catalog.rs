//! A whole catalog directory: every file parsed, every cross-file reference checked.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

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
    let mut reader = CatalogReader::open(dir, min_cell)?;
    let practices: Vec<PracticeDoc> = reader.by_ref().collect();
    let mut catalog = reader.finish()?;
    catalog.practices = practices;
    Ok(catalog)
}

/// What the cross-file rules need of a practice once the practice itself is gone.
struct PracticeRef {
    slug: Slug,
    team: Slug,
    areas: Vec<Slug>,
    aspects: u32,
}

/// Reads a catalog directory one practice at a time, so that a catalog of any size is checked
/// or imported in little memory: the small shared files (areas, network, adoptions) are read
/// when it opens, each practice file when it is asked for (an iterator of the practices that
/// pass their own file's rules), and `finish` applies the cross-file rules.
pub struct CatalogReader {
    dir: PathBuf,
    min_cell: CellSize,
    /// Areas, network and adoptions; no practices.
    shared: Catalog,
    adoption_lines: Option<super::locate::Locator>,
    files: std::vec::IntoIter<PathBuf>,
    count: usize,
    refs: Vec<PracticeRef>,
    /// What practices may name; `None` when the shared files are broken (nothing to check
    /// against).
    known: Option<Known>,
    errors: Vec<ContentError>,
    /// Reported after the practices' errors, in the order a reader of the files meets them.
    adoption_errors: Vec<ContentError>,
}

impl CatalogReader {
    /// Reads the shared files and lists the practice files. Fails only when `dir` is not a
    /// directory: every other problem is collected and returned by `finish`.
    pub fn open(dir: &Path, min_cell: CellSize) -> Result<CatalogReader, Vec<ContentError>> {
        if !dir.is_dir() {
            return Err(vec![ContentError::new(
                &dir.display().to_string(),
                None,
                None,
                "is not a directory; a catalog directory holds challenge-areas.toml, network.toml and practices/",
            )]);
        }
        let mut errors = Vec::new();
        let mut shared = Catalog::default();
        let name = |f: &str| dir.join(f).display().to_string();
        if let Some(text) = read(dir, AREAS_FILE, &mut errors) {
            match files::parse_areas(&name(AREAS_FILE), &text) {
                Ok(areas) => shared.areas = areas,
                Err(e) => errors.extend(e),
            }
        }
        if let Some(text) = read(dir, NETWORK_FILE, &mut errors) {
            match files::parse_network(&name(NETWORK_FILE), &text) {
                Ok(net) => {
                    shared.districts = net.districts;
                    shared.schools = net.schools;
                    shared.teams = net.teams;
                }
                Err(e) => errors.extend(e),
            }
        }
        let practice_dir = dir.join(PRACTICES_DIR);
        let mut files: Vec<PathBuf> = match fs::read_dir(&practice_dir) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("md"))
                .collect(),
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
        files.sort();
        // The network's own references are checked now: an importer writes it first.
        let known = errors.is_empty().then(|| {
            check_network(&shared, dir, &mut errors);
            place_lines(&mut errors, None);
            Known::of(&shared)
        });
        let mut adoption_errors = Vec::new();
        let mut adoption_lines = None;
        if dir.join(ADOPTIONS_FILE).exists()
            && let Some(text) = read(dir, ADOPTIONS_FILE, &mut adoption_errors)
        {
            match files::parse_adoptions(&name(ADOPTIONS_FILE), &text, min_cell) {
                Ok((adoptions, locator)) => {
                    shared.adoptions = adoptions;
                    adoption_lines = Some(locator);
                }
                Err(e) => adoption_errors.extend(e),
            }
        }
        Ok(CatalogReader {
            dir: dir.to_path_buf(),
            min_cell,
            shared,
            adoption_lines,
            count: files.len(),
            files: files.into_iter(),
            refs: Vec::new(),
            known,
            errors,
            adoption_errors,
        })
    }

    /// Areas, network and adoptions (as read; valid only if `finish` says so).
    pub fn shared(&self) -> &Catalog {
        &self.shared
    }

    /// How many practice files the catalog has.
    pub fn practice_files(&self) -> usize {
        self.count
    }

    /// Whether a problem was found so far (an importer stops writing).
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || !self.adoption_errors.is_empty()
    }

    /// Reads the files left, then applies the cross-file rules: the shared files if every
    /// rule held, every problem otherwise.
    pub fn finish(mut self) -> Result<Catalog, Vec<ContentError>> {
        for _ in self.by_ref() {}
        let mut errors = self.errors;
        errors.append(&mut self.adoption_errors);
        if errors.is_empty()
            && let Some(known) = &self.known
        {
            check_adoptions(&self.shared, known, &self.refs, &self.dir, &mut errors);
            place_lines(&mut errors, self.adoption_lines.as_ref());
        }
        if errors.is_empty() {
            Ok(self.shared)
        } else {
            Err(errors)
        }
    }
}

impl Iterator for CatalogReader {
    type Item = PracticeDoc;

    fn next(&mut self) -> Option<PracticeDoc> {
        for path in self.files.by_ref() {
            let rel = format!(
                "{PRACTICES_DIR}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let Some(text) = read(&self.dir, &rel, &mut self.errors) else {
                continue;
            };
            let slug = path.file_stem().unwrap_or_default().to_string_lossy();
            let file = self.dir.join(&rel).display().to_string();
            match parse_practice(&file, &slug, &text, self.min_cell) {
                Ok(doc) => {
                    let r = PracticeRef {
                        slug: doc.slug.clone(),
                        team: doc.team.clone(),
                        areas: doc.challenge_areas.clone(),
                        aspects: doc.essential_aspects().len() as u32,
                    };
                    if let Some(network) = &self.known {
                        let before = self.errors.len();
                        network.check_practice(&r, &file, &mut self.errors);
                        if self.errors.len() > before {
                            place_lines(&mut self.errors[before..], None);
                            continue;
                        }
                    }
                    self.refs.push(r);
                    return Some(doc);
                }
                Err(e) => self.errors.extend(e),
            }
        }
        None
    }
}

/// A file of the catalog as text; a problem is recorded and gives `None`.
fn read(dir: &Path, file: &str, errors: &mut Vec<ContentError>) -> Option<String> {
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
}

/// "valid: "a", "b"" — the values a reference may take, for an error message.
fn listed<'a>(set: impl Iterator<Item = &'a Slug>, what: &str) -> String {
    let mut v: Vec<String> = set.map(|s| format!("\"{s}\"")).collect();
    v.sort();
    if v.is_empty() {
        format!("no {what} is defined yet")
    } else {
        format!("valid: {}", v.join(", "))
    }
}

fn reference_error(file: String, field: String, message: String) -> ContentError {
    ContentError::new(&file, None, Some(&field), message)
}

/// Cross-file rules of the shared files: unique slugs, and every school, team and area a
/// network row names exists.
fn check_network(c: &Catalog, dir: &Path, errors: &mut Vec<ContentError>) {
    let name = |f: &str| dir.join(f).display().to_string();
    let mut unique = |slugs: Vec<&Slug>, file: &str, table: &str| {
        let mut seen = HashSet::new();
        for (i, s) in slugs.into_iter().enumerate() {
            if !seen.insert(s) {
                errors.push(reference_error(
                    name(file),
                    format!("{table}[{}].slug", i + 1),
                    format!("\"{s}\" is used twice; slugs must be unique"),
                ));
            }
        }
    };
    unique(
        c.areas.iter().map(|a| &a.slug).collect(),
        AREAS_FILE,
        "area",
    );
    unique(
        c.districts.iter().map(|a| &a.slug).collect(),
        NETWORK_FILE,
        "district",
    );
    unique(
        c.schools.iter().map(|a| &a.slug).collect(),
        NETWORK_FILE,
        "school",
    );
    unique(
        c.teams.iter().map(|a| &a.slug).collect(),
        NETWORK_FILE,
        "team",
    );

    let areas: HashSet<&Slug> = c.areas.iter().map(|a| &a.slug).collect();
    let districts: HashSet<&Slug> = c.districts.iter().map(|d| &d.slug).collect();
    let schools: HashSet<&Slug> = c.schools.iter().map(|s| &s.slug).collect();
    for (i, s) in c.schools.iter().enumerate() {
        if !districts.contains(&s.district) {
            errors.push(reference_error(
                name(NETWORK_FILE),
                format!("school[{}].district", i + 1),
                format!(
                    "\"{}\" is not a district in network.toml ({})",
                    s.district,
                    listed(districts.iter().copied(), "district")
                ),
            ));
        }
    }
    for (i, t) in c.teams.iter().enumerate() {
        if !schools.contains(&t.school) {
            errors.push(reference_error(
                name(NETWORK_FILE),
                format!("team[{}].school", i + 1),
                format!(
                    "\"{}\" is not a school in network.toml ({})",
                    t.school,
                    listed(schools.iter().copied(), "school")
                ),
            ));
        }
        if !areas.contains(&t.challenge_area) {
            errors.push(reference_error(
                name(NETWORK_FILE),
                format!("team[{}].challenge_area", i + 1),
                format!(
                    "\"{}\" is not in challenge-areas.toml ({})",
                    t.challenge_area,
                    listed(areas.iter().copied(), "challenge area")
                ),
            ));
        }
    }
}

/// The slugs a practice file may name, looked up once per catalog.
struct Known {
    areas: HashSet<Slug>,
    teams: HashSet<Slug>,
}

impl Known {
    fn of(c: &Catalog) -> Known {
        Known {
            areas: c.areas.iter().map(|a| a.slug.clone()).collect(),
            teams: c.teams.iter().map(|t| t.slug.clone()).collect(),
        }
    }

    /// A practice names a team and challenge areas that exist.
    fn check_practice(&self, p: &PracticeRef, file: &str, errors: &mut Vec<ContentError>) {
        if !self.teams.contains(&p.team) {
            errors.push(reference_error(
                file.to_string(),
                "team".into(),
                format!(
                    "\"{}\" is not a team in network.toml ({})",
                    p.team,
                    listed(self.teams.iter(), "team")
                ),
            ));
        }
        for a in &p.areas {
            if !self.areas.contains(a) {
                errors.push(reference_error(
                    file.to_string(),
                    "challenge_areas".into(),
                    format!(
                        "\"{a}\" is not in challenge-areas.toml ({})",
                        listed(self.areas.iter(), "challenge area")
                    ),
                ));
            }
        }
    }
}

/// Every adoption names a practice and a team that exist, another team than the practice's,
/// once, and aspects the practice has.
fn check_adoptions(
    c: &Catalog,
    known: &Known,
    practices: &[PracticeRef],
    dir: &Path,
    errors: &mut Vec<ContentError>,
) {
    let file = dir.join(ADOPTIONS_FILE).display().to_string();
    let mut err = |field: String, message: String| {
        errors.push(reference_error(file.clone(), field, message));
    };
    let practices: HashMap<&Slug, &PracticeRef> = practices.iter().map(|p| (&p.slug, p)).collect();
    let mut pairs = HashSet::new();
    for (i, a) in c.adoptions.iter().enumerate() {
        let at = format!("adoption[{}]", i + 1);
        let Some(practice) = practices.get(&a.practice) else {
            err(
                format!("{at}.practice"),
                format!("\"{}\" is not a practice in practices/", a.practice),
            );
            continue;
        };
        if !known.teams.contains(&a.team) {
            err(
                format!("{at}.team"),
                format!("\"{}\" is not a team in network.toml", a.team),
            );
        }
        if practice.team == a.team {
            err(
                format!("{at}.team"),
                "a team does not adopt its own practice".into(),
            );
        }
        if !pairs.insert((&a.practice, &a.team)) {
            err(
                format!("{at}.team"),
                format!(
                    "\"{}\" already adopts \"{}\"; one adoption per team and practice",
                    a.team, a.practice
                ),
            );
        }
        let total = practice.aspects;
        for pos in &a.aspects_kept {
            if *pos == 0 || *pos > total {
                err(
                    format!("{at}.aspects_kept"),
                    format!(
                        "{pos} is not an aspect of \"{}\", which has {total} essential aspects (1 to {total})",
                        a.practice
                    ),
                );
            }
        }
    }
}

/// Places reference errors on their lines where we can.
fn place_lines(errors: &mut [ContentError], adoption_lines: Option<&super::locate::Locator>) {
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

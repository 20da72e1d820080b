//! A whole catalog directory: every file parsed, every cross-file reference checked.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::error::ContentError;
use super::files::{self, AdoptionDoc, AreaDoc, DistrictDoc, SchoolDoc, TeamDoc};
use super::practice_file::{parse_practice, write_practice};
use super::questions::{self, QuestionDoc};
use crate::domain::{CellSize, PracticeDoc, Slug};

pub const AREAS_FILE: &str = "challenge-areas.toml";
pub const NETWORK_FILE: &str = "network.toml";
pub const ADOPTIONS_FILE: &str = "adoptions.toml";
pub const QUESTIONS_FILE: &str = "questions.toml";
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
    /// Questions to practices' teams, with their answers (`questions.toml`).
    pub questions: Vec<QuestionDoc>,
    /// Images and handouts uploaded for practices (`files/`).
    pub files: Vec<super::uploads::FileDoc>,
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

/// What adoptions are checked against: the practices read, and what is known of the others.
#[derive(Default)]
struct Practices {
    read: Vec<PracticeRef>,
    /// Practice files that exist but could not be read or parsed: their own problems are
    /// reported, and an adoption naming them is not also told they do not exist.
    broken: HashSet<Slug>,
    /// By the part of its name before the first dot, why an entry of `practices/` was not
    /// read (`x.MD`, `x.txt`): an adoption naming `x` says so.
    unread: HashMap<String, String>,
}

/// Reads a catalog directory one practice at a time, so that a catalog of any size is checked
/// or imported in little memory: the small shared files (areas, network, adoptions) are read
/// when it opens, each practice file when it is asked for (an iterator of the practices that
/// pass their own file's rules), and `finish` applies the cross-file rules.
///
/// Every file is checked whatever is wrong with the others, so that one run reports every
/// problem; only a reference into a file that could not be read at all is left unchecked
/// (it would be a second report of that file's problem).
pub struct CatalogReader {
    dir: PathBuf,
    min_cell: CellSize,
    /// Areas, network and adoptions (whatever of them could be read); no practices.
    shared: Catalog,
    adoption_lines: Option<super::locate::Locator>,
    files: std::vec::IntoIter<PathBuf>,
    count: usize,
    practices: Practices,
    /// What practices may name.
    known: Known,
    errors: Vec<ContentError>,
    /// Reported after the practices' errors, in the order a reader of the files meets them.
    adoption_errors: Vec<ContentError>,
    question_lines: Option<super::locate::Locator>,
    /// Reported last, as `questions.toml` names practices, teams and nothing else names it.
    question_errors: Vec<ContentError>,
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
        let mut known = Known::default();
        let name = |f: &str| dir.join(f).display().to_string();
        if let Some(text) = read(dir, AREAS_FILE, &mut errors) {
            let parsed = files::parse_areas(&name(AREAS_FILE), &text);
            errors.extend(parsed.errors);
            if let Some(areas) = parsed.rows {
                known.areas = Some(areas.iter().map(|a| a.slug.clone()).collect());
                shared.areas = areas;
            }
        }
        if let Some(text) = read(dir, NETWORK_FILE, &mut errors) {
            let parsed = files::parse_network(&name(NETWORK_FILE), &text);
            errors.extend(parsed.errors);
            if let Some(net) = parsed.rows {
                known.schools = Some(net.school_slugs.into_iter().collect());
                known.teams = Some(net.team_slugs.into_iter().collect());
                shared.districts = net.districts;
                shared.schools = net.schools;
                shared.teams = net.teams;
            }
        }
        // The network's own references are checked now: an importer writes it first.
        let before = errors.len();
        check_network(&shared, &known, dir, &mut errors);
        place_lines(&mut errors[before..], None);
        let (files, unread) = list_practices(dir, &mut errors);
        shared.files = super::uploads::read_files(dir, &mut errors);
        let mut adoption_errors = Vec::new();
        let mut adoption_lines = None;
        if dir.join(ADOPTIONS_FILE).exists()
            && let Some(text) = read(dir, ADOPTIONS_FILE, &mut adoption_errors)
        {
            let parsed = files::parse_adoptions(&name(ADOPTIONS_FILE), &text, min_cell);
            adoption_errors.extend(parsed.errors);
            if let Some((adoptions, locator)) = parsed.rows {
                shared.adoptions = adoptions;
                adoption_lines = Some(locator);
            }
        }
        let mut question_errors = Vec::new();
        let mut question_lines = None;
        if dir.join(QUESTIONS_FILE).exists()
            && let Some(text) = read(dir, QUESTIONS_FILE, &mut question_errors)
        {
            let parsed = questions::parse_questions(&name(QUESTIONS_FILE), &text);
            question_errors.extend(parsed.errors);
            if let Some((qs, locator)) = parsed.rows {
                shared.questions = qs;
                question_lines = Some(locator);
            }
        }
        Ok(CatalogReader {
            dir: dir.to_path_buf(),
            min_cell,
            shared,
            adoption_lines,
            count: files.len(),
            files: files.into_iter(),
            practices: Practices {
                unread,
                ..Practices::default()
            },
            known,
            errors,
            adoption_errors,
            question_lines,
            question_errors,
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
        !self.errors.is_empty()
            || !self.adoption_errors.is_empty()
            || !self.question_errors.is_empty()
    }

    /// Reads the files left, then applies the cross-file rules: the shared files if every
    /// rule held, every problem otherwise.
    pub fn finish(mut self) -> Result<Catalog, Vec<ContentError>> {
        for _ in self.by_ref() {}
        let mut errors = self.errors;
        let before = self.adoption_errors.len();
        check_adoptions(
            &self.shared,
            &self.known,
            &self.practices,
            &self.dir,
            &mut self.adoption_errors,
        );
        place_lines(
            &mut self.adoption_errors[before..],
            self.adoption_lines.as_ref(),
        );
        errors.append(&mut self.adoption_errors);
        check_questions(
            &self.shared,
            &self.known,
            &self.practices,
            &self.dir,
            self.question_lines.as_ref(),
            &mut self.question_errors,
        );
        errors.append(&mut self.question_errors);
        // A practice's files need the practice (one whose file is broken reports that).
        for f in &self.shared.files {
            let known = self.practices.read.iter().any(|p| p.slug == f.practice)
                || self.practices.broken.contains(&f.practice);
            if !known {
                errors.push(ContentError::new(
                    &f.path(),
                    None,
                    None,
                    format!(
                        "there is no practice {}: a practice's files go in files/<its slug>/",
                        f.practice
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(self.shared)
        } else {
            Err(errors)
        }
    }

    /// Remembers a practice file that exists but could not be read.
    fn broken(&mut self, slug: &str) {
        if let Ok(slug) = Slug::parse(slug) {
            self.practices.broken.insert(slug);
        }
    }
}

impl Iterator for CatalogReader {
    type Item = PracticeDoc;

    fn next(&mut self) -> Option<PracticeDoc> {
        while let Some(path) = self.files.next() {
            let rel = format!(
                "{PRACTICES_DIR}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let slug = path.file_stem().unwrap_or_default().to_string_lossy();
            let Some(text) = read(&self.dir, &rel, &mut self.errors) else {
                self.broken(&slug);
                continue;
            };
            let file = self.dir.join(&rel).display().to_string();
            match parse_practice(&file, &slug, &text, self.min_cell) {
                Ok(doc) => {
                    let r = PracticeRef {
                        slug: doc.slug.clone(),
                        team: doc.team.clone(),
                        areas: doc.challenge_areas.clone(),
                        aspects: doc.essential_aspects().len() as u32,
                    };
                    let before = self.errors.len();
                    self.known.check_practice(&r, &file, &mut self.errors);
                    // Known to adoptions whatever it names: its aspects and team are sound.
                    self.practices.read.push(r);
                    if self.errors.len() == before {
                        return Some(doc);
                    }
                    place_lines(&mut self.errors[before..], None);
                }
                Err(e) => {
                    self.errors.extend(e);
                    self.broken(&slug);
                }
            }
        }
        None
    }
}

/// How an entry of `practices/` is taken.
enum Entry {
    Practice,
    /// Hidden files (`.gitkeep`, `.DS_Store`, editors' swap files) and editor backups
    /// (`x.md~`) are nobody's work.
    Ignored,
    /// Anything else is somebody's work that would vanish without a word: reported, why.
    NotRead(String),
}

fn classify(path: &Path, name: &str) -> Entry {
    if name.starts_with('.') || name.ends_with('~') {
        return Entry::Ignored;
    }
    // A slug has no dot, so the part before the first one is the only name it could have.
    let slug = name.split('.').next().unwrap_or(name);
    if path.is_dir() {
        return Entry::NotRead(format!(
            "it is a folder; {PRACTICES_DIR}/ holds one file per practice, {PRACTICES_DIR}/<slug>.md, and no folders"
        ));
    }
    match name.rsplit_once('.') {
        Some((_, "md")) => Entry::Practice,
        Some((_, ext)) if ext.eq_ignore_ascii_case("md") => Entry::NotRead(format!(
            "practice files end in .md (lowercase); rename it to {slug}.md"
        )),
        _ => Entry::NotRead(format!(
            "practice files end in .md; rename it to {slug}.md if it is a practice, or move it out of {PRACTICES_DIR}/"
        )),
    }
}

/// The practice files of `practices/`, sorted; every other entry that is not ignored is a
/// problem. Also returns why each was not read, by the slug it could have (see `Practices`).
fn list_practices(
    dir: &Path,
    errors: &mut Vec<ContentError>,
) -> (Vec<PathBuf>, HashMap<String, String>) {
    let practice_dir = dir.join(PRACTICES_DIR);
    let entries = match fs::read_dir(&practice_dir) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(ContentError::new(
                &practice_dir.display().to_string(),
                None,
                None,
                format!("cannot be read: {e}"),
            ));
            return Default::default();
        }
    };
    let mut files = Vec::new();
    let mut unread = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        match classify(&path, &name) {
            Entry::Practice => files.push(path),
            Entry::Ignored => {}
            Entry::NotRead(why) => unread.push((path, name, why)),
        }
    }
    files.sort();
    unread.sort();
    let mut why_unread = HashMap::new();
    for (path, name, why) in unread {
        errors.push(ContentError::new(
            &path.display().to_string(),
            None,
            None,
            format!("not read: {why}"),
        ));
        let slug = name.split('.').next().unwrap_or_default().to_string();
        why_unread
            .entry(slug)
            .or_insert(format!("{PRACTICES_DIR}/{name} was not read: {why}"));
    }
    (files, why_unread)
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
/// network row names exists (areas only when challenge-areas.toml could be read).
fn check_network(c: &Catalog, known: &Known, dir: &Path, errors: &mut Vec<ContentError>) {
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

    let districts: HashSet<&Slug> = c.districts.iter().map(|d| &d.slug).collect();
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
        if let Some(schools) = &known.schools
            && !schools.contains(&t.school)
        {
            errors.push(reference_error(
                name(NETWORK_FILE),
                format!("team[{}].school", i + 1),
                format!(
                    "\"{}\" is not a school in network.toml ({})",
                    t.school,
                    listed(schools.iter(), "school")
                ),
            ));
        }
        if let Some(areas) = &known.areas
            && !areas.contains(&t.challenge_area)
        {
            errors.push(reference_error(
                name(NETWORK_FILE),
                format!("team[{}].challenge_area", i + 1),
                format!(
                    "\"{}\" is not in challenge-areas.toml ({})",
                    t.challenge_area,
                    listed(areas.iter(), "challenge area")
                ),
            ));
        }
    }
}

/// The slugs other files may name, looked up once per catalog. Each is `None` when its file
/// could not be read: what names it is then not checked.
#[derive(Default)]
struct Known {
    areas: Option<HashSet<Slug>>,
    schools: Option<HashSet<Slug>>,
    teams: Option<HashSet<Slug>>,
}

impl Known {
    /// A practice names a team and challenge areas that exist.
    fn check_practice(&self, p: &PracticeRef, file: &str, errors: &mut Vec<ContentError>) {
        if let Some(teams) = &self.teams
            && !teams.contains(&p.team)
        {
            errors.push(reference_error(
                file.to_string(),
                "team".into(),
                format!(
                    "\"{}\" is not a team in network.toml ({})",
                    p.team,
                    listed(teams.iter(), "team")
                ),
            ));
        }
        let Some(areas) = &self.areas else {
            return;
        };
        for a in &p.areas {
            if !areas.contains(a) {
                errors.push(reference_error(
                    file.to_string(),
                    "challenge_areas".into(),
                    format!(
                        "\"{a}\" is not in challenge-areas.toml ({})",
                        listed(areas.iter(), "challenge area")
                    ),
                ));
            }
        }
    }
}

/// Every adoption names a practice and a team that exist, another team than the practice's,
/// once, and aspects the practice has. What could not be read is not checked against: a
/// practice file with problems of its own, a network.toml that is not TOML.
fn check_adoptions(
    c: &Catalog,
    known: &Known,
    practices: &Practices,
    dir: &Path,
    errors: &mut Vec<ContentError>,
) {
    let file = dir.join(ADOPTIONS_FILE).display().to_string();
    let mut err = |field: String, message: String| {
        errors.push(reference_error(file.clone(), field, message));
    };
    let read: HashMap<&Slug, &PracticeRef> = practices.read.iter().map(|p| (&p.slug, p)).collect();
    let mut pairs = HashSet::new();
    for (i, a) in c.adoptions.iter().enumerate() {
        let at = format!("adoption[{}]", i + 1);
        if let Some(teams) = &known.teams
            && !teams.contains(&a.team)
        {
            err(
                format!("{at}.team"),
                format!("\"{}\" is not a team in network.toml", a.team),
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
        let Some(practice) = read.get(&a.practice) else {
            if !practices.broken.contains(&a.practice) {
                err(format!("{at}.practice"), unknown_practice(a, practices));
            }
            continue;
        };
        if practice.team == a.team {
            err(
                format!("{at}.team"),
                "a team does not adopt its own practice".into(),
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

/// Every question names a practice that exists, and teams that exist.
fn check_questions(
    c: &Catalog,
    known: &Known,
    practices: &Practices,
    dir: &Path,
    lines: Option<&super::locate::Locator>,
    errors: &mut Vec<ContentError>,
) {
    let file = dir.join(QUESTIONS_FILE).display().to_string();
    let mut err = |field: String, message: String| {
        let line = lines.and_then(|l| l.line(&field));
        errors.push(ContentError::new(&file, line, Some(&field), message));
    };
    let read: HashSet<&Slug> = practices.read.iter().map(|p| &p.slug).collect();
    let mut team = |field: String, t: &Option<Slug>| {
        if let (Some(teams), Some(t)) = (&known.teams, t)
            && !teams.contains(t)
        {
            err(
                field,
                format!(
                    "\"{t}\" is not a team in network.toml ({})",
                    listed(teams.iter(), "team")
                ),
            );
        }
    };
    for (i, q) in c.questions.iter().enumerate() {
        let at = format!("question[{}]", i + 1);
        team(format!("{at}.team"), &q.team);
        for (j, a) in q.answers.iter().enumerate() {
            team(format!("{at}.answers[{}].team", j + 1), &a.team);
        }
    }
    for (i, q) in c.questions.iter().enumerate() {
        if !read.contains(&q.practice) && !practices.broken.contains(&q.practice) {
            let mut message = format!("\"{}\" is not a practice in {PRACTICES_DIR}/", q.practice);
            if let Some(why) = practices.unread.get(q.practice.as_str()) {
                message.push_str(&format!(" ({why})"));
            }
            err(format!("question[{}].practice", i + 1), message);
        }
    }
}

/// "… is not a practice", with the file that was meant when there is one that was not read.
fn unknown_practice(a: &AdoptionDoc, practices: &Practices) -> String {
    let mut message = format!("\"{}\" is not a practice in {PRACTICES_DIR}/", a.practice);
    if let Some(why) = practices.unread.get(a.practice.as_str()) {
        message.push_str(&format!(" ({why})"));
    }
    message
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
    super::uploads::write_files(dir, &c.files)?;
    Ok(())
}

/// Writes one practice's file into a catalog directory.
pub fn write_practice_file(dir: &Path, p: &crate::domain::PracticeDoc) -> std::io::Result<()> {
    fs::write(
        dir.join(PRACTICES_DIR).join(format!("{}.md", p.slug)),
        write_practice(p),
    )
}

/// Writes everything of a catalog but its practices: areas, network, adoptions, questions (and creates
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
    let questions = dir.join(QUESTIONS_FILE);
    if c.questions.is_empty() {
        if questions.exists() {
            fs::remove_file(questions)?;
        }
    } else {
        fs::write(questions, questions::write_questions(&c.questions))?;
    }
    Ok(())
}

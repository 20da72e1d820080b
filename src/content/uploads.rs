//! `files/<practice>/<sha256>-<name>`: the images and handouts uploaded for each practice,
//! as plain files next to the practice files, so that a catalog in git holds them too.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::ContentError;
use crate::domain::Slug;
use crate::domain::upload::{FileKind, file_name, is_sha256};

/// The folder of uploaded files in a catalog.
pub const FILES_DIR: &str = "files";

/// One uploaded file of a practice.
#[derive(Clone, PartialEq)]
pub struct FileDoc {
    pub practice: Slug,
    pub sha256: String,
    pub name: String,
    pub kind: FileKind,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for FileDoc {
    // The content would fill a screen: its size says enough.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileDoc")
            .field("practice", &self.practice)
            .field("sha256", &self.sha256)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("size", &self.content.len())
            .finish()
    }
}

impl FileDoc {
    /// Its path inside a catalog directory.
    pub fn path(&self) -> String {
        format!(
            "{FILES_DIR}/{}/{}-{}",
            self.practice, self.sha256, self.name
        )
    }
}

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `files/` of `dir` (absent: no files). Every entry must be a practice's folder of
/// files named by their content's SHA-256 and a name the hub would give them, holding a kind
/// of file the hub accepts: the same rules as an upload, so an import stores nothing an
/// upload would have refused.
pub fn read_files(dir: &Path, errors: &mut Vec<ContentError>) -> Vec<FileDoc> {
    let root = dir.join(FILES_DIR);
    let mut docs = Vec::new();
    if !root.is_dir() {
        return docs;
    }
    let mut problem = |path: &str, message: String| {
        errors.push(ContentError::new(path, None, None, message));
    };
    for (folder, folder_path) in sorted_entries(&root) {
        let rel = format!("{FILES_DIR}/{folder}");
        if !folder_path.is_dir() {
            problem(
                &rel,
                "not read: files/ holds one folder per practice, named by its slug".into(),
            );
            continue;
        }
        let Ok(practice) = Slug::parse(&folder) else {
            problem(
                &rel,
                "not read: the folder's name is not a practice slug".into(),
            );
            continue;
        };
        for (file, path) in sorted_entries(&folder_path) {
            let rel = format!("{rel}/{file}");
            let Some((sha, name)) = file.split_once('-').filter(|(sha, _)| is_sha256(sha)) else {
                problem(
                    &rel,
                    "not read: a file's name is <sha256>-<name>, its content's SHA-256 in lowercase hex first".into(),
                );
                continue;
            };
            let content = match fs::read(&path) {
                Ok(c) => c,
                Err(e) => {
                    problem(&rel, format!("cannot be read: {e}"));
                    continue;
                }
            };
            let actual = sha256_hex(&content);
            if actual != sha {
                problem(
                    &rel,
                    format!(
                        "its content's SHA-256 is {actual}, not the {sha} its name says; rename it (or restore the content)"
                    ),
                );
                continue;
            }
            let Some(kind) = FileKind::detect(&content) else {
                problem(
                    &rel,
                    format!(
                        "not a kind of file the hub serves ({})",
                        crate::domain::upload::ACCEPTED
                    ),
                );
                continue;
            };
            let canonical = file_name(name, kind);
            if canonical != name {
                problem(
                    &rel,
                    format!(
                        "name it {sha}-{canonical}: names keep letters, digits, '.', '_' and '-' and end in the extension of what the file is"
                    ),
                );
                continue;
            }
            docs.push(FileDoc {
                practice: practice.clone(),
                sha256: actual,
                name: name.to_string(),
                kind,
                content,
            });
        }
    }
    docs
}

/// The entries of `dir` but hidden files, sorted by name.
fn sorted_entries(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    entries.sort();
    entries
}

/// Writes `files/` so that it holds exactly `docs`: files no longer in the catalog are
/// removed (an export over a checkout mirrors the database), unchanged ones are not
/// rewritten.
pub fn write_files(dir: &Path, docs: &[FileDoc]) -> std::io::Result<()> {
    let root = dir.join(FILES_DIR);
    let keep: std::collections::HashSet<String> = docs.iter().map(FileDoc::path).collect();
    if root.is_dir() {
        for (folder, folder_path) in sorted_entries(&root) {
            if !folder_path.is_dir() {
                continue;
            }
            for (file, path) in sorted_entries(&folder_path) {
                if !keep.contains(&format!("{FILES_DIR}/{folder}/{file}")) {
                    fs::remove_file(path)?;
                }
            }
            if sorted_entries(&folder_path).is_empty() {
                fs::remove_dir(&folder_path)?;
            }
        }
    }
    for d in docs {
        let path = dir.join(d.path());
        if !path.exists() {
            fs::create_dir_all(path.parent().expect("files/<practice>"))?;
            fs::write(path, &d.content)?;
        }
    }
    if root.is_dir() && sorted_entries(&root).is_empty() {
        fs::remove_dir(&root)?;
    }
    Ok(())
}

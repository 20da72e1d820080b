//! Opening the index directory: its lock, the index with the current schema, or a fresh one
//! when there is none or it is from another schema version. An index that cannot be opened
//! (a file missing, truncated or corrupt) is moved aside and rebuilt: it is derived from the
//! database, and a hub that refused to start over it would stop for good.

use std::path::{Path, PathBuf};

use tantivy::schema::Schema;
use tantivy::{Index, IndexReader, ReloadPolicy};
use tracing::{error, info, warn};

use super::indexer::Payload;
use super::schema::{self, Fields, SCHEMA_VERSION};
use super::{RebuildError, directory, segments};

/// An index directory opened (or created) with the current schema.
pub(super) struct Opened {
    pub index: Index,
    /// The index's reader, every segment of it opened and checked.
    pub reader: IndexReader,
    pub fields: Fields,
    pub needs_rebuild: bool,
    /// Held for as long as the index is written: no other process may clear or write it.
    pub lock: std::fs::File,
}

/// Takes the directory's lock before anything in it is read or removed, so that a second
/// hub or a `reindex` cannot clear an index that a running hub writes.
fn lock_dir(dir: &Path) -> Result<std::fs::File, RebuildError> {
    std::fs::create_dir_all(dir).map_err(|e| RebuildError::Other(e.into()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))
        .map_err(|e| RebuildError::Other(e.into()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(RebuildError::InUse),
        Err(std::fs::TryLockError::Error(e)) => Err(RebuildError::Other(e.into())),
    }
}

const LOCK_FILE: &str = "brightspots.lock";

pub(super) fn open_index(dir: &Path) -> Result<Opened, RebuildError> {
    let lock = lock_dir(dir)?;
    open_locked(dir, lock).map_err(RebuildError::Other)
}

fn open_locked(dir: &Path, lock: std::fs::File) -> anyhow::Result<Opened> {
    let (schema, fields) = schema::schema();
    let (index, reader, needs_rebuild) = match find(dir, &schema) {
        Found::Current(index, reader) => (index, reader, false),
        Found::Nothing => {
            clear_dir(dir)?;
            let (index, reader) = create(dir, schema)?;
            (index, reader, true)
        }
        Found::Damaged(why) => {
            set_aside(dir, &why)?;
            let (index, reader) = create(dir, schema)?;
            (index, reader, true)
        }
    };
    Ok(Opened {
        index,
        reader,
        fields,
        needs_rebuild,
        lock,
    })
}

/// What the index directory holds.
enum Found {
    /// An index of the current schema whose every segment opens.
    Current(Index, IndexReader),
    /// Nothing worth keeping: no index yet, or one from another schema version.
    Nothing,
    /// An index that cannot be opened or read (a file missing, truncated or corrupt).
    Damaged(tantivy::TantivyError),
}

fn find(dir: &Path, schema: &Schema) -> Found {
    if !dir.join("meta.json").exists() {
        info!(dir = %dir.display(), "no search index yet; building it from the database");
        return Found::Nothing;
    }
    let index = match directory::IndexDirectory::open(dir).and_then(Index::open) {
        Ok(index) => index,
        Err(e) => return Found::Damaged(e),
    };
    let payload = Payload::read(&index);
    let current = index.schema() == *schema && payload.is_some_and(|p| p.schema == SCHEMA_VERSION);
    if !current {
        info!(dir = %dir.display(), "search index schema changed; rebuilding from the database");
        return Found::Nothing;
    }
    match prepare(index).and_then(|index| {
        let reader = reader(&index)?;
        verify(&reader)?;
        Ok((index, reader))
    }) {
        Ok((index, reader)) => Found::Current(index, reader),
        Err(e) => Found::Damaged(e),
    }
}

/// A new, empty index in `dir` (which holds no tantivy file any more).
fn create(dir: &Path, schema: Schema) -> tantivy::Result<(Index, IndexReader)> {
    let index = Index::create(
        directory::IndexDirectory::open(dir)?,
        schema,
        tantivy::IndexSettings::default(),
    )?;
    let index = prepare(index)?;
    let reader = reader(&index)?;
    Ok((index, reader))
}

/// Our analyzers, and searches on every core. Before the reader: its searchers keep the
/// executor the index had when they were made.
fn prepare(mut index: Index) -> tantivy::Result<Index> {
    schema::register_analyzers(&index);
    segments::search_in_parallel(&mut index)?;
    Ok(index)
}

/// The index's one reader; it opens every segment, and reloads only when the indexer says.
fn reader(index: &Index) -> tantivy::Result<IndexReader> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

/// Checks what is cheap to check, so that a damaged index is found at start-up rather than by
/// a search: opening the reader opened every segment's files (each file's footer is checked
/// as it is opened); here each segment's stored text and every field's term dictionary are
/// opened too. Reading all of the index (tantivy's checksums) would take a large catalog's
/// start-up from seconds to minutes, so a file damaged in its middle is not found here.
fn verify(reader: &IndexReader) -> tantivy::Result<()> {
    let searcher = reader.searcher();
    for segment in searcher.segment_readers() {
        segment.get_store_reader(0)?;
        for (field, entry) in segment.schema().fields() {
            if entry.is_indexed() {
                segment.inverted_index(field)?;
            }
        }
    }
    Ok(())
}

/// Damaged copies kept beside the index: the newest only. A copy is the size of the index
/// (half a gigabyte at 100,000 practices), and an index that keeps being damaged (a failing
/// disk) must not fill the disk with them.
const KEEP_DAMAGED: usize = 1;

/// Moves a damaged index out of the way (beside its directory, as
/// `<dir>.damaged-<time>`, where someone can look at what went wrong) so that it can be
/// rebuilt from the database. Only when it cannot be moved is it deleted.
fn set_aside(dir: &Path, why: &tantivy::TantivyError) -> std::io::Result<()> {
    match move_aside(dir) {
        Ok(to) => {
            error!(
                dir = %dir.display(),
                moved_to = %to.display(),
                error = %why,
                "the search index is damaged; moved it aside and rebuilding it from the database"
            );
            prune_damaged(dir, &to);
            Ok(())
        }
        Err(e) => {
            error!(
                dir = %dir.display(),
                error = %why,
                move_error = %e,
                "the search index is damaged and could not be moved aside; deleting it and rebuilding it from the database"
            );
            clear_dir(dir)
        }
    }
}

/// Moves the index's files (not the lock file we hold, nor a README) into a new directory
/// beside `dir`, and returns that directory. A rename: no copy, and the same disk.
fn move_aside(dir: &Path) -> std::io::Result<PathBuf> {
    let (parent, name) = beside(dir)?;
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(std::io::Error::other)?;
    let mut to = parent.join(format!("{name}{DAMAGED}{stamp}"));
    // Damaged twice within a second (a test, or a crash loop).
    let mut n = 1;
    loop {
        match std::fs::create_dir(&to) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                to = parent.join(format!("{name}{DAMAGED}{stamp}-{n}"));
                n += 1;
            }
            Err(e) => return Err(e),
        }
    }
    let moved = tantivy_files(dir)?
        .into_iter()
        .try_for_each(|file| std::fs::rename(&file, to.join(file.file_name().unwrap_or_default())));
    if let Err(e) = moved {
        // Half a copy is no use to anyone: the caller deletes the rest.
        let _ = std::fs::remove_dir_all(&to);
        return Err(e);
    }
    Ok(to)
}

const DAMAGED: &str = ".damaged-";

/// The directory that holds `dir`, and `dir`'s name in it.
fn beside(dir: &Path) -> std::io::Result<(PathBuf, String)> {
    let dir = dir.canonicalize()?;
    match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => Ok((parent.to_path_buf(), name.to_string_lossy().into())),
        _ => Err(std::io::Error::other("the index directory has no parent")),
    }
}

/// Deletes all but the newest `KEEP_DAMAGED` damaged copies of `dir` (`kept` among them).
fn prune_damaged(dir: &Path, kept: &Path) {
    let copies = beside(dir).and_then(|(parent, name)| {
        let prefix = format!("{name}{DAMAGED}");
        let mut copies = Vec::new();
        for entry in std::fs::read_dir(&parent)? {
            let path = entry?.path();
            let ours = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix));
            if ours && path.is_dir() && path != kept {
                copies.push(path);
            }
        }
        // Names end in the time they were made: oldest first.
        copies.sort();
        Ok(copies)
    });
    let copies = match copies {
        Ok(copies) => copies,
        Err(e) => {
            warn!(dir = %dir.display(), error = %e, "cannot list the damaged copies of the search index");
            return;
        }
    };
    let extra = (copies.len() + 1).saturating_sub(KEEP_DAMAGED);
    for old in copies.iter().take(extra) {
        match std::fs::remove_dir_all(old) {
            Ok(()) => {
                info!(removed = %old.display(), "removed an older damaged copy of the search index")
            }
            Err(e) => {
                warn!(path = %old.display(), error = %e, "cannot remove an older damaged copy of the search index")
            }
        }
    }
}

/// Removes an old index, keeping anything that is not tantivy's (the directory's README).
fn clear_dir(dir: &Path) -> std::io::Result<()> {
    tantivy_files(dir)?
        .into_iter()
        .try_for_each(std::fs::remove_file)
}

/// The files of the index in `dir`: meta.json, .managed.json, .tantivy-*.lock, and segment
/// files named `<32 hex>.<ext>`.
fn tantivy_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let segment = name.len() > 33
            && name.as_bytes()[32] == b'.'
            && name[..32].bytes().all(|b| b.is_ascii_hexdigit());
        let tantivy_file = segment
            || name == "meta.json"
            || name.starts_with(".tantivy")
            || name.starts_with(".managed");
        if tantivy_file && path.is_file() {
            files.push(path);
        }
    }
    Ok(files)
}

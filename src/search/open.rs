//! Opening the index directory: its lock, the index with the current schema, or a fresh one
//! when there is none or it is from another schema version.

use std::path::Path;

use tantivy::Index;
use tracing::{info, warn};

use super::indexer::Payload;
use super::schema::{self, Fields, SCHEMA_VERSION};
use super::{RebuildError, directory, segments};

/// An index directory opened (or created) with the current schema.
pub(super) struct Opened {
    pub index: Index,
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
    let existing = if dir.join("meta.json").exists() {
        match directory::IndexDirectory::open(dir).and_then(Index::open) {
            Ok(index) => {
                let payload = Payload::read(&index);
                let current = index.schema() == schema
                    && payload.as_ref().is_some_and(|p| p.schema == SCHEMA_VERSION);
                if current {
                    Some(index)
                } else {
                    info!(dir = %dir.display(), "search index schema changed; rebuilding from the database");
                    None
                }
            }
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding from the database");
                None
            }
        }
    } else {
        info!(dir = %dir.display(), "no search index yet; building it from the database");
        None
    };
    let (mut index, needs_rebuild) = match existing {
        Some(index) => (index, false),
        None => {
            clear_dir(dir)?;
            (
                Index::create(
                    directory::IndexDirectory::open(dir)?,
                    schema,
                    tantivy::IndexSettings::default(),
                )?,
                true,
            )
        }
    };
    schema::register_analyzers(&index);
    segments::search_in_parallel(&mut index)?;
    Ok(Opened {
        index,
        fields,
        needs_rebuild,
        lock,
    })
}

/// Removes an old index, keeping anything that is not tantivy's (the directory's README).
fn clear_dir(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        // meta.json, .managed.json, .tantivy-*.lock, and segment files named `<32 hex>.<ext>`.
        let segment = name.len() > 33
            && name.as_bytes()[32] == b'.'
            && name[..32].bytes().all(|b| b.is_ascii_hexdigit());
        let tantivy_file = segment
            || name == "meta.json"
            || name.starts_with(".tantivy")
            || name.starts_with(".managed");
        if tantivy_file && path.is_file() {
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}

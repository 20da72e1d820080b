//! Where the index lives on disk: tantivy's memory-mapped directory, except that the stored
//! text (the `.store` files snippets are cut from) is read with `pread`.
//!
//! A search reads a stored block once per hit, and a catalog's hits land all over its stored
//! text, so with memory maps the server ended up with the whole of it mapped in (330 of 519 MB
//! of the index at 100,000 practices). Read with `pread`, the same blocks sit in the kernel's
//! page cache, shared and dropped first under memory pressure, and the process keeps only
//! the 16 KB it decompresses. Everything else — postings, positions, fast fields, the term
//! dictionaries — is read in place, where memory maps are what make tantivy fast.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::{fmt, io};

use tantivy::HasLen;
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback,
    WatchHandle, WritePtr,
};

/// Reads larger than this go through the memory map: a merge copies a segment's stored
/// blocks in one read, which would otherwise be one allocation of the whole file.
const LARGEST_PREAD: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct IndexDirectory {
    root: PathBuf,
    mmap: MmapDirectory,
}

impl IndexDirectory {
    pub fn open(root: &Path) -> tantivy::Result<Self> {
        Ok(Self {
            root: root.to_path_buf(),
            mmap: MmapDirectory::open(root)?,
        })
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let mapped = self.mmap.get_file_handle(path)?;
        if path.extension().is_none_or(|e| e != "store") {
            return Ok(mapped);
        }
        let file = File::open(self.root.join(path))
            .map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))?;
        Ok(Arc::new(StoreFile { file, mapped }))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mmap.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mmap.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.mmap.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mmap.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.mmap.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.mmap.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.mmap.acquire_lock(lock)
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mmap.watch(callback)
    }
}

/// A `.store` file: small reads (a block for a hit, the block index) by `pread`, large ones
/// (a merge) from the memory map, which maps pages in only as they are touched.
struct StoreFile {
    file: File,
    mapped: Arc<dyn FileHandle>,
}

impl fmt::Debug for StoreFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreFile")
            .field("len", &self.len())
            .finish()
    }
}

impl HasLen for StoreFile {
    fn len(&self) -> usize {
        self.mapped.len()
    }
}

impl FileHandle for StoreFile {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.len() > LARGEST_PREAD {
            return self.mapped.read_bytes(range);
        }
        let mut buffer = vec![0; range.len()];
        self.file.read_exact_at(&mut buffer, range.start as u64)?;
        Ok(OwnedBytes::new(buffer))
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{STORED, Schema, TEXT, Value};
    use tantivy::{Index, IndexSettings, TantivyDocument, doc};

    use super::*;

    /// Resident kilobytes of this process's mappings of files named `*.store` under `dir`.
    fn resident_store_kb(dir: &Path) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
        let mut in_store = false;
        let mut kb = 0;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or_default();
            if first.contains('-') && first.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()) {
                // A mapping's header: `start-end perms offset dev inode [path]`.
                let path = line.split_whitespace().nth(5).unwrap_or_default();
                in_store = path.starts_with(&*dir.to_string_lossy()) && path.ends_with(".store");
            } else if in_store && let Some(rss) = line.strip_prefix("Rss:") {
                kb += rss
                    .trim()
                    .trim_end_matches(" kB")
                    .parse::<u64>()
                    .unwrap_or(0);
            }
        }
        kb
    }

    #[test]
    fn stored_text_is_read_without_mapping_it_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut builder = Schema::builder();
        let body = builder.add_text_field("body", TEXT | STORED);
        let index = Index::create(
            IndexDirectory::open(dir.path()).unwrap(),
            builder.build(),
            IndexSettings::default(),
        )
        .unwrap();
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let texts: Vec<String> = (0..2_000)
            .map(|i| format!("practice {i} {}", "turn and talk ".repeat(50)))
            .collect();
        for text in &texts {
            writer.add_document(doc!(body => text.as_str())).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let mut read = 0;
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(0).unwrap();
            for id in 0..segment.max_doc() {
                let doc: TantivyDocument = store.get(id).unwrap();
                let text = doc.get_first(body).and_then(|v| v.as_str()).unwrap();
                assert!(texts.iter().any(|t| t == text));
                read += 1;
            }
        }
        assert_eq!(read, texts.len());
        assert_eq!(resident_store_kb(dir.path()), 0);
    }

    #[test]
    fn large_reads_come_from_the_map_and_agree_with_small_ones() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * LARGEST_PREAD).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("x.store"), &data).unwrap();
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let handle = directory.get_file_handle(Path::new("x.store")).unwrap();
        assert_eq!(handle.len(), data.len());
        let small = 1_000..1_000 + 16_384;
        assert_eq!(
            handle.read_bytes(small.clone()).unwrap().as_slice(),
            &data[small]
        );
        assert_eq!(resident_store_kb(dir.path()), 0);
        let large = 10..data.len();
        assert_eq!(
            handle.read_bytes(large.clone()).unwrap().as_slice(),
            &data[large]
        );
        assert!(resident_store_kb(dir.path()) > 0);
    }
}

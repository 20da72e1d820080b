//! Search: a tantivy index derived from the database. One indexer thread owns the only
//! `IndexWriter` and tails the `changes` table; every request takes its own searcher.

mod cache;
mod directory;
mod engine;
mod facets;
mod indexer;
mod open;
mod pairs;
mod phrases;
mod query;
mod schema;
mod segments;
mod snippets;
mod stem;
mod synonyms;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::{Sender, channel};
use tokio::task::JoinHandle;

use tantivy::{Index, IndexReader};

pub use engine::{
    Among, Facet, Hit, LikeMineOrder, Listed, SearchRequest, SearchResults, Sort, escape,
};
pub use indexer::Payload;
pub use query::{MAX_QUERY_CHARS, UserQuery, is_stop_word};
pub use schema::{SCHEMA_VERSION, markdown_text};

use crate::store::{Db, FeedPos};
use indexer::{Indexer, Msg};
use open::{Opened, open_index};
use schema::Fields;
use synonyms::Synonyms;

/// Search results kept per index version: about 10 KB each.
pub const DEFAULT_CACHED_RESULTS: usize = 1000;

pub struct Search {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    synonyms: Synonyms,
    inbox: Mutex<Option<Sender<Msg>>>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// The directory lock, let go when the indexer has stopped.
    lock: Mutex<Option<std::fs::File>>,
    visible: Arc<Mutex<FeedPos>>,
    generation: Arc<AtomicU64>,
    ready: Arc<AtomicBool>,
    /// Facet ordinals of the live segments, for counting.
    facet_tables: Arc<facets::FacetTables>,
    results: cache::ResultCache,
}

impl Search {
    /// Opens the index in `dir` and starts its indexer thread, which first catches up with the
    /// database (or rebuilds the index when it is missing, from another schema version, or
    /// damaged: a damaged one is moved aside first). The rebuild runs in the background; until
    /// it is done, `ready` is false. Must be called inside a tokio runtime.
    pub fn start(dir: &Path, db: Db) -> anyhow::Result<Search> {
        let Opened {
            index,
            reader,
            fields,
            needs_rebuild,
            lock,
        } = open_index(dir).map_err(|e| match e {
            RebuildError::InUse => anyhow::anyhow!(
                "the search index in {} is in use by another running hub; give each hub its own --index-dir",
                dir.display()
            ),
            RebuildError::Other(e) => e,
        })?;
        let writer = segments::writer(&index).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => anyhow::anyhow!(
                "the search index in {} is in use by another running hub; give each hub its own --index-dir",
                dir.display()
            ),
            other => other.into(),
        })?;
        let last = if needs_rebuild {
            FeedPos::default()
        } else {
            Payload::read(&index).map_or_else(FeedPos::default, |p| p.pos())
        };
        let visible = Arc::new(Mutex::new(last));
        let generation = Arc::new(AtomicU64::new(0));
        let ready = Arc::new(AtomicBool::new(false));
        let indexer = Indexer {
            db,
            // Shared: the indexer's reload after each commit is what requests see.
            reader: reader.clone(),
            fields,
            writer: Arc::new(Mutex::new(writer)),
            last,
            visible: visible.clone(),
            generation: generation.clone(),
            ready: ready.clone(),
        };
        let (tx, rx) = channel(64);
        let task = tokio::spawn(indexer.run(rx, needs_rebuild));
        Ok(Search {
            index,
            reader,
            fields,
            synonyms: Synonyms::default(),
            inbox: Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
            lock: Mutex::new(Some(lock)),
            visible,
            generation,
            ready,
            facet_tables: Arc::new(facets::FacetTables::new(schema::FACETS)),
            results: cache::ResultCache::new(DEFAULT_CACHED_RESULTS),
        })
    }

    /// Keeps the results of up to `n` searches per index version (0: none).
    pub fn with_cached_results(mut self, n: usize) -> Search {
        self.results = cache::ResultCache::new(n);
        self
    }

    /// Something was written: index it now rather than at the next poll.
    pub fn wake(&self) {
        if let Some(tx) = self.inbox.lock().expect("inbox").as_ref() {
            // A full inbox already holds a wake-up.
            let _ = tx.try_send(Msg::Wake);
        }
    }

    /// The last change that searches can see.
    pub fn indexed(&self) -> FeedPos {
        *self.visible.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether searches see every change up to `head` (a `Db::feed_head`) and the first
    /// full pass is done.
    pub fn caught_up(&self, head: FeedPos) -> bool {
        self.ready() && self.indexed() >= head
    }

    /// How many times the index has committed since the start: every applied change, a
    /// rebuild, a change with no practice. What this process's caches of database reads key
    /// on. Unlike the highest applied `seq`, it moves on every commit even if a change is
    /// applied after a newer one (as a feed shared by several hubs may deliver them).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the indexer has finished its first full pass since the start (the rebuild of an
    /// empty or damaged index, or catching up from where a sound one stopped). Until then a
    /// search may miss what the database holds. It stays true during a rebuild asked for
    /// later, which answers from the old index meanwhile.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// How many practices a search can find.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Commits what is pending, waits for merges and stops the indexer.
    pub async fn shutdown(&self) {
        let tx = self.inbox.lock().expect("inbox").take();
        if let Some(tx) = tx {
            let _ = tx.send(Msg::Shutdown).await;
        }
        let task = self.task.lock().expect("task").take();
        if let Some(task) = task {
            let _ = task.await;
        }
        self.lock.lock().expect("lock").take();
    }
}

/// Rebuilds the index in `dir` from the database without a server (`brightspots reindex`).
/// Fails with `InUse` when a running hub holds the index. A damaged index is moved aside, as
/// at a hub's start, so that this always works.
pub async fn rebuild_offline(
    dir: &Path,
    db: Db,
    progress: impl FnMut(usize, usize),
) -> Result<usize, RebuildError> {
    let Opened {
        index,
        reader,
        fields,
        lock,
        ..
    } = open_index(dir)?;
    let writer = match segments::writer(&index) {
        Ok(w) => w,
        Err(tantivy::TantivyError::LockFailure(..)) => return Err(RebuildError::InUse),
        Err(e) => return Err(RebuildError::Other(e.into())),
    };
    let writer = Arc::new(Mutex::new(writer));
    let mut indexer = Indexer {
        db,
        reader,
        fields,
        writer: writer.clone(),
        last: FeedPos::default(),
        visible: Default::default(),
        generation: Default::default(),
        ready: Default::default(),
    };
    let n = indexer
        .rebuild(progress)
        .await
        .map_err(RebuildError::Other)?;
    drop(indexer);
    tokio::task::spawn_blocking(move || {
        let writer = Arc::try_unwrap(writer)
            .ok()
            .and_then(|m| m.into_inner().ok());
        writer.map(|w| w.wait_merging_threads())
    })
    .await
    .map_err(|e| RebuildError::Other(e.into()))?
    .transpose()
    .map_err(|e| RebuildError::Other(e.into()))?;
    drop(lock);
    Ok(n)
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("a running hub holds the search index")]
    InUse,
    #[error(transparent)]
    Other(anyhow::Error),
}

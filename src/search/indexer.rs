//! The only `IndexWriter` of the process, owned by one task. It tails the `changes` table:
//! applies rows in feed order (see `Db::changes_after`), commits in batches with the last
//! applied position as the commit payload, and catches up from that payload after a restart
//! or a crash. Tantivy work runs
//! in `spawn_blocking`, off the async executor.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument};
use tokio::sync::mpsc::Receiver;
use tracing::{error, info, warn};

use super::schema::{Fields, SCHEMA_VERSION, id_term, to_document};
use crate::store::{Db, FeedPos, IndexDoc};

/// What each commit records, so that the next start knows where it stands.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payload {
    pub schema: u32,
    pub seq: i64,
    /// The transaction id of the last applied change (PostgreSQL; 0 on SQLite and in
    /// indexes written before the feed had it).
    #[serde(default)]
    pub xid: i64,
}

impl Payload {
    pub fn read(index: &Index) -> Option<Payload> {
        let metas = index.load_metas().ok()?;
        serde_json::from_str(metas.payload.as_deref()?).ok()
    }

    pub fn pos(&self) -> FeedPos {
        FeedPos {
            xid: self.xid,
            seq: self.seq,
        }
    }
}

pub enum Msg {
    /// Something was written: look at `changes` now rather than at the next poll.
    Wake,
    /// Commit what is pending, wait for merges, and stop.
    Shutdown,
}

/// How often the indexer looks at `changes` when nobody woke it (writes from another process).
const POLL: Duration = Duration::from_millis(250);
/// After this long without progress, the indexer asks whether the feed is held back…
const STALL: Duration = Duration::from_secs(5);
/// …and says so at most this often.
const STALL_REPORTS: Duration = Duration::from_secs(30);
/// Rows applied per commit at most; a longer backlog commits in several batches.
const BATCH: i64 = 5_000;
/// Practices loaded from the database at once during a rebuild.
const REBUILD_CHUNK: usize = 1_000;

pub struct Indexer {
    pub db: Db,
    pub reader: IndexReader,
    pub fields: Fields,
    /// Only ever locked inside this indexer's blocking sections, one at a time.
    pub writer: Arc<Mutex<IndexWriter<TantivyDocument>>>,
    pub last: FeedPos,
    /// The last change that searches can see (set after the reader reloaded).
    pub visible: Arc<Mutex<FeedPos>>,
    /// Commits since the start, what caches key on (see `Search::generation`).
    pub generation: Arc<AtomicU64>,
    /// Set once the first full pass after the start is done (see `Search::ready`).
    pub ready: Arc<AtomicBool>,
}

/// One unit of tantivy work for the writer.
enum Work {
    Replace { ids: Vec<i64>, docs: Vec<IndexDoc> },
    Clear,
    Add(Vec<IndexDoc>),
    Commit(FeedPos),
}

impl Indexer {
    /// The indexer's loop; returns when told to shut down or when its channel closes.
    pub async fn run(mut self, mut inbox: Receiver<Msg>, mut needs_rebuild: bool) {
        // An index ahead of its database (a database restored from a backup, or another
        // database behind the same index) would silently skip the next writes: rebuild it.
        match self.db.is_ahead(self.last).await {
            Ok(true) => {
                warn!(
                    index = ?self.last,
                    "the search index is ahead of the database; rebuilding it"
                );
                needs_rebuild = true;
            }
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot read the database's last change"),
        }
        // When the index last moved, and when a held-back feed was last reported.
        let (mut moved_at, mut reported_at) = (Instant::now(), Instant::now());
        loop {
            let before = self.last;
            let mut rebuilt = true;
            if needs_rebuild {
                match self
                    .rebuild(|done, total| {
                        if done == total || done % 10_000 == 0 {
                            info!(done, total, "rebuilding the search index");
                        }
                    })
                    .await
                {
                    Ok(n) => info!(practices = n, "search index rebuilt"),
                    Err(e) => {
                        error!(error = %e, "search index rebuild failed");
                        rebuilt = false;
                    }
                }
            }
            needs_rebuild = match self.apply_pending().await {
                Ok(rebuild) => {
                    // The first full pass: the rebuild of an empty or damaged index, or the
                    // catch-up of a sound one. A rebuild asked for later answers from the
                    // old index meanwhile, so it never makes the index unready again.
                    if rebuilt {
                        self.ready.store(true, Ordering::Release);
                    }
                    // A failed rebuild is tried again at the next poll, as failed catch-ups
                    // are: the index it left is not one to answer from.
                    rebuild || !rebuilt
                }
                Err(e) => {
                    error!(error = %e, "applying changes to the search index failed; will retry");
                    !rebuilt
                }
            };
            if self.last != before {
                moved_at = Instant::now();
            } else if moved_at.elapsed() > STALL && reported_at.elapsed() > STALL_REPORTS {
                reported_at = Instant::now();
                match self.db.feed_held_back(self.last).await {
                    Ok(Some(why)) => warn!("search indexing is held back: {why}"),
                    Ok(None) => {}
                    Err(e) => warn!(error = %e, "cannot tell whether indexing is held back"),
                }
            }
            match tokio::time::timeout(POLL, inbox.recv()).await {
                Ok(Some(Msg::Wake)) | Err(_) => {}
                Ok(Some(Msg::Shutdown)) | Ok(None) => break,
            }
        }
        if let Err(e) = self.apply_pending().await {
            warn!(error = %e, "last changes before shutdown were not indexed; the next start catches up");
        }
        let Indexer { writer, .. } = self;
        let merged = tokio::task::spawn_blocking(move || {
            // The writer is ours alone now; waiting for merges consumes it.
            let writer = Arc::try_unwrap(writer).ok()?.into_inner().ok()?;
            Some(writer.wait_merging_threads())
        })
        .await;
        if let Ok(Some(Err(e))) = merged {
            warn!(error = %e, "waiting for index merges");
        }
        info!("search indexer stopped");
    }

    /// Applies every change after `last`; true when a full rebuild was requested instead.
    pub async fn apply_pending(&mut self) -> anyhow::Result<bool> {
        loop {
            let changes = self.db.changes_after(self.last, BATCH).await?;
            let Some(last) = changes.last().map(|c| c.pos) else {
                break;
            };
            if changes.iter().any(|c| c.kind == "reindex") {
                info!("a reindex was requested");
                return Ok(true);
            }
            // A row with no practice (a renamed team with no public practice) has no
            // document to update, but it is still committed: the commit is what moves the
            // caches on.
            let ids: Vec<i64> = changes
                .iter()
                .filter_map(|c| c.practice_id)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !ids.is_empty() {
                let docs = self.db.index_docs(Some(&ids)).await?;
                self.work(Work::Replace { ids, docs }).await?;
            }
            self.work(Work::Commit(last)).await?;
            if (changes.len() as i64) < BATCH {
                break;
            }
        }
        Ok(false)
    }

    /// Rebuilds the whole index from the database, reporting `(done, total)` as it goes.
    /// Returns how many practices it indexed.
    pub async fn rebuild(
        &mut self,
        mut progress: impl FnMut(usize, usize),
    ) -> anyhow::Result<usize> {
        // Changes written while we read are applied again afterwards: replacing is idempotent.
        let from = self.db.rebuild_position().await?;
        let ids = self.db.public_practice_ids().await?;
        self.work(Work::Clear).await?;
        progress(0, ids.len());
        for (i, chunk) in ids.chunks(REBUILD_CHUNK).enumerate() {
            let docs = self.db.index_docs(Some(chunk)).await?;
            self.work(Work::Add(docs)).await?;
            progress(((i + 1) * REBUILD_CHUNK).min(ids.len()), ids.len());
        }
        self.work(Work::Commit(from)).await?;
        Ok(ids.len())
    }

    async fn work(&mut self, work: Work) -> anyhow::Result<()> {
        let writer = self.writer.clone();
        let reader = self.reader.clone();
        let fields = self.fields;
        let committed = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<FeedPos>> {
            let mut writer = writer
                .lock()
                .map_err(|_| anyhow::anyhow!("index writer poisoned"))?;
            match work {
                Work::Replace { ids, docs } => {
                    for id in ids {
                        writer.delete_term(id_term(&fields, id));
                    }
                    for d in &docs {
                        writer.add_document(to_document(&fields, d))?;
                    }
                }
                Work::Clear => {
                    writer.delete_all_documents()?;
                }
                Work::Add(docs) => {
                    for d in &docs {
                        writer.add_document(to_document(&fields, d))?;
                    }
                }
                Work::Commit(pos) => {
                    let started = Instant::now();
                    let payload = serde_json::to_string(&Payload {
                        schema: SCHEMA_VERSION,
                        seq: pos.seq,
                        xid: pos.xid,
                    })?;
                    let mut prepared = writer.prepare_commit()?;
                    prepared.set_payload(&payload);
                    prepared.commit()?;
                    reader.reload()?;
                    tracing::debug!(
                        ?pos,
                        ms = started.elapsed().as_secs_f64() * 1000.0,
                        "search index committed"
                    );
                    return Ok(Some(pos));
                }
            }
            Ok(None)
        })
        .await??;
        if let Some(pos) = committed {
            self.last = pos;
            // The generation moves before `visible`: whoever waits for a change to be
            // visible then finds the caches keyed past it.
            self.generation.fetch_add(1, Ordering::AcqRel);
            *self.visible.lock().unwrap_or_else(|e| e.into_inner()) = pos;
        }
        Ok(())
    }
}

//! The only `IndexWriter` of the process, owned by one thread. It tails the `changes` table:
//! applies rows in `seq` order, commits in batches with the last applied `seq` as the commit
//! payload, and catches up from that payload after a restart or a crash.

use std::collections::BTreeSet;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument};
use tracing::{error, info, warn};

use super::schema::{Fields, SCHEMA_VERSION, id_term, to_document};
use crate::store::Db;

/// What each commit records, so that the next start knows where it stands.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Payload {
    pub schema: u32,
    pub seq: i64,
}

impl Payload {
    pub fn read(index: &Index) -> Option<Payload> {
        let metas = index.load_metas().ok()?;
        serde_json::from_str(metas.payload.as_deref()?).ok()
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
/// Rows applied per commit at most; a longer backlog commits in several batches.
const BATCH: i64 = 5_000;
/// Practices loaded from the database at once during a rebuild.
const REBUILD_CHUNK: usize = 1_000;

pub struct Indexer {
    pub db: Db,
    pub reader: IndexReader,
    pub fields: Fields,
    pub writer: IndexWriter<TantivyDocument>,
    pub last_seq: i64,
    pub runtime: tokio::runtime::Handle,
}

impl Indexer {
    /// The indexer's loop; returns when told to shut down or when its channel closes.
    pub fn run(mut self, inbox: Receiver<Msg>, mut needs_rebuild: bool) {
        loop {
            if needs_rebuild {
                match self.rebuild(|done, total| {
                    if done == total || done % 10_000 == 0 {
                        info!(done, total, "rebuilding the search index");
                    }
                }) {
                    Ok(n) => info!(practices = n, "search index rebuilt"),
                    Err(e) => error!(error = %e, "search index rebuild failed"),
                }
                needs_rebuild = false;
            }
            match self.apply_pending() {
                Ok(rebuild) => needs_rebuild = rebuild,
                Err(e) => error!(error = %e, "applying changes to the search index failed; will retry"),
            }
            match inbox.recv_timeout(POLL) {
                Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Msg::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if let Err(e) = self.apply_pending() {
            warn!(error = %e, "last changes before shutdown were not indexed; the next start catches up");
        }
        if let Err(e) = self.writer.wait_merging_threads() {
            warn!(error = %e, "waiting for index merges");
        }
        info!("search indexer stopped");
    }

    /// Applies every change after `last_seq`; true when a full rebuild was requested instead.
    pub fn apply_pending(&mut self) -> anyhow::Result<bool> {
        loop {
            let db = self.db.clone();
            let after = self.last_seq;
            let changes = self.runtime.block_on(async move { db.changes_after(after, BATCH).await })?;
            let Some(&(last, _, _)) = changes.last() else { break };
            if changes.iter().any(|(_, _, kind)| kind == "reindex") {
                info!("a reindex was requested");
                return Ok(true);
            }
            let ids: BTreeSet<i64> = changes.iter().filter_map(|(_, id, _)| *id).collect();
            self.update(&ids.into_iter().collect::<Vec<_>>())?;
            self.commit(last)?;
            if (changes.len() as i64) < BATCH {
                break;
            }
        }
        Ok(false)
    }

    /// Replaces the documents of `ids` with their current state (removing the non-public).
    fn update(&mut self, ids: &[i64]) -> anyhow::Result<()> {
        let db = self.db.clone();
        let owned = ids.to_vec();
        let docs = self.runtime.block_on(async move { db.index_docs(Some(&owned)).await })?;
        for id in ids {
            self.writer.delete_term(id_term(&self.fields, *id));
        }
        for d in &docs {
            self.writer.add_document(to_document(&self.fields, d))?;
        }
        Ok(())
    }

    fn commit(&mut self, seq: i64) -> anyhow::Result<()> {
        let started = Instant::now();
        let payload = serde_json::to_string(&Payload { schema: SCHEMA_VERSION, seq })?;
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        self.last_seq = seq;
        tracing::debug!(seq, ms = started.elapsed().as_secs_f64() * 1000.0, "search index committed");
        Ok(())
    }

    /// Rebuilds the whole index from the database, reporting `(done, total)` as it goes.
    /// Returns how many practices it indexed.
    pub fn rebuild(&mut self, mut progress: impl FnMut(usize, usize)) -> anyhow::Result<usize> {
        let db = self.db.clone();
        // Changes written while we read are applied again afterwards: replacing is idempotent.
        let (seq, ids) = self.runtime.block_on(async move {
            let seq = db.last_change().await?;
            let ids = db.public_practice_ids().await?;
            anyhow::Ok((seq, ids))
        })?;
        self.writer.delete_all_documents()?;
        progress(0, ids.len());
        for (i, chunk) in ids.chunks(REBUILD_CHUNK).enumerate() {
            let db = self.db.clone();
            let chunk = chunk.to_vec();
            let docs = self.runtime.block_on(async move { db.index_docs(Some(&chunk)).await })?;
            for d in &docs {
                self.writer.add_document(to_document(&self.fields, d))?;
            }
            progress(((i + 1) * REBUILD_CHUNK).min(ids.len()), ids.len());
        }
        self.commit(seq)?;
        Ok(ids.len())
    }
}

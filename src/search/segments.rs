//! How the index is cut into segments, so that one search can use every core.
//!
//! tantivy searches segments in parallel but each segment on one thread, and its default merge
//! policy merges a large catalog into one big segment: a search at 100,000 practices then used
//! one of the two cores. Here merges stop at a `1 / cores` share of the catalog, so a rebuilt
//! index is a few segments of similar size plus small recent ones, and a search runs them on
//! `cores` threads. Under many concurrent searches this changes little (the cores are busy
//! anyway); a single search, the common case between bursts, takes 60–80% of the time.

use tantivy::index::SegmentMeta;
use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy};
use tantivy::{Index, IndexWriter, TantivyDocument};

/// Below this many practices per core a catalog stays one segment: splitting it would cost
/// more in per-segment overhead than the second core gives back.
const MIN_SHARE: u64 = 10_000;

/// Memory the writer may use for buffering documents before it flushes a segment.
const WRITER_MEMORY: usize = 128 * 1024 * 1024;

/// The cores a search may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Lets the index's searches run their segments on every core.
pub fn search_in_parallel(index: &mut Index) -> tantivy::Result<()> {
    match cores() {
        1 => Ok(()),
        n => index.set_multithread_executor(n),
    }
}

/// The index's one writer, merging with `Shares`.
pub fn writer(index: &Index) -> tantivy::Result<IndexWriter<TantivyDocument>> {
    let writer = index.writer(WRITER_MEMORY)?;
    writer.set_merge_policy(Box::new(Shares {
        parts: cores() as u64,
        log: LogMergePolicy::default(),
    }));
    Ok(writer)
}

/// tantivy's log merge policy, with no merge producing more than a `1 / parts` share of the
/// catalog's documents.
#[derive(Debug)]
struct Shares {
    parts: u64,
    log: LogMergePolicy,
}

impl Shares {
    fn cap(&self, segments: &[SegmentMeta]) -> u64 {
        let total: u64 = segments.iter().map(|s| u64::from(s.num_docs())).sum();
        total.div_ceil(self.parts).max(MIN_SHARE)
    }
}

impl MergePolicy for Shares {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let cap = self.cap(segments);
        let docs = |id| {
            segments
                .iter()
                .find(|s| s.id() == id)
                .map_or(0, |s| u64::from(s.num_docs()))
        };
        self.log
            .compute_merge_candidates(segments)
            .into_iter()
            .filter_map(|MergeCandidate(ids)| {
                // Largest first (the log policy's order): keep what fits under the cap.
                let mut sum = 0;
                let kept: Vec<_> = ids
                    .into_iter()
                    .filter(|id| {
                        let n = docs(*id);
                        let fits = sum + n <= cap;
                        if fits {
                            sum += n;
                        }
                        fits
                    })
                    .collect();
                // A lone segment is merged only to drop its deleted documents.
                let purge = kept.len() == 1
                    && segments
                        .iter()
                        .any(|s| s.id() == kept[0] && s.num_deleted_docs() > 0);
                (kept.len() > 1 || purge).then_some(MergeCandidate(kept))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::index::SegmentId;

    fn meta(index: &Index, docs: u32) -> SegmentMeta {
        index.new_segment_meta(SegmentId::generate_random(), docs)
    }

    #[test]
    fn no_merge_grows_past_a_share_of_the_catalog() {
        let index = Index::create_in_ram(tantivy::schema::Schema::builder().build());
        let policy = Shares {
            parts: 2,
            log: LogMergePolicy::default(),
        };
        // 200,000 documents: a merge may make at most 100,000.
        let mut segments: Vec<SegmentMeta> = (0..8).map(|_| meta(&index, 20_000)).collect();
        segments.extend((0..8).map(|_| meta(&index, 5_000)));
        let candidates = policy.compute_merge_candidates(&segments);
        assert!(!candidates.is_empty());
        for MergeCandidate(ids) in &candidates {
            let docs: u32 = ids
                .iter()
                .map(|id| segments.iter().find(|s| s.id() == *id).unwrap().num_docs())
                .sum();
            assert!(ids.len() > 1 && docs <= 100_000, "{docs} documents");
        }
        // A small catalog still merges into one segment.
        let small: Vec<SegmentMeta> = (0..8).map(|_| meta(&index, 1_000)).collect();
        let candidates = policy.compute_merge_candidates(&small);
        assert_eq!(candidates.len(), 1);
        assert_eq!(candidates[0].0.len(), 8);
    }
}

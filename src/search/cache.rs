//! The results of recent searches, kept until the index changes.
//!
//! Readers arriving after a newsletter run the same few searches; each of those costs a pass
//! over every match (for the count and the facet counts) and a page of snippets. The results
//! depend on nothing but the request and the searcher, so they are kept per searcher
//! generation: the first search after the indexer commits starts a fresh cache. The oldest
//! entry leaves first when the cache is full.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::SearchResults;

pub struct ResultCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    results: HashMap<String, Arc<SearchResults>>,
    /// Keys, oldest first.
    order: VecDeque<String>,
}

impl ResultCache {
    /// A cache of `capacity` results; 0 keeps none.
    pub fn new(capacity: usize) -> ResultCache {
        ResultCache {
            capacity,
            inner: Mutex::default(),
        }
    }

    pub fn get(&self, generation: u64, key: &str) -> Option<Arc<SearchResults>> {
        let inner = self.inner.lock().expect("result cache");
        (inner.generation == generation)
            .then(|| inner.results.get(key).cloned())
            .flatten()
    }

    pub fn put(&self, generation: u64, key: String, results: Arc<SearchResults>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().expect("result cache");
        if inner.generation != generation {
            // A search on an older searcher may finish after a newer one started: only ever
            // move forward.
            if generation < inner.generation {
                return;
            }
            *inner = Inner {
                generation,
                ..Inner::default()
            };
        }
        if inner.results.insert(key.clone(), results).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > self.capacity {
            if let Some(oldest) = inner.order.pop_front() {
                inner.results.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(total: u64) -> Arc<SearchResults> {
        Arc::new(SearchResults {
            total,
            ..SearchResults::default()
        })
    }

    #[test]
    fn keeps_results_of_one_generation_oldest_out_first() {
        let cache = ResultCache::new(2);
        cache.put(1, "a".into(), results(1));
        cache.put(1, "b".into(), results(2));
        assert_eq!(cache.get(1, "a").map(|r| r.total), Some(1));
        cache.put(1, "c".into(), results(3));
        assert!(cache.get(1, "a").is_none(), "the oldest left");
        assert_eq!(cache.get(1, "c").map(|r| r.total), Some(3));
        assert!(cache.get(2, "c").is_none(), "a newer index misses");
        cache.put(2, "d".into(), results(4));
        assert!(cache.get(1, "b").is_none() && cache.get(2, "b").is_none());
        cache.put(1, "e".into(), results(5));
        assert!(
            cache.get(2, "d").is_some(),
            "an older searcher's result is not kept"
        );
        let off = ResultCache::new(0);
        off.put(1, "a".into(), results(1));
        assert!(off.get(1, "a").is_none());
    }
}

//! Values that hold until the catalog changes: computed once per version of the data and
//! kept for the requests that follow.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::AppState;
use crate::error::AppResult;

/// Entries kept before the memo starts over (a key holds the data version, so old entries
/// are never asked for again).
const MAX_ENTRIES: usize = 16;

pub struct Memo<T>(Mutex<HashMap<String, Arc<T>>>);

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(Mutex::default())
    }
}

impl<T> Memo<T> {
    /// The value for `what` at the catalog's current version: kept, or computed by `compute`
    /// and kept. Every write to the catalog appends to `changes`: its last `seq` shows this
    /// process's own writes at once, and the index's generation moves on when a change is
    /// applied later than a newer one (several hubs on one database), which `max(seq)`
    /// alone would miss.
    pub async fn get<F, Fut>(&self, state: &AppState, what: &str, compute: F) -> AppResult<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        let version = (state.db.last_change().await?, state.search.generation());
        let key = format!("{} {} {what}", version.0, version.1);
        if let Some(value) = self.0.lock().expect("memo").get(&key) {
            return Ok(value.clone());
        }
        let value = Arc::new(compute().await?);
        let mut entries = self.0.lock().expect("memo");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, value.clone());
        Ok(value)
    }
}

//! Reading pages for anonymous visitors, kept as rendered bytes until the catalog changes.
//!
//! A practice page costs several database round trips and a more-like-this search; the same
//! bytes serve every anonymous reader until something is written. The cache is keyed by path
//! and tagged with the search index's generation, which moves on every commit of a change
//! that any write anywhere (web, CLI import, another process) appends — so an entry is
//! dropped as soon as the indexer has applied any change, at most the write-to-visible lag
//! after the write. Signed-in
//! people (a session cookie) always get a fresh page: it carries their name and forms.
//!
//! The Atom feeds keep their rendered bytes in a `PageCache` of their own (see `feeds`),
//! keyed by path and query; they answer conditional requests themselves, so this middleware
//! must not serve them.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Bytes of rendered pages kept at most; past it the cache starts over.
const MAX_BYTES: usize = 64 * 1024 * 1024;

pub struct PageCache {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::with_max_bytes(MAX_BYTES)
    }
}

#[derive(Default)]
struct Inner {
    generation: u64,
    bytes: usize,
    pages: HashMap<String, (HeaderMap, Bytes)>,
}

impl PageCache {
    /// A cache that starts over past `max_bytes` of bodies.
    pub fn with_max_bytes(max_bytes: usize) -> PageCache {
        PageCache {
            inner: Mutex::default(),
            max_bytes,
        }
    }

    /// The response kept for `key` (a path, with its query if it has one), if it was made at
    /// `generation`.
    pub(crate) fn get(&self, generation: u64, key: &str) -> Option<(HeaderMap, Bytes)> {
        let inner = self.inner.lock().expect("page cache");
        (inner.generation == generation)
            .then(|| inner.pages.get(key).cloned())
            .flatten()
    }

    /// Keeps a response made at `generation` (read before the reads that made it).
    pub(crate) fn put(&self, generation: u64, key: String, headers: HeaderMap, body: Bytes) {
        let mut inner = self.inner.lock().expect("page cache");
        // A page made before the newest change this cache has seen is not kept, and must not
        // throw away the newer pages (a slow render finishing after a fast one).
        if generation < inner.generation {
            return;
        }
        if inner.generation != generation || inner.bytes + body.len() > self.max_bytes {
            inner.pages.clear();
            inner.bytes = 0;
            inner.generation = generation;
        }
        inner.bytes += body.len();
        inner.pages.insert(key, (headers, body));
    }
}

/// The public reading pages; everything else (search, forms, API) is always fresh.
fn cacheable(path: &str) -> bool {
    if path == "/" || path == "/challenges" {
        return true;
    }
    [
        "/practices/",
        "/challenges/",
        "/teams/",
        "/schools/",
        "/districts/",
    ]
    .iter()
    .any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    })
}

pub async fn serve_cached(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let anonymous = !request.headers().get_all(header::COOKIE).iter().any(|c| {
        c.to_str()
            .is_ok_and(|c| c.contains(crate::auth::SESSION_COOKIE))
    });
    if request.method() != Method::GET
        || !anonymous
        || request.uri().query().is_some()
        || !cacheable(request.uri().path())
    {
        return next.run(request).await;
    }
    let path = request.uri().path().to_string();
    let generation = state.search.generation();
    if let Some((headers, body)) = state.pages.get(generation, &path) {
        let mut response = Body::from(body).into_response();
        *response.headers_mut() = headers;
        return response;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    state
        .pages
        .put(generation, path, parts.headers.clone(), bytes.clone());
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_cached() {
        for path in [
            "/",
            "/practices/x",
            "/teams/t",
            "/challenges",
            "/challenges/writing",
        ] {
            assert!(cacheable(path), "{path}");
        }
        for path in [
            "/practices/x/edit",
            "/search",
            "/me",
            "/review/x",
            "/api/v1/search",
            "/practices/",
            // A feed answers conditional requests itself.
            "/feed.atom",
            "/teams/t/feed.atom",
            "/challenges/writing/feed.atom",
        ] {
            assert!(!cacheable(path), "{path}");
        }
        let cache = PageCache::default();
        cache.put(1, "/".into(), HeaderMap::new(), Bytes::from_static(b"a"));
        assert!(cache.get(1, "/").is_some());
        assert!(
            cache.get(2, "/").is_none(),
            "a newer index version drops the page"
        );
        cache.put(3, "/".into(), HeaderMap::new(), Bytes::from_static(b"c"));
        cache.put(
            2,
            "/teams/t".into(),
            HeaderMap::new(),
            Bytes::from_static(b"b"),
        );
        assert!(
            cache.get(3, "/").is_some(),
            "a late, older page keeps the newer ones"
        );
        assert!(cache.get(2, "/teams/t").is_none() && cache.get(3, "/teams/t").is_none());
    }
}

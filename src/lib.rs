//! Bright Spots: the knowledge hub of a networked improvement community of schools.

pub mod auth;
pub mod cli;
pub mod config;
pub mod content;
pub mod domain;
pub mod error;
pub mod generate;
pub mod jobs;
pub mod mail;
pub mod notify;
pub mod search;
mod server;
pub mod store;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use config::Settings;
use search::Search;
use store::{Db, SearchLogEntry};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub search: Arc<Search>,
    /// Searches to record for the network; written in batches off the request path.
    pub search_log: mpsc::Sender<SearchLogEntry>,
    /// Rendered reading pages for anonymous visitors, until the catalog changes.
    pub pages: Arc<web::page_cache::PageCache>,
    /// Rendered Atom feeds with their validators, until the catalog changes.
    pub feeds: Arc<web::page_cache::PageCache>,
    /// The API's JSON answers with their validators, until the catalog changes.
    pub api: Arc<web::page_cache::PageCache>,
    /// What each API client has left of its allowance, and the API requests in flight.
    pub api_limits: Arc<web::api::limits::Limiter>,
    /// Facet labels for search requests, until the catalog changes.
    pub labels: Arc<web::search::LabelCache>,
    /// Rows of practices shown as search hits, until the catalog changes.
    pub hit_rows: Arc<web::search::HitRowCache>,
    /// The quarterly view's catalog-wide figures and the list due for re-review, until the
    /// catalog changes.
    pub quarters: Arc<web::memo::Memo<web::plc::QuarterFigures>>,
    pub due: Arc<web::memo::Memo<store::Capped<store::DueRow>>>,
    /// The sign-in providers' published signing keys.
    pub oidc_keys: Arc<auth::oidc::KeyCache>,
    /// The key that signs unsubscribe links: made once in the database, the same for every
    /// instance, never changed.
    pub unsubscribe_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// Wake this instance's job worker and mail sender before their next poll (after a
    /// write here schedules a job, and after a job queues mail).
    pub wake_jobs: Arc<tokio::sync::Notify>,
    pub wake_mail: Arc<tokio::sync::Notify>,
    /// Wakes this instance's webhook sender (after a job or a test ping queued deliveries).
    pub wake_webhooks: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Opens the search index (catching up with the database) and starts the background
    /// tasks. Must be called inside a tokio runtime.
    pub fn start(db: Db, settings: Settings) -> anyhow::Result<AppState> {
        let db = db.with_image_policy(settings.image_policy());
        // Stored HTML rendered under other image hosts is rendered again, off the start-up
        // path: until it is, the Content-Security-Policy already enforces the new policy.
        let rendering = db.clone();
        tokio::spawn(async move {
            if let Err(e) = rendering.apply_image_policy().await {
                tracing::error!(error = %e, "stored HTML not rendered again under the image policy");
            }
        });
        let search = Arc::new(
            Search::start(&settings.index_dir, db.clone())?
                .with_cached_results(settings.search_cache_entries),
        );
        // Writes through other instances wake the indexer at once (PostgreSQL).
        let listening = Arc::downgrade(&search);
        let listener_db = db.clone();
        tokio::spawn(async move {
            listener_db
                .listen_for_changes(|| listening.upgrade().map(|s| s.wake()).is_some())
                .await;
        });
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(write_search_log(db.clone(), rx));
        let api_limits = Arc::new(web::api::limits::Limiter::new(settings.api.max_concurrent));
        let settings = Arc::new(settings);
        let wake_mail = Arc::new(tokio::sync::Notify::new());
        if let Some(smtp) = &settings.smtp {
            tokio::spawn(mail::run(db.clone(), smtp.clone(), wake_mail.clone()));
        }
        // Always: endpoints are registered at run time, and with none it reads one index
        // entry every few seconds.
        let wake_webhooks = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(webhooks::deliver::run(
            db.clone(),
            settings.webhook_retry_secs,
            wake_webhooks.clone(),
        ));
        let state = AppState {
            db,
            settings,
            search,
            search_log: tx,
            pages: Arc::default(),
            feeds: Arc::new(web::page_cache::PageCache::with_max_bytes(
                web::feeds::CACHED_BYTES,
            )),
            api: Arc::default(),
            api_limits,
            labels: Arc::default(),
            hit_rows: Arc::default(),
            quarters: Arc::default(),
            due: Arc::default(),
            oidc_keys: Arc::default(),
            unsubscribe_key: Arc::default(),
            wake_jobs: Arc::default(),
            wake_mail,
            wake_webhooks,
        };
        tokio::spawn(jobs::run(state.clone()));
        Ok(state)
    }

    /// Stops the indexer after it has committed what is pending.
    pub async fn shutdown(&self) {
        self.search.shutdown().await;
    }
}

/// Searches logged per minute at most, per instance: the log is for the coaches' picture of
/// what the network looks for, and anyone can search, so a flood of searches must not be able
/// to grow the database without bound. Far above what a network's people type.
pub const SEARCH_LOG_PER_MINUTE: usize = 1200;

/// Writes logged searches in batches: whatever has queued up goes in one transaction. Past
/// [`SEARCH_LOG_PER_MINUTE`] in a minute, entries are counted and dropped.
async fn write_search_log(db: Db, mut rx: mpsc::Receiver<SearchLogEntry>) {
    let mut minute = tokio::time::Instant::now();
    let (mut written, mut dropped) = (0usize, 0usize);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
            if batch.len() >= 1000 {
                break;
            }
        }
        if minute.elapsed() >= std::time::Duration::from_secs(60) {
            if dropped > 0 {
                tracing::warn!(dropped, "searches beyond the log's rate were not logged");
            }
            minute = tokio::time::Instant::now();
            (written, dropped) = (0, 0);
        }
        let room = SEARCH_LOG_PER_MINUTE - written;
        if batch.len() > room {
            dropped += batch.len() - room;
            batch.truncate(room);
        }
        if batch.is_empty() {
            continue;
        }
        written += batch.len();
        if let Err(e) = db.log_searches(&batch).await {
            tracing::warn!(error = %e, n = batch.len(), "search log not written");
        }
    }
}

/// The whole application as a router, without a port: tests drive it in-process.
pub fn app(state: AppState) -> Router {
    web::router(state)
}

/// Serves `state` on `listener` until `shutdown` resolves; requests in flight then finish.
/// Connections are timed out and capped as `state.settings` says.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let s = &state.settings;
    let limits = server::Limits {
        header_timeout: Duration::from_secs(s.header_timeout_secs),
        idle_timeout: Duration::from_secs(s.idle_timeout_secs),
        max_connections: s.max_connections,
    };
    server::run(listener, app(state), limits, shutdown).await
}

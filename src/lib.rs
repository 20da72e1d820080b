//! Bright Spots: the knowledge hub of a networked improvement community of schools.

pub mod cli;
pub mod config;
pub mod content;
pub mod domain;
pub mod error;
pub mod store;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use config::Settings;
use store::Db;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
}

/// The whole application as a router, without a port: tests drive it in-process.
pub fn app(state: AppState) -> Router {
    web::router(state)
}

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers, and the search index can answer too: after a first start, a schema
/// change or damage it is rebuilt from nothing, and until then a search would find nothing;
/// a sound index first catches up with what was written while the hub was down.
/// (A rebuild asked for by an administrator keeps answering from the old index: ready.)
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if !state.db.ping().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
    }
    if !super::index_ready(&state) {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "search index being rebuilt from the database",
        );
    }
    (StatusCode::OK, "ready")
}

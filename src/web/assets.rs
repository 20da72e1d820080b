//! The stylesheet, compiled into the binary so the hub runs from any directory, served under
//! a content-hashed URL with a year-long cache.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::AppError;

const STYLE: &str = include_str!("../../static/style.css");
const AUTOSAVE: &str = include_str!("../../static/autosave.js");

static VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a: stable across builds and platforms, enough to bust caches.
    let hash = STYLE
        .bytes()
        .chain(AUTOSAVE.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
});

pub fn version() -> &'static str {
    &VERSION
}

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Result<Response, AppError> {
    let (kind, body) = if file == format!("style-{}.css", version()) {
        ("text/css; charset=utf-8", STYLE)
    } else if file == format!("autosave-{}.js", version()) {
        ("text/javascript; charset=utf-8", AUTOSAVE)
    } else {
        return Err(AppError::NotFound);
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response())
}

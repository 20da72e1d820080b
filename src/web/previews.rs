//! The link preview images: a practice's at `/practices/{slug}/preview-{tag}.png`, the
//! network's at `/preview-{tag}.png`.
//!
//! The tag is the practice's public revision number and a hash of everything the picture
//! shows (title, stage, challenge areas, the network's name, the drawing's version), so the
//! address changes exactly when the picture would: it is served as immutable, for a year.
//! (The stage alone can change without a revision — "replicated" is earned by adoptions —
//! which is why the revision number is not enough.) An old tag of a public practice is
//! redirected to the current picture, since a preview pasted a month ago still asks for it.
//!
//! Drawing is CPU work (rasterising every glyph of a 1200×630 picture, then deflate; timed
//! by `benches/preview_image.rs`), so pictures are kept in memory, keyed by slug and tag. The key says what the picture shows, so the cache is
//! right on every instance and across apps in one process, and never needs invalidating.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::preview_image::{self, DRAWING_VERSION, PracticeCard};
use crate::AppState;
use crate::domain::{Status, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::pages::PracticeRow;

/// Pictures kept at most (about 40 KB each); past it the cache starts over.
const CACHED: usize = 512;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

static CACHE: LazyLock<Mutex<HashMap<String, Bytes>>> = LazyLock::new(Mutex::default);

pub fn router() -> Router<AppState> {
    // A capture cannot take a prefix or suffix (`preview-{tag}.png`): the file name is
    // captured whole and read here. Static siblings (`edit`, `history`, …) still win.
    // The network's picture is at the root, which `sitemap::router` dispatches.
    Router::new().route("/practices/{slug}/{file}", get(practice_image))
}

/// The path of a practice's preview as it is now.
pub fn practice_path(state: &AppState, p: &PracticeRow, areas: &[String]) -> String {
    format!(
        "/practices/{}/preview-{}.png",
        p.slug,
        practice_tag(state, p, areas)
    )
}

/// The path of the network's preview.
pub fn site_path(network: &str) -> String {
    format!("/preview-{}.png", hash(&[network, TAGLINE]))
}

const TAGLINE: &str = "Practices that work in schools like yours: found by school STEP teams, \
                       vetted by network coaches, shared with their evidence.";

fn practice_tag(state: &AppState, p: &PracticeRow, areas: &[String]) -> String {
    let mut shown = vec![
        p.title.as_str(),
        p.stage.as_str(),
        state.settings.network_name.as_str(),
    ];
    shown.extend(areas.iter().map(String::as_str));
    format!("{}-{}", p.revision_number, hash(&shown))
}

/// Twelve hex digits of a SHA-256 over the parts and the drawing's version (parts are
/// separated by a byte no text holds).
fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(DRAWING_VERSION.to_be_bytes());
    for part in parts {
        h.update([0]);
        h.update(part.as_bytes());
    }
    h.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn practice_image(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
) -> AppResult<Response> {
    // `preview-{revision}-{hash}.png`: anything else is no file of ours.
    let Some(tag) = file
        .strip_prefix("preview-")
        .and_then(|f| f.strip_suffix(".png"))
        .filter(|tag| {
            tag.split_once('-').is_some_and(|(n, h)| {
                !n.is_empty()
                    && !h.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && h.bytes().all(|b| b.is_ascii_hexdigit())
            })
        })
    else {
        return Err(AppError::NotFound);
    };
    // Only a public practice has a preview: the page of an archived one is not in the
    // catalog, and a draft has no public revision (`practice_page` is `None`).
    let Some(found) = state.db.practice_page(&slug).await? else {
        return Err(AppError::NotFound);
    };
    let p = &found.practice;
    if Status::parse(&p.status) == Ok(Status::Archived) {
        return Err(AppError::NotFound);
    }
    let areas: Vec<String> = found.areas.iter().map(|(_, name)| name.clone()).collect();
    let current = practice_tag(&state, p, &areas);
    if tag != current {
        // A tag this hub never made is as good as an old one: both get today's picture.
        return Ok(Redirect::to(&practice_path(&state, p, &areas)).into_response());
    }
    let stage = super::views::stage(&p.stage);
    let (title, network) = (p.title.clone(), state.settings.network_name.clone());
    let key = format!("{slug}/{tag}");
    let png = cached(key, move || {
        preview_image::practice_png(&PracticeCard {
            title: &title,
            stage_key: stage.key,
            stage_label: stage.label,
            areas: &areas,
            network: &network,
        })
    })
    .await?;
    Ok(png_response(png))
}

/// `/preview-{tag}.png`, when `file` is such a name (`None`: some other file).
pub(super) async fn site_image(state: &AppState, file: &str) -> Option<AppResult<Response>> {
    if !(file.starts_with("preview-") && file.ends_with(".png")) {
        return None;
    }
    Some(site_image_now(state, file).await)
}

async fn site_image_now(state: &AppState, file: &str) -> AppResult<Response> {
    let network = state.settings.network_name.clone();
    let current = site_path(&network);
    if file == current.trim_start_matches('/') {
        let png = cached(current, move || preview_image::site_png(&network, TAGLINE)).await?;
        return Ok(png_response(png));
    }
    Ok(Redirect::to(&current).into_response())
}

/// The picture kept under `key`, or drawn (off the async executor) and kept.
async fn cached(key: String, draw: impl FnOnce() -> Vec<u8> + Send + 'static) -> AppResult<Bytes> {
    if let Some(png) = CACHE.lock().expect("preview cache").get(&key) {
        return Ok(png.clone());
    }
    let png = Bytes::from(
        tokio::task::spawn_blocking(draw)
            .await
            .map_err(|e| AppError::Internal(e.into()))?,
    );
    let mut cache = CACHE.lock().expect("preview cache");
    if cache.len() >= CACHED {
        cache.clear();
    }
    cache.insert(key, png.clone());
    Ok(png)
}

fn png_response(png: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        png,
    )
        .into_response()
}

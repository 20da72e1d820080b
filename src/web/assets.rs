//! The stylesheet, script and icons, compiled into the binary so the hub runs from any
//! directory, served under a content-hashed URL with a year-long cache. The addresses
//! browsers ask for by name (`/favicon.ico`, `/manifest.webmanifest`) cannot carry a hash:
//! they are kept a day.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::preview_image::icon_png;
use crate::AppState;
use crate::error::AppError;

const STYLE: &str = include_str!("../../static/style.css");
const AUTOSAVE: &str = include_str!("../../static/autosave.js");
const FAVICON: &str = include_str!("../../static/favicon.svg");

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const A_DAY: &str = "public, max-age=86400";

/// The header's navy and the page's white, as static/style.css has them (`--brand-bg`,
/// `--bg`): the manifest's colours.
const THEME_COLOUR: &str = "#123c63";
const BACKGROUND_COLOUR: &str = "#ffffff";

/// The icons drawn from code (`preview_image::icon_png`), by size: the manifest's, and the
/// 32-pixel one inside `/favicon.ico`.
static ICONS: LazyLock<[(u32, Vec<u8>); 3]> =
    LazyLock::new(|| [32, 192, 512].map(|size| (size, icon_png(size))));

static VERSION: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a: stable across builds and platforms, enough to bust caches. The icons are in
    // it too, so a change to their drawing moves their addresses.
    let icons = ICONS.iter().flat_map(|(_, png)| png.iter().copied());
    let hash = STYLE
        .bytes()
        .chain(AUTOSAVE.bytes())
        .chain(FAVICON.bytes())
        .chain(icons)
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
});

pub fn version() -> &'static str {
    &VERSION
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(asset))
        .route("/favicon.ico", get(favicon_ico))
        .route("/manifest.webmanifest", get(manifest))
}

async fn asset(Path(file): Path<String>) -> Result<Response, AppError> {
    let v = version();
    let (kind, body): (&str, Vec<u8>) = if file == format!("style-{v}.css") {
        ("text/css; charset=utf-8", STYLE.into())
    } else if file == format!("autosave-{v}.js") {
        ("text/javascript; charset=utf-8", AUTOSAVE.into())
    } else if file == format!("favicon-{v}.svg") {
        ("image/svg+xml", FAVICON.into())
    } else if let Some((_, png)) = ICONS
        .iter()
        .find(|(size, _)| file == format!("icon-{size}-{v}.png"))
    {
        ("image/png", png.clone())
    } else {
        return Err(AppError::NotFound);
    };
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        body,
    )
        .into_response())
}

/// What browsers ask for on their own, whatever the page links: an ICO holding the 32-pixel
/// PNG (ICO may hold PNG images since Windows Vista; every current browser reads it).
async fn favicon_ico() -> Response {
    let png = &ICONS[0].1;
    let mut ico = Vec::with_capacity(22 + png.len());
    // ICONDIR: reserved, type 1 (icon), one image.
    ico.extend_from_slice(&[0, 0, 1, 0, 1, 0]);
    // ICONDIRENTRY: 32×32, no palette, reserved, 1 plane, 32 bits, size, offset 22.
    ico.extend_from_slice(&[32, 32, 0, 0, 1, 0, 32, 0]);
    ico.extend_from_slice(&(png.len() as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    ico.extend_from_slice(png);
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, A_DAY),
        ],
        ico,
    )
        .into_response()
}

/// The web app manifest: the network's name, the icons, the colours of the header.
async fn manifest(State(state): State<AppState>) -> Response {
    let v = version();
    let name = &state.settings.network_name;
    let mut icons: Vec<serde_json::Value> = ICONS[1..]
        .iter()
        .map(|(size, _)| {
            serde_json::json!({
                "src": format!("/static/icon-{size}-{v}.png"),
                "sizes": format!("{size}x{size}"),
                "type": "image/png",
            })
        })
        .collect();
    icons.push(serde_json::json!({
        "src": format!("/static/favicon-{v}.svg"),
        "sizes": "any",
        "type": "image/svg+xml",
    }));
    let manifest = serde_json::json!({
        "name": name,
        // Shown under the icon on a home screen: about twelve characters fit.
        "short_name": short_name(name),
        "description": "Practices that work in schools like yours, with their evidence.",
        "start_url": "/",
        "scope": "/",
        "display": "browser",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, A_DAY),
        ],
        manifest.to_string(),
    )
        .into_response()
}

/// The name, or its first word(s) up to twelve characters when it is longer.
fn short_name(name: &str) -> String {
    if name.chars().count() <= 12 {
        return name.to_string();
    }
    let mut short = String::new();
    for word in name.split_whitespace() {
        if short.chars().count() + word.chars().count() + 1 > 12 && !short.is_empty() {
            break;
        }
        if !short.is_empty() {
            short.push(' ');
        }
        short.push_str(word);
    }
    short.chars().take(12).collect()
}

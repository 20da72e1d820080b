//! HTTP: one router per area, merged here; pages are askama templates over stored HTML.

mod admin;
mod adopt;
pub mod api;
mod assets;
mod catalog;
mod chart;
pub mod feeds;
pub(crate) mod files;
mod forest;
mod health;
mod like_mine;
mod listing;
pub mod memo;
pub(crate) mod multipart;
mod network;
mod notifications;
pub mod page_cache;
pub(crate) mod plc;
pub mod preview_image;
mod previews;
mod publish;
mod questions;
mod review;
mod school_profiles;
pub mod search;
pub mod seo;
mod signin;
pub mod sitemap;
mod tokens;
mod views;
mod webhooks;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::AppState;
use crate::auth::{self, Viewer};
use crate::domain::Role;
use crate::error::{AppError, ErrorMessage};

pub use notifications::saved_searches;

/// The content hash in the URLs of the stylesheet and script.
pub fn asset_version() -> &'static str {
    assets::version()
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(catalog::router())
        .merge(network::router())
        .merge(search::router())
        .merge(like_mine::router())
        .merge(api::router(&state))
        .merge(feeds::router())
        .merge(health::router())
        .merge(signin::router())
        .merge(publish::router())
        .merge(files::router())
        .merge(admin::router())
        .merge(webhooks::router())
        .merge(adopt::router())
        .merge(questions::router())
        .merge(review::router())
        .merge(plc::router())
        .merge(notifications::router())
        .merge(tokens::router())
        .merge(assets::router())
        .merge(previews::router())
        .merge(sitemap::router())
        .fallback(|| async { AppError::NotFound })
        // One body limit: `check_csrf` reads every body up to `MAX_FORM_BYTES` and answers a
        // larger one with the hub's own 413. The extractors get the same limit so they never
        // refuse, with axum's plain text, a body that check let through.
        .layer(DefaultBodyLimit::max(auth::MAX_FORM_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), wake_indexer))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::check_csrf,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::resolve_viewer,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            page_cache::serve_cached,
        ))
        .layer(middleware::from_fn_with_state(
            ContentPolicy::of(&state),
            security_headers,
        ))
        // A 5xx the hub answers on purpose (`/readyz` while the index catches up, "busy")
        // is not an error to log, and a real failure is logged where it happens
        // (`AppError`), with what went wrong: tower-http's own line stays at debug.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

/// The span every request's log lines carry: tower-http's default, with the URI as
/// `LoggedUri` shows it.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        uri = %LoggedUri(request.uri()),
        version = ?request.version(),
    )
}

/// A request's URI for the logs. Under `/auth/` the query is left out at every level: a
/// provider's callback carries the one-time `code` and `state`, which anyone reading the logs
/// could otherwise replay while they are fresh. So is an unsubscribe link's signed token.
struct LoggedUri<'a>(&'a axum::http::Uri);

impl std::fmt::Display for LoggedUri<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uri = self.0;
        match uri.query() {
            Some(_) if uri.path().starts_with("/auth/") || uri.path() == "/unsubscribe" => {
                write!(f, "{}?[redacted]", uri.path())
            }
            _ => write!(f, "{uri}"),
        }
    }
}

/// What every page's header and footer need.
pub struct Chrome {
    pub network_name: String,
    pub asset_version: &'static str,
    /// The signed-in person's name, for the header.
    pub user_name: Option<String>,
    pub is_coach: bool,
    pub is_admin: bool,
    /// The session's CSRF token, for the sign-out form in the header.
    pub csrf: String,
    /// Description, canonical address, link preview tags: only on a page its handler
    /// declares public (`public`). Without them the page is `noindex`, so a new page stays
    /// out of search engines until someone decides otherwise.
    pub meta: Option<seo::PageMeta>,
}

impl Chrome {
    pub fn new(state: &AppState, viewer: &Viewer) -> Chrome {
        let user = viewer.user();
        Chrome {
            network_name: state.settings.network_name.clone(),
            asset_version: assets::version(),
            user_name: user.map(|u| u.name.clone()),
            is_coach: user.is_some_and(|u| u.is_coach()),
            is_admin: user.is_some_and(|u| u.role == Role::Admin),
            csrf: viewer.csrf().to_string(),
            meta: None,
        }
    }

    /// The chrome of a public page: indexed (unless `meta` says not) and previewed with
    /// `meta`.
    pub fn public(mut self, meta: seo::PageMeta) -> Chrome {
        self.meta = Some(meta);
        self
    }
}

/// One field of a posted form, trimmed ("" when absent).
pub fn form_field(body: &[u8], name: &str) -> String {
    auth::form_value(body, name)
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// The fields of a urlencoded body, each value `Err` (holding it as best read) when its bytes
/// are not UTF-8, where `form_urlencoded` would quietly put U+FFFD in their place: for forms
/// where that must be a problem to tell, not a character to keep.
pub fn strict_form(body: &[u8]) -> Vec<(String, Result<String, String>)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let key = String::from_utf8_lossy(&percent_decode(k)).into_owned();
            let value = String::from_utf8(percent_decode(v))
                .map_err(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            (key, value)
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one name or value, to bytes.
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let escaped = raw
            .get(i + 1..i + 3)
            .and_then(|h| Some(hex(h[0])? * 16 + hex(h[1])?));
        match (raw[i], escaped) {
            (b'%', Some(byte)) => {
                out.push(byte as u8);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    out
}

/// Whether the index has finished its first pass since the start. On a first start or after
/// a schema change it is rebuilt from nothing, and until then its counts would be zero: pages
/// that show counts count in the database instead, or say they will show them soon. (The
/// indexer says so itself: guessing from the database's changes took a database whose
/// `changes` is empty but which holds practices, a copied one, for ready.)
pub fn index_ready(state: &AppState) -> bool {
    state.search.ready()
}

/// Runs `f` on the search index off the async executor (tantivy reads block).
pub async fn on_index<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&crate::search::Search) -> tantivy::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    let search = state.search.clone();
    tokio::task::spawn_blocking(move || f(&search))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))
}

/// Renders a template into a response, turning a template failure into a logged 500.
pub fn page<T: Template>(template: T) -> Result<Response, AppError> {
    Ok(Html(template.render()?).into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    title: String,
    message: String,
    not_found: bool,
    sign_in: bool,
}

/// Draws the HTML page of every error response, with the site's header and a way back.
async fn render_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let feed = request.uri().path().ends_with(".atom");
    let viewer = request
        .extensions()
        .get::<Viewer>()
        .cloned()
        .unwrap_or_default();
    let response = next.run(request).await;
    let Some(ErrorMessage(message)) = response.extensions().get::<ErrorMessage>().cloned() else {
        return response;
    };
    let status = response.status();
    let not_found = status == StatusCode::NOT_FOUND;
    // A feed reader (or a person who opened a feed's address) gets the message as plain text.
    if feed {
        let text = message.unwrap_or_else(|| {
            if not_found {
                "There is no feed at this address."
            } else {
                "The server failed; the problem has been logged."
            }
            .to_string()
        });
        let mut plain = (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{text}\n"),
        )
            .into_response();
        if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
            plain
                .headers_mut()
                .insert(header::RETRY_AFTER, retry.clone());
        }
        return plain;
    }
    if api {
        let error = message.unwrap_or_else(|| {
            if not_found {
                "no such API endpoint"
            } else {
                "the server failed; the problem has been logged"
            }
            .to_string()
        });
        return (status, axum::Json(serde_json::json!({ "error": error }))).into_response();
    }
    let template = ErrorPage {
        chrome: Chrome::new(&state, &viewer),
        title: if not_found {
            "Page not found".into()
        } else if status == StatusCode::UNAUTHORIZED {
            "Please sign in".into()
        } else if status == StatusCode::FORBIDDEN {
            "Not allowed".into()
        } else if status == StatusCode::PAYLOAD_TOO_LARGE {
            "The form was too large".into()
        } else if status.is_client_error() {
            "That request could not be used".into()
        } else {
            "Something went wrong on our side".into()
        },
        message: message.unwrap_or_else(|| {
            if not_found {
                "There is no page at this address. The practice may not be public yet, or the link may have a typo.".into()
            } else {
                "The problem has been logged. Please try again in a moment.".into()
            }
        }),
        not_found,
        sign_in: status == StatusCode::UNAUTHORIZED,
    };
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            status.into_response()
        }
    }
}

/// After a request that may have written (any POST), the indexer looks at the change feed
/// now instead of at its next poll: edits become searchable, and cached pages refresh, sooner;
/// so does the job worker (a write may have scheduled notices).
async fn wake_indexer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let write =
        request.method() != axum::http::Method::GET && request.method() != axum::http::Method::HEAD;
    let response = next.run(request).await;
    if write {
        state.search.wake();
        state.wake_jobs.notify_one();
    }
    response
}

/// The Content-Security-Policy of every response, made once from the settings: pages need
/// no script and no third-party anything; images come from the hub and the `image_hosts`
/// only (no `https:` wildcard, no `data:`), so a practice cannot make readers' browsers
/// call a tracker even if its stored HTML held such an image.
#[derive(Clone)]
struct ContentPolicy(HeaderValue);

impl ContentPolicy {
    fn of(state: &AppState) -> ContentPolicy {
        let policy = format!(
            "default-src 'self'; img-src {}; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
            state.settings.image_policy().csp_img_src()
        );
        // Host names were checked to be letters, digits, dots and hyphens.
        ContentPolicy(HeaderValue::from_str(&policy).expect("a header-safe policy"))
    }
}

/// Headers every response carries: no framing, no sniffing, the content policy. A response
/// that set its own policy (an uploaded file's, stricter) keeps it.
async fn security_headers(
    State(policy): State<ContentPolicy>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, policy.0);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    response
}

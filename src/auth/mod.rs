//! Who is asking: sessions (server-side, known by a hash of the cookie), roles, CSRF, and
//! sign-in through OAuth2 / OpenID Connect providers.
//!
//! Every request passes `resolve_viewer`, which attaches a [`Viewer`]. Every POST also passes
//! its CSRF check there: a request whose token does not match its session's is refused before
//! any handler runs — except the authoring forms, which must keep a person's text when their
//! session ended while they wrote; those receive the verdict and save nothing.

pub mod oauth;
pub mod oidc;
mod providers;

use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};

pub use providers::{ProviderKind, ProviderSettings, Secret};

use crate::AppState;
use crate::config::Settings;
use crate::error::AppError;
use crate::store::{SessionRow, User};

pub const SESSION_COOKIE: &str = "bs_session";
/// Carries the local sign-in form's CSRF token before there is a session (double submit):
/// showing the sign-in page creates no session row.
pub const PRESESSION_COOKIE: &str = "bs_presession";
/// The largest request body accepted, the hub's one body limit (the router gives extractors
/// the same). The largest honest form — every section at its 20,000 characters, each sent as
/// nine bytes (`%E2%80%99`), every measure and resource row — is about 1.3 MB.
pub const MAX_FORM_BYTES: usize = 4 * 1024 * 1024;

/// A random token: 32 bytes from the OS, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares without leaking where the first difference is.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The person behind a request, if any, and their session.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub session: Option<SessionRow>,
    /// A session cookie came with the request but its session is over (expired or signed out).
    pub ended: bool,
}

impl Viewer {
    pub fn user(&self) -> Option<&User> {
        self.session.as_ref().and_then(|s| s.user.as_ref())
    }

    /// The token forms carry; empty without a session.
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |s| s.csrf_token.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The outcome of the CSRF check of a state-changing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csrf {
    Valid,
    /// No token, a wrong one, or no session to compare with.
    Invalid,
}

/// A signed-in person whose request (if it changes anything) carried the right CSRF token.
/// Pages that need one redirect to sign-in; forms get a clear 401/403.
#[derive(Debug, Clone)]
pub struct SignedIn(pub User, pub Viewer);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let viewer = parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .unwrap_or_default();
        let Some(user) = viewer.user().cloned() else {
            return Err(sign_in_required(
                &parts.method,
                parts.uri.path(),
                viewer.ended,
            ));
        };
        if parts.extensions.get::<Csrf>() == Some(&Csrf::Invalid) {
            return Err(csrf_failed());
        }
        Ok(SignedIn(user, viewer))
    }
}

pub fn sign_in_required(method: &Method, path: &str, ended: bool) -> AppError {
    if method == Method::GET || method == Method::HEAD {
        AppError::Redirect(format!("/signin?next={}", encode(path)))
    } else {
        AppError::Unauthorized(if ended {
            "Your session has ended. Sign in again, then repeat what you were doing.".into()
        } else {
            "You need to sign in to do that.".into()
        })
    }
}

pub fn csrf_failed() -> AppError {
    AppError::Forbidden(
        "This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.".into(),
    )
}

pub fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q[1..].to_string())
        .unwrap_or_default()
}

/// Where to send someone after sign-in: `next` when it parses as a path on this hub, else
/// `/`. A browser reads `/\t/evil.example/` or `/\\evil.example` as another host, so control
/// characters and backslashes are refused before parsing, and the path that comes out is
/// serialised again (percent-encoded, so it is always a valid `Location`).
pub fn safe_return(next: &str) -> String {
    let home = || "/".to_string();
    if !next.starts_with('/')
        || next.starts_with("//")
        || next.contains('\\')
        || next.chars().any(char::is_control)
    {
        return home();
    }
    let base = url::Url::parse("http://hub.invalid/").expect("a valid base");
    let Ok(url) = base.join(next) else {
        return home();
    };
    if url.origin() != base.origin() || url.path().starts_with("//") {
        return home();
    }
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

/// The session cookie; `Max-Age=0` removes it.
pub fn session_cookie(settings: &Settings, token: &str, max_age: i64) -> HeaderValue {
    set_cookie(settings, SESSION_COOKIE, token, "/", "Lax", max_age)
}

/// A cookie the hub sets: `HttpOnly`, and `Secure` when the hub is served over HTTPS. Its
/// value is one of our own tokens (URL-safe base64), so it is always a valid header.
pub fn set_cookie(
    settings: &Settings,
    name: &str,
    value: &str,
    path: &str,
    same_site: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
    ))
    .expect("cookie value is ASCII")
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// Starts a session for `user_id` and returns the cookie value. Signing in always starts a
/// new one, so a session id seen before sign-in is worthless after it.
pub async fn start_session(state: &AppState, user_id: i64) -> Result<String, AppError> {
    let token = random_token();
    state
        .db
        .create_session(&hash_token(&token), user_id, &random_token(), now())
        .await?;
    Ok(token)
}

/// How often expired sessions and sign-in attempts are cleared from the database.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes the sessions and sign-in attempts that can no longer be used at `now`.
pub async fn sweep_expired(db: &crate::store::Db, s: &Settings, now: i64) -> sqlx::Result<()> {
    db.purge_sessions(
        now - s.session_idle_hours as i64 * 3600,
        now - s.session_max_days as i64 * 86400,
        now - oauth::ATTEMPT_LIFETIME,
    )
    .await
}

/// Attaches the [`Viewer`] of every request.
pub async fn resolve_viewer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut viewer = Viewer::default();
    if let Some(token) = cookie(request.headers(), SESSION_COOKIE) {
        match load_session(&state, token).await {
            Ok(session) => {
                viewer.ended = session.is_none();
                viewer.session = session;
            }
            Err(e) => return e.into_response(),
        }
    }
    request.extensions_mut().insert(viewer);
    next.run(request).await
}

/// Checks the CSRF token of every request that changes state (a `csrf` form field or an
/// `X-CSRF-Token` header) against the session's, before any handler runs.
///
/// An upload (`multipart/form-data`) carries its token as a form field too, and may be as
/// large as `max_upload_bytes` allows, plus room for the form around the file.
pub async fn check_csrf(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Only these methods have handlers that write; any other reaches the router, which
    // answers 405 (or 404) without running anything. The API never acts on a session: its
    // writes take a personal access token in a header, which another site cannot make a
    // browser send, so there is nothing for a forged request to ride on.
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) || request.uri().path().starts_with("/api/")
    {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let viewer = parts
        .extensions
        .get::<Viewer>()
        .cloned()
        .unwrap_or_default();
    let upload = is_upload(parts.uri.path());
    let limit = if upload {
        state
            .settings
            .max_upload_bytes
            .saturating_add(UPLOAD_FORM_BYTES)
    } else {
        MAX_FORM_BYTES
    };
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) if upload => {
            return file_too_large(state.settings.max_upload_bytes).into_response();
        }
        Err(_) => {
            return too_large().into_response();
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let sent = crate::web::multipart::field(content_type, &bytes, "csrf")
        .or_else(|| form_value(&bytes, "csrf"))
        .or_else(|| {
            parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        })
        .unwrap_or_default();
    let expected = match &viewer.session {
        Some(s) => Some(s.csrf_token.as_str()),
        // Local sign-in happens before there is a session: its form carries the value of the
        // pre-session cookie, which another site can neither read nor set.
        None if parts.uri.path() == "/signin/local" => cookie(&parts.headers, PRESESSION_COOKIE),
        None => None,
    };
    let verdict = match expected {
        Some(token) if !sent.is_empty() && same_secret(&sent, token) => Csrf::Valid,
        _ => Csrf::Invalid,
    };
    // An unsubscribe link carries its own signed token and only turns e-mail off; mail
    // clients post it without cookies (RFC 8058), so it needs no session token.
    if verdict == Csrf::Invalid
        && !keeps_text(parts.uri.path())
        && parts.uri.path() != "/unsubscribe"
    {
        return if viewer.user().is_none() && !parts.uri.path().starts_with("/signin") {
            sign_in_required(&parts.method, parts.uri.path(), viewer.ended).into_response()
        } else {
            csrf_failed().into_response()
        };
    }
    parts.extensions.insert(verdict);
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A body past [`MAX_FORM_BYTES`]: it is not read, so the page cannot show it again, but the
/// browser still holds what was typed.
fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!(
        "What you sent is larger than {} MB, so it was not read and nothing was saved. \
         Your text is not lost: go back (your browser still has it), shorten the longest \
         sections (each holds at most {} characters) or remove pasted images or tables, \
         then send it again.",
        MAX_FORM_BYTES / (1024 * 1024),
        crate::domain::MAX_SECTION
    ))
}

/// Room for the rest of an upload's form (token, description, multipart headers).
const UPLOAD_FORM_BYTES: usize = 64 * 1024;

/// The upload form of a practice's files (`POST /practices/{slug}/files`).
fn is_upload(path: &str) -> bool {
    path.strip_prefix("/practices/")
        .and_then(|rest| rest.strip_suffix("/files"))
        .is_some_and(|slug| !slug.is_empty() && !slug.contains('/'))
}

/// An upload past the limit: not read, so not stored.
pub fn file_too_large(max: usize) -> AppError {
    AppError::PayloadTooLarge(format!(
        "The file is larger than this hub's limit of {}, so it was not uploaded. Make it \
         smaller (resize the photo, or save the handout as a smaller PDF) and upload it again.",
        crate::web::files::size_label(max as i64)
    ))
}

/// The authoring forms: when their CSRF check fails (usually a session that ended while the
/// person wrote), the handler shows the text again instead of losing it.
fn keeps_text(path: &str) -> bool {
    path == "/share"
        || path
            .strip_prefix("/practices/")
            .is_some_and(|rest| rest.ends_with("/edit") && rest.matches('/').count() == 1)
}

/// One field of a urlencoded form or query string, as sent.
pub(crate) fn form_value(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The live session for a cookie value, or None when it is unknown or over its idle or
/// absolute lifetime (then it is deleted).
async fn load_session(state: &AppState, token: &str) -> Result<Option<SessionRow>, AppError> {
    let id_hash = hash_token(token);
    let Some(session) = state.db.session(&id_hash).await? else {
        return Ok(None);
    };
    let s = &state.settings;
    let now = now();
    if now - session.last_seen_at > s.session_idle_hours as i64 * 3600
        || now - session.created_at > s.session_max_days as i64 * 86400
    {
        state.db.forget_session(&id_hash).await?;
        return Ok(None);
    }
    // Refresh the idle clock at most once a minute: reads stay reads.
    if now - session.last_seen_at > 60 {
        state.db.touch_session(&id_hash, now).await?;
    }
    Ok(Some(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_paths_and_cookies() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, random_token());
        assert_eq!(hash_token("x").len(), 64);
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("a", "ab"));
        for hostile in [
            "//evil.example/",
            "https://evil.example/",
            "/\tevil",
            "/\t/evil.example/",
            "/\\evil.example",
            "/\r\nSet-Cookie: x=1",
            "/./\t/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_return(hostile), "/", "{hostile:?}");
        }
        assert_eq!(safe_return("/share"), "/share");
        assert_eq!(safe_return("/search?q=a b"), "/search?q=a%20b");
        assert_eq!(
            safe_return("/practices/élève"),
            "/practices/%C3%A9l%C3%A8ve"
        );
        assert_eq!(safe_return("/a/..//evil.example"), "/");
        assert!(keeps_text("/share") && keeps_text("/practices/x/edit"));
        assert!(!keeps_text("/practices/x/submit") && !keeps_text("/signout"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; bs_session=tok; c=3"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
    }
}

//! Who is calling the API: a personal access token in `Authorization: Bearer …`, never a
//! session cookie (a browser sends cookies to any site's forms; it sends this header only
//! when a script of ours is told to, so the API needs no CSRF token).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::AppState;
use crate::store::User;

/// What a token may do; a token holds one or more.
pub const SCOPES: &[(&str, &str)] = &[
    (
        "read",
        "read your teams' drafts and practices under review, and who the token belongs to",
    ),
    (
        "write:practices",
        "create and update your teams' drafts, add measures, submit for review",
    ),
    (
        "write:adoptions",
        "record your teams' adoptions of practices and their outcomes",
    ),
    (
        "review",
        "vet, return or archive submissions (coaches only)",
    ),
];

/// What every token starts with, so a secret scanner (or a person) can tell one at a glance.
pub const PREFIX: &str = "bsp_";

/// A new token: the secret to show once, its hash to keep, and the prefix to list it by.
pub fn new_token() -> (String, String, String) {
    let token = format!("{PREFIX}{}", crate::auth::random_token());
    let hash = crate::auth::hash_token(&token);
    let shown = token[..PREFIX.len() + 6].to_string();
    (token, hash, shown)
}

/// A request made with a live token: the person it speaks for and what it may do.
pub struct Caller {
    pub user: User,
    pub scopes: Vec<String>,
}

impl Caller {
    /// The refusal (`403`) of a token that lacks `scope`, if it does.
    pub fn refusal(&self, scope: &str) -> Option<Response> {
        if self.scopes.iter().any(|s| s == scope) {
            return None;
        }
        let mut r = ApiError::respond(
            StatusCode::FORBIDDEN,
            None,
            format!(
                "this token does not have the scope \"{scope}\"; make one that has it at /me/tokens"
            ),
        );
        challenge(
            &mut r,
            &format!("error=\"insufficient_scope\", scope=\"{scope}\""),
        );
        Some(r)
    }
}

/// `WWW-Authenticate: Bearer …` (RFC 6750).
fn challenge(response: &mut Response, detail: &str) {
    let value = if detail.is_empty() {
        "Bearer realm=\"api\"".to_string()
    } else {
        format!("Bearer realm=\"api\", {detail}")
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
}

fn unauthorized(message: &str, detail: &str) -> Response {
    let mut r = ApiError::respond(StatusCode::UNAUTHORIZED, None, message);
    challenge(&mut r, detail);
    r
}

/// The token of an `Authorization` header: the `Bearer` scheme (any case) and one token.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, Response> {
        let Some(token) = bearer(parts) else {
            return Err(unauthorized(
                "this needs a personal access token in the header `Authorization: Bearer <token>`; make one at /me/tokens",
                "",
            ));
        };
        let now = crate::auth::now();
        let refused = || {
            unauthorized(
                "this token is not valid: it may be mistyped, revoked or expired; make a new one at /me/tokens",
                "error=\"invalid_token\"",
            )
        };
        let hash = crate::auth::hash_token(token);
        let owner = state
            .db
            .token_owner(&hash, now)
            .await
            .map_err(|e| crate::error::AppError::from(e).into_response())?
            .ok_or_else(refused)?;
        let user = state
            .db
            .user(owner.user_id)
            .await
            .map_err(|e| crate::error::AppError::from(e).into_response())?
            .ok_or_else(refused)?;
        // When it was last used helps its owner spot a token that leaked; failing to note it
        // must not fail the request.
        if let Err(e) = state.db.token_used(&owner, now).await {
            tracing::debug!(error = %e, "could not note a token's use");
        }
        Ok(Caller {
            user,
            scopes: owner.scopes.split(' ').map(str::to_string).collect(),
        })
    }
}

/// Whom a token speaks for.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub name: String,
    pub email: String,
    /// member, coach or admin.
    pub role: String,
    pub teams: Vec<super::catalog::Named>,
    /// What this token may do.
    pub scopes: Vec<String>,
}

/// The person the token speaks for, their teams, and the token's scopes.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "writing",
    security(("token" = [])),
    responses(
        (status = 200, description = "The token's person and scopes", body = Me),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
    )
)]
pub async fn me(caller: Caller) -> axum::Json<Me> {
    axum::Json(Me {
        name: caller.user.name,
        email: caller.user.email,
        role: crate::domain::Vocabulary::as_str(caller.user.role).into(),
        teams: caller
            .user
            .teams
            .into_iter()
            .map(|t| super::catalog::Named {
                slug: t.slug,
                name: t.name,
            })
            .collect(),
        scopes: caller.scopes,
    })
}

//! `/me/tokens`: a person's personal access tokens for the API. A new token is shown once, on
//! the page that answers its creation; the hub keeps only its hash.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::api::caller::{SCOPES, new_token};
use super::{Chrome, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::error::AppResult;
use crate::store::{NewToken, TokenRow, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/tokens", get(list).post(create))
        .route("/me/tokens/{id}/revoke", post(revoke))
}

/// How long a new token lives: (form value, label, days; 0 = never expires).
const LIFETIMES: &[(&str, &str, i64)] = &[
    ("30", "30 days", 30),
    ("90", "90 days", 90),
    ("365", "One year", 365),
    ("never", "Never (revoke it yourself)", 0),
];
const DAY: i64 = 24 * 3600;
const MAX_NAME: usize = 100;

struct TokenView {
    row: TokenRow,
    state: &'static str,
    created: String,
    expires: String,
    used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    chrome: Chrome,
    tokens: Vec<TokenView>,
    /// The scopes this person may give a token, with what each allows.
    scopes: Vec<(&'static str, &'static str)>,
    lifetimes: &'static [(&'static str, &'static str, i64)],
    /// A token just made: shown this once.
    created: Option<String>,
    /// What was typed, kept when something was wrong.
    name: String,
    ticked: Vec<String>,
    lifetime: String,
    problems: Vec<String>,
    notice: Option<&'static str>,
}

fn day_of(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| super::views::date(&t.date().to_string()))
        .unwrap_or_default()
}

/// The scopes `user` may hold: reviewing is for coaches.
fn scopes_for(user: &User) -> Vec<(&'static str, &'static str)> {
    SCOPES
        .iter()
        .copied()
        .filter(|(s, _)| *s != "review" || user.is_coach())
        .collect()
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    user: &User,
    form: TokensPage,
    status: StatusCode,
) -> AppResult<Response> {
    let now = crate::auth::now();
    let tokens = state
        .db
        .tokens_of(user.id)
        .await?
        .into_iter()
        .map(|row| TokenView {
            state: if row.revoked_at.is_some() {
                "revoked"
            } else if row.expires_at.is_some_and(|at| at <= now) {
                "expired"
            } else {
                "active"
            },
            created: day_of(row.created_at),
            expires: row.expires_at.map_or("never".into(), day_of),
            used: row.last_used_at.map_or("never".into(), day_of),
            row,
        })
        .collect();
    let mut response = page(TokensPage {
        chrome: Chrome::new(state, viewer),
        tokens,
        ..form
    })?;
    *response.status_mut() = status;
    // The page may hold a token: no cache keeps it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn blank(user: &User, viewer: &Viewer, state: &AppState) -> TokensPage {
    TokensPage {
        chrome: Chrome::new(state, viewer),
        tokens: Vec::new(),
        scopes: scopes_for(user),
        lifetimes: LIFETIMES,
        created: None,
        name: String::new(),
        ticked: vec!["read".into()],
        lifetime: "90".into(),
        problems: Vec::new(),
        notice: None,
    }
}

async fn list(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let mut form = blank(&user, &viewer, &state);
    form.notice = match q.get("done").map(String::as_str) {
        Some("revoked") => Some("Revoked: the token no longer works."),
        _ => None,
    };
    render(&state, &viewer, &user, form, StatusCode::OK).await
}

async fn create(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    body: Bytes,
) -> AppResult<Response> {
    let mut form = blank(&user, &viewer, &state);
    form.ticked.clear();
    for (k, v) in form_urlencoded::parse(&body) {
        match &*k {
            "name" => form.name = v.trim().to_string(),
            "scope" => form.ticked.push(v.into_owned()),
            "lifetime" => form.lifetime = v.into_owned(),
            _ => {}
        }
    }
    let allowed = scopes_for(&user);
    if form.name.is_empty() {
        form.problems
            .push("Give the token a name that says where it is used, such as “PD portal”.".into());
    } else if form.name.chars().count() > MAX_NAME || form.name.chars().any(char::is_control) {
        form.problems.push(format!(
            "The name must be at most {MAX_NAME} characters of plain text."
        ));
    }
    if form.ticked.is_empty() {
        form.problems.push("Tick at least one scope.".into());
    }
    if let Some(bad) = form
        .ticked
        .iter()
        .find(|t| !allowed.iter().any(|(s, _)| s == t))
    {
        form.problems.push(format!(
            "“{}” is not a scope you can give a token.",
            bad.chars().take(40).collect::<String>()
        ));
    }
    let lifetime = LIFETIMES.iter().find(|(v, _, _)| *v == form.lifetime);
    if lifetime.is_none() {
        form.problems
            .push("Choose how long the token lives.".into());
    }
    if !form.problems.is_empty() {
        return render(
            &state,
            &viewer,
            &user,
            form,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let now = crate::auth::now();
    let days = lifetime.map_or(0, |l| l.2);
    let expires = (days > 0).then(|| now + days * DAY);
    // In the order of `SCOPES`, each once.
    let scopes: Vec<&str> = allowed
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| form.ticked.iter().any(|t| t == s))
        .collect();
    let (token, hash, prefix) = new_token();
    state
        .db
        .create_token(&NewToken {
            user: user.id,
            name: &form.name,
            hash: &hash,
            prefix: &prefix,
            scopes: &scopes.join(" "),
            created_at: now,
            expires_at: expires,
        })
        .await?;
    form.created = Some(token);
    form.name.clear();
    form.ticked = vec!["read".into()];
    render(&state, &viewer, &user, form, StatusCode::OK).await
}

async fn revoke(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    state
        .db
        .revoke_token(user.id, id, crate::auth::now())
        .await?;
    Ok(Redirect::to("/me/tokens?done=revoked").into_response())
}

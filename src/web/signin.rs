//! Sign-in and sign-out: the provider buttons, the OAuth callback, and local sign-in (a
//! newcomer's way to try everything on their own machine).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::{Chrome, page};
use crate::AppState;
use crate::auth::oauth::{self, LoginError};
use crate::auth::{self, ProviderSettings, SignedIn, Viewer, hash_token, safe_return};
use crate::domain::{Role, Vocabulary};
use crate::error::{AppError, AppResult};

const LOGIN_COOKIE: &str = "bs_login";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin_page))
        .route("/signin/local", post(local_signin))
        .route("/auth/{provider}/login", get(provider_login))
        .route("/auth/{provider}/callback", get(provider_callback))
        .route("/signout", post(signout))
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    chrome: Chrome,
    next: String,
    providers: Vec<(String, String)>,
    local: bool,
    teams: Vec<(String, String, String)>,
    roles: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    name: String,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

async fn signin_page(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let next = safe_return(q.next.as_deref().unwrap_or("/")).to_string();
    if viewer.user().is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render_signin(&state, viewer, next, None, String::new(), StatusCode::OK).await
}

/// Draws the sign-in page; a visitor without a session gets one, so the local form has a
/// CSRF token to carry.
async fn render_signin(
    state: &AppState,
    mut viewer: Viewer,
    next: String,
    error: Option<String>,
    name: String,
    status: StatusCode,
) -> AppResult<Response> {
    let mut new_cookie = None;
    if viewer.session.is_none() {
        let token = auth::start_session(state, None).await?;
        viewer.session = state.db.session(&hash_token(&token)).await?;
        new_cookie = Some(auth::session_cookie(
            &state.settings,
            &token,
            state.settings.session_max_days as i64 * 86400,
        ));
    }
    let local = state.settings.local_sign_in();
    let teams = if local {
        state.db.teams().await?
    } else {
        Vec::new()
    };
    let mut response = page(SigninPage {
        chrome: Chrome::new(state, &viewer),
        next,
        providers: state
            .settings
            .providers
            .iter()
            .map(|p| (p.id.clone(), p.label()))
            .collect(),
        local,
        teams,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        error,
        name,
    })?;
    *response.status_mut() = status;
    if let Some(c) = new_cookie {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct LocalForm {
    name: String,
    role: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    next: String,
}

async fn local_signin(
    viewer: Viewer,
    State(state): State<AppState>,
    Form(form): Form<LocalForm>,
) -> AppResult<Response> {
    if !state.settings.local_sign_in() {
        return Err(AppError::NotFound);
    }
    let next = safe_return(&form.next).to_string();
    let name = form.name.trim();
    let problem = if name.is_empty() || name.chars().count() > 80 {
        Some("Type a name of 1 to 80 characters.")
    } else if name.chars().any(char::is_control) {
        Some("A name cannot contain control characters.")
    } else {
        None
    };
    let role = Role::parse(&form.role).ok();
    let (Some(role), None) = (role, problem) else {
        let message = problem.unwrap_or("Pick one of the roles.").to_string();
        return render_signin(
            &state,
            viewer,
            next,
            Some(message),
            form.name.clone(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let local_part: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '.' })
        .collect();
    let email = format!("{}@local", local_part.trim_matches('.'));
    let id = state
        .db
        .upsert_user(&email, name, "local", &email, role == Role::Admin, None)
        .await?;
    state.db.set_role(id, role).await?;
    if !form.team.is_empty() {
        state.db.set_membership(id, &form.team, true).await?;
    }
    finish_signin(&state, &viewer, id, &next).await
}

/// Replaces whatever session the browser had with a new one for `user_id`.
async fn finish_signin(
    state: &AppState,
    viewer: &Viewer,
    user_id: i64,
    next: &str,
) -> AppResult<Response> {
    if let Some(old) = &viewer.session {
        state.db.delete_session(&old.id_hash).await?;
    }
    let token = auth::start_session(state, Some(user_id)).await?;
    let mut response = Redirect::to(safe_return(next)).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        auth::session_cookie(
            &state.settings,
            &token,
            state.settings.session_max_days as i64 * 86400,
        ),
    );
    h.append(
        header::SET_COOKIE,
        header::HeaderValue::from_static(
            "bs_login=; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    Ok(response)
}

async fn provider_login(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let p = provider_named(&state, &provider)?;
    let next = safe_return(q.next.as_deref().unwrap_or("/"));
    let (url, login_state) = oauth::start(&state.db, &state.settings, p, next).await?;
    let mut response = Redirect::to(&url).into_response();
    // Binds the attempt to this browser: a callback link made by someone else fails.
    let secure = if state.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    response.headers_mut().insert(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&format!(
            "{LOGIN_COOKIE}={login_state}; Path=/auth; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            oauth::ATTEMPT_LIFETIME
        ))
        .map_err(|e| AppError::Internal(e.into()))?,
    );
    Ok(response)
}

fn provider_named<'a>(state: &'a AppState, id: &str) -> AppResult<&'a ProviderSettings> {
    state
        .settings
        .providers
        .iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn provider_callback(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> AppResult<Response> {
    let p = provider_named(&state, &provider)?;
    let result = match (&cb.error, &cb.code, &cb.state) {
        (Some(error), _, _) => Err(LoginError::Provider(
            cb.error_description
                .clone()
                .unwrap_or_else(|| error.clone()),
        )),
        (None, Some(code), Some(login_state))
            if auth::cookie(&headers, LOGIN_COOKIE)
                .is_some_and(|c| auth::same_secret(c, login_state)) =>
        {
            oauth::finish(&state.db, &state.settings, p, login_state, code).await
        }
        _ => Err(LoginError::UnknownState),
    };
    match result {
        Ok((identity, attempt)) => {
            let admin = state
                .settings
                .admins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&identity.email));
            let id = state
                .db
                .upsert_user(
                    &identity.email,
                    &identity.name,
                    &p.id,
                    &identity.subject,
                    admin,
                    p.district_for(&identity.email),
                )
                .await?;
            tracing::info!(provider = %p.id, user.id = id, "signed in");
            finish_signin(&state, &viewer, id, &attempt.return_to).await
        }
        Err(e) => {
            tracing::info!(provider = %p.id, reason = ?e, "sign-in refused");
            let status = if matches!(e, LoginError::Unreachable) {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::BAD_REQUEST
            };
            render_signin(
                &state,
                viewer,
                "/".into(),
                Some(e.to_string()),
                String::new(),
                status,
            )
            .await
        }
    }
}

async fn signout(
    State(state): State<AppState>,
    SignedIn(_, viewer): SignedIn,
) -> AppResult<Response> {
    if let Some(s) = &viewer.session {
        state.db.delete_session(&s.id_hash).await?;
    }
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        auth::session_cookie(&state.settings, "", 0),
    );
    Ok(response)
}

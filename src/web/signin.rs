//! Sign-in and sign-out: the provider buttons, the OAuth callback, and local sign-in (a
//! newcomer's way to try everything on their own machine).

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::{Chrome, page};
use crate::AppState;
use crate::auth::oauth::{self, LoginError};
use crate::auth::{self, PRESESSION_COOKIE, ProviderSettings, SignedIn, Viewer, safe_return};
use crate::domain::{MAX_LOCAL_NAME, Role, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::{Binding, SignInIdentity};

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
    /// The local form's CSRF token: the session's, or before any session the pre-session
    /// cookie's (so a visitor's page view writes nothing).
    form_csrf: String,
    teams: Vec<(String, String, String)>,
    roles: Vec<(&'static str, &'static str)>,
    error: Option<String>,
    /// The local form as typed, with its problems.
    local_form: LocalForm,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

async fn signin_page(
    viewer: Viewer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let next = safe_return(q.next.as_deref().unwrap_or("/"));
    if viewer.user().is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render_signin(
        &state,
        viewer,
        &headers,
        next,
        None,
        LocalForm::default(),
        StatusCode::OK,
    )
    .await
}

/// Draws the sign-in page. It writes nothing: a visitor without a session who may sign in
/// locally gets a pre-session cookie whose value the local form carries back.
async fn render_signin(
    state: &AppState,
    viewer: Viewer,
    headers: &HeaderMap,
    next: String,
    error: Option<String>,
    local_form: LocalForm,
    status: StatusCode,
) -> AppResult<Response> {
    let local = state.settings.local_sign_in();
    let teams = if local {
        state.db.teams().await?
    } else {
        Vec::new()
    };
    let presession = (local && viewer.session.is_none()).then(|| {
        auth::cookie(headers, PRESESSION_COOKIE)
            .filter(|c| c.len() == 43)
            .map_or_else(auth::random_token, String::from)
    });
    let form_csrf = presession
        .clone()
        .unwrap_or_else(|| viewer.csrf().to_string());
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
        form_csrf,
        teams,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        error,
        local_form,
    })?;
    *response.status_mut() = status;
    if let Some(token) = presession {
        response.headers_mut().insert(
            header::SET_COOKIE,
            auth::set_cookie(
                &state.settings,
                PRESESSION_COOKIE,
                &token,
                "/signin",
                "Strict",
                3600,
            ),
        );
    }
    Ok(response)
}

/// The local sign-in form as typed, and what is wrong with it by field (`name`, `role`,
/// `team`).
#[derive(Debug, Default)]
struct LocalForm {
    name: String,
    role: String,
    team: String,
    next: String,
    problems: BTreeMap<&'static str, String>,
}

impl LocalForm {
    /// The form as posted. A name whose bytes are not text is kept as best read, and told.
    fn parse(body: &[u8]) -> LocalForm {
        let mut f = LocalForm::default();
        for (key, value) in super::strict_form(body) {
            if key == "name" && value.is_err() {
                f.problems.insert(
                    "name",
                    "contains bytes that are not valid text (UTF-8); retype your name".into(),
                );
            }
            let value = value.unwrap_or_else(|lossy| lossy);
            match key.as_str() {
                "name" => f.name = value,
                "role" => f.role = value,
                "team" => f.team = value,
                "next" => f.next = value,
                _ => {}
            }
        }
        f
    }

    /// Adds what is wrong with the name, role and team.
    async fn check(&mut self, state: &AppState) -> AppResult<()> {
        let name = self.name.trim();
        let name_problem = if name.is_empty() || name.chars().count() > MAX_LOCAL_NAME {
            Some(format!("Type a name of 1 to {MAX_LOCAL_NAME} characters."))
        } else if name.chars().any(char::is_control) {
            Some("A name cannot contain control characters.".into())
        } else if !name.chars().any(char::is_alphanumeric) {
            // Punctuation alone names nobody: "!!!" and "???" would be one account.
            Some("A name needs at least one letter or digit.".into())
        } else {
            None
        };
        if let Some(p) = name_problem {
            self.problems.entry("name").or_insert(p);
        }
        if Role::parse(&self.role).is_err() {
            self.problems
                .insert("role", "Pick one of the roles.".into());
        }
        if !self.team.is_empty() && !state.db.team_exists(&self.team).await? {
            self.problems.insert(
                "team",
                "That is not a team on this hub; choose one from the list, or “No team”.".into(),
            );
        }
        Ok(())
    }

    fn problem(&self, field: &str) -> Option<&str> {
        self.problems.get(field).map(String::as_str)
    }
}

/// The account a local name signs in to; different names are different accounts. Runs of
/// spaces and letter case do not make a new person, anything else does: a name of plain
/// words ("Dana Lee") reads as itself (`dana.lee@local`), and any other name also carries a
/// hash of itself (`ann.lee+…@local`), so "Ann-Lee", "Ann Lee" and "ann.lee" stay apart.
fn local_email(name: &str) -> String {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let readable = words.join(".");
    if words.join(" ") == lower {
        format!("{readable}@local")
    } else {
        format!("{readable}+{}@local", &auth::hash_token(&lower)[..16])
    }
}

async fn local_signin(
    viewer: Viewer,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    if !state.settings.local_sign_in() {
        return Err(AppError::NotFound);
    }
    let mut form = LocalForm::parse(&body);
    form.check(&state).await?;
    let next = safe_return(&form.next);
    let (Ok(role), true) = (Role::parse(&form.role), form.problems.is_empty()) else {
        return render_signin(
            &state,
            viewer,
            &headers,
            next,
            Some("You are not signed in yet: fix what is marked below.".into()),
            form,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    let email = local_email(&name);
    let identity = SignInIdentity {
        provider: "local",
        subject: &email,
        email: &email,
        name: &name,
        email_trusted: true,
    };
    let Binding::SignedIn(id) = state.db.sign_in_user(&identity, false, None).await? else {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a local account's subject is its e-mail"
        )));
    };
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
    let token = auth::start_session(state, user_id).await?;
    let mut response = Redirect::to(&safe_return(next)).into_response();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        auth::session_cookie(
            &state.settings,
            &token,
            state.settings.session_max_days as i64 * 86400,
        ),
    );
    for (name, path, same_site) in [
        (LOGIN_COOKIE, "/auth", "Lax"),
        (PRESESSION_COOKIE, "/signin", "Strict"),
    ] {
        h.append(
            header::SET_COOKIE,
            auth::set_cookie(&state.settings, name, "", path, same_site, 0),
        );
    }
    Ok(response)
}

async fn provider_login(
    viewer: Viewer,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(provider): Path<String>,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let p = provider_named(&state, &provider)?;
    let next = safe_return(q.next.as_deref().unwrap_or("/"));
    // A browser has one sign-in in flight: starting again voids the one it started before.
    if let Some(previous) = auth::cookie(&headers, LOGIN_COOKIE) {
        state
            .db
            .take_login_attempt(&auth::hash_token(previous))
            .await?;
    }
    let Some((url, login_state)) = oauth::start(&state.db, &state.settings, p, &next).await? else {
        return render_signin(
            &state,
            viewer,
            &headers,
            next,
            Some("Too many sign-ins are in progress on this hub right now. Try again in a few minutes.".into()),
            LocalForm::default(),
            StatusCode::SERVICE_UNAVAILABLE,
        )
        .await;
    };
    let mut response = Redirect::to(&url).into_response();
    // Binds the attempt to this browser: a callback link made by someone else fails.
    response.headers_mut().insert(
        header::SET_COOKIE,
        auth::set_cookie(
            &state.settings,
            LOGIN_COOKIE,
            &login_state,
            "/auth",
            "Lax",
            oauth::ATTEMPT_LIFETIME,
        ),
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
            oauth::finish(
                &state.db,
                &state.oidc_keys,
                &state.settings,
                p,
                login_state,
                code,
            )
            .await
        }
        _ => Err(LoginError::UnknownState),
    };
    let refusal = match result {
        Ok((identity, attempt)) => {
            let admin = state
                .settings
                .admins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&identity.email));
            let binding = state
                .db
                .sign_in_user(
                    &SignInIdentity {
                        provider: &p.id,
                        subject: &identity.subject,
                        email: &identity.email,
                        name: &identity.name,
                        email_trusted: identity.email_trusted,
                    },
                    admin,
                    p.district_for(&identity.email),
                )
                .await?;
            match binding {
                Binding::SignedIn(id) => {
                    tracing::info!(provider = %p.id, user.id = id, "signed in");
                    return finish_signin(&state, &viewer, id, &attempt.return_to).await;
                }
                Binding::BoundElsewhere => (
                    format!(
                        "{} already belongs to a Bright Spots account that signs in with another {} identity, so this sign-in was refused. If your account was recreated at your district, ask a Bright Spots administrator to unlink the old sign-in (at /admin), then sign in again.",
                        identity.email,
                        p.label().trim_start_matches("Sign in with ")
                    ),
                    StatusCode::FORBIDDEN,
                ),
                Binding::Unconfirmed => (
                    format!(
                        "An administrator set up an account for {}, but your provider did not confirm that this address is yours, so this sign-in cannot be linked to it. Ask your district's IT team to verify the address, or a Bright Spots administrator for help.",
                        identity.email
                    ),
                    StatusCode::FORBIDDEN,
                ),
            }
        }
        Err(e) => {
            let status = if e.is_provider_fault() {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::BAD_REQUEST
            };
            (e.to_string(), status)
        }
    };
    tracing::info!(provider = %p.id, reason = %refusal.0, "sign-in refused");
    render_signin(
        &state,
        viewer,
        &headers,
        "/".into(),
        Some(refusal.0),
        LocalForm::default(),
        refusal.1,
    )
    .await
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

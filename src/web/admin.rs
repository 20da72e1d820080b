//! `/admin`: people, roles and team membership, rebuilding the search index, and how e-mail
//! is going.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::school_profiles::ProfileForm;
use super::{Chrome, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::domain::{Role, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::{PersonRow, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_page))
        .route("/admin/people", post(change_person))
        .route("/admin/reindex", post(reindex))
        .route(
            "/admin/schools/{slug}/profile",
            post(super::school_profiles::save_profile),
        )
}

pub(super) fn require_admin(user: &User) -> AppResult<()> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only administrators manage people and the search index.".into(),
        ))
    }
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    people: Vec<PersonRow>,
    teams: Vec<(String, String, String)>,
    roles: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    /// Where e-mail goes (the SMTP host), if it is on.
    mail_server: Option<String>,
    outbox: crate::store::OutboxCounts,
    /// Every school's profile form (one of them as sent, when it had problems).
    profiles: Vec<ProfileForm>,
}

async fn admin_page(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    require_admin(&user)?;
    let notice = q.get("done").map(|d| match d.as_str() {
        "reindex" => "The search index is being rebuilt; search keeps answering from the old index until the new one is ready.".to_string(),
        "unlink" => "Unlinked: the person's sessions have ended, and their next sign-in with a provider that confirms their e-mail address links the account again.".to_string(),
        "profile" => "Saved the school's profile.".to_string(),
        _ => "Saved.".to_string(),
    });
    render(&state, &viewer, notice, None).await
}

/// The admin page; `edited` replaces its school's form (sent with problems).
pub(super) async fn render(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    edited: Option<ProfileForm>,
) -> AppResult<Response> {
    let mut edited = edited;
    let profiles = state
        .db
        .profiled_schools()
        .await?
        .iter()
        .map(|s| match edited.take_if(|e| e.slug == s.traits.slug) {
            Some(form) => form,
            None => ProfileForm::stored(s),
        })
        .collect();
    page(AdminPage {
        chrome: Chrome::new(state, viewer),
        people: state.db.people().await?,
        teams: state.db.teams().await?,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        mail_server: state
            .settings
            .smtp
            .as_ref()
            .map(|s| format!("{}:{}", s.host, s.port())),
        outbox: state.db.outbox_counts().await?,
        notice,
        profiles,
    })
}

/// Sets a person's role, or adds them to / removes them from a team.
async fn change_person(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    body: Bytes,
) -> AppResult<Response> {
    require_admin(&user)?;
    let field = |name: &str| super::form_field(&body, name);
    let person: i64 = field("person")
        .parse()
        .map_err(|_| AppError::BadRequest("Choose a person.".into()))?;
    if state.db.user(person).await?.is_none() {
        return Err(AppError::BadRequest("There is no such person.".into()));
    }
    if field("unlink") == "1" {
        state.db.unlink_sign_in(person).await?;
        tracing::info!(user.id = user.id, person, "sign-in unlinked");
        return Ok(Redirect::to("/admin?done=unlink").into_response());
    }
    let role = field("role");
    if !role.is_empty() {
        let role = Role::parse(&role).map_err(AppError::BadRequest)?;
        if person == user.id && role != Role::Admin {
            return Err(AppError::BadRequest(
                "You cannot remove your own administrator role; ask another administrator.".into(),
            ));
        }
        state.db.set_role(person, role).await?;
    }
    let team = field("team");
    if !team.is_empty() {
        let join = field("membership") != "remove";
        if !state.db.set_membership(person, &team, join).await? {
            return Err(AppError::BadRequest(format!(
                "There is no team \"{team}\"."
            )));
        }
    }
    Ok(Redirect::to("/admin?done=person").into_response())
}

/// Asks the running indexer to rebuild the whole index from the database.
async fn reindex(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
) -> AppResult<Response> {
    require_admin(&user)?;
    state.db.request_reindex().await?;
    tracing::info!(user.id = user.id, "index rebuild requested");
    Ok(Redirect::to("/admin?done=reindex").into_response())
}

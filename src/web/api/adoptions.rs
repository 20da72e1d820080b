//! Recording an adoption with a token: what a school's data system reports back (status,
//! fidelity, adaptations, outcome, its own measures), through the adoption form's own rules
//! (`adopt::check`) and into the same adoption history.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::catalog::AdoptionItem;
use super::drafts::MeasureFields;
use super::{ApiError, ApiJson, refused};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::web::adopt::{AdoptValues, adoptable, adopting_teams, check, team_problem};
use crate::web::publish::form::MeasureRow;

/// A team's adoption of a practice, as the adoption form takes it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdoptionWrite {
    /// exploring, testing, adopted, adapted or discontinued.
    pub status: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub started_on: Option<String>,
    /// The numbers (from 1) of the essential aspects the team keeps.
    #[serde(default)]
    pub aspects_kept: Vec<u32>,
    #[serde(default)]
    pub adaptations: Option<String>,
    /// improved, no-change or declined; leave out until known.
    #[serde(default)]
    pub outcome: Option<String>,
    /// The team's own measures, baseline and result; replaces the ones recorded before.
    #[serde(default)]
    pub measures: Vec<MeasureFields>,
}

/// The slug of a practice and of the adopting team.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct AdoptionPath {
    /// The practice's slug.
    slug: String,
    /// The adopting team's slug: one of yours, at another school than the practice's.
    team: String,
}

/// Records (or updates) your team's adoption of a public practice.
#[utoipa::path(
    put,
    path = "/api/v1/practices/{slug}/adoptions/{team}",
    tag = "writing",
    params(AdoptionPath),
    request_body = AdoptionWrite,
    security(("token" = ["write:adoptions"])),
    responses(
        (status = 200, description = "Recorded: the adoption as the replication ledger shows it", body = AdoptionItem),
        (status = 400, description = "The body is not JSON of this shape, or the practice is not public", body = ApiError),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope, or the team is not yours or cannot adopt it", body = ApiError),
        (status = 404, description = "No practice has this slug", body = ApiError),
        (status = 415, description = "The body is not `application/json`", body = ApiError),
        (status = 422, description = "Problems to fix; nothing was saved", body = ApiError),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    caller: Caller,
    Path((slug, team)): Path<(String, String)>,
    ApiJson(write): ApiJson<AdoptionWrite>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("write:adoptions") {
        return Ok(r);
    }
    let target = adoptable(&state, &slug).await?;
    let teams = adopting_teams(&caller.user, &target.school_slug);
    let f = AdoptValues {
        team: team.clone(),
        status: write.status,
        started_on: write.started_on.unwrap_or_default().trim().to_string(),
        aspects: write.aspects_kept,
        adaptations: write.adaptations.unwrap_or_default(),
        outcome: write.outcome.unwrap_or_default(),
        measures: write.measures.iter().map(MeasureRow::from).collect(),
        ..Default::default()
    };
    let problem = team_problem(&state, &caller.user, &teams, &team).await?;
    // Not this person's team (or none that may adopt): refused outright, nothing saved.
    if let Some((message, StatusCode::FORBIDDEN)) = &problem {
        return Ok(ApiError::respond(
            StatusCode::FORBIDDEN,
            Some("team"),
            message.clone(),
        ));
    }
    let existing = match problem {
        None => state.db.adoption(&slug, &team).await?,
        Some(_) => None,
    };
    let doc = match check(&state, &target, &f, problem, existing.as_ref()).await? {
        Ok(doc) => doc,
        Err((problems, _)) => return Ok(refused(problems)),
    };
    state.db.save_adoption(caller.user.id, &doc).await?;
    let saved = state
        .db
        .adoption(&slug, &team)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(AdoptionItem::from(&saved)).into_response())
}

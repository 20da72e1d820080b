//! A coach's decision with a token: vet or return a submission, through the review page's own
//! rules (`review::decision_problems`): every criterion of the network's rubric scored, a
//! comment when returning, never one's own team's practice.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::caller::Caller;
use super::{ApiError, ApiJson, FieldProblem, SlugParam};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::store::{Decision, DecisionError, Score, Verdict};
use crate::web::review::{decision_problems, essa_confirmation, require_coach, require_other_team};

/// One criterion of the rubric, scored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ScoreWrite {
    /// The criterion, exactly as the network's rubric words it.
    pub criterion: String,
    /// meets, partly or not-yet.
    pub score: String,
    #[serde(default)]
    pub note: String,
}

/// A decision on a submission.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReviewWrite {
    /// The `base` of the revision you read (`GET …/draft`): a newer one is not decided on.
    pub revision: i64,
    /// vet or return.
    pub decision: String,
    /// For the team; needed to return.
    #[serde(default)]
    pub comment: String,
    /// Every criterion of the rubric, scored.
    pub rubric: Vec<ScoreWrite>,
    /// When vetting: the ESSA tier above 4 (1, 2 or 3) you confirm the recorded figures
    /// support. Never more than they support; leave out to confirm none.
    #[serde(default)]
    pub essa_tier: Option<i64>,
}

/// Vets or returns a practice submitted for review (coaches, not of its team).
#[utoipa::path(
    post,
    path = "/api/v1/practices/{slug}/reviews",
    tag = "writing",
    params(SlugParam),
    request_body = ReviewWrite,
    security(("token" = ["review"])),
    responses(
        (status = 204, description = "Decided"),
        (status = 400, description = "The body is not JSON of this shape", body = ApiError),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope, its person is not a coach, or the practice is their team's", body = ApiError),
        (status = 404, description = "No practice has this slug", body = ApiError),
        (status = 409, description = "The revision is not the one waiting for review", body = ApiError),
        (status = 415, description = "The body is not `application/json`", body = ApiError),
        (status = 422, description = "Problems to fix; nothing was decided", body = ApiError),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiJson(write): ApiJson<ReviewWrite>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("review") {
        return Ok(r);
    }
    require_coach(&caller.user)?;
    let t = state
        .db
        .edit_target(&slug)
        .await?
        .ok_or(AppError::NotFound)?;
    require_other_team(&caller.user, &t)?;
    let mut problems = Vec::new();
    let decision = match write.decision.as_str() {
        "vet" => Some(Decision::Vet),
        "return" => Some(Decision::Return),
        _ => {
            problems.push(FieldProblem {
                field: "decision".into(),
                message: "vet or return".into(),
            });
            None
        }
    };
    let rubric = &state.settings.rubric;
    for s in &write.rubric {
        if !rubric.contains(&s.criterion) {
            problems.push(FieldProblem {
                field: "rubric".into(),
                message: format!(
                    "\"{}\" is not a criterion of the rubric; the criteria are: {}",
                    s.criterion.chars().take(80).collect::<String>(),
                    rubric.join("; ")
                ),
            });
        }
    }
    let scores: Vec<Score> = rubric
        .iter()
        .map(|criterion| {
            let given = write.rubric.iter().find(|s| &s.criterion == criterion);
            Score {
                criterion: criterion.clone(),
                score: given.map(|s| s.score.clone()).unwrap_or_default(),
                note: given.map(|s| s.note.trim().to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let comment = write.comment.trim().to_string();
    if let Some(decision) = decision {
        for message in decision_problems(decision, &scores, &comment) {
            let field = if message.contains("comment") {
                "comment"
            } else {
                "rubric"
            };
            problems.push(FieldProblem {
                field: field.into(),
                message,
            });
        }
    }
    let mut confirmed = None;
    if let (Some(decision), Some(tier)) = (decision, write.essa_tier) {
        let supported = state
            .db
            .practice_page_at(&slug, Some(t.current_revision_id))
            .await?
            .and_then(|found| found.essa.assess().supported);
        match essa_confirmation(supported, decision, &tier.to_string()) {
            Ok(t) => confirmed = t,
            Err(message) => problems.push(FieldProblem {
                field: "essa_tier".into(),
                message,
            }),
        }
    }
    let Some(decision) = decision.filter(|_| problems.is_empty()) else {
        return Ok(ApiError::problems(problems));
    };
    let verdict = Verdict {
        decision,
        comment: &comment,
        rubric: &scores,
        essa_tier: confirmed,
    };
    match state
        .db
        .decide(t.id, write.revision, caller.user.id, verdict)
        .await
    {
        Ok(()) => {
            tracing::info!(practice.slug = %slug, decision = decision.as_str(), "review decision (API)");
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Err(DecisionError::Stale) => Ok(ApiError::respond(
            StatusCode::CONFLICT,
            Some("revision"),
            DecisionError::Stale.to_string(),
        )),
        Err(DecisionError::Db(e)) => Err(e.into()),
    }
}

//! Writing practices with a token: a team's drafts, created, read, updated, measures added,
//! submitted for review. Each goes through the share-out form's own rules (`publish::check`,
//! `PracticeForm::to_doc`): the same validation messages, the same privacy confirmation, the
//! same revision history and the same conflict check as the web form.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::{ApiError, ApiJson, SlugParam, refused};
use crate::AppState;
use crate::domain::{Better, Cost, Design, Measure, PracticeDoc, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::{EditTarget, Saved};
use crate::web::publish::form::{CostForm, MeasureRow, PracticeForm, Problems};
use crate::web::publish::{check, editable};

/// A measure of the evidence, as the content format and the form have it. Counts below the
/// network's minimum cell size are refused, and never stored.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct MeasureFields {
    pub name: String,
    /// student-outcome, teaching-practice or professional-condition.
    pub ingredient: String,
    /// percent, points, count or rating.
    pub unit: String,
    #[serde(default)]
    pub instrument: String,
    pub baseline: f64,
    pub result: f64,
    /// How many students the figures describe: at least the network's minimum cell size.
    pub n: i64,
    #[serde(default)]
    pub period: String,
    /// pre-post (no comparison group; the default), comparison or randomized.
    #[serde(default = "default_design")]
    pub design: String,
    /// higher (the default) or lower: which way is an improvement.
    #[serde(default = "default_better")]
    pub better: String,
    /// The comparison group's figures, for a comparison or randomized design.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_result: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison_n: Option<i64>,
    /// The p-value of the difference from the comparison group, as the team's analysis
    /// reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
}

fn default_design() -> String {
    Design::PrePost.as_str().into()
}

fn default_better() -> String {
    Better::Higher.as_str().into()
}

impl From<&Measure> for MeasureFields {
    fn from(m: &Measure) -> MeasureFields {
        MeasureFields {
            name: m.name.clone(),
            ingredient: m.ingredient.as_str().into(),
            unit: m.unit.as_str().into(),
            instrument: m.instrument.clone(),
            baseline: m.baseline,
            result: m.result,
            n: m.n,
            period: m.period.clone(),
            design: m.design.as_str().into(),
            better: m.better.as_str().into(),
            comparison_baseline: m.comparison.map(|c| c.baseline),
            comparison_result: m.comparison.map(|c| c.result),
            comparison_n: m.comparison.map(|c| c.n),
            p_value: m.p_value,
        }
    }
}

/// The row of the form's measures table these figures would have been typed into.
impl From<&MeasureFields> for MeasureRow {
    fn from(m: &MeasureFields) -> MeasureRow {
        let text = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        MeasureRow {
            name: m.name.clone(),
            ingredient: m.ingredient.clone(),
            unit: m.unit.clone(),
            instrument: m.instrument.clone(),
            baseline: m.baseline.to_string(),
            result: m.result.to_string(),
            n: m.n.to_string(),
            period: m.period.clone(),
            design: m.design.clone(),
            better: m.better.clone(),
            comparison_baseline: text(m.comparison_baseline),
            comparison_result: text(m.comparison_result),
            comparison_n: m.comparison_n.map(|n| n.to_string()).unwrap_or_default(),
            p_value: text(m.p_value),
        }
    }
}

/// What it takes to start and keep the practice going; every figure optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct CostFields {
    /// Hours a teacher needs before the first use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_hours: Option<f64>,
    /// Hours per week to keep it going.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_hours: Option<f64>,
    /// Materials cost per classroom, in `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub materials_per_classroom: Option<f64>,
    /// ISO 4217 code such as USD; required with a materials cost above zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Roles besides the classroom teacher that the practice needs.
    #[serde(default)]
    pub staff_roles: Vec<String>,
}

impl From<&Cost> for CostFields {
    fn from(c: &Cost) -> CostFields {
        CostFields {
            start_hours: c.start_hours,
            weekly_hours: c.weekly_hours,
            materials_per_classroom: c.materials,
            currency: c.currency.clone(),
            staff_roles: c.staff_roles.clone(),
        }
    }
}

impl From<&CostFields> for CostForm {
    fn from(c: &CostFields) -> CostForm {
        let text = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        CostForm {
            start_hours: text(c.start_hours),
            weekly_hours: text(c.weekly_hours),
            materials: text(c.materials_per_classroom),
            currency: c.currency.clone().unwrap_or_default(),
            staff_roles: c.staff_roles.join(", "),
        }
    }
}

/// A link beside the practice.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ResourceFields {
    pub title: String,
    pub url: String,
}

/// A practice as a team writes it: the share-out form's fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct PracticeFields {
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// The slug of one of your teams (a new practice only; a practice keeps its team).
    #[serde(default)]
    pub team: String,
    /// promising or confirmed (replicated is earned, not claimed).
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub challenge_areas: Vec<String>,
    #[serde(default)]
    pub grade_bands: Vec<String>,
    #[serde(default)]
    pub subjects: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Empty: the network's default licence.
    #[serde(default)]
    pub license: String,
    /// Each section's Markdown by its key: what-it-is, evidence, essential-aspects,
    /// necessary-conditions, …
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
    #[serde(default)]
    pub measures: Vec<MeasureFields>,
    #[serde(default)]
    pub resources: Vec<ResourceFields>,
    #[serde(default)]
    pub cost: CostFields,
}

/// A write: the practice, and what to do with it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DraftWrite {
    #[serde(flatten)]
    pub practice: PracticeFields,
    /// For an update: the `base` of the draft you changed. If someone saved since, nothing is
    /// saved and the answer is `409`.
    #[serde(default)]
    pub base: Option<i64>,
    /// Submit for review too (needs every required part, and `confirm_privacy`).
    #[serde(default)]
    pub submit: bool,
    /// That the evidence identifies no student: needed to submit.
    #[serde(default)]
    pub confirm_privacy: bool,
}

/// Measures to add to the newest revision of a draft.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MeasuresWrite {
    pub measures: Vec<MeasureFields>,
}

/// Submitting the newest revision for review.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitWrite {
    /// That the evidence identifies no student.
    #[serde(default)]
    pub confirm_privacy: bool,
}

/// A team's newest revision of a practice, which may not be public.
#[derive(Debug, Serialize, ToSchema)]
pub struct Draft {
    pub slug: String,
    /// Send this back as `base` when you update the draft.
    pub base: i64,
    /// The number of this revision in the practice's history.
    pub revision: i64,
    /// draft, submitted, public or archived.
    pub status: String,
    /// Whether a revision of the practice is public (this one or an earlier one).
    pub public: bool,
    #[serde(flatten)]
    pub practice: PracticeFields,
    /// Text that looks like student data (names, ID numbers, birth dates): check it before
    /// submitting.
    pub privacy_flags: Vec<String>,
    /// Where the team edits it on the web.
    pub edit_url: String,
}

fn fields_of(doc: &PracticeDoc) -> PracticeFields {
    PracticeFields {
        title: doc.title.clone(),
        summary: doc.summary.clone(),
        team: doc.team.to_string(),
        stage: doc.stage.as_str().into(),
        challenge_areas: doc.challenge_areas.iter().map(|a| a.to_string()).collect(),
        grade_bands: doc.grade_bands.iter().map(|g| g.as_str().into()).collect(),
        subjects: doc.subjects.iter().map(|s| s.as_str().into()).collect(),
        tags: doc.tags.clone(),
        license: doc.license.clone().unwrap_or_default(),
        sections: doc
            .sections
            .iter()
            .map(|(k, md)| (k.key().to_string(), md.clone()))
            .collect(),
        measures: doc.measures.iter().map(MeasureFields::from).collect(),
        resources: doc
            .resources
            .iter()
            .map(|r| ResourceFields {
                title: r.title.clone(),
                url: r.url.clone(),
            })
            .collect(),
        cost: CostFields::from(&doc.cost),
    }
}

/// The form these fields would have been typed into.
fn form_of(p: &PracticeFields, confirm_privacy: bool) -> PracticeForm {
    PracticeForm {
        title: p.title.clone(),
        summary: p.summary.clone(),
        team: p.team.clone(),
        stage: p.stage.clone(),
        areas: p.challenge_areas.clone(),
        grades: p.grade_bands.clone(),
        subjects: p.subjects.clone(),
        tags: p.tags.join(", "),
        license: p.license.clone(),
        sections: p.sections.clone(),
        measures: p.measures.iter().map(MeasureRow::from).collect(),
        resources: p
            .resources
            .iter()
            .map(|r| (r.title.clone(), r.url.clone()))
            .collect(),
        cost: CostForm::from(&p.cost),
        confirm_privacy,
        ..Default::default()
    }
}

/// Section keys the form does not have are a problem here (the form cannot send them).
fn unknown_sections(p: &PracticeFields) -> Problems {
    let mut problems = Problems::new();
    for key in p.sections.keys() {
        if crate::domain::SectionKind::from_key(key).is_none() {
            let known: Vec<&str> = crate::domain::SectionKind::ALL
                .iter()
                .map(|k| k.key())
                .collect();
            problems
                .entry(format!("s-{key}"))
                .or_default()
                .push(format!(
                    "not a section; the sections are {}",
                    known.join(", ")
                ));
        }
    }
    problems
}

/// The draft as it is now, for its team.
async fn draft_of(state: &AppState, slug: &str, status: StatusCode) -> AppResult<Response> {
    let target = state
        .db
        .edit_target(slug)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((status, Json(view(state, &target))).into_response())
}

fn view(state: &AppState, t: &EditTarget) -> Draft {
    let practice = fields_of(&t.doc);
    let form = form_of(&practice, false);
    Draft {
        slug: t.doc.slug.to_string(),
        base: t.current_revision_id,
        revision: t.current_number,
        status: t.status.as_str().into(),
        public: t.public_revision_id.is_some(),
        privacy_flags: crate::web::publish::privacy_flags(&form)
            .into_iter()
            .map(|f| format!("{}: {}: “{}”", f.place, f.reason, f.excerpt))
            .collect(),
        practice,
        edit_url: format!(
            "{}/practices/{}/edit",
            state.settings.public_url(),
            t.doc.slug
        ),
    }
}

/// Saves `write` as a new revision (of `target`, or of a new practice) through the form's
/// rules: `201`/`200` with the draft, `422` with the problems, `409` on a conflict.
async fn save(
    state: &AppState,
    caller: &Caller,
    target: Option<EditTarget>,
    write: DraftWrite,
) -> AppResult<Response> {
    let mut f = form_of(&write.practice, write.confirm_privacy);
    if let Some(t) = &target {
        f.team = t.doc.team.to_string();
    }
    let (doc, mut problems) = check(state, &caller.user, target.as_ref(), &f, write.submit).await?;
    problems.extend(unknown_sections(&write.practice));
    if !problems.is_empty() {
        return Ok(refused(problems));
    }
    let base = match (&target, write.base) {
        (Some(_), Some(base)) => Some(base),
        (Some(_), None) => {
            return Ok(ApiError::bad_parameter(
                "base",
                "send the `base` of the draft you changed (GET …/draft), so that nobody's edit is lost",
            ));
        }
        (None, _) => None,
    };
    match state
        .db
        .save_draft(caller.user.id, &doc, base, write.submit)
        .await?
    {
        Saved::Conflict { number, author, .. } => Ok(ApiError::respond(
            StatusCode::CONFLICT,
            Some("base"),
            format!(
                "nothing was saved: {author} saved revision {number} since your base; get the draft again, merge, and send its base"
            ),
        )),
        Saved::Revision {
            slug, submitted, ..
        } => {
            if write.submit && !submitted {
                return Ok(ApiError::respond(
                    StatusCode::CONFLICT,
                    None,
                    "saved, but not submitted: the practice is not a draft waiting to be submitted",
                ));
            }
            let status = if target.is_none() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            draft_of(state, slug.as_str(), status).await
        }
    }
}

/// Starts a practice as a draft of one of your teams (and submits it, with `submit`).
#[utoipa::path(
    post,
    path = "/api/v1/practices",
    tag = "writing",
    request_body = DraftWrite,
    security(("token" = ["write:practices"])),
    responses(
        (status = 201, description = "Saved as a new draft", body = Draft),
        (status = 400, description = "The body is not JSON of this shape", body = ApiError),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope", body = ApiError),
        (status = 415, description = "The body is not `application/json`", body = ApiError),
        (status = 422, description = "Problems to fix; nothing was saved", body = ApiError),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(write): ApiJson<DraftWrite>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("write:practices") {
        return Ok(r);
    }
    save(&state, &caller, None, write).await
}

/// Your team's newest revision of a practice, public or not (a coach reads any, to review).
#[utoipa::path(
    get,
    path = "/api/v1/practices/{slug}/draft",
    tag = "writing",
    params(SlugParam),
    security(("token" = ["read"])),
    responses(
        (status = 200, description = "The newest revision", body = Draft),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope, or the practice is another team's (and its person no coach)", body = ApiError),
        (status = 404, description = "No practice has this slug", body = ApiError),
    )
)]
pub async fn draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("read") {
        return Ok(r);
    }
    let target = state
        .db
        .edit_target(&slug)
        .await?
        .ok_or(AppError::NotFound)?;
    // Its team, and the coaches who review it (as on the web).
    if !caller.user.is_member_of(target.team_id) && !caller.user.is_coach() {
        return Err(AppError::Forbidden(
            "only members of the team that shared this practice, and coaches, can read its drafts"
                .into(),
        ));
    }
    Ok(Json(view(&state, &target)).into_response())
}

/// Saves a new revision of your team's practice (and submits it, with `submit`).
#[utoipa::path(
    put,
    path = "/api/v1/practices/{slug}/draft",
    tag = "writing",
    params(SlugParam),
    request_body = DraftWrite,
    security(("token" = ["write:practices"])),
    responses(
        (status = 200, description = "Saved as the newest revision", body = Draft),
        (status = 400, description = "The body is not JSON of this shape, or has no `base`", body = ApiError),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope, or the practice is another team's or archived", body = ApiError),
        (status = 404, description = "No practice has this slug", body = ApiError),
        (status = 409, description = "Someone saved since `base`; nothing was saved", body = ApiError),
        (status = 415, description = "The body is not `application/json`", body = ApiError),
        (status = 422, description = "Problems to fix; nothing was saved", body = ApiError),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiJson(write): ApiJson<DraftWrite>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("write:practices") {
        return Ok(r);
    }
    let target = editable(&state, &caller.user, &slug).await?;
    save(&state, &caller, Some(target), write).await
}

/// Adds measures to your team's newest revision, as a new revision (a data system's way in).
#[utoipa::path(
    post,
    path = "/api/v1/practices/{slug}/measures",
    tag = "writing",
    params(SlugParam),
    request_body = MeasuresWrite,
    security(("token" = ["write:practices"])),
    responses(
        (status = 200, description = "Saved as the newest revision", body = Draft),
        (status = 400, description = "The body is not JSON of this shape", body = ApiError),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope, or the practice is another team's or archived", body = ApiError),
        (status = 404, description = "No practice has this slug", body = ApiError),
        (status = 409, description = "Someone saved meanwhile; nothing was saved", body = ApiError),
        (status = 415, description = "The body is not `application/json`", body = ApiError),
        (status = 422, description = "Problems to fix (a count below the minimum cell size, …); nothing was saved", body = ApiError),
    )
)]
pub async fn add_measures(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiJson(write): ApiJson<MeasuresWrite>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("write:practices") {
        return Ok(r);
    }
    let target = editable(&state, &caller.user, &slug).await?;
    let mut practice = fields_of(&target.doc);
    practice.measures.extend(write.measures);
    let base = Some(target.current_revision_id);
    let write = DraftWrite {
        practice,
        base,
        submit: false,
        confirm_privacy: false,
    };
    save(&state, &caller, Some(target), write).await
}

/// Submits your team's newest revision for review.
#[utoipa::path(
    post,
    path = "/api/v1/practices/{slug}/submit",
    tag = "writing",
    params(SlugParam),
    request_body = SubmitWrite,
    security(("token" = ["write:practices"])),
    responses(
        (status = 200, description = "Submitted", body = Draft),
        (status = 400, description = "The body is not JSON of this shape", body = ApiError),
        (status = 401, description = "No token, or not a valid one", body = ApiError),
        (status = 403, description = "The token lacks the scope, or the practice is another team's or archived", body = ApiError),
        (status = 404, description = "No practice has this slug", body = ApiError),
        (status = 409, description = "Not a draft waiting to be submitted", body = ApiError),
        (status = 415, description = "The body is not `application/json`", body = ApiError),
        (status = 422, description = "Problems to fix before it can be submitted", body = ApiError),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    ApiJson(write): ApiJson<SubmitWrite>,
) -> AppResult<Response> {
    if let Some(r) = caller.refusal("write:practices") {
        return Ok(r);
    }
    let target = editable(&state, &caller.user, &slug).await?;
    let f = form_of(&fields_of(&target.doc), write.confirm_privacy);
    let (_, problems) = check(&state, &caller.user, Some(&target), &f, true).await?;
    if !problems.is_empty() {
        return Ok(refused(problems));
    }
    if !state
        .db
        .submit(&slug, target.current_revision_id, caller.user.id)
        .await?
    {
        return Ok(ApiError::respond(
            StatusCode::CONFLICT,
            None,
            "this practice is not a draft waiting to be submitted (it may be submitted already)",
        ));
    }
    draft_of(&state, &slug, StatusCode::OK).await
}

//! Coach review: the queue of submissions, one submission against the rubric, the decisions
//! (vet, return, archive, restore), and the practices due for re-review.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::publish::history::{DiffLine, diff_docs};
use super::views::{self, MeasureView};
use super::{Chrome, form_field, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::domain::essa::Tier;
use crate::domain::privacy::{PrivacyFlag, scan_doc};
use crate::domain::{Status, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::{
    Capped, Decision, DecisionError, DueRow, EditTarget, QueueRow, ReviewRow, Score, User, Verdict,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue))
        .route("/review/{slug}", get(review_page).post(decide))
        .route("/review/{slug}/archive", post(archive))
        .route("/review/{slug}/restore", post(restore))
}

/// A coach may not decide on their own team's practice: another coach must.
pub(crate) fn require_other_team(user: &User, t: &EditTarget) -> AppResult<()> {
    if user.is_member_of(t.team_id) {
        return Err(AppError::Forbidden(
            "You are a member of the team that shared this practice, so another coach must review it.".into(),
        ));
    }
    Ok(())
}

pub fn require_coach(user: &User) -> AppResult<()> {
    if user.is_coach() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only network coaches and administrators review practices.".into(),
        ))
    }
}

#[derive(Template)]
#[template(path = "review_queue.html")]
struct QueuePage {
    chrome: Chrome,
    queue: Vec<(QueueRow, i64, usize)>,
    /// How many are waiting in all (the queue shows the oldest).
    waiting: i64,
    due: Capped<DueRow>,
    districts: Vec<(String, String)>,
    areas: Vec<(String, String)>,
    district: String,
    area: String,
    rereview_months: u32,
}

#[derive(Deserialize)]
struct QueueFilter {
    district: Option<String>,
    area: Option<String>,
}

async fn queue(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Query(f): Query<QueueFilter>,
) -> AppResult<Response> {
    require_coach(&user)?;
    let district = f.district.filter(|d| !d.is_empty());
    let area = f.area.filter(|a| !a.is_empty());
    let rows = state
        .db
        .review_queue(district.as_deref(), area.as_deref(), super::plc::LIST_ROWS)
        .await?;
    let today = time::OffsetDateTime::now_utc().date();
    let mut queue = Vec::new();
    for row in rows.rows {
        let age = views::parse_date(&row.submitted_at).map_or(0, |d| (today - d).whole_days());
        // The queue shows how many privacy flags each submitted revision raises.
        let flags = state
            .db
            .revision(row.revision_id)
            .await?
            .map_or(0, |doc| scan_doc(&doc).len());
        queue.push((row, age, flags));
    }
    page(QueuePage {
        chrome: Chrome::new(&state, &viewer),
        queue,
        waiting: rows.total,
        due: due_list(&state, today).await?.as_ref().clone(),
        districts: state.db.district_names().await?,
        areas: state.db.area_names().await?,
        district: district.unwrap_or_default(),
        area: area.unwrap_or_default(),
        rereview_months: state.settings.rereview_months,
    })
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewPage {
    chrome: Chrome,
    slug: String,
    title: String,
    team: String,
    status: Status,
    revision_id: i64,
    revision_number: i64,
    own_team: bool,
    /// Whether a vetted revision is public: only then can the practice be archived.
    has_public: bool,
    body_html: String,
    measures: Vec<MeasureView>,
    diff: Option<Vec<DiffLine>>,
    flags: Vec<PrivacyFlag>,
    rubric: Vec<(usize, String, String, String)>,
    comment: String,
    /// The evidence level of the revision under review, and the tiers above 4 a coach may
    /// confirm (number, label): none when the figures support no more than Tier 4.
    essa: views::EssaView,
    essa_choices: Vec<(i64, &'static str)>,
    essa_tier: String,
    problems: Vec<String>,
    history: Vec<ReviewRow>,
}

/// What a coach typed on the review page, shown again when a decision is refused.
struct Typed {
    scores: Vec<Score>,
    comment: String,
    essa_tier: String,
}

/// The ESSA tier a vetting decision confirms: none (`""`), or a tier above 4 that the
/// figures support. A coach confirms what the figures support, never more.
pub(crate) fn essa_confirmation(
    supported: Option<Tier>,
    decision: Decision,
    chosen: &str,
) -> Result<Option<Tier>, String> {
    let chosen = chosen.trim();
    if chosen.is_empty() {
        return Ok(None);
    }
    let tier = chosen
        .parse::<i64>()
        .ok()
        .and_then(Tier::from_number)
        .filter(|t| *t < Tier::Rationale)
        .ok_or_else(|| {
            "Choose Tier 1, 2 or 3 to confirm, or leave the level unconfirmed (Tier 4 needs no confirmation).".to_string()
        })?;
    if decision != Decision::Vet {
        return Err(
            "A level is confirmed when vetting: choose Vet, or leave the level unconfirmed.".into(),
        );
    }
    match supported {
        Some(s) if s <= tier => Ok(Some(tier)),
        Some(s) => Err(format!(
            "The recorded figures support at most {}; a coach confirms what they support, never more.",
            s.label()
        )),
        None => Err("The recorded figures support no ESSA tier to confirm.".into()),
    }
}

async fn target(state: &AppState, slug: &str) -> AppResult<EditTarget> {
    state.db.edit_target(slug).await?.ok_or(AppError::NotFound)
}

async fn review_page(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    require_coach(&user)?;
    let t = target(&state, &slug).await?;
    let blank = state
        .settings
        .rubric
        .iter()
        .map(|c| Score {
            criterion: c.clone(),
            score: String::new(),
            note: String::new(),
        })
        .collect();
    let typed = Typed {
        scores: blank,
        comment: String::new(),
        essa_tier: String::new(),
    };
    render_review(&state, &viewer, &user, t, typed, Vec::new(), StatusCode::OK).await
}

async fn render_review(
    state: &AppState,
    viewer: &Viewer,
    user: &User,
    t: EditTarget,
    typed: Typed,
    problems: Vec<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let slug = t.doc.slug.to_string();
    let found = state
        .db
        .practice_page_at(&slug, Some(t.current_revision_id))
        .await?
        .ok_or(AppError::NotFound)?;
    // What changed since the version the public reads.
    let diff = match t.public_revision_id {
        Some(public) if public != t.current_revision_id => state
            .db
            .revision(public)
            .await?
            .map(|old| diff_docs(&old, &t.doc)),
        _ => None,
    };
    let supported = found.essa.assess().supported;
    let essa_choices = Tier::ALL
        .into_iter()
        .filter(|t| *t < Tier::Rationale && supported.is_some_and(|s| s <= *t))
        .map(|t| (t.number(), t.label()))
        .collect();
    let mut response = page(ReviewPage {
        chrome: Chrome::new(state, viewer),
        title: t.doc.title.clone(),
        team: found.practice.team_name.clone(),
        status: t.status,
        revision_id: t.current_revision_id,
        revision_number: t.current_number,
        own_team: user.is_member_of(t.team_id),
        has_public: t.public_revision_id.is_some(),
        body_html: found.practice.body_html.clone(),
        measures: found.measures.iter().map(MeasureView::from).collect(),
        diff,
        flags: scan_doc(&t.doc),
        essa: views::EssaView::new(&found.essa),
        essa_choices,
        essa_tier: typed.essa_tier,
        rubric: typed
            .scores
            .into_iter()
            .enumerate()
            .map(|(i, s)| (i, s.criterion, s.score, s.note))
            .collect(),
        comment: typed.comment,
        problems,
        history: state.db.reviews_of(&slug).await?,
        slug,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// What stops a decision, in words: the rules the review page and the API share.
pub(crate) fn decision_problems(
    decision: Decision,
    scores: &[Score],
    comment: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let unscored: Vec<&str> = scores
        .iter()
        .filter(|s| !matches!(s.score.as_str(), "meets" | "partly" | "not-yet"))
        .map(|s| s.criterion.as_str())
        .collect();
    if !unscored.is_empty() {
        problems.push(format!(
            "Score every criterion of the rubric before deciding; still unscored: {}.",
            unscored.join("; ")
        ));
    }
    if decision == Decision::Return && comment.is_empty() {
        problems.push(
            "Write a comment for the team: what should they change before submitting again?".into(),
        );
    }
    if comment.chars().count() > 5000 {
        problems.push("Keep the comment under 5,000 characters.".into());
    }
    problems
}

async fn decide(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    require_coach(&user)?;
    let t = target(&state, &slug).await?;
    require_other_team(&user, &t)?;
    let field = |name: &str| form_field(&body, name);
    let decision = match field("decision").as_str() {
        "vet" => Decision::Vet,
        "return" => Decision::Return,
        _ => {
            return Err(AppError::BadRequest(
                "Choose to vet or to return the practice.".into(),
            ));
        }
    };
    let revision: i64 = field("revision").parse().unwrap_or(-1);
    let comment = field("comment").trim().to_string();
    let scores: Vec<Score> = state
        .settings
        .rubric
        .iter()
        .enumerate()
        .map(|(i, c)| Score {
            criterion: c.clone(),
            score: field(&format!("score-{i}")),
            note: field(&format!("note-{i}")).trim().to_string(),
        })
        .collect();
    let mut problems = decision_problems(decision, &scores, &comment);
    let essa_tier = field("essa_tier");
    let supported = state
        .db
        .practice_page_at(&slug, Some(t.current_revision_id))
        .await?
        .and_then(|found| found.essa.assess().supported);
    let confirmed = essa_confirmation(supported, decision, &essa_tier)
        .map_err(|e| problems.push(e))
        .ok()
        .flatten();
    let typed = Typed {
        scores,
        comment,
        essa_tier,
    };
    if !problems.is_empty() {
        return render_review(
            &state,
            &viewer,
            &user,
            t,
            typed,
            problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let verdict = Verdict {
        decision,
        comment: &typed.comment,
        rubric: &typed.scores,
        essa_tier: confirmed,
    };
    match state.db.decide(t.id, revision, user.id, verdict).await {
        Ok(()) => {
            tracing::info!(practice.slug = %slug, decision = decision.as_str(), "review decision");
            Ok(Redirect::to(&format!("/review?decided={slug}")).into_response())
        }
        Err(DecisionError::Stale) => {
            let t = target(&state, &slug).await?;
            render_review(
                &state,
                &viewer,
                &user,
                t,
                typed,
                vec![DecisionError::Stale.to_string()],
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(DecisionError::Db(e)) => Err(e.into()),
    }
}

/// Retires a vetted practice: its page says so and search drops it; its history stays.
async fn archive(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    require_coach(&user)?;
    let t = target(&state, &slug).await?;
    require_other_team(&user, &t)?;
    if t.status == Status::Archived {
        return Err(AppError::BadRequest(
            "This practice is already archived.".into(),
        ));
    }
    if t.public_revision_id.is_none() {
        return Err(AppError::BadRequest(format!(
            "Only vetted practices can be archived. This one is “{}” and has never been public, so there is nothing to retire: return it to its team with a comment instead.",
            t.status.label()
        )));
    }
    let comment = form_field(&body, "comment");
    if comment.is_empty() {
        return Err(AppError::BadRequest(
            "Say why the practice is archived; the team and the quarterly review will see it. Go back and add a reason.".into(),
        ));
    }
    record(&state, &user, &t, Decision::Archive, &comment).await?;
    Ok(Redirect::to(&format!("/practices/{slug}")).into_response())
}

/// Brings an archived practice back: its vetted revision is public and searchable again.
async fn restore(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    require_coach(&user)?;
    let t = target(&state, &slug).await?;
    require_other_team(&user, &t)?;
    if t.status != Status::Archived {
        return Err(AppError::BadRequest(
            "This practice is not archived, so there is nothing to restore.".into(),
        ));
    }
    if t.public_revision_id.is_none() {
        return Err(AppError::BadRequest(
            "This practice was never vetted, so it has no public version to restore.".into(),
        ));
    }
    let comment = form_field(&body, "comment").trim().to_string();
    if comment.chars().count() > 5000 {
        return Err(AppError::BadRequest(
            "Keep the reason under 5,000 characters.".into(),
        ));
    }
    record(&state, &user, &t, Decision::Restore, &comment).await?;
    tracing::info!(practice.slug = %slug, "restored");
    Ok(Redirect::to(&format!("/practices/{slug}")).into_response())
}

/// Records an archive or a restore of the practice's newest revision.
async fn record(
    state: &AppState,
    user: &User,
    t: &EditTarget,
    decision: Decision,
    comment: &str,
) -> AppResult<()> {
    match state
        .db
        .decide(
            t.id,
            t.current_revision_id,
            user.id,
            Verdict::bare(decision, comment),
        )
        .await
    {
        Ok(()) => Ok(()),
        Err(DecisionError::Stale) => Err(AppError::BadRequest(
            "The practice changed while you decided (another coach archived or restored it, or its team saved an edit). Open it again to see where it stands.".into(),
        )),
        Err(DecisionError::Db(e)) => Err(e.into()),
    }
}

/// The practices due for re-review on `day` (the first `LIST_ROWS`, and how many): at
/// 1,000,000 practices the count checks every vetted practice for a later adoption report
/// (0.4 s), so the list is kept until the catalog changes (`state.due`).
pub(super) async fn due_list(
    state: &AppState,
    day: time::Date,
) -> AppResult<std::sync::Arc<Capped<DueRow>>> {
    let months = state.settings.rereview_months;
    state
        .due
        .get(state, &format!("{day} {months}"), || async {
            Ok(state
                .db
                .due_for_rereview(months, &day.to_string(), super::plc::LIST_ROWS)
                .await?)
        })
        .await
}

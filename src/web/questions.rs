//! Questions to the team: a signed-in member asks the team that shared a practice (and the
//! teams that adopted it) a question on the practice's page; answers are threaded under it,
//! the teams' answers marked. Only signed-in people see any of it; the originating team and
//! the coaches can hide a question (and show it again).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;

use super::catalog::{self, Compose};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::domain::privacy::{self, PrivacyFlag};
use crate::domain::question::{MAX_QUESTION, QuestionText};
use crate::domain::{Status, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::User;
use crate::store::pages::PracticeRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/practices/{slug}/questions", post(ask))
        .route("/practices/{slug}/questions/{id}/answers", post(answer))
        .route("/practices/{slug}/questions/{id}/hide", post(hide))
        .route("/practices/{slug}/questions/{id}/unhide", post(unhide))
}

/// A question or answer form as typed, with what is wrong with it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Draft {
    pub text: String,
    pub error: Option<String>,
    /// Passages that may identify a student: shown, and posting needs `confirmed`.
    pub flags: Vec<PrivacyFlag>,
    pub confirmed: bool,
}

impl Draft {
    fn parse(body: &[u8]) -> Draft {
        let mut d = Draft::default();
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "text" => d.text = v.into_owned(),
                "confirm_privacy" => d.confirmed = v == "yes",
                _ => {}
            }
        }
        d
    }

    /// The text to store, or this draft with its problem: the text rules, then the privacy
    /// scan the share-out form runs. As there, a flag is not a refusal (a heuristic cannot be
    /// sure, a person can): the passages are shown and the person confirms, by ticking a box,
    /// that no student is identified before it is posted.
    fn check(mut self, what: &str) -> Result<QuestionText, Draft> {
        self.flags = privacy::scan(what, &self.text);
        match QuestionText::parse(&self.text) {
            Err(e) => self.error = Some(format!("{what} {e}")),
            Ok(_) if !self.flags.is_empty() && !self.confirmed => {
                self.error = Some(format!(
                    "{what} may identify a student (see the passages listed). Remove names, ID numbers, e-mail addresses and birth dates, or tick the box to confirm that none is about a student."
                ))
            }
            Ok(text) => return Ok(text),
        }
        Err(self)
    }
}

/// One question as the page shows it.
pub(crate) struct QuestionItem {
    pub id: i64,
    pub author: String,
    pub team: Option<String>,
    pub asked_on: String,
    pub body: String,
    pub hidden: bool,
    /// For the team and coaches: what in it may identify a student.
    pub flags: Vec<PrivacyFlag>,
    pub answers: Vec<AnswerItem>,
    /// The answer form, as typed when posting it failed; its textarea's id and its action.
    pub draft: Draft,
    pub field: String,
    pub action: String,
}

pub(crate) struct AnswerItem {
    pub id: i64,
    pub author: String,
    pub team: Option<String>,
    pub answered_on: String,
    pub body: String,
    pub mark: &'static str,
    pub mark_key: &'static str,
    /// For the team and coaches, as for questions.
    pub flags: Vec<PrivacyFlag>,
}

/// The practice page's "Questions to the team", for a signed-in person.
pub(crate) struct QuestionsSection {
    pub questions: Vec<QuestionItem>,
    /// The viewer is on the originating team or a coach: sees hidden questions, hides.
    pub moderator: bool,
    /// The practice is in the catalog: it takes questions and answers (not when archived).
    pub open: bool,
    pub ask: Draft,
    /// Where the question form posts.
    pub action: String,
    pub max: usize,
}

/// Whether `user` may hide questions on practice `p` and see hidden ones: a member of the
/// team that shared it, or a coach (coaches work across districts; the network has no
/// coach-to-team assignment).
pub(crate) fn moderates(user: &User, team_slug: &str) -> bool {
    user.is_coach() || user.teams.iter().any(|t| t.slug == team_slug)
}

/// The section for `user` on practice `p`, with `compose` (a form that failed) filled in.
pub(crate) async fn section(
    state: &AppState,
    user: &User,
    p: &PracticeRow,
    open: bool,
    compose: Compose,
) -> AppResult<QuestionsSection> {
    let moderator = moderates(user, &p.team_slug);
    let (mut ask, mut answering) = (Draft::default(), None);
    match compose {
        Compose::None => {}
        Compose::Ask(d) => ask = d,
        Compose::Answer(id, d) => answering = Some((id, d)),
    }
    let questions = state
        .db
        .questions_of(p.id, moderator)
        .await?
        .into_iter()
        .map(|q| {
            let draft = match &mut answering {
                Some((id, d)) if *id == q.id => std::mem::take(d),
                _ => Draft::default(),
            };
            QuestionItem {
                id: q.id,
                flags: if moderator {
                    privacy::scan("Question", &q.body)
                } else {
                    Vec::new()
                },
                author: q.author_name,
                team: q.team_name,
                asked_on: day(&q.asked_at),
                body: q.body,
                hidden: q.hidden,
                answers: q
                    .answers
                    .into_iter()
                    .map(|a| AnswerItem {
                        flags: if moderator {
                            privacy::scan("Answer", &a.body)
                        } else {
                            Vec::new()
                        },
                        id: a.id,
                        author: a.author_name,
                        team: a.team_name,
                        answered_on: day(&a.answered_at),
                        body: a.body,
                        mark: a.voice.label(),
                        mark_key: a.voice.key(),
                    })
                    .collect(),
                draft,
                field: format!("answer-{}", q.id),
                action: format!("/practices/{}/questions/{}/answers", p.slug, q.id),
            }
        })
        .collect();
    Ok(QuestionsSection {
        questions,
        moderator,
        open,
        ask,
        action: format!("/practices/{}/questions", p.slug),
        max: MAX_QUESTION,
    })
}

/// `2026-12-02` of a stored timestamp.
fn day(at: &str) -> String {
    at.get(..10).unwrap_or(at).to_string()
}

/// The public practice `slug` open to questions, or a clear refusal.
async fn open_practice(state: &AppState, slug: &str) -> AppResult<PracticeRow> {
    let found = state
        .db
        .practice_page(slug)
        .await?
        .ok_or(AppError::NotFound)?;
    if Status::parse(&found.practice.status).ok() == Some(Status::Archived) {
        return Err(AppError::BadRequest(
            "This practice is archived: it takes no new questions or answers.".into(),
        ));
    }
    Ok(found.practice)
}

/// The team `user` speaks for on practice `p`: the originating team if they are on it, else
/// an adopting team they are on, else their first team (none when they are on no team).
async fn speaking_team(state: &AppState, user: &User, p: &PracticeRow) -> AppResult<Option<i64>> {
    if let Some(t) = user.teams.iter().find(|t| t.slug == p.team_slug) {
        return Ok(Some(t.id));
    }
    let adopting = state.db.adopting_team_ids(p.id).await?;
    Ok(user
        .teams
        .iter()
        .find(|t| adopting.contains(&t.id))
        .or(user.teams.first())
        .map(|t| t.id))
}

/// The page again with the failed form, its text kept.
async fn reshow(
    state: &AppState,
    viewer: &Viewer,
    slug: &str,
    compose: Compose,
    status: StatusCode,
) -> AppResult<Response> {
    catalog::practice_response(state, viewer, slug, compose, status).await
}

/// A write that failed because the writer stayed taken keeps the text too.
fn busy(mut d: Draft) -> Draft {
    d.error = Some(format!(
        "{} Your text is kept below.",
        crate::error::BUSY_MESSAGE
    ));
    d
}

async fn ask(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let p = open_practice(&state, &slug).await?;
    let draft = Draft::parse(&body);
    let text = match draft.clone().check("Your question") {
        Ok(text) => text,
        Err(d) => {
            return reshow(
                &state,
                &viewer,
                &slug,
                Compose::Ask(d),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let team = speaking_team(&state, &user, &p).await?;
    match state
        .db
        .ask_question(p.id, user.id, &user.name, team, &text)
        .await
        .map_err(AppError::from)
    {
        Ok(id) => {
            tracing::info!(practice.slug = %slug, question.id = id, "question asked");
            Ok(Redirect::to(&format!("/practices/{slug}#question-{id}")).into_response())
        }
        Err(AppError::Busy) => {
            reshow(
                &state,
                &viewer,
                &slug,
                Compose::Ask(busy(draft)),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// The question `id` of practice `slug` as `user` may see it (a hidden one only for the
/// team and coaches), with the practice.
async fn question(
    state: &AppState,
    user: &User,
    slug: &str,
    id: &str,
) -> AppResult<(PracticeRow, crate::store::QuestionTarget, bool)> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let p = open_practice(state, slug).await?;
    let target = state
        .db
        .question_target(slug, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let moderator = moderates(user, &p.team_slug);
    if target.hidden && !moderator {
        return Err(AppError::NotFound);
    }
    Ok((p, target, moderator))
}

async fn answer(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> AppResult<Response> {
    let (p, target, _) = question(&state, &user, &slug, &id).await?;
    if target.hidden {
        return Err(AppError::BadRequest(
            "This question is hidden. Show it again before answering it.".into(),
        ));
    }
    let draft = Draft::parse(&body);
    let text = match draft.clone().check("Your answer") {
        Ok(text) => text,
        Err(d) => {
            return reshow(
                &state,
                &viewer,
                &slug,
                Compose::Answer(target.id, d),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let team = speaking_team(&state, &user, &p).await?;
    match state
        .db
        .answer_question(target.id, user.id, &user.name, team, &text)
        .await
        .map_err(AppError::from)
    {
        Ok(answer) => {
            tracing::info!(practice.slug = %slug, question.id = target.id, answer.id = answer, "question answered");
            Ok(Redirect::to(&format!("/practices/{slug}#question-{}", target.id)).into_response())
        }
        Err(AppError::Busy) => {
            reshow(
                &state,
                &viewer,
                &slug,
                Compose::Answer(target.id, busy(draft)),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn set_hidden(
    state: &AppState,
    user: &User,
    slug: &str,
    id: &str,
    hidden: bool,
) -> AppResult<Response> {
    let (_, target, moderator) = question(state, user, slug, id).await?;
    if !moderator {
        return Err(AppError::Forbidden(
            "Only the team that shared this practice and the network's coaches can hide or show a question.".into(),
        ));
    }
    state
        .db
        .set_question_hidden(target.id, hidden, user.id)
        .await?;
    tracing::info!(practice.slug = %slug, question.id = target.id, hidden, "question visibility");
    Ok(Redirect::to(&format!("/practices/{slug}#question-{}", target.id)).into_response())
}

async fn hide(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path((slug, id)): Path<(String, String)>,
) -> AppResult<Response> {
    set_hidden(&state, &user, &slug, &id, true).await
}

async fn unhide(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path((slug, id)): Path<(String, String)>,
) -> AppResult<Response> {
    set_hidden(&state, &user, &slug, &id, false).await
}

//! Revision history: every save is kept; any two revisions can be compared, and an old one
//! restored as a new revision.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use super::{Chrome, editable, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::content::write_practice;
use crate::domain::PracticeDoc;
use crate::error::{AppError, AppResult};
use crate::store::{RevisionRow, Saved};

/// One line of a diff: `kind` is "add", "del", "same" or "gap".
pub struct DiffLine {
    pub kind: &'static str,
    pub text: String,
}

/// The changed lines between two revisions in the content format (front matter, sections,
/// measures), with two lines of context around each change.
pub fn diff_docs(old: &PracticeDoc, new: &PracticeDoc) -> Vec<DiffLine> {
    let (a, b) = (write_practice(old), write_practice(new));
    let diff = TextDiff::from_lines(&a, &b);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(2).iter().enumerate() {
        if i > 0 {
            out.push(DiffLine {
                kind: "gap",
                text: "…".into(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                out.push(DiffLine {
                    kind: match change.tag() {
                        ChangeTag::Insert => "add",
                        ChangeTag::Delete => "del",
                        ChangeTag::Equal => "same",
                    },
                    text: change.value().trim_end_matches('\n').to_string(),
                });
            }
        }
    }
    out
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    chrome: Chrome,
    slug: String,
    title: String,
    revisions: Vec<RevisionRow>,
    can_edit: bool,
    compare: Option<(i64, i64, Vec<DiffLine>)>,
    reviews: Vec<crate::store::ReviewRow>,
}

#[derive(Deserialize)]
pub struct Compare {
    from: Option<i64>,
    to: Option<i64>,
}

pub async fn history(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    Query(q): Query<Compare>,
) -> AppResult<Response> {
    let target = state
        .db
        .edit_target(&slug)
        .await?
        .ok_or(AppError::NotFound)?;
    let member = user.is_member_of(target.team_id);
    if !member && !user.is_coach() {
        return Err(AppError::Forbidden(
            "Only the team that wrote this practice, and coaches, can see its revisions.".into(),
        ));
    }
    let revisions = state.db.revisions(&slug).await?;
    let compare = match (q.from, q.to) {
        (Some(from), Some(to)) => {
            let (Some(a), Some(b)) = (
                state.db.revision_by_number(&slug, from).await?,
                state.db.revision_by_number(&slug, to).await?,
            ) else {
                return Err(AppError::BadRequest(format!(
                    "This practice has revisions 1 to {}; choose two of them to compare.",
                    revisions.len()
                )));
            };
            Some((from, to, diff_docs(&a, &b)))
        }
        _ => None,
    };
    page(HistoryPage {
        reviews: state.db.reviews_of(&slug).await?,
        chrome: Chrome::new(&state, &viewer),
        title: target.doc.title.clone(),
        slug,
        revisions,
        can_edit: member,
        compare,
    })
}

/// Makes an old revision the newest again, as a new draft revision.
pub async fn restore(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let target = editable(&state, &user, &slug).await?;
    let number = super::super::form_field(&body, "revision")
        .parse::<i64>()
        .ok()
        .ok_or_else(|| AppError::BadRequest("Choose a revision to restore.".into()))?;
    let doc = state
        .db
        .revision_by_number(&slug, number)
        .await?
        .ok_or_else(|| {
            AppError::BadRequest(format!("There is no revision {number} of this practice."))
        })?;
    match state
        .db
        .save_draft(user.id, &doc, Some(target.current_revision_id), false)
        .await?
    {
        Saved::Revision { .. } => {
            Ok(Redirect::to(&format!("/practices/{slug}/edit?saved=1")).into_response())
        }
        Saved::Conflict { .. } => Err(AppError::BadRequest(
            "Someone saved a new revision just now; open the history again and restore from there."
                .into(),
        )),
    }
}

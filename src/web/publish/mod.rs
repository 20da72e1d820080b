//! Publishing: the guided share-out form (new and edit), preview, submission, revision
//! history with diffs and restore, and the author's `/me` page.

pub(super) mod fields;
pub(super) mod form;
pub(super) mod history;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::{Chrome, page};
use crate::AppState;
use crate::auth::{Csrf, SignedIn, Viewer};
use crate::domain::privacy::{self, PrivacyFlag};
use crate::domain::{
    GradeBand, Ingredient, SectionKind, Slug, Stage, Status, Subject, Unit, Vocabulary,
};
use crate::error::{AppError, AppResult};
use crate::store::{EditTarget, Saved, User};
use form::{PracticeForm, Problems};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/share", get(new_form).post(save_new))
        .route("/practices/{slug}/edit", get(edit_form).post(save_edit))
        .route("/practices/{slug}/preview", get(preview))
        .route("/practices/{slug}/submit", axum::routing::post(submit))
        .route("/practices/{slug}/history", get(history::history))
        .route(
            "/practices/{slug}/restore",
            axum::routing::post(history::restore),
        )
        .route("/me", get(me))
}

/// A section of the form with the STEP Share prompt that helps a team write it.
struct SectionField {
    key: &'static str,
    heading: &'static str,
    prompt: &'static str,
    required: bool,
}

fn section_fields() -> Vec<SectionField> {
    SectionKind::ALL
        .into_iter()
        .map(|k| SectionField {
            key: k.key(),
            heading: k.heading(),
            required: k.required(),
            prompt: match k {
                SectionKind::WhatItIs => "Describe the practice so a teacher in another school can picture it in their classroom: who does what, when, and how often.",
                SectionKind::LogicModel => "Optional, and what an ESSA Tier 4 rationale rests on: the chain from what teachers do, to what changes for students, to the outcome you measured. One bullet (- ) per link, e.g. \"Teachers post and model sentence frames → students explain strategies aloud → more complete written explanations on exit slips\".",
                SectionKind::Evidence => "How do you know it is an improvement? Describe what your Confirm phase measured, in which classrooms, and how the results compare with the baseline.",
                SectionKind::EssentialAspects => "Which parts must be kept for the practice to work? One bullet (- ) per aspect; make each specific and observable.",
                SectionKind::NecessaryConditions => "What must be in place for it to work: time, materials, collaboration, leadership support? One bullet (- ) per condition.",
                SectionKind::GettingStarted => "Optional: the first steps for a team that wants to try it.",
                SectionKind::DiscoveryStory => "Optional: how your team found this bright spot during Discover.",
                SectionKind::Adaptations => "Optional: variations you tried and what happened.",
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "share.html")]
struct ShareForm {
    chrome: Chrome,
    /// Where the form posts.
    action: String,
    heading: String,
    editing: Option<String>,
    f: PracticeForm,
    problems: Problems,
    notices: Vec<String>,
    flags: Vec<PrivacyFlag>,
    conflict: Option<Vec<history::DiffLine>>,
    teams: Vec<(String, String)>,
    areas: Vec<(String, String)>,
    sections: Vec<SectionField>,
    stages: Vec<(&'static str, &'static str)>,
    grades: Vec<(&'static str, &'static str)>,
    subjects: Vec<(&'static str, &'static str)>,
    ingredients: Vec<(&'static str, &'static str)>,
    units: Vec<(&'static str, &'static str)>,
    measures_hint: &'static str,
    /// The licence a practice gets when its team names none.
    default_license: String,
    /// The practice's uploaded files and the upload form (editing only).
    files: Option<FilesPanel>,
}

/// The files section of the edit page: a form of its own, so an upload never touches what
/// is typed in the share form.
struct FilesPanel {
    action: String,
    files: Vec<super::files::FileView>,
    /// The file just uploaded, with the Markdown to paste.
    uploaded: Option<super::files::FileView>,
    problem: Option<String>,
    max_size: String,
    accepted: &'static str,
}

/// What the files section reports after an upload.
#[derive(Default)]
pub(crate) enum FilesNote {
    #[default]
    None,
    /// Uploaded: the file's hash, and the description typed with it.
    Uploaded(String, Option<String>),
    Problem(String),
}

impl ShareForm {
    fn problem(&self, field: &str) -> Option<String> {
        self.problems.get(field).map(|p| p.join("; "))
    }

    fn has(&self, list: &[String], value: &str) -> bool {
        list.iter().any(|v| v == value)
    }

    /// The id a problem in the summary links to: its field's, or the form's for a field the
    /// form does not draw (a value only a tampered form sends).
    fn anchor(&self, field: &str) -> String {
        let drawn = matches!(
            field,
            "title"
                | "summary"
                | "team"
                | "stage"
                | "areas"
                | "grades"
                | "subjects"
                | "tags"
                | "license"
                | "measures"
                | "resources"
                | "confirm_privacy"
                | "cost-start_hours"
                | "cost-weekly_hours"
                | "cost-materials_per_classroom"
                | "cost-currency"
                | "cost-staff_roles"
        ) || field
            .strip_prefix("s-")
            .is_some_and(|k| SectionKind::from_key(k).is_some())
            || fields::row_drawn(field, self.f.measures.len(), self.f.resources.len());
        if drawn {
            format!("f-{field}")
        } else {
            "share-form".into()
        }
    }

    fn label(&self, field: &str) -> String {
        fields::field_label(field)
    }
}

pub(super) fn pairs<V: Vocabulary>() -> Vec<(&'static str, &'static str)> {
    V::ALL.iter().map(|v| (v.as_str(), v.label())).collect()
}

/// What the form page shows besides the values.
#[derive(Default)]
struct FormContext {
    problems: Problems,
    notices: Vec<String>,
    conflict: Option<Vec<history::DiffLine>>,
    status: Option<StatusCode>,
    files: FilesNote,
}

async fn render_form(
    state: &AppState,
    viewer: &Viewer,
    editing: Option<&str>,
    f: PracticeForm,
    teams: Vec<(String, String)>,
    cx: FormContext,
) -> AppResult<Response> {
    let flags = privacy_flags(&f);
    let files = match editing {
        Some(slug) => Some(files_panel(state, slug, cx.files).await?),
        None => None,
    };
    // Rows dropped past a cap are told on every path, a row button's too.
    let mut problems = cx.problems;
    for (field, messages) in &f.dropped {
        problems
            .entry(field.clone())
            .or_insert_with(|| messages.clone());
    }
    let mut response = page(ShareForm {
        chrome: Chrome::new(state, viewer),
        action: editing.map_or("/share".into(), |s| format!("/practices/{s}/edit")),
        heading: editing.map_or("Share a practice".into(), |_| format!("Edit “{}”", f.title)),
        editing: editing.map(String::from),
        f,
        problems,
        notices: cx.notices,
        flags,
        conflict: cx.conflict,
        teams,
        areas: state.db.area_names().await?,
        sections: section_fields(),
        stages: Stage::ALL
            .iter()
            .filter(|s| **s != Stage::Replicated)
            .map(|s| (s.as_str(), s.label()))
            .collect(),
        grades: pairs::<GradeBand>(),
        subjects: pairs::<Subject>(),
        ingredients: pairs::<Ingredient>(),
        units: pairs::<Unit>(),
        measures_hint: "The figures from your Confirm phase.",
        default_license: state.settings.default_license.clone(),
        files,
    })?;
    if let Some(status) = cx.status {
        *response.status_mut() = status;
    }
    Ok(response)
}

async fn files_panel(state: &AppState, slug: &str, note: FilesNote) -> AppResult<FilesPanel> {
    use super::files::FileView;
    let rows = state.db.practice_files(slug).await?;
    let (uploaded, problem) = match note {
        FilesNote::None => (None, None),
        FilesNote::Uploaded(sha, text) => (
            rows.iter()
                .find(|r| r.sha256 == sha)
                .map(|r| FileView::of(r, text.as_deref())),
            None,
        ),
        FilesNote::Problem(p) => (None, Some(p)),
    };
    Ok(FilesPanel {
        action: format!("/practices/{slug}/files"),
        files: rows.iter().map(|r| FileView::of(r, None)).collect(),
        uploaded,
        problem,
        max_size: super::files::size_label(state.settings.max_upload_bytes as i64),
        accepted: crate::domain::upload::ACCEPTED,
    })
}

/// Everything in the form that may identify a student.
pub(crate) fn privacy_flags(f: &PracticeForm) -> Vec<PrivacyFlag> {
    privacy::scan_parts(
        &f.title,
        &f.summary,
        section_fields()
            .into_iter()
            .map(|s| (s.heading, f.section(s.key))),
        f.measures
            .iter()
            .map(|m| [&m.name, &m.instrument, &m.period]),
    )
}

fn team_choices(user: &User) -> Vec<(String, String)> {
    user.teams
        .iter()
        .map(|t| (t.slug.clone(), t.name.clone()))
        .collect()
}

async fn new_form(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
) -> AppResult<Response> {
    if user.teams.is_empty() {
        return Err(AppError::Forbidden(
            "You are not on a STEP team yet, so there is no team to share for. Ask your network administrator to add you to your team.".into(),
        ));
    }
    let f = PracticeForm {
        team: user.teams[0].slug.clone(),
        stage: Stage::Confirmed.as_str().into(),
        ..Default::default()
    };
    render_form(
        &state,
        &viewer,
        None,
        f,
        team_choices(&user),
        FormContext::default(),
    )
    .await
}

async fn edit_form(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    Query(q): Query<SavedQuery>,
) -> AppResult<Response> {
    let files = match q.file {
        Some(sha) => FilesNote::Uploaded(sha, q.text),
        None => FilesNote::None,
    };
    edit_page_with(
        &state,
        &viewer,
        &user,
        &slug,
        q.saved.is_some(),
        files,
        None,
    )
    .await
}

/// The edit page of `slug` as stored, with what the files section reports.
pub(crate) async fn edit_page(
    state: &AppState,
    viewer: &Viewer,
    user: &User,
    slug: &str,
    files: FilesNote,
    status: Option<StatusCode>,
) -> AppResult<Response> {
    edit_page_with(state, viewer, user, slug, false, files, status).await
}

async fn edit_page_with(
    state: &AppState,
    viewer: &Viewer,
    user: &User,
    slug: &str,
    saved: bool,
    files: FilesNote,
    status: Option<StatusCode>,
) -> AppResult<Response> {
    let target = editable(state, user, slug).await?;
    let f = PracticeForm::from_doc(&target.doc, target.current_revision_id);
    let mut cx = FormContext {
        files,
        status,
        ..FormContext::default()
    };
    cx.notices.push(status_notice(&target));
    if target.status == Status::Returned
        && let Some(review) = state.db.reviews_of(slug).await?.into_iter().next()
    {
        cx.notices.push(format!(
            "{} returned revision {} on {} with this comment: “{}”",
            review.reviewer,
            review.revision_number,
            &review.at[..10.min(review.at.len())],
            review.comment
        ));
    }
    if saved {
        cx.notices.insert(
            0,
            format!("Draft saved as revision {}.", target.current_number),
        );
    }
    render_form(state, viewer, Some(slug), f, team_choices(user), cx).await
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
    /// An upload just stored this file (its SHA-256)…
    file: Option<String>,
    /// …with this description.
    text: Option<String>,
}

fn status_notice(t: &EditTarget) -> String {
    match (t.status, t.public_revision_id.is_some()) {
        (Status::Submitted, _) => "Submitted: a network coach will review this revision. Saving a change takes it back to draft.".into(),
        (Status::Returned, _) => "Returned by a coach with comments: revise it and submit again.".into(),
        (Status::Vetted, _) => "Vetted and public. Your edits become a new draft; the vetted version stays public until a coach vets the new one.".into(),
        (_, true) => "A draft revision. The vetted version stays public until a coach vets this one.".into(),
        _ => "A draft: only your team can see it until it is submitted and vetted.".into(),
    }
}

/// The practice, if this person may edit it: only members of the team that owns it.
pub(crate) async fn editable(state: &AppState, user: &User, slug: &str) -> AppResult<EditTarget> {
    let target = state
        .db
        .edit_target(slug)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.is_member_of(target.team_id) {
        return Err(AppError::Forbidden(
            "Only members of the team that shared this practice can edit it.".into(),
        ));
    }
    if target.status == Status::Archived {
        return Err(AppError::Forbidden(
            "This practice is archived. Ask a network coach to restore it before editing.".into(),
        ));
    }
    Ok(target)
}

async fn save_new(
    viewer: Viewer,
    State(state): State<AppState>,
    csrf: Option<Extension<Csrf>>,
    body: Bytes,
) -> AppResult<Response> {
    save(state, viewer, csrf, None, body).await
}

async fn save_edit(
    viewer: Viewer,
    State(state): State<AppState>,
    csrf: Option<Extension<Csrf>>,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    save(state, viewer, csrf, Some(slug), body).await
}

/// Every button of the form lands here: add or remove a row (nothing saved), save a draft,
/// preview (saved first), submit (saved, then checked for completeness).
async fn save(
    state: AppState,
    viewer: Viewer,
    csrf: Option<Extension<Csrf>>,
    slug: Option<String>,
    body: Bytes,
) -> AppResult<Response> {
    let mut f = PracticeForm::parse(&body);
    let user = viewer.user().cloned();
    let teams = user.as_ref().map(team_choices).unwrap_or_default();
    // A session that ended while the person wrote: keep every word, save nothing.
    let Some(user) = user.filter(|_| csrf.is_some_and(|c| c.0 == Csrf::Valid)) else {
        let message = if viewer.user().is_none() {
            "Your session ended while you were writing, so nothing was saved yet — but nothing is lost: your text is below. Sign in again in a new tab (the link opens one), then come back here and press “Save draft”."
        } else {
            "This form's security token had expired, so nothing was saved yet. Your text is kept below: check it and press “Save draft” again."
        };
        let cx = FormContext {
            notices: vec![message.into()],
            status: Some(StatusCode::UNAUTHORIZED),
            ..Default::default()
        };
        return render_form(&state, &viewer, slug.as_deref(), f, teams, cx).await;
    };
    let target = match &slug {
        Some(s) => Some(editable(&state, &user, s).await?),
        None => None,
    };
    // The owning team of an existing practice does not change here.
    if let Some(t) = &target {
        f.team = t.doc.team.to_string();
    }
    // Row buttons change the table and show the form again; nothing is saved.
    let action = f.action.clone();
    if change_rows(&mut f, &action) {
        return render_form(
            &state,
            &viewer,
            slug.as_deref(),
            f,
            teams,
            FormContext::default(),
        )
        .await;
    }
    let submitting = action == "submit";
    let autosave = action == "autosave";
    let (doc, problems) = check(&state, &user, target.as_ref(), &f, submitting).await?;
    if autosave && !problems.is_empty() {
        return Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response());
    }
    if !problems.is_empty() {
        let cx = FormContext {
            notices: vec![format!(
                "Nothing was saved: {} to fix, marked below next to {}.",
                plural(problems.values().map(Vec::len).sum(), "problem"),
                if problems.len() == 1 {
                    "its field"
                } else {
                    "each field"
                }
            )],
            problems,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..Default::default()
        };
        return render_form(&state, &viewer, slug.as_deref(), f, teams, cx).await;
    }
    let base = target.as_ref().map(|_| f.base.parse::<i64>().unwrap_or(-1));
    let saved = match state.db.save_draft(user.id, &doc, base, submitting).await {
        Ok(saved) => saved,
        Err(e) => match AppError::from(e) {
            // The writer stayed taken (an import): keep every word and say to press again.
            AppError::Busy if !autosave => {
                let cx = FormContext {
                    notices: vec![format!(
                        "{} Your text is kept below.",
                        crate::error::BUSY_MESSAGE
                    )],
                    status: Some(StatusCode::SERVICE_UNAVAILABLE),
                    ..Default::default()
                };
                return render_form(&state, &viewer, slug.as_deref(), f, teams, cx).await;
            }
            other => return Err(other),
        },
    };
    match saved {
        Saved::Conflict {
            theirs,
            revision_id,
            number,
            author,
        } => {
            let diff = history::diff_docs(&theirs, &doc);
            f.base = revision_id.to_string();
            let cx = FormContext {
                conflict: Some(diff),
                notices: vec![format!(
                    "Nothing was saved: {author} saved revision {number} while you were editing. \
                     Both versions are kept — theirs is saved, yours is in the form below. \
                     The differences are listed first; merge what you need, then press “Save draft” to save yours as the newest revision."
                )],
                status: Some(StatusCode::CONFLICT),
                ..Default::default()
            };
            render_form(&state, &viewer, slug.as_deref(), f, teams, cx).await
        }
        Saved::Revision {
            slug,
            revision_id,
            submitted,
        } => {
            if autosave {
                // The script keeps editing the same practice: the new base, and its address.
                let mut r = StatusCode::NO_CONTENT.into_response();
                let h = r.headers_mut();
                h.insert("x-base", revision_id.into());
                if let Ok(v) = format!("/practices/{slug}/edit").parse() {
                    h.insert("x-location", v);
                }
                return Ok(r);
            }
            if submitting {
                if !submitted {
                    return Err(AppError::BadRequest(
                        "This revision was already submitted or changed meanwhile; open the practice again to see its status.".into(),
                    ));
                }
                return Ok(Redirect::to("/me?submitted=1").into_response());
            }
            if action == "preview" {
                return Ok(Redirect::to(&format!("/practices/{slug}/preview")).into_response());
            }
            Ok(Redirect::to(&format!("/practices/{slug}/edit?saved=1")).into_response())
        }
    }
}

/// The practice `f` describes and every problem that stops saving it, by the rules the form
/// and the API share: a new practice belongs to one of `user`'s teams (an edit keeps its
/// team, `f.team` set to it by the caller), every rule of the content format, completeness
/// and the privacy confirmation when `submitting`.
pub(crate) async fn check(
    state: &AppState,
    user: &User,
    target: Option<&EditTarget>,
    f: &PracticeForm,
    submitting: bool,
) -> AppResult<(crate::domain::PracticeDoc, Problems)> {
    let practice_slug = match (target, form::slug_from_title(&f.title)) {
        (Some(t), _) => t.doc.slug.clone(),
        (None, Some(s)) => s,
        (None, None) => {
            Slug::parse("practice").map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?
        }
    };
    let areas = state.db.area_names().await?;
    let (mut doc, mut problems) =
        f.to_doc(practice_slug, state.settings.min_cell(), submitting, &areas);
    // The boxes are ticked in the network's order; an edit keeps the team's own order of the
    // areas it kept (the first is the practice's main area), then adds the new ones.
    if let Some(t) = target {
        let position = |a: &crate::domain::Slug| {
            t.doc
                .challenge_areas
                .iter()
                .position(|kept| kept == a)
                .unwrap_or(usize::MAX)
        };
        doc.challenge_areas.sort_by_key(position);
    }
    if target.is_none() && !user.teams.iter().any(|t| t.slug == f.team) {
        problems
            .entry("team".into())
            .or_default()
            .push("choose one of your teams".into());
    }
    if submitting && !f.confirm_privacy {
        problems
            .entry("confirm_privacy".into())
            .or_default()
            .push("confirm that the evidence identifies no student before submitting".into());
    }
    Ok((doc, problems))
}

fn row_action(action: &str, prefix: &str) -> Option<usize> {
    action.strip_prefix(prefix)?.parse().ok()
}

/// Applies an add/remove-row button; false when the action is not one.
fn change_rows(f: &mut PracticeForm, action: &str) -> bool {
    if form::change_measure_rows(&mut f.measures, action) {
        return true;
    }
    if let Some(row) = row_action(action, "remove-resource-") {
        if row < f.resources.len() {
            f.resources.remove(row);
        }
    } else if action == "add-resource" {
        if f.resources.len() < crate::domain::MAX_RESOURCES {
            f.resources.push(Default::default());
        }
    } else {
        return false;
    }
    true
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The newest revision, drawn by the same function as the public page.
async fn preview(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let target = state
        .db
        .edit_target(&slug)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.is_member_of(target.team_id) && !user.is_coach() {
        return Err(AppError::Forbidden(
            "Only the team that wrote this practice, and coaches, can see its drafts.".into(),
        ));
    }
    let found = state
        .db
        .practice_page_at(&slug, Some(target.current_revision_id))
        .await?
        .ok_or(AppError::NotFound)?
        .within(state.settings.min_cell());
    let edit = format!("/practices/{slug}/edit");
    page(super::catalog::practice_template(
        &state,
        &viewer,
        found,
        Vec::new(),
        Some(edit),
    ))
}

/// Submission from the edit page without changes (the form's own Submit button saves first).
async fn submit(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let target = editable(&state, &user, &slug).await?;
    let mut f = PracticeForm::from_doc(&target.doc, target.current_revision_id);
    f.confirm_privacy =
        form_urlencoded::parse(&body).any(|(k, v)| k == "confirm_privacy" && v == "yes");
    f.action = "submit".into();
    let (_, problems) = check(&state, &user, Some(&target), &f, true).await?;
    if !problems.is_empty() {
        let cx = FormContext {
            notices: vec!["Not submitted yet: fix what is marked below.".into()],
            problems,
            status: Some(StatusCode::UNPROCESSABLE_ENTITY),
            ..Default::default()
        };
        return render_form(&state, &viewer, Some(&slug), f, team_choices(&user), cx).await;
    }
    if !state
        .db
        .submit(&slug, target.current_revision_id, user.id)
        .await?
    {
        return Err(AppError::BadRequest(
            "This practice is not a draft waiting to be submitted (it may be submitted already)."
                .into(),
        ));
    }
    Ok(Redirect::to("/me?submitted=1").into_response())
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    chrome: Chrome,
    user: User,
    work: Vec<crate::store::WorkRow>,
    returned: Vec<crate::store::ReviewRow>,
    /// The adoptions the person's teams made, with what they still owe.
    adoptions: Vec<crate::store::AdoptionView>,
    /// Other schools' adoptions of the person's teams' practices.
    adopted_elsewhere: Vec<crate::store::AdoptionView>,
    submitted: bool,
}

async fn me(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let work = state.db.team_work(user.id).await?;
    let returned = state.db.returned_to(user.id).await?;
    let adoptions = state.db.adoptions_by_user_teams(user.id).await?;
    let mut adopted_elsewhere = Vec::new();
    for t in &user.teams {
        adopted_elsewhere.extend(state.db.adoptions_of_team_practices(&t.slug).await?);
    }
    page(MePage {
        adoptions,
        adopted_elsewhere,
        returned,
        chrome: Chrome::new(&state, &viewer),
        submitted: q.contains_key("submitted"),
        user,
        work,
    })
}

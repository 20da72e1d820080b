//! Adopting a practice: a team records that it is trying it, which essential aspects it
//! keeps, how it adapted it, its own measures and the outcome — and edits that over time.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::publish::fields;
use super::publish::form::{self, MeasureRow, Problems};
use super::publish::pairs;
use super::{Chrome, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::content::AdoptionDoc;
use crate::domain::{
    AdoptionStatus, Ingredient, MAX_TICKED, Outcome, Slug, Unit, Vocabulary, limits,
};
use crate::error::{AppError, AppResult};
use crate::store::{AdoptionView, User};

pub fn router() -> Router<AppState> {
    Router::new().route("/practices/{slug}/adopt", get(adopt_form).post(save))
}

/// The form's values as typed.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdoptValues {
    pub team: String,
    pub status: String,
    pub started_on: String,
    pub aspects: Vec<u32>,
    /// Ticked aspect values that are not aspect numbers (a tampered form): told, not dropped.
    pub unknown_aspects: Vec<String>,
    pub adaptations: String,
    pub outcome: String,
    pub measures: Vec<MeasureRow>,
    pub action: String,
    /// What the parser dropped past a cap, told next to its field (see `PracticeForm`).
    pub dropped: Problems,
}

impl AdoptValues {
    /// The form as posted, every repeated field capped while it is read.
    fn parse(body: &[u8]) -> AdoptValues {
        let (measures, measures_dropped) = form::measure_rows(body);
        let mut f = AdoptValues {
            measures,
            ..Default::default()
        };
        let mut aspects_dropped = false;
        for (k, v) in form_urlencoded::parse(body) {
            match k.as_ref() {
                "team" => f.team = v.into_owned(),
                "status" => f.status = v.into_owned(),
                "started_on" => f.started_on = v.trim().to_string(),
                "aspect" => aspects_dropped |= !f.tick_aspect(&v),
                "adaptations" => f.adaptations = v.into_owned(),
                "outcome" => f.outcome = v.into_owned(),
                "action" => f.action = v.into_owned(),
                _ => {}
            }
        }
        f.aspects.sort_unstable();
        for (field, dropped) in [("measures", measures_dropped), ("aspects", aspects_dropped)] {
            if dropped {
                f.dropped
                    .insert(field.into(), vec![fields::dropped_message(field)]);
            }
        }
        f
    }

    /// Keeps a ticked aspect (or, told later, a value that is no aspect number); false when
    /// the form already sent as many boxes as any form has.
    fn tick_aspect(&mut self, value: &str) -> bool {
        if self.aspects.len() + self.unknown_aspects.len() >= MAX_TICKED {
            return false;
        }
        match value.parse::<u32>() {
            Ok(n) if !self.aspects.contains(&n) => self.aspects.push(n),
            Ok(_) => {}
            Err(_) => self.unknown_aspects.push(value.into()),
        }
        true
    }
}

#[derive(Template)]
#[template(path = "adopt.html")]
struct AdoptPage {
    chrome: Chrome,
    slug: String,
    title: String,
    f: AdoptValues,
    teams: Vec<(String, String)>,
    aspects: Vec<(u32, String)>,
    /// "You adopted revision 2; the practice is now at revision 3."
    revision_note: Option<String>,
    existing: bool,
    saved: bool,
    problems: Problems,
    history: Vec<(String, Option<String>, String, Option<String>)>,
    statuses: Vec<(&'static str, &'static str)>,
    outcomes: Vec<(&'static str, &'static str)>,
    ingredients: Vec<(&'static str, &'static str)>,
    units: Vec<(&'static str, &'static str)>,
    measures_hint: &'static str,
}

impl AdoptPage {
    fn problem(&self, field: &str) -> Option<String> {
        self.problems.get(field).map(|p| p.join("; "))
    }

    /// The id a problem in the summary links to (see `ShareForm::anchor`).
    fn anchor(&self, field: &str) -> String {
        let drawn = matches!(
            field,
            "team" | "status" | "started_on" | "aspects" | "adaptations" | "measures" | "outcome"
        ) || fields::row_drawn(field, self.f.measures.len(), 0);
        if drawn {
            format!("f-{field}")
        } else {
            "adopt-form".into()
        }
    }

    fn label(&self, field: &str) -> String {
        fields::field_label(field)
    }
}

#[derive(Deserialize)]
struct TeamQuery {
    team: Option<String>,
    saved: Option<String>,
}

/// Why a team of the practice's own school cannot adopt it: an adoption is evidence from
/// somewhere new (the replicated rule already ignores the originating school).
pub(super) const HOME_SCHOOL: &str = "this practice began at your team's school, and adoptions are for teams at other schools: each one tests the practice somewhere new";

/// The teams this person can adopt for: theirs, except those of the school that shared the
/// practice (its own team among them).
pub(super) fn adopting_teams(user: &User, origin_school: &str) -> Vec<(String, String)> {
    user.teams
        .iter()
        .filter(|t| t.school_slug != origin_school)
        .map(|t| (t.slug.clone(), t.name.clone()))
        .collect()
}

/// "This practice began…", as a sentence.
pub(super) fn home_school_sentence() -> String {
    let mut s = HOME_SCHOOL.to_string();
    s[..1].make_ascii_uppercase();
    s + "."
}

/// The public practice, or a clear refusal.
pub(crate) async fn adoptable(state: &AppState, slug: &str) -> AppResult<crate::store::EditTarget> {
    let target = state
        .db
        .edit_target(slug)
        .await?
        .ok_or(AppError::NotFound)?;
    if target.public_revision_id.is_none() || target.status == crate::domain::Status::Archived {
        return Err(AppError::BadRequest(
            "Only practices in the public catalog can be adopted.".into(),
        ));
    }
    Ok(target)
}

/// The public practice and the teams this person may adopt it for, or a clear refusal.
async fn practice(
    state: &AppState,
    user: &User,
    slug: &str,
) -> AppResult<(crate::store::EditTarget, Vec<(String, String)>)> {
    let target = adoptable(state, slug).await?;
    let teams = adopting_teams(user, &target.school_slug);
    if teams.is_empty() {
        return Err(AppError::Forbidden(if user.teams.is_empty() {
            "You are not on a STEP team yet, so there is no team to adopt for. Ask your network administrator to add you to your team.".into()
        } else {
            home_school_sentence()
        }));
    }
    Ok((target, teams))
}

async fn adopt_form(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    Query(q): Query<TeamQuery>,
) -> AppResult<Response> {
    let (_, teams) = practice(&state, &user, &slug).await?;
    let team = q
        .team
        .filter(|t| teams.iter().any(|(s, _)| s == t))
        .unwrap_or_else(|| teams[0].0.clone());
    // One adoption per team and practice: a second attempt opens the existing one.
    let existing = state.db.adoption(&slug, &team).await?;
    let f = match &existing {
        Some(a) => AdoptValues {
            team: team.clone(),
            status: a.status.clone(),
            started_on: a.started_on.clone().unwrap_or_default(),
            aspects: a.kept(),
            adaptations: a.adaptations.clone().unwrap_or_default(),
            outcome: a.outcome.clone().unwrap_or_default(),
            measures: form::rows_of(&a.measures),
            ..Default::default()
        },
        None => AdoptValues {
            team: team.clone(),
            status: AdoptionStatus::Exploring.as_str().into(),
            started_on: time::OffsetDateTime::now_utc().date().to_string(),
            ..Default::default()
        },
    };
    render(
        &state,
        &viewer,
        &slug,
        teams,
        f,
        existing,
        Problems::new(),
        q.saved.is_some(),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    viewer: &Viewer,
    slug: &str,
    teams: Vec<(String, String)>,
    f: AdoptValues,
    existing: Option<AdoptionView>,
    problems: Problems,
    saved: bool,
    status: StatusCode,
) -> AppResult<Response> {
    let found = state
        .db
        .practice_page(slug)
        .await?
        .ok_or(AppError::NotFound)?;
    // The aspects are those of the revision adopted (the public one, for a new adoption).
    let (aspects, revision_note, history) = match &existing {
        Some(a) => (
            a.aspect_list(),
            a.public_number
                .filter(|n| *n != a.revision_number)
                .map(|n| format!(
                    "Your team adopted revision {} of this practice; it has since been revised (now revision {n}). The aspects below are the ones you adopted.",
                    a.revision_number
                )),
            state.db.adoption_history(a.id).await?,
        ),
        None => (crate::store::parse_list(&found.practice.essential_aspects), None, Vec::new()),
    };
    let mut response = page(AdoptPage {
        chrome: Chrome::new(state, viewer),
        slug: slug.to_string(),
        title: found.practice.title.clone(),
        f,
        teams,
        aspects: aspects
            .into_iter()
            .enumerate()
            .map(|(i, a)| (i as u32 + 1, a))
            .collect(),
        revision_note,
        existing: existing.is_some(),
        saved,
        problems,
        history,
        statuses: pairs::<AdoptionStatus>(),
        outcomes: pairs::<Outcome>(),
        ingredients: pairs::<Ingredient>(),
        units: pairs::<Unit>(),
        measures_hint: "Your school's own figures, measured the same way as the originating team's where you can.",
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// What is wrong with the posted adopting team, if anything, and the status to answer with:
/// one of the person's teams at the practice's own school, a team they are not on (perhaps
/// removed from it while they wrote), or a value that is no team. Each is a problem next to
/// the team field with the text kept; not being allowed (no team that may adopt, or a real
/// team they are not on) is still a 403, and nothing is saved for anyone else's team.
pub(crate) async fn team_problem(
    state: &AppState,
    user: &User,
    choices: &[(String, String)],
    team: &str,
) -> AppResult<Option<(String, StatusCode)>> {
    let forbidden = |m: String| Some((m, StatusCode::FORBIDDEN));
    let (no_choice, unprocessable) = (choices.is_empty(), StatusCode::UNPROCESSABLE_ENTITY);
    Ok(if choices.iter().any(|(s, _)| s == team) {
        None
    } else if user.teams.iter().any(|t| t.slug == team) {
        let status = if no_choice {
            StatusCode::FORBIDDEN
        } else {
            unprocessable
        };
        Some((HOME_SCHOOL.into(), status))
    } else if state.db.team_exists(team).await? {
        let shown: String = team.chars().take(60).collect();
        forbidden(if no_choice {
            format!(
                "you are not on the team “{shown}” (any more), nor on another team that can adopt this practice, so nothing was saved; your text is kept below. Ask your network administrator to add you to your team"
            )
        } else {
            format!(
                "you are not on the team “{shown}” (any more): only its members record its adoption; choose one of your teams"
            )
        })
    } else if no_choice {
        forbidden("you are on no team that can adopt this practice, so nothing was saved; your text is kept below".into())
    } else {
        Some(("choose one of your teams".into(), unprocessable))
    })
}

/// The adoption `f` describes, or every problem that stops saving it with the status to
/// answer: the rules the form and the API share. `team_problem` is what `team_problem` found
/// of the posted team; `existing` the team's adoption so far.
pub(crate) async fn check(
    state: &AppState,
    target: &crate::store::EditTarget,
    f: &AdoptValues,
    team_problem: Option<(String, StatusCode)>,
    existing: Option<&crate::store::AdoptionView>,
) -> AppResult<Result<AdoptionDoc, (Problems, StatusCode)>> {
    let mut problems = f.dropped.clone();
    let mut add =
        |field: &str, msg: String| problems.entry(field.to_string()).or_default().push(msg);
    let mut refusal = StatusCode::UNPROCESSABLE_ENTITY;
    if let Some((p, status)) = team_problem {
        add("team", p);
        refusal = status;
    }
    let status = AdoptionStatus::parse(&f.status)
        .map_err(|_| {
            add(
                "status",
                "choose where your team is: exploring, testing, adopted, adapted or discontinued"
                    .into(),
            )
        })
        .ok();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let started_on = if f.started_on.is_empty() {
        None
    } else {
        time::Date::parse(&f.started_on, format)
            .map_err(|_| {
                add(
                    "started_on",
                    format!(
                        "\"{}\" is not a date; use the form 2026-09-15",
                        f.started_on
                    ),
                )
            })
            .ok()
    };
    let outcome = if f.outcome.is_empty() {
        None
    } else {
        Outcome::parse(&f.outcome)
            .map_err(|_| add("outcome", "choose improved, no change or declined".into()))
            .ok()
    };
    let total = match &existing {
        Some(a) => a.aspect_list().len(),
        None => crate::store::parse_list(
            &state
                .db
                .practice_page(target.doc.slug.as_str())
                .await?
                .ok_or(AppError::NotFound)?
                .practice
                .essential_aspects,
        )
        .len(),
    } as u32;
    for v in &f.unknown_aspects {
        let shown: String = v.chars().take(60).collect();
        add(
            "aspects",
            format!("\"{shown}\" is not one of the essential aspects; tick among those listed"),
        );
    }
    if f.aspects.iter().any(|n| *n == 0 || *n > total) {
        add(
            "aspects",
            format!("the practice has {total} essential aspects; tick among those"),
        );
    }
    // Counted as stored in a file (`\n` line ends), so an imported adoption fits its form.
    let adaptations = f.adaptations.trim().replace("\r\n", "\n");
    if let Some(message) = limits::too_long(&adaptations, limits::MAX_ADAPTATIONS) {
        add("adaptations", message);
    }
    if f.adaptations
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        add(
            "adaptations",
            "contains an invisible control character (such as NUL); remove it".into(),
        );
    }
    let min_cell = state.settings.min_cell();
    let (rows, measures): (Vec<usize>, Vec<crate::domain::Measure>) =
        form::parse_measures(&f.measures, min_cell, &mut add)
            .into_iter()
            .unzip();
    for (row, m) in rows.iter().zip(&measures) {
        for (field, message) in m.problems(min_cell) {
            add(&format!("m{row}-{field}"), message);
        }
    }
    let (Some(status), true) = (status, problems.is_empty()) else {
        return Ok(Err((problems, refusal)));
    };
    Ok(Ok(AdoptionDoc {
        practice: target.doc.slug.clone(),
        team: Slug::parse(&f.team).map_err(AppError::BadRequest)?,
        status,
        started_on,
        aspects_kept: f.aspects.clone(),
        adaptations: Some(f.adaptations.trim().to_string()).filter(|a| !a.is_empty()),
        outcome,
        measures,
    }))
}

async fn save(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(slug): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    // A person removed from their team while they wrote still gets the form back with their
    // text: the team problem is told there, not as a refusal page.
    let target = adoptable(&state, &slug).await?;
    let teams = adopting_teams(&user, &target.school_slug);
    let mut f = AdoptValues::parse(&body);
    let team_problem = team_problem(&state, &user, &teams, &f.team).await?;
    let existing = match team_problem {
        None => state.db.adoption(&slug, &f.team).await?,
        Some(_) => None,
    };
    // Row buttons change the measures table and show the form again; nothing is saved.
    if team_problem.is_none() && form::change_measure_rows(&mut f.measures, &f.action) {
        let dropped = f.dropped.clone();
        return render(
            &state,
            &viewer,
            &slug,
            teams,
            f,
            existing,
            dropped,
            false,
            StatusCode::OK,
        )
        .await;
    }

    let doc = match check(&state, &target, &f, team_problem, existing.as_ref()).await? {
        Ok(doc) => doc,
        Err((problems, refusal)) => {
            return render(
                &state, &viewer, &slug, teams, f, existing, problems, false, refusal,
            )
            .await;
        }
    };
    match state
        .db
        .save_adoption(user.id, &doc)
        .await
        .map_err(AppError::from)
    {
        Ok(_) => {}
        // The writer stayed taken (an import): the answers stay, with what to do.
        Err(AppError::Busy) => {
            let mut problems = Problems::new();
            problems.insert(
                "form".into(),
                vec![format!(
                    "{} Your answers are kept below.",
                    crate::error::BUSY_MESSAGE
                )],
            );
            return render(
                &state,
                &viewer,
                &slug,
                teams,
                f,
                existing,
                problems,
                false,
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        }
        Err(e) => return Err(e),
    }
    Ok(Redirect::to(&format!("/practices/{slug}/adopt?team={}&saved=1", f.team)).into_response())
}

//! The quarterly cross-district review: coaches open a session for a quarter; its page
//! gathers what happened since the previous session, the catalog's coverage and the network's
//! unmet demand, keeps the session's decision log, and exports as CSV and a printable packet.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use time::Date;

use super::review::require_coach;
use super::{Chrome, chart, form_field as field, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::domain::{GradeBand, Quarter, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::search::Facet;
use crate::store::plc::{AdoptionEvent, EventRow, OpenError, PlcDecision, PlcSession};
use crate::store::{Capped, DueRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/plc", get(sessions).post(open))
        .route("/plc/{quarter}", get(session))
        .route("/plc/{quarter}/decisions", post(add_decision))
}

fn today() -> Date {
    time::OffsetDateTime::now_utc().date()
}

#[derive(Template)]
#[template(path = "plc_list.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<PlcSession>,
    quarter: String,
    held_on: String,
    notes: String,
    problems: Vec<String>,
}

async fn sessions(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
) -> AppResult<Response> {
    require_coach(&user)?;
    let quarter = Quarter::containing(today()).to_string();
    render_sessions(
        &state,
        &viewer,
        quarter,
        today().to_string(),
        String::new(),
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

async fn render_sessions(
    state: &AppState,
    viewer: &Viewer,
    quarter: String,
    held_on: String,
    notes: String,
    problems: Vec<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut response = page(SessionsPage {
        chrome: Chrome::new(state, viewer),
        sessions: state.db.plc_sessions().await?,
        quarter,
        held_on,
        notes,
        problems,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn open(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    body: Bytes,
) -> AppResult<Response> {
    require_coach(&user)?;
    let (quarter, held_on, notes) = (
        field(&body, "quarter"),
        field(&body, "held_on"),
        field(&body, "notes"),
    );
    let mut problems = Vec::new();
    let parsed = Quarter::parse(&quarter)
        .map_err(|e| problems.push(format!("Quarter: {e}.")))
        .ok();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    if Date::parse(&held_on, format).is_err() {
        problems.push(format!(
            "Date: \"{held_on}\" is not a date; use the form 2026-12-10."
        ));
    }
    if notes.chars().count() > 10_000 {
        problems.push("Notes: keep them under 10,000 characters.".into());
    }
    let status = if let (Some(q), true) = (parsed, problems.is_empty()) {
        match state
            .db
            .open_plc_session(&q.to_string(), &held_on, &notes, user.id)
            .await
        {
            Ok(()) => return Ok(Redirect::to(&format!("/plc/{q}")).into_response()),
            Err(OpenError::AlreadyOpen(q)) => {
                problems.push(format!(
                    "The {q} session is already open: go to /plc/{q} to continue it."
                ));
                StatusCode::CONFLICT
            }
            Err(OpenError::Db(e)) => return Err(e.into()),
        }
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_sessions(&state, &viewer, quarter, held_on, notes, problems, status).await
}

/// A figure over the last quarters, drawn and tabled.
struct Trend {
    id: &'static str,
    title: &'static str,
    svg: String,
    rows: Vec<(String, i64)>,
}

#[derive(Template)]
#[template(path = "plc.html")]
struct SessionPage {
    chrome: Chrome,
    session: PlcSession,
    since: String,
    previous: Option<String>,
    /// (heading, practices) for submitted, vetted, returned, archived, restored.
    moved: Vec<(&'static str, Capped<EventRow>)>,
    replicated: Capped<EventRow>,
    adoptions: Capped<AdoptionEvent>,
    due: Capped<DueRow>,
    grades: Vec<&'static str>,
    /// `None` while the search index is being rebuilt.
    coverage: Option<Vec<Coverage>>,
    gaps: Vec<String>,
    demand: Vec<(String, i64)>,
    trends: Vec<Trend>,
    decisions: Vec<PlcDecision>,
    problems: Vec<String>,
    agenda: String,
    decision: String,
}

async fn session(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(quarter): Path<String>,
) -> AppResult<Response> {
    require_coach(&user)?;
    if let Some(q) = quarter.strip_suffix(".csv") {
        return csv(&state, q).await;
    }
    render_session(
        &state,
        &viewer,
        &quarter,
        Vec::new(),
        String::new(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

async fn find_session(state: &AppState, quarter: &str) -> AppResult<(Quarter, PlcSession)> {
    let q = Quarter::parse(quarter).map_err(|e| AppError::BadRequest(format!("{e}.")))?;
    let session = state.db.plc_session(&q.to_string()).await?.ok_or_else(|| {
        AppError::NotFoundMessage(format!(
            "No session has been opened for {q} yet. A coach can open it on the quarterly review page (/plc)."
        ))
    })?;
    Ok((q, session))
}

/// Four quarters' figures (vetted total, submitted, vetted, adoptions): at 1,000,000
/// practices the totals read an index entry per vetted practice, so they are kept until the
/// catalog changes (`state.quarters`).
pub type QuarterFigures = Vec<(String, [i64; 4])>;

async fn quarter_figures(state: &AppState, q: Quarter) -> AppResult<Arc<QuarterFigures>> {
    state
        .quarters
        .get(state, &q.to_string(), || async {
            let mut figures = Vec::new();
            let mut quarter = q.previous().previous().previous();
            for _ in 0..4 {
                let (total, submitted, vetted, adoptions) = state
                    .db
                    .quarter_figures(&quarter.start().to_string(), &quarter.end().to_string())
                    .await?;
                figures.push((quarter.to_string(), [total, submitted, vetted, adoptions]));
                quarter = quarter.next();
            }
            Ok(figures)
        })
        .await
}

async fn render_session(
    state: &AppState,
    viewer: &Viewer,
    quarter: &str,
    problems: Vec<String>,
    agenda: String,
    decision: String,
    status: StatusCode,
) -> AppResult<Response> {
    let (q, session) = find_session(state, quarter).await?;
    let previous = state.db.previous_plc_session(&session.quarter).await?;
    // The period runs from the previous session's meeting to the end of this one's day (or
    // today, while the session is still ahead).
    let from = previous
        .as_ref()
        .map_or("0000-01-01".to_string(), |p| p.held_on.clone());
    let held = super::views::parse_date(&session.held_on).unwrap_or_else(today);
    let last_day = held.max(today());
    let to_day = last_day.next_day().unwrap_or(last_day);
    let to = to_day.to_string();
    let events =
        |kinds: &'static [&'static str]| state.db.events_between(&from, &to, kinds, LIST_ROWS);
    // While the index is rebuilt from nothing its counts are zeros: the page says so instead.
    let coverage = if super::index_ready(state) {
        Some(coverage(state).await?)
    } else {
        None
    };
    let gaps = coverage
        .iter()
        .flatten()
        .filter(|c| c.total == 0)
        .map(|c| c.name.clone())
        .collect();
    let mut trends = vec![
        Trend {
            id: "t-total",
            title: "Vetted practices in the catalog at the end of each quarter",
            svg: String::new(),
            rows: Vec::new(),
        },
        Trend {
            id: "t-submitted",
            title: "Submissions per quarter",
            svg: String::new(),
            rows: Vec::new(),
        },
        Trend {
            id: "t-vetted",
            title: "Practices vetted per quarter",
            svg: String::new(),
            rows: Vec::new(),
        },
        Trend {
            id: "t-adoptions",
            title: "Adoptions started or reported per quarter",
            svg: String::new(),
            rows: Vec::new(),
        },
    ];
    for (quarter, values) in quarter_figures(state, q).await?.iter() {
        for (trend, value) in trends.iter_mut().zip(values) {
            trend.rows.push((quarter.clone(), *value));
        }
    }
    for t in &mut trends {
        t.svg = chart::bars_svg(t.id, t.title, &t.rows);
    }
    let mut response = page(SessionPage {
        chrome: Chrome::new(state, viewer),
        since: previous.as_ref().map_or("the hub began".into(), |p| {
            format!("the {} session on {}", p.quarter, p.held_on)
        }),
        previous: previous.map(|p| p.quarter),
        moved: vec![
            ("Submitted", events(&["submitted"]).await?),
            (
                "Vetted",
                state.db.vetted_between(&from, &to, LIST_ROWS).await?,
            ),
            ("Returned to their teams", events(&["returned"]).await?),
            ("Archived", events(&["archived"]).await?),
            ("Restored to the catalog", events(&["restored"]).await?),
        ],
        replicated: events(&["replicated", "unreplicated"]).await?,
        adoptions: state.db.adoptions_between(&from, &to, LIST_ROWS).await?,
        // Due on the period's last day, by the queue's rule (`to` is the day after it).
        due: super::review::due_list(state, last_day)
            .await?
            .as_ref()
            .clone(),
        grades: GradeBand::ALL.iter().map(|g| g.label()).collect(),
        coverage,
        gaps,
        demand: state.db.zero_result_searches(&from, &to, 15).await?,
        trends,
        decisions: state.db.plc_decisions(session.id).await?,
        problems,
        agenda,
        decision,
        session,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn add_decision(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(quarter): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    require_coach(&user)?;
    let (_, session) = find_session(&state, &quarter).await?;
    let (agenda, decision) = (field(&body, "agenda"), field(&body, "decision"));
    let mut problems = Vec::new();
    if agenda.is_empty() || decision.is_empty() {
        problems.push("Write both the agenda item and what the coaches decided.".to_string());
    }
    if agenda.chars().count() > 2000 || decision.chars().count() > 2000 {
        problems.push("Keep each entry under 2,000 characters.".into());
    }
    if !problems.is_empty() {
        return render_session(
            &state,
            &viewer,
            &quarter,
            problems,
            agenda,
            decision,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    state
        .db
        .add_plc_decision(session.id, &agenda, &decision, user.id)
        .await?;
    Ok(Redirect::to(&format!("/plc/{}#decisions", session.quarter)).into_response())
}

/// The session as CSV: one row per practice with its status, stage, adoptions, last review,
/// re-review due date and the status of an edit pending behind its vetted revision.
async fn csv(state: &AppState, quarter: &str) -> AppResult<Response> {
    let (_, session) = find_session(state, quarter).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| AppError::Internal(e.into());
    out.write_record([
        "slug",
        "title",
        "team",
        "district",
        "status",
        "stage",
        "adoptions",
        "last_review",
        "due_on",
        // Last, so that scripts reading the earlier columns by position keep working.
        "pending_edit",
    ])
    .map_err(io)?;
    for r in state
        .db
        .catalog_rows(state.settings.rereview_months)
        .await?
    {
        // A vetted practice being edited is "vetted" with its edit's status beside it.
        let standing = r.standing();
        out.write_record([
            r.slug,
            r.title,
            r.team,
            r.district,
            standing.status.as_str().to_string(),
            r.stage,
            r.adoptions.to_string(),
            r.last_review.unwrap_or_default(),
            r.due_on.unwrap_or_default(),
            standing.pending_key().to_string(),
        ])
        .map_err(io)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e.to_string())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"bright-spots-{}.csv\"",
                    session.quarter
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Rows a list of the session page shows at most (it says how many more there are).
pub const LIST_ROWS: i64 = 50;

/// Vetted practices per challenge area and grade band.
pub(super) struct Coverage {
    slug: String,
    name: String,
    total: u64,
    /// In the order of `GradeBand::ALL`.
    by_grade: Vec<u64>,
}

/// The coverage table, from the search index's whole-catalog counts (kept per index version;
/// the database would read every practice on each visit).
async fn coverage(state: &AppState) -> AppResult<Vec<Coverage>> {
    let areas = super::catalog::area_counts(state, true).await?;
    let pairs = super::on_index(state, |search| {
        search.catalog_pairs(Facet::Challenge, Facet::Grade)
    })
    .await?;
    Ok(areas
        .into_iter()
        .map(|a| Coverage {
            total: a.count,
            by_grade: GradeBand::ALL
                .iter()
                .map(|g| {
                    pairs
                        .get(&(a.slug.clone(), g.as_str().to_string()))
                        .copied()
                        .unwrap_or(0)
                })
                .collect(),
            slug: a.slug,
            name: a.name,
        })
        .collect())
}

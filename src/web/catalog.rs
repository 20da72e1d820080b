//! The reading pages of the catalog: home, a practice, the challenge areas.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::views::{self, CardView, MeasureView, StageBadge};
use super::{Chrome, chart, page};
use crate::AppState;
use crate::auth::Viewer;
use crate::domain::{Status, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::store::pages::{AreaCount, HitRow, PracticePage};
use crate::store::parse_list;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/practices/{slug}", get(practice))
        .route("/challenges", get(challenges))
        .route("/challenges/{slug}", get(challenge))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
    areas: Vec<AreaCount>,
    recent: Vec<CardView>,
    total: i64,
}

async fn home(viewer: Viewer, State(state): State<AppState>) -> AppResult<Response> {
    let areas = state.db.area_counts().await?;
    let recent = views::cards(state.db.recent_practices(6).await?);
    let total = state.db.public_practice_count().await?;
    page(Home {
        chrome: Chrome::new(&state, &viewer),
        areas,
        recent,
        total,
    })
}

#[derive(Template)]
#[template(path = "practice.html")]
pub(super) struct PracticeTemplate {
    /// Set on an author's preview: the link back to the edit form.
    preview: Option<String>,
    chrome: Chrome,
    p: crate::store::pages::PracticeRow,
    stage: StageBadge,
    archived: bool,
    under_review: bool,
    areas: Vec<(String, String)>,
    grades: String,
    subjects: String,
    tags: Vec<String>,
    level: &'static str,
    locale: &'static str,
    measures: Vec<MeasureView>,
    chart: String,
    resources: Vec<crate::domain::Resource>,
    license: String,
    published_on: String,
    vetted_on: String,
    related: Vec<HitRow>,
}

async fn practice(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let Some(found) = state.db.practice_page(&slug).await? else {
        return Err(AppError::NotFound);
    };
    let related = related(&state, &slug).await;
    page(practice_template(&state, &viewer, found, related, None))
}

/// The practice page: the published page and the author's preview are this one function,
/// so they cannot differ.
pub(super) fn practice_template(
    state: &AppState,
    viewer: &Viewer,
    found: PracticePage,
    related: Vec<HitRow>,
    preview: Option<String>,
) -> PracticeTemplate {
    let p = found.practice;
    let status = Status::parse(&p.status).unwrap_or(Status::Vetted);
    PracticeTemplate {
        chrome: Chrome::new(state, viewer),
        stage: views::stage(&p.stage),
        archived: preview.is_none() && status == Status::Archived,
        under_review: preview.is_none() && matches!(status, Status::Submitted),
        areas: found.areas,
        grades: views::grade_labels(&p.grade_bands),
        subjects: views::subject_labels(&p.subjects).join(", "),
        tags: parse_list(&p.tags),
        level: views::level_label(&p.level),
        locale: views::locale_label(&p.locale),
        measures: found.measures.iter().map(MeasureView::from).collect(),
        chart: chart::measures_svg(&found.measures),
        resources: found.resources,
        license: p
            .license
            .clone()
            .unwrap_or_else(|| state.settings.default_license.clone()),
        published_on: views::opt_date(&p.published_on),
        vetted_on: views::opt_date(&p.vetted_on),
        related,
        preview,
        p,
    }
}

/// Up to five practices like this one, from the search index. A page without them is still
/// a good page, so a search failure is logged, not shown.
async fn related(state: &AppState, slug: &str) -> Vec<HitRow> {
    let search = state.search.clone();
    let me = slug.to_string();
    let slugs = match tokio::task::spawn_blocking(move || search.related(&me, 5)).await {
        Ok(Ok(slugs)) => slugs,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "related practices");
            return Vec::new();
        }
        Err(_) => return Vec::new(),
    };
    let mut rows = state.db.search_hits(&slugs).await.unwrap_or_default();
    slugs.iter().filter_map(|s| rows.remove(s)).collect()
}

#[derive(Template)]
#[template(path = "challenges.html")]
struct Challenges {
    chrome: Chrome,
    areas: Vec<AreaCount>,
}

async fn challenges(viewer: Viewer, State(state): State<AppState>) -> AppResult<Response> {
    let areas = state.db.area_counts().await?;
    page(Challenges {
        chrome: Chrome::new(&state, &viewer),
        areas,
    })
}

#[derive(Template)]
#[template(path = "challenge.html")]
struct Challenge {
    chrome: Chrome,
    area: AreaCount,
    practices: Vec<CardView>,
}

async fn challenge(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let area = state.db.area(&slug).await?.ok_or(AppError::NotFound)?;
    let practices = views::cards(state.db.practices_in_area(&slug).await?);
    page(Challenge {
        chrome: Chrome::new(&state, &viewer),
        area,
        practices,
    })
}

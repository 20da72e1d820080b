//! Who shares: teams, schools and districts with what they published.

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::get;

use super::feeds::FeedLink;
use super::listing::Listing;
use super::seo::PageMeta;
use super::views;
use super::{Chrome, page};
use crate::AppState;
use crate::auth::Viewer;
use crate::error::{AppError, AppResult};
use crate::store::pages::{Cards, NamedRow, SchoolRow, TeamRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/teams/{slug}", get(team))
        .route("/schools/{slug}", get(school))
        .route("/districts/{slug}", get(district))
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    team: TeamRow,
    listing: Listing,
    /// Other schools' adoptions of this team's practices, and what they report.
    adopted_elsewhere: Vec<crate::store::AdoptionView>,
    feed: FeedLink,
}

async fn team(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let team = state.db.team(&slug).await?.ok_or(AppError::NotFound)?;
    let listing = Listing::counted(
        &state,
        Cards::Team(&slug),
        query.as_deref(),
        format!("/teams/{slug}"),
    )
    .await?;
    let adopted_elsewhere = state.db.adoptions_of_team_practices(&slug).await?;
    let meta = PageMeta::page(
        &state,
        &team.name,
        &listing.canonical(),
        &format!(
            "{}, the STEP team of {} ({}), {}: {} shared practice{}. Challenge and Aim: {}",
            team.name,
            team.school_name,
            team.district_name,
            team.cycle,
            listing.total,
            if listing.total == 1 { "" } else { "s" },
            team.aim
        ),
    );
    page(TeamPage {
        chrome: Chrome::new(&state, &viewer).public(meta),
        feed: FeedLink::team(&state, &team.slug, &team.name),
        team,
        listing,
        adopted_elsewhere,
    })
}

#[derive(Template)]
#[template(path = "school.html")]
struct SchoolPage {
    chrome: Chrome,
    school: SchoolRow,
    level: &'static str,
    locale: &'static str,
    teams: Vec<NamedRow>,
    listing: Listing,
    feed: FeedLink,
    /// Its profile for "schools like mine", as (what, band) lines; empty without one.
    profile: Vec<(&'static str, String)>,
}

async fn school(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let school = state.db.school(&slug).await?.ok_or(AppError::NotFound)?;
    let teams = state.db.teams_of_school(&slug).await?;
    let profile = state
        .db
        .profiled_school(&slug)
        .await?
        .map(|s| super::like_mine::profile_lines(&s.traits.profile))
        .unwrap_or_default();
    let listing = Listing::counted(
        &state,
        Cards::School(&slug),
        query.as_deref(),
        format!("/schools/{slug}"),
    )
    .await?;
    let (level, locale) = (
        views::level_label(&school.level),
        views::locale_label(&school.locale),
    );
    let meta = PageMeta::page(
        &state,
        &school.name,
        &listing.canonical(),
        &format!(
            "{}, a {} {} school in {}: its STEP teams and the {} practice{} they shared, with their evidence.",
            school.name,
            locale.to_lowercase(),
            level.to_lowercase(),
            school.district_name,
            listing.total,
            if listing.total == 1 { "" } else { "s" },
        ),
    );
    page(SchoolPage {
        chrome: Chrome::new(&state, &viewer).public(meta),
        level,
        locale,
        feed: FeedLink::school(&state, &school.slug, &school.name),
        school,
        teams,
        listing,
        profile,
    })
}

/// A school with its labels, for the district page.
struct SchoolLine {
    slug: String,
    name: String,
    level: &'static str,
    locale: &'static str,
}

#[derive(Template)]
#[template(path = "district.html")]
struct DistrictPage {
    chrome: Chrome,
    district: NamedRow,
    schools: Vec<SchoolLine>,
    listing: Listing,
    feed: FeedLink,
}

async fn district(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let district = state.db.district(&slug).await?.ok_or(AppError::NotFound)?;
    let schools = state
        .db
        .schools_of_district(&slug)
        .await?
        .into_iter()
        .map(|s| SchoolLine {
            level: views::level_label(&s.level),
            locale: views::locale_label(&s.locale),
            slug: s.slug,
            name: s.name,
        })
        .collect::<Vec<_>>();
    let listing = Listing::counted(
        &state,
        Cards::District(&slug),
        query.as_deref(),
        format!("/districts/{slug}"),
    )
    .await?;
    let meta = PageMeta::page(
        &state,
        &district.name,
        &listing.canonical(),
        &format!(
            "{}: {} school{} and the {} practice{} their STEP teams shared, with their evidence.",
            district.name,
            schools.len(),
            if schools.len() == 1 { "" } else { "s" },
            listing.total,
            if listing.total == 1 { "" } else { "s" },
        ),
    );
    page(DistrictPage {
        chrome: Chrome::new(&state, &viewer).public(meta),
        feed: FeedLink::district(&state, &district.slug, &district.name),
        district,
        schools,
        listing,
    })
}

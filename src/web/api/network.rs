//! The network: challenge areas with their counts, and districts, schools and teams.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::Named;
use super::{ApiError, SlugParam, cached};
use crate::AppState;
use crate::error::AppResult;
use crate::store::pages::{Card, Cards, DirectoryRow};

/// Practices listed at most under a school or team (the rest: `/api/v1/practices`).
const LISTED: i64 = 500;

/// A challenge area with its count of public practices.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChallengeArea {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub practice_count: u64,
    pub url: String,
}

/// Every challenge area, in the network's order, with its count of public practices.
#[utoipa::path(
    get,
    path = "/api/v1/challenge-areas",
    tag = "network",
    responses(
        (status = 200, description = "Every challenge area", body = Vec<ChallengeArea>),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
    )
)]
pub async fn challenge_areas(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    cached(&state, &headers, "/api/v1/challenge-areas".into(), async {
        let ready = crate::web::index_ready(&state);
        let base = state.settings.public_url();
        let areas = crate::web::catalog::area_counts(&state, ready).await?;
        Ok(Ok(areas
            .into_iter()
            .map(|a| ChallengeArea {
                url: format!("{base}/challenges/{}", a.slug),
                slug: a.slug,
                name: a.name,
                description: a.description,
                practice_count: a.count,
            })
            .collect::<Vec<_>>()))
    })
    .await
}

/// A school with its teams.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchoolItem {
    pub slug: String,
    pub name: String,
    /// elementary, middle, high, k-8 or k-12.
    pub level: String,
    /// The NCES locale: city, suburb, town or rural.
    pub locale: String,
    pub teams: Vec<Named>,
}

/// A district with its schools and their teams.
#[derive(Debug, Serialize, ToSchema)]
pub struct District {
    pub slug: String,
    pub name: String,
    pub schools: Vec<SchoolItem>,
    pub url: String,
}

/// The directory's rows, grouped: districts, their schools, their teams.
fn districts_of(base: &str, rows: Vec<DirectoryRow>) -> Vec<District> {
    let mut out: Vec<District> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|d| d.slug != r.district_slug) {
            out.push(District {
                url: format!("{base}/districts/{}", r.district_slug),
                slug: r.district_slug,
                name: r.district_name,
                schools: Vec::new(),
            });
        }
        let district = out.last_mut().expect("pushed above");
        let Some(school) = r.school_slug else {
            continue;
        };
        if district.schools.last().is_none_or(|s| s.slug != school) {
            district.schools.push(SchoolItem {
                slug: school,
                name: r.school_name.unwrap_or_default(),
                level: r.level.unwrap_or_default(),
                locale: r.locale.unwrap_or_default(),
                teams: Vec::new(),
            });
        }
        if let (Some(slug), Some(name)) = (r.team_slug, r.team_name) {
            let school = district.schools.last_mut().expect("pushed above");
            school.teams.push(Named { slug, name });
        }
    }
    out
}

/// Every district, with its schools and their teams.
#[utoipa::path(
    get,
    path = "/api/v1/districts",
    tag = "network",
    responses(
        (status = 200, description = "Every district", body = Vec<District>),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
    )
)]
pub async fn districts(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    cached(&state, &headers, "/api/v1/districts".into(), async {
        let base = state.settings.public_url();
        Ok(Ok(districts_of(&base, state.db.directory().await?)))
    })
    .await
}

/// One district, with its schools and their teams.
#[utoipa::path(
    get,
    path = "/api/v1/districts/{slug}",
    tag = "network",
    params(SlugParam),
    responses(
        (status = 200, description = "The district", body = District),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
        (status = 404, description = "No district has this slug", body = ApiError),
    )
)]
pub async fn district(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let key = format!("/api/v1/districts/{slug}");
    cached(&state, &headers, key, async {
        let base = state.settings.public_url();
        let found = districts_of(&base, state.db.directory().await?)
            .into_iter()
            .find(|d| d.slug == slug);
        Ok(found.ok_or_else(|| ApiError::not_found("district")))
    })
    .await
}

/// A public practice in a school's or team's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PracticeCard {
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub stage: String,
    pub vetted_on: Option<String>,
    pub url: String,
}

fn cards(base: &str, cards: Vec<Card>) -> Vec<PracticeCard> {
    cards
        .into_iter()
        .map(|c| PracticeCard {
            url: format!("{base}/practices/{}", c.slug),
            slug: c.slug,
            title: c.title,
            summary: c.summary,
            stage: c.stage,
            vetted_on: c.vetted_on,
        })
        .collect()
}

/// A school with its teams and public practices.
#[derive(Debug, Serialize, ToSchema)]
pub struct School {
    pub slug: String,
    pub name: String,
    pub level: String,
    pub locale: String,
    pub district: Named,
    pub teams: Vec<Named>,
    /// Its public practices, newest vetted first (at most 500).
    pub practices: Vec<PracticeCard>,
    pub url: String,
}

/// One school, with its teams and public practices.
#[utoipa::path(
    get,
    path = "/api/v1/schools/{slug}",
    tag = "network",
    params(SlugParam),
    responses(
        (status = 200, description = "The school", body = School),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
        (status = 404, description = "No school has this slug", body = ApiError),
    )
)]
pub async fn school(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let key = format!("/api/v1/schools/{slug}");
    cached(&state, &headers, key, async {
        let Some(s) = state.db.school(&slug).await? else {
            return Ok(Err(ApiError::not_found("school")));
        };
        let base = state.settings.public_url();
        let teams = state.db.teams_of_school(&slug).await?;
        let practices = state.db.cards(Cards::School(&slug), LISTED, 0).await?;
        Ok(Ok(School {
            url: format!("{base}/schools/{}", s.slug),
            slug: s.slug,
            name: s.name,
            level: s.level,
            locale: s.locale,
            district: Named {
                slug: s.district_slug,
                name: s.district_name,
            },
            teams: teams
                .into_iter()
                .map(|t| Named {
                    slug: t.slug,
                    name: t.name,
                })
                .collect(),
            practices: cards(&base, practices),
        }))
    })
    .await
}

/// A STEP team with its public practices.
#[derive(Debug, Serialize, ToSchema)]
pub struct Team {
    pub slug: String,
    pub name: String,
    /// The STEP cycle it is in (for example "2026-27").
    pub cycle: String,
    /// What it set out to improve.
    pub aim: String,
    pub challenge_area: Named,
    pub school: Named,
    pub district: Named,
    /// Its public practices, newest vetted first (at most 500).
    pub practices: Vec<PracticeCard>,
    pub url: String,
}

/// One team, with its public practices.
#[utoipa::path(
    get,
    path = "/api/v1/teams/{slug}",
    tag = "network",
    params(SlugParam),
    responses(
        (status = 200, description = "The team", body = Team),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
        (status = 404, description = "No team has this slug", body = ApiError),
    )
)]
pub async fn team(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let key = format!("/api/v1/teams/{slug}");
    cached(&state, &headers, key, async {
        let Some(t) = state.db.team(&slug).await? else {
            return Ok(Err(ApiError::not_found("team")));
        };
        let base = state.settings.public_url();
        let practices = state.db.cards(Cards::Team(&slug), LISTED, 0).await?;
        Ok(Ok(Team {
            url: format!("{base}/teams/{}", t.slug),
            slug: t.slug,
            name: t.name,
            cycle: t.cycle,
            aim: t.aim,
            challenge_area: Named {
                slug: t.area_slug,
                name: t.area_name,
            },
            school: Named {
                slug: t.school_slug,
                name: t.school_name,
            },
            district: Named {
                slug: t.district_slug,
                name: t.district_name,
            },
            practices: cards(&base, practices),
        }))
    })
    .await
}

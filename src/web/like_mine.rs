//! `/like-mine`: the practices that worked in the schools most like a teacher's own, each
//! with the reason it is shown in plain words. The ranking is `domain::profile::rank`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;

use super::views::{self, CardView};
use super::{Chrome, page};
use crate::AppState;
use crate::auth::Viewer;
use crate::domain::Vocabulary;
use crate::domain::profile::{Ranked, SchoolTraits, rank};
use crate::error::{AppError, AppResult};
use crate::search::LikeMineOrder;
use crate::store::ProfiledSchool;

pub fn router() -> Router<AppState> {
    Router::new().route("/like-mine", get(like_mine_page))
}

/// Practices shown at most.
const SHOWN: usize = 50;

/// One school's ranking.
pub(super) struct LikeMine {
    pub school: ProfiledSchool,
    pub ranked: Vec<Ranked>,
}

impl LikeMine {
    /// The ranking for the school `slug`; `None` when there is no such school.
    pub async fn of(state: &AppState, slug: &str) -> AppResult<Option<LikeMine>> {
        let schools = state.db.profiled_schools().await?;
        let Some(school) = schools.iter().find(|s| s.traits.slug == slug).cloned() else {
            return Ok(None);
        };
        Ok(Some(LikeMine::among(school, &schools, state).await?))
    }

    async fn among(
        school: ProfiledSchool,
        schools: &[ProfiledSchool],
        state: &AppState,
    ) -> AppResult<LikeMine> {
        let traits: HashMap<String, SchoolTraits> = schools
            .iter()
            .map(|s| (s.traits.slug.clone(), s.traits.clone()))
            .collect();
        let worked = state.db.worked_at().await?;
        let ranked = rank(&school.traits, &traits, &worked);
        Ok(LikeMine { school, ranked })
    }

    /// The order `sort=like-mine` gives search results.
    pub fn order(&self) -> LikeMineOrder {
        LikeMineOrder {
            school: self.school.traits.slug.clone(),
            keys: Arc::new(
                self.ranked
                    .iter()
                    .map(|r| (r.id as u64, r.key))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }
}

/// A practice card with why it is shown.
struct RankedCard {
    card: CardView,
    reason: String,
}

/// An option of the school select.
struct SchoolOption {
    slug: String,
    label: String,
    selected: bool,
}

/// The options of one district.
struct DistrictGroup {
    name: String,
    schools: Vec<SchoolOption>,
}

#[derive(Template)]
#[template(path = "like_mine.html")]
struct LikeMinePage {
    chrome: Chrome,
    districts: Vec<DistrictGroup>,
    /// The school asked about: its name, and what it is compared on.
    school: Option<(String, String)>,
    /// Whether that school has no profile (it is compared on level and locale only).
    no_profile: bool,
    /// True when the school shown is the signed-in person's own, chosen for them.
    own_school: bool,
    cards: Vec<RankedCard>,
    search_href: String,
}

/// "middle school, suburban (large suburb), 600–999 students, …": what a school is compared on.
fn compared_on(s: &SchoolTraits) -> String {
    let p = &s.profile;
    let mut parts = vec![format!("{} school", s.level.label())];
    parts.push(match p.nces_locale {
        Some(n) => format!("{} ({})", s.locale.label().to_lowercase(), n.label()),
        None => s.locale.label().to_lowercase(),
    });
    parts.extend(p.enrolment.map(|e| e.label().to_string()));
    parts.extend(
        p.economically_disadvantaged
            .map(|b| format!("{} economically disadvantaged", b.label())),
    );
    parts.extend(
        p.english_learners
            .map(|b| format!("{} English learners", b.label())),
    );
    parts.extend(
        p.students_with_disabilities
            .map(|b| format!("{} students with disabilities", b.label())),
    );
    parts.join(", ")
}

/// A profile as (what, band) lines for a school's page.
pub(super) fn profile_lines(p: &crate::domain::SchoolProfile) -> Vec<(&'static str, String)> {
    let share =
        |b: Option<crate::domain::ShareBand>| b.map(|b| format!("{} of students", b.label()));
    [
        (
            "NCES locale",
            p.nces_locale
                .map(|n| format!("{} ({})", n.label(), n.code())),
        ),
        ("Enrolment", p.enrolment.map(|e| e.label().to_string())),
        (
            "Economically disadvantaged",
            share(p.economically_disadvantaged),
        ),
        ("English learners", share(p.english_learners)),
        (
            "Students with disabilities",
            share(p.students_with_disabilities),
        ),
    ]
    .into_iter()
    .filter_map(|(what, v)| Some((what, v?)))
    .collect()
}

async fn like_mine_page(
    viewer: Viewer,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let asked = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "school")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let own = viewer
        .user()
        .and_then(|u| u.teams.first())
        .map(|t| t.school_slug.clone());
    let own_school = asked.is_none() && own.is_some();
    let chosen = asked.clone().or(own);
    let schools = state.db.profiled_schools().await?;
    let mut ranking = None;
    if let Some(slug) = &chosen {
        let Some(school) = schools.iter().find(|s| s.traits.slug == *slug).cloned() else {
            return Err(AppError::NotFoundMessage(format!(
                "There is no school \"{}\" in the network; choose one from the list at /like-mine.",
                slug.chars().take(60).collect::<String>()
            )));
        };
        ranking = Some(LikeMine::among(school, &schools, &state).await?);
    }
    let mut districts: Vec<DistrictGroup> = Vec::new();
    for s in &schools {
        let option = SchoolOption {
            slug: s.traits.slug.clone(),
            label: format!(
                "{} ({}, {})",
                s.traits.name,
                s.traits.level.label(),
                s.traits.locale.label().to_lowercase()
            ),
            selected: chosen.as_deref() == Some(s.traits.slug.as_str()),
        };
        match districts.last_mut() {
            Some(d) if d.name == s.district_name => d.schools.push(option),
            _ => districts.push(DistrictGroup {
                name: s.district_name.clone(),
                schools: vec![option],
            }),
        }
    }
    let mut cards = Vec::new();
    if let Some(r) = &ranking {
        let shown: Vec<&Ranked> = r.ranked.iter().take(SHOWN).collect();
        let slugs: Vec<String> = shown.iter().map(|r| r.practice.clone()).collect();
        let mut by_slug: HashMap<String, CardView> =
            views::cards(state.db.cards_in_order(&slugs).await?)
                .into_iter()
                .map(|c| (c.slug.clone(), c))
                .collect();
        for r in shown {
            if let Some(card) = by_slug.remove(&r.practice) {
                cards.push(RankedCard {
                    card,
                    reason: r.reason.clone(),
                });
            }
        }
    }
    let search_href = chosen
        .as_deref()
        .map(|s| {
            format!(
                "/search?{}",
                serde_urlencoded::to_string([("sort", "like-mine"), ("school", s)])
                    .unwrap_or_default()
            )
        })
        .unwrap_or_default();
    page(LikeMinePage {
        chrome: Chrome::new(&state, &viewer),
        districts,
        no_profile: ranking
            .as_ref()
            .is_some_and(|r| r.school.traits.profile.is_empty()),
        school: ranking
            .as_ref()
            .map(|r| (r.school.traits.name.clone(), compared_on(&r.school.traits))),
        own_school,
        cards,
        search_href,
    })
}

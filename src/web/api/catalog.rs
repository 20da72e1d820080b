//! Practices: the list (the search page's filters, a cursor), one practice with everything
//! its page shows, and its public revisions.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::drafts::{CostFields, MeasureFields};
use super::{ApiError, Filters, SlugParam, cached};
use crate::AppState;
use crate::domain::SectionKind;
use crate::error::AppResult;
use crate::search::Facet;
use crate::store::pages::HitRow;
use crate::store::{AdoptionView, parse_list};

/// Practices per page unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

/// A slug with its name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Named {
    pub slug: String,
    pub name: String,
}

/// A practice in a list: what a search result shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct PracticeItem {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// promising, confirmed or replicated.
    pub stage: String,
    /// Challenge area slugs, most relevant first.
    pub challenge_areas: Vec<String>,
    pub grade_bands: Vec<String>,
    pub subjects: Vec<String>,
    pub team: Named,
    pub school: Named,
    pub district: Named,
    /// `YYYY-MM-DD`.
    pub published_on: Option<String>,
    /// `YYYY-MM-DD`.
    pub vetted_on: Option<String>,
    /// Schools that adopted or adapted it.
    pub adoption_count: i64,
    /// The practice's page.
    pub url: String,
}

impl PracticeItem {
    pub fn new(base: &str, r: &HitRow) -> PracticeItem {
        PracticeItem {
            slug: r.slug.clone(),
            title: r.title.clone(),
            summary: r.summary.clone(),
            stage: r.stage.clone(),
            challenge_areas: parse_list(&r.areas),
            grade_bands: parse_list(&r.grade_bands),
            subjects: parse_list(&r.subjects),
            team: Named {
                slug: r.team_slug.clone(),
                name: r.team.clone(),
            },
            school: Named {
                slug: r.school_slug.clone(),
                name: r.school.clone(),
            },
            district: Named {
                slug: r.district_slug.clone(),
                name: r.district.clone(),
            },
            published_on: r.published_on.clone(),
            vetted_on: r.vetted_on.clone(),
            adoption_count: r.adoption_count,
            url: format!("{base}/practices/{}", r.slug),
        }
    }
}

/// A page of practices.
#[derive(Debug, Serialize, ToSchema)]
pub struct PracticePage {
    /// How many public practices match, on every page.
    pub total: u64,
    pub practices: Vec<PracticeItem>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The list parameters besides the filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct Paging {
    /// The `next_cursor` of the page before; leave out (or empty) for the first page.
    #[param(pattern = "^[0-9]{0,19}$")]
    cursor: Option<String>,
    /// Practices per page.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
}

/// Lists public practices, newest first, with the search page's filters.
///
/// The order is stable (newest added first), so a client can page through the whole
/// catalog with `cursor`: every page costs the same, however deep. For practices ranked by
/// relevance to words, use `/api/v1/search`.
#[utoipa::path(
    get,
    path = "/api/v1/practices",
    tag = "practices",
    params(Filters, Paging),
    responses(
        (status = 200, description = "A page of practices", body = PracticePage),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
        (status = 400, description = "A parameter could not be used", body = ApiError),
        (status = 404, description = "A filter names a challenge area or district that does not exist", body = ApiError),
        (status = 503, description = "The search index is being rebuilt; try again later", body = ApiError),
    )
)]
pub async fn practices(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    if !crate::web::index_ready(&state) {
        return Ok(crate::web::search::rebuilding());
    }
    let key = format!("/api/v1/practices?{}", raw.as_deref().unwrap_or(""));
    cached(&state, &headers, key, async {
        let labels = crate::web::search::Labels::load(&state).await?;
        let mut cursor = None;
        let mut limit = DEFAULT_LIMIT;
        let mut rest = Vec::new();
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
        for (k, v) in pairs {
            match k.as_str() {
                "limit" => match v.parse::<usize>() {
                    Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                    _ => {
                        return Ok(Err(ApiError::bad_parameter(
                            "limit",
                            format!("limit must be a number from 1 to {MAX_LIMIT}"),
                        )));
                    }
                },
                // Any other empty value is a parameter left out, as in a form.
                _ if v.is_empty() => {}
                "cursor" => match v.parse::<u64>() {
                    Ok(c) => cursor = Some(c),
                    Err(_) => {
                        return Ok(Err(ApiError::bad_parameter(
                            "cursor",
                            "not a cursor this API gave; use a page's next_cursor as it is",
                        )));
                    }
                },
                "q" => rest.push((k, v)),
                _ if Facet::from_param(&k).is_some() => rest.push((k, v)),
                _ => {
                    return Ok(Err(ApiError::bad_parameter(
                        &k,
                        "unknown parameter; see /api/v1/docs for the ones this list takes",
                    )));
                }
            }
        }
        let filters = serde_urlencoded::to_string(&rest).unwrap_or_default();
        let (req, problems) = crate::web::search::parse_with(
            Some(&filters),
            &labels,
            crate::search::Sort::Newest,
            limit,
        );
        if let Some(p) = problems.first() {
            return Ok(Err(ApiError::from_problem(p)));
        }
        let listed = crate::web::on_index(&state, move |search| {
            search.list(&req.query, &req.filters, cursor, limit)
        })
        .await?;
        let slugs: Vec<String> = listed.practices.iter().map(|(_, s)| s.clone()).collect();
        let rows = state.db.search_hits(&slugs).await?;
        let base = state.settings.public_url();
        let practices = slugs
            .iter()
            .filter_map(|s| rows.get(s))
            .map(|r| PracticeItem::new(&base, r))
            .collect();
        let next_cursor = (listed.practices.len() == limit)
            .then(|| listed.practices.last().map(|(id, _)| id.to_string()))
            .flatten();
        Ok(Ok(PracticePage {
            total: listed.total,
            practices,
            next_cursor,
        }))
    })
    .await
}

/// One section of a practice.
#[derive(Debug, Serialize, ToSchema)]
pub struct Section {
    /// The section's key: what-it-is, evidence, essential-aspects, necessary-conditions, …
    pub kind: String,
    pub heading: String,
    /// Rendered and sanitised when it was saved: safe to show as it is.
    pub html: String,
    /// The source, in the catalog's Markdown dialect.
    pub markdown: String,
}

/// A link the team shares beside its practice.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceItem {
    pub title: String,
    pub url: String,
}

/// One adopting school in the replication ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdoptionItem {
    pub team: Named,
    pub school: String,
    pub district: String,
    pub level: String,
    pub locale: String,
    /// exploring, adopted, adapted or discontinued.
    pub status: String,
    /// `YYYY-MM-DD`.
    pub started_on: Option<String>,
    /// The essential aspects of the adopted revision it kept (numbers from 1).
    pub aspects_kept: Vec<u32>,
    pub aspects_total: usize,
    pub adaptations: Option<String>,
    /// improved, no-change or declined; absent until reported.
    pub outcome: Option<String>,
    /// The revision it adopted.
    pub revision: i64,
    pub measures: Vec<MeasureFields>,
}

impl From<&AdoptionView> for AdoptionItem {
    fn from(a: &AdoptionView) -> Self {
        AdoptionItem {
            team: Named {
                slug: a.team_slug.clone(),
                name: a.team_name.clone(),
            },
            school: a.school_name.clone(),
            district: a.district_name.clone(),
            level: a.level.clone(),
            locale: a.locale.clone(),
            status: a.status.clone(),
            started_on: a.started_on.clone(),
            aspects_kept: a.kept(),
            aspects_total: a.aspect_list().len(),
            adaptations: a.adaptations.clone(),
            outcome: a.outcome.clone(),
            revision: a.revision_number,
            measures: a.measures.iter().map(MeasureFields::from).collect(),
        }
    }
}

/// A public practice with every section, its evidence and its replication ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct Practice {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// public, or archived (kept readable, out of the catalog's lists).
    pub status: String,
    /// promising, confirmed or replicated.
    pub stage: String,
    /// The number of the public revision.
    pub revision: i64,
    pub published_on: Option<String>,
    pub vetted_on: Option<String>,
    /// The licence the team shares it under (the network's default when it chose none).
    pub license: String,
    pub challenge_areas: Vec<Named>,
    pub grade_bands: Vec<String>,
    pub subjects: Vec<String>,
    pub tags: Vec<String>,
    pub team: Named,
    pub school: Named,
    pub district: Named,
    /// What an adopting school must keep for fidelity.
    pub essential_aspects: Vec<String>,
    pub sections: Vec<Section>,
    pub measures: Vec<MeasureFields>,
    pub resources: Vec<ResourceItem>,
    /// The schools that tried it, and what happened.
    pub adoptions: Vec<AdoptionItem>,
    /// What it takes to start and keep it going, where the team said.
    pub cost: CostFields,
    pub essa: EssaLevel,
    pub url: String,
}

/// The ESSA evidence level the practice page shows, and why (see `/evidence`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EssaLevel {
    /// tier-1 … tier-4, or none.
    pub level: String,
    pub label: String,
    pub reason: String,
    /// What the next level needs.
    pub next: Option<String>,
    /// A stronger level the recorded figures support that no coach has confirmed yet.
    pub pending: Option<String>,
}

impl From<&crate::web::views::EssaView> for EssaLevel {
    fn from(v: &crate::web::views::EssaView) -> Self {
        EssaLevel {
            level: v.key.into(),
            label: v.label.clone(),
            reason: v.reason.clone(),
            next: v.next.clone(),
            pending: v.pending.map(String::from),
        }
    }
}

/// One public practice, with every section as HTML and Markdown.
#[utoipa::path(
    get,
    path = "/api/v1/practices/{slug}",
    tag = "practices",
    params(SlugParam),
    responses(
        (status = 200, description = "The practice's public revision", body = Practice),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
        (status = 404, description = "No public practice has this slug", body = ApiError),
    )
)]
pub async fn practice(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let key = format!("/api/v1/practices/{slug}");
    cached(&state, &headers, key, async {
        let Some(found) = state.db.practice_page(&slug).await? else {
            return Ok(Err(ApiError::not_found("practice")));
        };
        let found = found.within(state.settings.min_cell());
        let p = &found.practice;
        let sources: std::collections::HashMap<String, String> = state
            .db
            .section_sources(p.revision_id)
            .await?
            .into_iter()
            .collect();
        let sections = crate::content::markdown::split_body(&p.body_html)
            .into_iter()
            .map(|(key, html)| Section {
                kind: key.to_string(),
                heading: SectionKind::from_key(key)
                    .map_or_else(|| key.to_string(), |k| k.heading().to_string()),
                html: html.to_string(),
                markdown: sources.get(key).cloned().unwrap_or_default(),
            })
            .collect();
        let adoptions = state
            .db
            .adoptions_of_practice(&slug)
            .await?
            .into_iter()
            .map(|a| a.within(state.settings.min_cell()))
            .collect::<Vec<_>>();
        let base = state.settings.public_url();
        Ok(Ok(Practice {
            slug: p.slug.clone(),
            title: p.title.clone(),
            summary: p.summary.clone(),
            status: p.status.clone(),
            stage: p.stage.clone(),
            revision: p.revision_number,
            published_on: p.published_on.clone(),
            vetted_on: p.vetted_on.clone(),
            license: p
                .license
                .clone()
                .unwrap_or_else(|| state.settings.default_license.clone()),
            challenge_areas: found
                .areas
                .iter()
                .map(|(slug, name)| Named {
                    slug: slug.clone(),
                    name: name.clone(),
                })
                .collect(),
            grade_bands: parse_list(&p.grade_bands),
            subjects: parse_list(&p.subjects),
            tags: parse_list(&p.tags),
            team: Named {
                slug: p.team_slug.clone(),
                name: p.team_name.clone(),
            },
            school: Named {
                slug: p.school_slug.clone(),
                name: p.school_name.clone(),
            },
            district: Named {
                slug: p.district_slug.clone(),
                name: p.district_name.clone(),
            },
            essential_aspects: parse_list(&p.essential_aspects),
            sections,
            measures: found.measures.iter().map(MeasureFields::from).collect(),
            resources: found
                .resources
                .iter()
                .map(|r| ResourceItem {
                    title: r.title.clone(),
                    url: r.url.clone(),
                })
                .collect(),
            adoptions: adoptions.iter().map(AdoptionItem::from).collect(),
            cost: CostFields::from(&p.cost()),
            essa: EssaLevel::from(&crate::web::views::EssaView::new(&found.essa)),
            url: format!("{base}/practices/{slug}"),
        }))
    })
    .await
}

/// A revision that is or was public.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionItem {
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub essential_aspects: Vec<String>,
    /// Whether this is the public revision now.
    pub current: bool,
    /// When a coach vetted it (absent for a revision imported as public).
    pub vetted_at: Option<String>,
}

/// A practice's public revisions.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revisions {
    pub slug: String,
    /// Newest first. Drafts and returned revisions are never listed.
    pub revisions: Vec<RevisionItem>,
}

/// The revisions of a practice that are or were public, newest first: what changed in its
/// essential aspects matters to the schools that adopted it.
#[utoipa::path(
    get,
    path = "/api/v1/practices/{slug}/revisions",
    tag = "practices",
    params(SlugParam),
    responses(
        (status = 200, description = "The practice's public revisions", body = Revisions),
        (status = 304, description = "Not modified since the `ETag` given in `If-None-Match`"),
        (status = 404, description = "No public practice has this slug", body = ApiError),
    )
)]
pub async fn revisions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    let key = format!("/api/v1/practices/{slug}/revisions");
    cached(&state, &headers, key, async {
        let rows = state.db.public_revisions(&slug).await?;
        if rows.is_empty() {
            return Ok(Err(ApiError::not_found("practice")));
        }
        Ok(Ok(Revisions {
            slug: slug.clone(),
            revisions: rows
                .into_iter()
                .map(|r| RevisionItem {
                    number: r.number,
                    title: r.title,
                    summary: r.summary,
                    essential_aspects: parse_list(&r.essential_aspects),
                    current: r.current,
                    vetted_at: r.vetted_at,
                })
                .collect(),
        }))
    })
    .await
}

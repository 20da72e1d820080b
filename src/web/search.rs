//! `/search` (the results page) and `/api/v1/search` (the same as JSON).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::api::ApiError;
use super::api::catalog::PracticeItem;
use super::feeds::FeedLink;
use super::views::{self, StageBadge};
use super::{Chrome, page};
use crate::AppState;
use crate::auth::Viewer;
use crate::domain::{GradeBand, Level, Locale, Stage, Subject, Vocabulary};
use crate::error::AppResult;
use crate::search::{Facet, MAX_QUERY_CHARS, SearchRequest, SearchResults, Sort, UserQuery};
use crate::store::SearchLogEntry;
use crate::store::pages::HitRow;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(search_page))
}

pub const DEFAULT_PER_PAGE: usize = 20;
pub const MAX_PER_PAGE: usize = 100;

/// A parameter that could not be used, named for the person or the API client.
#[derive(Debug, Clone)]
pub(super) struct Problem {
    pub parameter: String,
    pub message: String,
}

/// Labels of the values each facet can take: from the vocabularies, and from the database
/// for challenge areas and districts.
pub(super) struct Labels(HashMap<Facet, Vec<(String, String)>>);

/// The labels, kept until the index has seen a change (reading area and district names was
/// two of a search request's three database round trips), keyed on its generation.
#[derive(Default)]
pub struct LabelCache(std::sync::Mutex<Option<(u64, Arc<Labels>)>>);

/// Rows of the practices shown as hits, kept until the index has seen a change, like the
/// labels: most searches show practices that another search showed a moment before, and
/// reading the page of hits from the database was a fifth of the server's time when searches
/// came from the result cache. Like the results themselves, a kept row can outlive a write by
/// the write-to-visible lag at most.
#[derive(Default)]
pub struct HitRowCache(std::sync::Mutex<(u64, HashMap<String, HitRow>)>);

/// Rows kept at most (about 12 MB); past it the cache starts over.
const MAX_HIT_ROWS: usize = 20_000;

impl HitRowCache {
    /// The public practices among `slugs`, keyed by slug.
    async fn rows(state: &AppState, slugs: &[String]) -> AppResult<HashMap<String, HitRow>> {
        let generation = state.search.generation();
        let mut rows = HashMap::with_capacity(slugs.len());
        let missing: Vec<String> = {
            let cache = state.hit_rows.0.lock().expect("hit rows");
            slugs
                .iter()
                .filter(|slug| match cache.1.get(*slug) {
                    Some(row) if cache.0 == generation => {
                        rows.insert(row.slug.clone(), row.clone());
                        false
                    }
                    _ => true,
                })
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            return Ok(rows);
        }
        let fetched = state.db.search_hits(&missing).await?;
        let mut cache = state.hit_rows.0.lock().expect("hit rows");
        // Rows read after the index reached `generation` are at least that new; a cache that
        // a request has already moved to a later generation is left as it is.
        if cache.0 < generation {
            *cache = (generation, HashMap::new());
        }
        if cache.0 == generation {
            if cache.1.len() + fetched.len() > MAX_HIT_ROWS {
                cache.1.clear();
            }
            cache
                .1
                .extend(fetched.iter().map(|(s, r)| (s.clone(), r.clone())));
        }
        rows.extend(fetched);
        Ok(rows)
    }
}

impl Labels {
    pub(super) async fn load(state: &AppState) -> AppResult<Arc<Labels>> {
        let generation = state.search.generation();
        if let Some((g, labels)) = state.labels.0.lock().expect("labels").as_ref()
            && *g == generation
        {
            return Ok(labels.clone());
        }
        let labels = Arc::new(Labels::read(state).await?);
        *state.labels.0.lock().expect("labels") = Some((generation, labels.clone()));
        Ok(labels)
    }

    async fn read(state: &AppState) -> AppResult<Labels> {
        fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
            list.iter()
                .map(|(v, l)| (v.to_string(), l.to_string()))
                .collect()
        }
        fn essa_labels() -> Vec<(String, String)> {
            crate::domain::essa::Tier::ALL
                .iter()
                .map(|t| (t.key().to_string(), t.label().to_string()))
                .collect()
        }
        fn vocab<V: Vocabulary>() -> Vec<(String, String)> {
            V::ALL
                .iter()
                .map(|v| (v.as_str().to_string(), v.label().to_string()))
                .collect()
        }
        let mut m = HashMap::new();
        m.insert(Facet::Challenge, state.db.area_names().await?);
        m.insert(Facet::District, state.db.district_names().await?);
        m.insert(Facet::Grade, vocab::<GradeBand>());
        m.insert(Facet::Subject, vocab::<Subject>());
        m.insert(Facet::Stage, vocab::<Stage>());
        m.insert(Facet::Level, vocab::<Level>());
        m.insert(Facet::Locale, vocab::<Locale>());
        m.insert(Facet::Essa, essa_labels());
        m.insert(Facet::Cost, pairs(&crate::domain::MATERIALS_BANDS));
        m.insert(Facet::Start, pairs(&crate::domain::START_BANDS));
        Ok(Labels(m))
    }

    pub(super) fn label(&self, facet: Facet, value: &str) -> Option<&str> {
        self.0
            .get(&facet)?
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, l)| l.as_str())
    }
}

/// Reads the query string. Repeated facet parameters select several values (OR).
fn parse(raw: Option<&str>, labels: &Labels) -> (SearchRequest, Vec<Problem>) {
    parse_with(raw, labels, Sort::Relevance, DEFAULT_PER_PAGE)
}

/// Reads the query string with other defaults for `sort` and `per_page` (a feed's).
pub(super) fn parse_with(
    raw: Option<&str>,
    labels: &Labels,
    sort: Sort,
    per_page: usize,
) -> (SearchRequest, Vec<Problem>) {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default();
    let mut req = SearchRequest {
        page: 1,
        per_page,
        sort,
        ..Default::default()
    };
    let mut problems = Vec::new();
    let mut problem = |parameter: &str, message: String| {
        problems.push(Problem {
            parameter: parameter.into(),
            message,
        })
    };
    let mut q = String::new();
    for (key, value) in pairs {
        if let Some(facet) = Facet::from_param(&key) {
            if value.is_empty() {
                continue;
            }
            if labels.label(facet, &value).is_some() {
                req.filters.entry(facet).or_default().insert(value);
            } else {
                let valid: Vec<String> = labels.0[&facet].iter().map(|(v, _)| v.clone()).collect();
                problem(
                    facet.param(),
                    format!(
                        "\"{}\" is not a valid {} value; valid values are {}",
                        truncate(&value),
                        facet.label().to_lowercase(),
                        valid.join(", ")
                    ),
                );
            }
            continue;
        }
        match key.as_str() {
            "q" => q = value,
            // The school `sort=like-mine` compares with; `resolve_like_mine` checks it.
            "school" if !value.trim().is_empty() => {
                req.like_mine = Some(crate::search::LikeMineOrder {
                    school: value.trim().to_string(),
                    ..Default::default()
                })
            }
            "sort" if !value.is_empty() => match Sort::from_param(&value) {
                Some(s) => req.sort = s,
                None => problem(
                    "sort",
                    format!(
                        "\"{}\" is not a sort order; use relevance, newest, adopted or like-mine",
                        truncate(&value)
                    ),
                ),
            },
            "page" if !value.is_empty() => match value.parse::<usize>() {
                Ok(p) if (1..=10_000).contains(&p) => req.page = p,
                _ => problem(
                    "page",
                    format!(
                        "\"{}\" is not a page number from 1 to 10000",
                        truncate(&value)
                    ),
                ),
            },
            "per_page" if !value.is_empty() => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => req.per_page = n,
                _ => problem(
                    "per_page",
                    format!(
                        "\"{}\" is not between 1 and {MAX_PER_PAGE}",
                        truncate(&value)
                    ),
                ),
            },
            _ => {}
        }
    }
    req.query = UserQuery::parse(&q);
    (req, problems)
}

/// Checks `school` and, for `sort=like-mine`, reads its order. A problem comes with the
/// API's status for it: 404 for a school that does not exist (as for a district), 422 for
/// `sort=like-mine` without a school (a rule the document's schema cannot say). The request
/// is left usable either way: without the order, sorted by relevance.
pub(super) async fn resolve_like_mine(
    state: &AppState,
    req: &mut SearchRequest,
) -> AppResult<Option<(StatusCode, Problem)>> {
    let problem = |parameter: &str, message: String| Problem {
        parameter: parameter.into(),
        message,
    };
    let Some(asked) = req.like_mine.take() else {
        if req.sort == Sort::LikeMine {
            req.sort = Sort::Relevance;
            return Ok(Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                problem(
                    "school",
                    "sort=like-mine needs school=<slug>, the school to compare with".into(),
                ),
            )));
        }
        return Ok(None);
    };
    let Some(ranking) = super::like_mine::LikeMine::of(state, &asked.school).await? else {
        if req.sort == Sort::LikeMine {
            req.sort = Sort::Relevance;
        }
        return Ok(Some((
            StatusCode::NOT_FOUND,
            problem(
                "school",
                format!(
                    "\"{}\" is not a school of the network",
                    truncate(&asked.school)
                ),
            ),
        )));
    };
    // The order only matters to `like-mine`; another order is not kept apart by a school.
    if req.sort == Sort::LikeMine {
        req.like_mine = Some(ranking.order());
    }
    Ok(None)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// A search run: the request, the results with their database rows, and any notices.
struct Outcome {
    req: SearchRequest,
    results: std::sync::Arc<SearchResults>,
    rows: HashMap<String, HitRow>,
    last_page: usize,
}

/// Runs a search; `log` records it for the network (once per search a person made).
async fn run(state: &AppState, req: SearchRequest, log: bool) -> AppResult<Outcome> {
    let started = Instant::now();
    // A search answered from the result cache needs no blocking thread.
    let results = match state.search.cached(&req) {
        Some(results) => results,
        None => {
            let job = req.clone();
            super::on_index(state, move |search| search.search(&job)).await?
        }
    };
    let slugs: Vec<String> = results.hits.iter().map(|h| h.slug.clone()).collect();
    let rows = HitRowCache::rows(state, &slugs).await?;
    let filters: BTreeMap<&str, &BTreeSet<String>> =
        req.filters.iter().map(|(f, v)| (f.param(), v)).collect();
    // No identity: the normalised query, the filters, the count and the time.
    if log {
        let _ = state.search_log.try_send(SearchLogEntry {
            query: req.query.normalized.to_lowercase(),
            filters: serde_json::to_string(&filters).unwrap_or_default(),
            results: results.total,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
    let last_page = (results.total as usize).div_ceil(req.per_page).max(1);
    Ok(Outcome {
        req,
        results,
        rows,
        last_page,
    })
}

/// One result of a search.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    #[serde(flatten)]
    pub practice: PracticeItem,
    /// Where the words matched, as HTML: escaped text with `<mark>` around them.
    pub snippet: String,
    /// The relevance score (absent when sorted by date or adoptions).
    pub score: Option<f32>,
}

/// A value of a facet with how many results have it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: u64,
}

/// A page of search results, as the search page shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// The query as it was understood.
    pub query: String,
    pub total: u64,
    pub page: usize,
    pub per_page: usize,
    pub hits: Vec<SearchHit>,
    /// For each facet (by its parameter name), its values with their counts.
    pub facets: BTreeMap<String, Vec<FacetValue>>,
    /// The query with misspelled words corrected, when some were.
    pub suggestion: Option<String>,
    /// What was left out of the query, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// The search page's parameters besides the filters.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchPaging {
    /// The order of the results (relevance by default).
    #[param(inline)]
    sort: Option<SortParam>,
    #[param(minimum = 1, maximum = 10000, default = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    per_page: Option<u32>,
    /// The school (its slug) that `sort=like-mine` compares with: practices that worked in
    /// the schools most like it come first (see the README, "Schools like mine").
    school: Option<String>,
}

/// The orders of `sort` (`Sort::param`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "lowercase")]
enum SortParam {
    Relevance,
    Newest,
    Adopted,
    #[serde(rename = "like-mine")]
    LikeMine,
}

/// Searches the public catalog, ranked as the search page ranks it, with facet counts.
#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "practices",
    params(super::api::Filters, SearchPaging),
    responses(
        (status = 200, description = "A page of results", body = SearchResponse),
        (status = 400, description = "A parameter could not be used", body = ApiError),
        (status = 404, description = "A filter names a challenge area or district that does not exist, `school` names no school, or the page is past the last", body = ApiError),
        (status = 422, description = "`sort=like-mine` without `school`", body = ApiError),
        (status = 503, description = "The search index is being rebuilt; try again later", body = ApiError),
    )
)]
pub(super) async fn search_api(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    if !super::index_ready(&state) {
        return Ok(rebuilding());
    }
    // The page leaves an empty number out; the API, which documents them as numbers, says so.
    for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        if (k == "page" || k == "per_page") && v.is_empty() {
            return Ok(ApiError::bad_parameter(&k, format!("{k} must be a number")));
        }
    }
    let labels = Labels::load(&state).await?;
    let (mut req, problems) = parse(raw.as_deref(), &labels);
    if let Some(p) = problems.first() {
        return Ok(ApiError::from_problem(p));
    }
    if let Some((status, p)) = resolve_like_mine(&state, &mut req).await? {
        return Ok(ApiError::respond(status, Some(&p.parameter), p.message));
    }
    let o = run(&state, req, true).await?;
    if o.req.page > o.last_page {
        return Ok(ApiError::respond(
            StatusCode::NOT_FOUND,
            Some("page"),
            format!(
                "page {} is past the last page ({})",
                o.req.page, o.last_page
            ),
        ));
    }
    let base = state.settings.public_url();
    let hits = o
        .results
        .hits
        .iter()
        .filter_map(|h| {
            Some(SearchHit {
                practice: PracticeItem::new(&base, o.rows.get(&h.slug)?),
                snippet: h.snippet.clone(),
                score: h.score,
            })
        })
        .collect();
    let facets = o
        .results
        .facets
        .iter()
        .map(|(facet, values)| {
            let values = values
                .iter()
                .map(|(v, n)| FacetValue {
                    value: v.clone(),
                    label: labels.label(*facet, v).unwrap_or(v).to_string(),
                    count: *n,
                })
                .collect();
            (facet.param().to_string(), values)
        })
        .collect();
    let mut notices = Vec::new();
    if o.req.query.truncated {
        notices.push(format!(
            "the query was cut to its first {MAX_QUERY_CHARS} characters"
        ));
    }
    let ignored = o.req.query.ignored();
    if !ignored.is_empty() {
        notices.push(format!(
            "left out, as words in nearly every practice: {}",
            ignored.join(", ")
        ));
    }
    Ok(Json(SearchResponse {
        query: o.req.query.normalized.clone(),
        total: o.results.total,
        page: o.req.page,
        per_page: o.req.per_page,
        hits,
        facets,
        suggestion: o.results.suggestion.clone(),
        notice: (!notices.is_empty()).then(|| notices.join("; ")),
    })
    .into_response())
}

const REBUILDING: &str = "The search index is being rebuilt from the database, so searches find \
     nothing yet. Practices can still be read; try your search again in a few minutes.";

/// The API's answer while the index is rebuilt from nothing: no results rather than wrong
/// ones, and when to ask again (as `/readyz` says, not ready).
pub(super) fn rebuilding() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::RETRY_AFTER, "30")],
        Json(ApiError {
            error:
                "the search index is being rebuilt from the database; try again in a few minutes"
                    .into(),
            parameter: None,
            problems: None,
        }),
    )
        .into_response()
}

/// One checkbox of the facet panel.
struct FacetOption {
    value: String,
    label: String,
    count: u64,
    checked: bool,
}

struct FacetGroup {
    param: &'static str,
    label: &'static str,
    options: Vec<FacetOption>,
}

struct HitView {
    slug: String,
    title: String,
    summary: String,
    snippet: String,
    stage: StageBadge,
    grades: String,
    team_slug: String,
    team: String,
    school: String,
    district: String,
}

/// A link to another page of the same search.
struct PageLink {
    number: usize,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    notices: Vec<String>,
    total: u64,
    hits: Vec<HitView>,
    groups: Vec<FacetGroup>,
    sorts: Vec<(&'static str, &'static str, bool)>,
    /// The school of `sort=like-mine`, kept by the form.
    like_school: Option<String>,
    per_page: usize,
    pages: Vec<PageLink>,
    prev: Option<String>,
    next: Option<String>,
    suggestion: Option<(String, String)>,
    without_filters: Option<(u64, String)>,
    areas: Vec<(String, String)>,
    first: usize,
    last: usize,
    feed: FeedLink,
}

async fn search_page(
    viewer: Viewer,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let labels = Labels::load(&state).await?;
    let (mut req, mut problems) = parse(raw.as_deref(), &labels);
    problems.extend(resolve_like_mine(&state, &mut req).await?.map(|(_, p)| p));
    let mut notices: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {} — ignored.", p.parameter, p.message))
        .collect();
    if req.query.truncated {
        notices.push(format!(
            "Your search was long, so only its first {MAX_QUERY_CHARS} characters were used."
        ));
    }
    let ignored = req.query.ignored();
    if !ignored.is_empty() {
        notices.push(format!(
            "Left out of your search: {}. Words this common are in nearly every practice; \
             add a word that says what you are looking for.",
            ignored.join(", ")
        ));
    }
    // A search of an index still being rebuilt from nothing finds nothing: say so, and keep
    // it out of the log, where it would count as a search the catalog cannot answer.
    let ready = super::index_ready(&state);
    if !ready {
        notices.push(REBUILDING.to_string());
    }
    let mut o = run(&state, req, ready).await?;
    if o.req.page > o.last_page {
        notices.push(format!(
            "Page {} is past the end of these results; showing the last page ({}).",
            o.req.page, o.last_page
        ));
        o.req.page = o.last_page;
        o = run(&state, o.req, false).await?;
    }
    let req = &o.req;
    let url = |page: usize, without_filters: bool, q: &str| -> String {
        let mut pairs: Vec<(&str, String)> = vec![("q", q.to_string())];
        if !without_filters {
            for (facet, values) in &req.filters {
                for v in values {
                    pairs.push((facet.param(), v.clone()));
                }
            }
        }
        if req.sort != Sort::Relevance {
            pairs.push(("sort", req.sort.param().to_string()));
        }
        if let Some(l) = &req.like_mine {
            pairs.push(("school", l.school.clone()));
        }
        if req.per_page != DEFAULT_PER_PAGE {
            pairs.push(("per_page", req.per_page.to_string()));
        }
        if page > 1 {
            pairs.push(("page", page.to_string()));
        }
        format!(
            "/search?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let q = req.query.normalized.clone();
    let groups = Facet::ALL
        .into_iter()
        .map(|facet| {
            let counts: HashMap<&str, u64> = o
                .results
                .facets
                .get(&facet)
                .map(|v| v.iter().map(|(k, n)| (k.as_str(), *n)).collect())
                .unwrap_or_default();
            let selected = req.filters.get(&facet);
            let options = labels.0[&facet]
                .iter()
                .filter_map(|(value, label)| {
                    let count = counts.get(value.as_str()).copied().unwrap_or(0);
                    let checked = selected.is_some_and(|s| s.contains(value));
                    (count > 0 || checked).then(|| FacetOption {
                        value: value.clone(),
                        label: label.clone(),
                        count,
                        checked,
                    })
                })
                .collect();
            FacetGroup {
                param: facet.param(),
                label: facet.label(),
                options,
            }
        })
        .filter(|g| !g.options.is_empty())
        .collect();
    let hits = o
        .results
        .hits
        .iter()
        .filter_map(|h| {
            let r = o.rows.get(&h.slug)?;
            Some(HitView {
                slug: r.slug.clone(),
                title: r.title.clone(),
                summary: r.summary.clone(),
                snippet: h.snippet.clone(),
                stage: views::stage(&r.stage),
                grades: views::grade_labels(&r.grade_bands),
                team_slug: r.team_slug.clone(),
                team: r.team.clone(),
                school: r.school.clone(),
                district: r.district.clone(),
            })
        })
        .collect();
    let window = req.page.saturating_sub(3).max(1)..=(req.page + 3).min(o.last_page);
    let pages = if o.last_page > 1 {
        window
            .map(|n| PageLink {
                number: n,
                href: url(n, false, &q),
                current: n == req.page,
            })
            .collect()
    } else {
        Vec::new()
    };
    let first = (req.page - 1) * req.per_page + 1;
    let feed = FeedLink::search(&state, req, &labels);
    // A search is worth a link preview (someone pastes it to a colleague), never a place in
    // a search engine's index; the catalog itself (`/search` with nothing asked) is.
    let network = &state.settings.network_name;
    let meta = if raw.as_deref().unwrap_or_default().is_empty() {
        super::seo::PageMeta::page(
            &state,
            "Search",
            "/search",
            &format!(
                "Browse and search the vetted practices of {network} by challenge area, \
                 grade band, subject and strength of evidence."
            ),
        )
    } else if q.is_empty() {
        super::seo::PageMeta::page(
            &state,
            "Search",
            "/search",
            &format!(
                "Search the vetted practices of {network} by challenge area, grade band, \
                 subject and strength of evidence."
            ),
        )
        .not_indexed()
    } else {
        super::seo::PageMeta::page(
            &state,
            &format!("{q} — search"),
            &url(req.page, false, &q),
            &format!(
                "{} vetted practices of {network} for “{q}”.",
                o.results.total
            ),
        )
        .not_indexed()
    };
    page(SearchPage {
        chrome: Chrome::new(&state, &viewer).public(meta),
        notices,
        total: o.results.total,
        groups,
        sorts: Sort::ALL
            .iter()
            .chain(req.like_mine.is_some().then_some(&Sort::LikeMine))
            .map(|s| (s.param(), s.label(), *s == req.sort))
            .collect(),
        like_school: req.like_mine.as_ref().map(|l| l.school.clone()),
        per_page: req.per_page,
        prev: (req.page > 1).then(|| url(req.page - 1, false, &q)),
        next: (req.page < o.last_page).then(|| url(req.page + 1, false, &q)),
        pages,
        suggestion: o.results.suggestion.clone().map(|s| {
            let href = url(1, false, &s);
            (s, href)
        }),
        without_filters: o.results.without_filters.map(|n| (n, url(1, true, &q))),
        areas: if o.results.total == 0 {
            labels.0[&Facet::Challenge].clone()
        } else {
            Vec::new()
        },
        first,
        last: (first + o.results.hits.len()).saturating_sub(1),
        hits,
        q,
        feed,
    })
}

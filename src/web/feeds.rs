//! Atom feeds (RFC 4287) of newly vetted practices: the network's, a challenge area's, a
//! team's, a school's, a district's, and any search's (`/search.atom` reads `/search`'s
//! parameters). Only public content: each practice's vetted revision, never a revision waiting
//! for review, never an archived practice.
//!
//! Feed readers poll. Every feed carries validators: an `ETag` that is a hash of the feed's
//! bytes (so it moves exactly when what the feed shows changes, and is the same on every hub
//! instance) and a `Last-Modified` (the newest vetting shown). A conditional request whose copy
//! is current gets a 304. The rendered feed is kept, with its validators, until the catalog
//! changes, as the anonymous pages are: such a poll reads nothing from the database.

use std::collections::HashMap;
use std::future::Future;
use std::time::SystemTime;

use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::search::{Labels, parse_with};
use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::search::{SearchRequest, Sort};
use crate::store::feeds::FeedEntry;
use crate::store::pages::Cards;

/// How many practices a feed holds (the newest vetted), unless a search feed asks for another
/// `per_page` (up to `/search`'s maximum).
pub const ENTRIES: usize = 50;

/// Bytes of rendered feeds kept at most (a feed of 50 entries is about 40 KB).
pub const CACHED_BYTES: usize = 16 * 1024 * 1024;

const CONTENT_TYPE: &str = "application/atom+xml; charset=utf-8";

/// Readers may keep a copy five minutes without asking; the feeds are public, so shared
/// caches may too.
const CACHE_CONTROL: &str = "public, max-age=300";

pub fn router() -> Router<AppState> {
    // A capture cannot take a suffix (`/challenges/{slug}.atom`): each feed is a path below
    // its page.
    Router::new()
        .route("/feed.atom", get(network))
        .route("/challenges/{slug}/feed.atom", get(area))
        .route("/teams/{slug}/feed.atom", get(team))
        .route("/schools/{slug}/feed.atom", get(school))
        .route("/districts/{slug}/feed.atom", get(district))
        .route("/search.atom", get(search))
}

/// A feed as a page links to it (`<link rel="alternate">` and a visible link): the feed's
/// own title, so that a reader subscribing from the page sees the name the feed gives itself.
pub struct FeedLink {
    /// The feed's path (and query), relative to the hub.
    pub href: String,
    pub title: String,
    /// The same practices by e-mail: a subscription's target, value and label.
    pub subscribe: Option<(&'static str, String, String)>,
}

impl FeedLink {
    pub fn network(state: &AppState) -> FeedLink {
        FeedLink::new(state, "/feed.atom".into(), "Newly vetted practices")
    }

    pub fn area(state: &AppState, slug: &str, name: &str) -> FeedLink {
        FeedLink::new(state, format!("/challenges/{slug}/feed.atom"), name)
            .by_mail("area", slug, name)
    }

    pub fn team(state: &AppState, slug: &str, name: &str) -> FeedLink {
        FeedLink::new(state, format!("/teams/{slug}/feed.atom"), name).by_mail("team", slug, name)
    }

    pub fn school(state: &AppState, slug: &str, name: &str) -> FeedLink {
        FeedLink::new(state, format!("/schools/{slug}/feed.atom"), name)
            .by_mail("school", slug, name)
    }

    pub fn district(state: &AppState, slug: &str, name: &str) -> FeedLink {
        FeedLink::new(state, format!("/districts/{slug}/feed.atom"), name)
    }

    /// The feed of the search a results page shows: its words and filters, in its order when
    /// that is newest or most adopted (a feed by relevance is had by asking for it, with
    /// `sort=relevance`). Not its page: a feed starts at the newest.
    pub(super) fn search(state: &AppState, shown: &SearchRequest, labels: &Labels) -> FeedLink {
        let mut req = shown.clone();
        if req.sort == Sort::Relevance {
            req.sort = Sort::Newest;
        }
        let label = format!("Search: {}", describe(&req, labels));
        FeedLink::new(
            state,
            with_query("/search.atom", &search_query(&req, Sort::Newest, false)),
            &label,
        )
        .by_mail("search", &search_query(&req, req.sort, false), &label)
    }

    fn new(state: &AppState, href: String, what: &str) -> FeedLink {
        FeedLink {
            href,
            title: format!("{} — {what}", state.settings.network_name),
            subscribe: None,
        }
    }

    fn by_mail(mut self, target: &'static str, value: &str, label: &str) -> FeedLink {
        self.subscribe = Some((target, value.to_string(), label.to_string()));
        self
    }
}

/// What one feed shows, before it is written out.
struct Described {
    link: FeedLink,
    subtitle: String,
    /// The page the feed is the feed of (path and query).
    page: String,
    entries: Vec<FeedEntry>,
    /// Whether the entries keep the order given (a search's) rather than newest vetted first.
    ordered: bool,
}

async fn network(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let link = FeedLink::network(&state);
    serve(&state, &headers, link.href.clone(), async {
        Ok(Described {
            subtitle: "Practices newly vetted by the network's coaches, newest first.".into(),
            page: "/".into(),
            entries: state.db.feed_entries(Cards::All, ENTRIES as i64).await?,
            ordered: false,
            link,
        })
    })
    .await
}

async fn area(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = format!("/challenges/{slug}/feed.atom");
    serve(&state, &headers, key, async {
        let (_, name) = state
            .db
            .area_names()
            .await?
            .into_iter()
            .find(|(s, _)| *s == slug)
            .ok_or(AppError::NotFound)?;
        Ok(Described {
            link: FeedLink::area(&state, &slug, &name),
            subtitle: format!("Newly vetted practices in the challenge area {name}."),
            page: format!("/challenges/{slug}"),
            entries: state
                .db
                .feed_entries(Cards::Area(&slug), ENTRIES as i64)
                .await?,
            ordered: false,
        })
    })
    .await
}

async fn team(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = format!("/teams/{slug}/feed.atom");
    serve(&state, &headers, key, async {
        let team = state.db.team(&slug).await?.ok_or(AppError::NotFound)?;
        Ok(Described {
            link: FeedLink::team(&state, &slug, &team.name),
            subtitle: format!(
                "Newly vetted practices shared by {} ({}).",
                team.name, team.school_name
            ),
            page: format!("/teams/{slug}"),
            entries: state
                .db
                .feed_entries(Cards::Team(&slug), ENTRIES as i64)
                .await?,
            ordered: false,
        })
    })
    .await
}

async fn school(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = format!("/schools/{slug}/feed.atom");
    serve(&state, &headers, key, async {
        let school = state.db.school(&slug).await?.ok_or(AppError::NotFound)?;
        Ok(Described {
            link: FeedLink::school(&state, &slug, &school.name),
            subtitle: format!(
                "Newly vetted practices shared by the teams of {}.",
                school.name
            ),
            page: format!("/schools/{slug}"),
            entries: state
                .db
                .feed_entries(Cards::School(&slug), ENTRIES as i64)
                .await?,
            ordered: false,
        })
    })
    .await
}

async fn district(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = format!("/districts/{slug}/feed.atom");
    serve(&state, &headers, key, async {
        let district = state.db.district(&slug).await?.ok_or(AppError::NotFound)?;
        Ok(Described {
            link: FeedLink::district(&state, &slug, &district.name),
            subtitle: format!(
                "Newly vetted practices shared by the schools of {}.",
                district.name
            ),
            page: format!("/districts/{slug}"),
            entries: state
                .db
                .feed_entries(Cards::District(&slug), ENTRIES as i64)
                .await?,
            ordered: false,
        })
    })
    .await
}

/// `/search.atom`: `/search`'s parameters, newest vetted first unless `sort` says otherwise
/// (a feed is read for what is new: by relevance, a new practice would rarely reach its top),
/// `ENTRIES` to a page unless `per_page` says otherwise. A parameter `/search` would ignore
/// with a notice is a 400 here, as in the API: a feed has nowhere to show a notice. Polls
/// are not written to the search log, which is for the searches people make.
async fn search(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> AppResult<Response> {
    if !super::index_ready(&state) {
        return Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::RETRY_AFTER, "30"),
            ],
            "The search index is being rebuilt from the database; this feed will be back in a few minutes.\n",
        )
            .into_response());
    }
    let labels = Labels::load(&state).await?;
    let (mut req, mut problems) = parse_with(raw.as_deref(), &labels, Sort::Newest, ENTRIES);
    problems.extend(
        super::search::resolve_like_mine(&state, &mut req)
            .await?
            .map(|(_, p)| p),
    );
    if let Some(p) = problems.first() {
        return Err(AppError::BadRequest(format!(
            "{}: {}.",
            p.parameter, p.message
        )));
    }
    let key = with_query("/search.atom", raw.as_deref().unwrap_or(""));
    serve(&state, &headers, key, async {
        let results = match state.search.cached(&req) {
            Some(results) => results,
            None => {
                let job = req.clone();
                super::on_index(&state, move |search| search.search(&job)).await?
            }
        };
        let slugs: Vec<String> = results.hits.iter().map(|h| h.slug.clone()).collect();
        Ok(Described {
            link: FeedLink::new(
                &state,
                with_query("/search.atom", &search_query(&req, Sort::Newest, true)),
                &format!("Search: {}", describe(&req, &labels)),
            ),
            subtitle: match req.sort {
                Sort::Newest => "Practices that match this search, newest vetted first.".into(),
                other => format!(
                    "Practices that match this search, in the order: {}.",
                    other.label().to_lowercase()
                ),
            },
            page: with_query("/search", &search_query(&req, Sort::Relevance, false)),
            entries: state.db.feed_entries_in_order(&slugs).await?,
            ordered: true,
        })
    })
    .await
}

/// A search in words, for a feed's title: `“exit slips”, Grade band: 6–8 or 9–12`.
pub(super) fn describe(req: &SearchRequest, labels: &Labels) -> String {
    let mut parts = Vec::new();
    if !req.query.normalized.is_empty() {
        parts.push(format!("“{}”", req.query.normalized));
    }
    for (facet, values) in &req.filters {
        let names: Vec<&str> = values
            .iter()
            .map(|v| labels.label(*facet, v).unwrap_or(v))
            .collect();
        parts.push(format!("{}: {}", facet.label(), names.join(" or ")));
    }
    if parts.is_empty() {
        "all practices".into()
    } else {
        parts.join(", ")
    }
}

/// `/search`'s parameters for `req`, leaving out the order when it is `default_sort`, and
/// leaving out the page and its size unless `paging` (then only when they are not a feed's).
pub(super) fn search_query(req: &SearchRequest, default_sort: Sort, paging: bool) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !req.query.normalized.is_empty() {
        pairs.push(("q", req.query.normalized.clone()));
    }
    for (facet, values) in &req.filters {
        for v in values {
            pairs.push((facet.param(), v.clone()));
        }
    }
    if req.sort != default_sort {
        pairs.push(("sort", req.sort.param().to_string()));
    }
    if let Some(l) = &req.like_mine {
        pairs.push(("school", l.school.clone()));
    }
    if paging && req.per_page != ENTRIES {
        pairs.push(("per_page", req.per_page.to_string()));
    }
    if paging && req.page > 1 {
        pairs.push(("page", req.page.to_string()));
    }
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// Answers with the feed kept for `key` at the index's current generation, or with the one
/// `describe` makes (then kept); a conditional request whose copy is current gets a 304.
async fn serve(
    state: &AppState,
    request: &HeaderMap,
    key: String,
    describe: impl Future<Output = AppResult<Described>>,
) -> AppResult<Response> {
    // Read before the reads that make the feed: a change they miss moves the generation on,
    // and the feed kept here with it is not served again.
    let generation = state.search.generation();
    let (headers, body) = match state.feeds.get(generation, &key) {
        Some(kept) => kept,
        None => {
            let described = describe.await?;
            let areas: HashMap<String, String> = state.db.area_names().await?.into_iter().collect();
            let (headers, body) = render(state, described, &areas)?;
            state
                .feeds
                .put(generation, key, headers.clone(), body.clone());
            (headers, body)
        }
    };
    if is_current(request, &headers) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        // A 304 carries the validators and caching headers the 200 would have.
        for name in [header::ETAG, header::LAST_MODIFIED, header::CACHE_CONTROL] {
            if let Some(value) = headers.get(&name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        return Ok(response);
    }
    let mut response = Body::from(body).into_response();
    *response.headers_mut() = headers;
    Ok(response)
}

/// Whether the client's copy is current (RFC 9110, 13.1.2 and 13.1.3). `If-None-Match` wins
/// when present: the `ETag` covers everything the feed shows, while `Last-Modified` only moves
/// with a newer vetting (a practice that leaves the feed, archived, changes the `ETag` alone).
pub(super) fn is_current(request: &HeaderMap, response: &HeaderMap) -> bool {
    let tags = request.get_all(header::IF_NONE_MATCH);
    if tags.iter().next().is_some() {
        let Some(etag) = response.get(header::ETAG).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        // The weak comparison, as If-None-Match uses.
        let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
        return tags
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim() == "*" || opaque(t) == opaque(etag));
    }
    let since = request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let modified = response
        .get(header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    matches!((since, modified), (Some(since), Some(modified)) if modified <= since)
}

#[derive(Template)]
#[template(path = "feed.xml")]
struct AtomFeed {
    id: String,
    title: String,
    subtitle: String,
    updated: String,
    self_url: String,
    page_url: String,
    /// The scheme of the entries' categories: the challenge areas.
    areas_url: String,
    entries: Vec<EntryView>,
}

struct EntryView {
    /// The practice's address: the same in every feed and through every revision.
    id: String,
    title: String,
    published: Option<String>,
    updated: String,
    author: String,
    author_url: String,
    /// Challenge areas: slug and name.
    categories: Vec<(String, String)>,
    summary: String,
}

/// Writes the feed out: the body and the headers it is served with.
fn render(
    state: &AppState,
    feed: Described,
    areas: &HashMap<String, String>,
) -> AppResult<(HeaderMap, Bytes)> {
    let base = state.settings.public_url();
    let mut entries: Vec<(OffsetDateTime, EntryView)> = feed
        .entries
        .into_iter()
        .map(|e| {
            let updated = instant(e.vetted_at.as_deref())
                .or_else(|| day(e.vetted_on.as_deref()))
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let categories = crate::store::parse_list(&e.areas)
                .into_iter()
                .map(|slug| {
                    let name = areas.get(&slug).map_or(slug.as_str(), String::as_str);
                    (xml_text(&slug), xml_text(name))
                })
                .collect();
            let view = EntryView {
                id: format!("{base}/practices/{}", e.slug),
                title: xml_text(&e.title),
                published: day(e.published_on.as_deref()).map(rfc3339),
                updated: rfc3339(updated),
                author: xml_text(&e.team_name),
                author_url: format!("{base}/teams/{}", e.team_slug),
                categories,
                summary: xml_text(&e.summary),
            };
            (updated, view)
        })
        .collect();
    if !feed.ordered {
        // Stable: a day's practices, listed by slug, go by the time of their vetting.
        entries.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    }
    let newest = entries.iter().map(|(at, _)| *at).max();
    let self_url = format!("{base}{}", feed.link.href);
    let xml = AtomFeed {
        id: self_url.clone(),
        title: xml_text(&feed.link.title),
        subtitle: xml_text(&feed.subtitle),
        // Atom requires `updated`; a feed with no entry has not been updated since the epoch.
        updated: rfc3339(newest.unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        self_url,
        page_url: format!("{base}{}", feed.page),
        areas_url: format!("{base}/challenges/"),
        entries: entries.into_iter().map(|(_, view)| view).collect(),
    }
    .render()?;
    let body = Bytes::from(xml);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(header::ETAG, etag(&body));
    if let Some(newest) = newest {
        let date = httpdate::fmt_http_date(SystemTime::from(newest));
        if let Ok(value) = HeaderValue::from_str(&date) {
            headers.insert(header::LAST_MODIFIED, value);
        }
    }
    Ok((headers, body))
}

/// A strong `ETag`: the first 128 bits of the body's SHA-256, in hex.
pub(super) fn etag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value")
}

/// A stored instant (`2026-03-02T14:05:09Z`).
fn instant(at: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(at?, &Rfc3339).ok()
}

/// The start of a stored day (`2026-03-02`), UTC.
fn day(on: Option<&str>) -> Option<OffsetDateTime> {
    instant(Some(&format!("{}T00:00:00Z", on?)))
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Text as XML 1.0 may carry it: characters it forbids even escaped (most C0 controls,
/// U+FFFE, U+FFFF) are left out, where a strict parser would reject the whole feed. The
/// template escapes the rest.
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && *c != '\u{FFFE}' && *c != '\u{FFFF}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn conditional_requests() {
        let served = headers(&[
            (header::ETAG, "\"abc\""),
            (header::LAST_MODIFIED, "Tue, 02 Mar 2027 14:05:09 GMT"),
        ]);
        let current = |pairs: &[(header::HeaderName, &str)]| is_current(&headers(pairs), &served);
        assert!(!current(&[]));
        assert!(current(&[(header::IF_NONE_MATCH, "\"abc\"")]));
        assert!(current(&[(header::IF_NONE_MATCH, "\"x\", W/\"abc\"")]));
        assert!(current(&[(header::IF_NONE_MATCH, "*")]));
        assert!(!current(&[(header::IF_NONE_MATCH, "\"abd\"")]));
        assert!(current(&[(
            header::IF_MODIFIED_SINCE,
            "Tue, 02 Mar 2027 14:05:09 GMT"
        )]));
        assert!(!current(&[(
            header::IF_MODIFIED_SINCE,
            "Tue, 02 Mar 2027 14:05:08 GMT"
        )]));
        // The obsolete date formats are still HTTP-dates.
        assert!(current(&[(
            header::IF_MODIFIED_SINCE,
            "Tuesday, 02-Mar-27 14:05:09 GMT"
        )]));
        assert!(!current(&[(header::IF_MODIFIED_SINCE, "yesterday")]));
        // If-None-Match decides alone when it is there.
        assert!(!current(&[
            (header::IF_NONE_MATCH, "\"old\""),
            (header::IF_MODIFIED_SINCE, "Tue, 02 Mar 2027 14:05:09 GMT"),
        ]));
    }

    #[test]
    fn text_keeps_what_xml_allows() {
        assert_eq!(xml_text("a\u{1}b\tc\u{FFFF}<d>"), "ab\tc<d>");
    }
}

//! The reading pages of the catalog: home, a practice, the challenge areas.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use super::feeds::FeedLink;
use super::listing::Listing;
use super::seo::{self, PageMeta};
use super::views::{self, CardView, MeasureView, StageBadge};
use super::{Chrome, chart, forest, page};
use crate::AppState;
use crate::auth::Viewer;
use crate::domain::{AdoptionStatus, Ingredient, Measure, Outcome, Status, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::search::Facet;
use crate::store::AdoptionView;
use crate::store::pages::{Cards, HitRow, PracticePage};
use crate::store::parse_list;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/practices/{slug}", get(practice))
        .route("/challenges", get(challenges))
        .route("/challenges/{slug}", get(challenge))
        .route("/evidence", get(evidence))
}

#[derive(Template)]
#[template(path = "evidence.html")]
struct EvidenceGuide {
    chrome: Chrome,
    tiers: [&'static str; 4],
    min_sample: i64,
    min_sites: usize,
}

/// What the stages and the ESSA levels mean, and how the hub reads one from the other.
async fn evidence(viewer: Viewer, State(state): State<AppState>) -> AppResult<Response> {
    use crate::domain::essa::{MIN_SAMPLE, MIN_SITES, Tier};
    let meta = PageMeta::page(
        &state,
        "How strong is the evidence?",
        "/evidence",
        "How the network judges a practice's evidence: its stages (promising, confirmed, \
         replicated), the four ESSA evidence levels, what the hub looks for to support each, \
         and how the two relate.",
    );
    page(EvidenceGuide {
        chrome: Chrome::new(&state, &viewer).public(meta),
        tiers: Tier::ALL.map(Tier::label),
        min_sample: MIN_SAMPLE,
        min_sites: MIN_SITES,
    })
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    chrome: Chrome,
    areas: Vec<AreaCount>,
    recent: Vec<CardView>,
    total: u64,
    feed: FeedLink,
}

/// A challenge area with its count of public practices.
pub(super) struct AreaCount {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub count: u64,
}

/// Every challenge area with its count: the counts are the search index's whole-catalog facet
/// counts, kept per index version (the database would read every practice to count them), or
/// the database's while the index is not `ready` (see `index_ready`).
pub(super) async fn area_counts(state: &AppState, ready: bool) -> AppResult<Vec<AreaCount>> {
    let areas = state.db.areas().await?;
    let counts: HashMap<String, u64> = if ready {
        super::on_index(state, |search| search.catalog_counts(Facet::Challenge))
            .await?
            .into_iter()
            .collect()
    } else {
        let mut counts = HashMap::new();
        for a in &areas {
            let n = state.db.card_count(Cards::Area(&a.slug)).await? as u64;
            counts.insert(a.slug.clone(), n);
        }
        counts
    };
    Ok(areas
        .into_iter()
        .map(|a| AreaCount {
            count: counts.get(&a.slug).copied().unwrap_or(0),
            slug: a.slug,
            name: a.name,
            description: a.description,
        })
        .collect())
}

async fn home(viewer: Viewer, State(state): State<AppState>) -> AppResult<Response> {
    let ready = super::index_ready(&state);
    let areas = area_counts(&state, ready).await?;
    let recent = views::cards(state.db.cards(Cards::All, 6, 0).await?);
    let total = if ready {
        state.search.num_docs()
    } else {
        state.db.card_count(Cards::All).await? as u64
    };
    let network = &state.settings.network_name;
    let meta = PageMeta::page(
        &state,
        network,
        "/",
        &format!(
            "{network}: practices that work in schools like yours, found by school STEP teams, \
             vetted by network coaches and shared with their evidence. {total} vetted practices \
             across {} challenge areas.",
            areas.len()
        ),
    );
    page(Home {
        chrome: Chrome::new(&state, &viewer).public(meta),
        areas,
        recent,
        total,
        feed: FeedLink::network(&state),
    })
}

#[derive(Template)]
#[template(path = "practice.html")]
pub(super) struct PracticeTemplate {
    /// Set on an author's preview: the link back to the edit form.
    preview: Option<String>,
    ledger: Vec<LedgerRow>,
    /// "Across every school that tried it", beside the ledger.
    forest: Option<forest::Forest>,
    /// Where "Adopt this practice" leads, for someone who may adopt it (or sign in to).
    adopt_link: Option<String>,
    /// Why a signed-in team member sees no Adopt button.
    adopt_note: Option<String>,
    chrome: Chrome,
    p: crate::store::pages::PracticeRow,
    stage: StageBadge,
    archived: bool,
    /// Whether the viewer, a coach not on the owning team, may restore this archived practice.
    restorable: bool,
    under_review: bool,
    areas: Vec<(String, String)>,
    grades: String,
    subjects: String,
    tags: Vec<String>,
    level: &'static str,
    locale: &'static str,
    measures: Vec<MeasureView>,
    essa: views::EssaView,
    /// What it takes, as the team said it: (what, how much).
    cost: Vec<(&'static str, String)>,
    chart: String,
    resources: Vec<crate::domain::Resource>,
    license: String,
    published_on: String,
    vetted_on: String,
    related: Vec<HitRow>,
    /// "Questions to the team": signed-in people only (never an anonymous reader, whose
    /// page is cached for everyone).
    questions: Option<super::questions::QuestionsSection>,
}

/// A question or answer form that failed, to show again on the practice page.
pub(crate) enum Compose {
    None,
    Ask(super::questions::Draft),
    /// The answer form of one question.
    Answer(i64, super::questions::Draft),
}

async fn practice(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> AppResult<Response> {
    practice_response(&state, &viewer, &slug, Compose::None, StatusCode::OK).await
}

/// The practice page, with `compose` (a question or answer form that failed) filled in and
/// answered with `status`.
pub(crate) async fn practice_response(
    state: &AppState,
    viewer: &Viewer,
    slug: &str,
    compose: Compose,
    status: StatusCode,
) -> AppResult<Response> {
    let (state, slug) = (state.clone(), slug.to_string());
    let Some(found) = state.db.practice_page(&slug).await? else {
        return Err(AppError::NotFound);
    };
    let found = found.within(state.settings.min_cell());
    let related = related(&state, &slug).await;
    let adoptions = state
        .db
        .adoptions_of_practice(&slug)
        .await?
        .into_iter()
        .map(|a| a.within(state.settings.min_cell()))
        .collect::<Vec<_>>();
    let own = found.measures.clone();
    let mut template = practice_template(&state, viewer, found, related, None);
    let min_cell = state.settings.min_cell().get();
    let p = &template.p;
    let origin = forest::Origin {
        school_slug: &p.school_slug,
        school: &p.school_name,
        district: &p.district_name,
    };
    // Drawn from exactly the adoptions the ledger lists, and only where it lists any.
    template.forest =
        (!adoptions.is_empty()).then(|| forest::build(&origin, &own, &adoptions, min_cell));
    template.ledger = adoptions
        .iter()
        .map(|a| LedgerRow::new(a, min_cell))
        .collect();
    let own_team = |u: &crate::store::User| u.teams.iter().any(|t| t.slug == template.p.team_slug);
    template.restorable =
        template.archived && viewer.user().is_some_and(|u| u.is_coach() && !own_team(u));
    let origin = template.p.school_slug.clone();
    template.adopt_link = match viewer.user() {
        // An archived practice is not in the catalog, so it is not adopted either.
        _ if template.archived => None,
        None => Some(format!("/signin?next=/practices/{slug}/adopt")),
        Some(u) if !super::adopt::adopting_teams(u, &origin).is_empty() => {
            Some(format!("/practices/{slug}/adopt"))
        }
        Some(u) => {
            // Only teams of the originating school: say why there is no button — except to
            // the team that shared it, whose page stays the one its preview showed.
            template.adopt_note =
                (!u.teams.is_empty() && !own_team(u)).then(super::adopt::home_school_sentence);
            None
        }
    };
    if let Some(u) = viewer.user() {
        let open = !template.archived;
        template.questions =
            Some(super::questions::section(&state, u, &template.p, open, compose).await?);
    }
    // Public is the vetted revision of a practice still in the catalog, on a page that is
    // not a failed form's: that one is indexed and previewed.
    if !template.archived && status == StatusCode::OK {
        let facts = seo::PracticeFacts {
            areas: &template.areas,
            grades: &template.grades,
            license: &template.license,
            tags: &template.tags,
        };
        template.chrome.meta = Some(PageMeta::practice(&state, &template.p, &facts));
    }
    let mut response = page(template)?;
    *response.status_mut() = status;
    Ok(response)
}

/// One adopting school in the replication ledger.
pub(super) struct LedgerRow {
    school: String,
    level: &'static str,
    locale: &'static str,
    district: String,
    status: &'static str,
    /// Why a discontinued adoption stopped.
    reason: Option<String>,
    fidelity: String,
    adaptations: String,
    outcome: &'static str,
    /// The first student-outcome measure, "41% → 78% (n = 120)".
    figures: String,
}

impl LedgerRow {
    /// A measure with n below `min_cell` is never shown (none should have been stored).
    fn new(a: &AdoptionView, min_cell: i64) -> Self {
        let shown: Vec<Measure> = a
            .measures
            .iter()
            .filter(|m| m.n >= min_cell)
            .cloned()
            .collect();
        LedgerRow {
            school: a.school_name.clone(),
            level: views::level_label(&a.level),
            locale: views::locale_label(&a.locale),
            district: a.district_name.clone(),
            status: views::label::<AdoptionStatus>(&a.status),
            reason: forest::discontinued_reason(a),
            fidelity: a.fidelity(),
            adaptations: a.adaptations.clone().unwrap_or_default(),
            outcome: a
                .outcome
                .as_deref()
                .map_or("not yet reported", views::label::<Outcome>),
            figures: student_outcome(&shown).map_or("—".into(), |m| {
                format!(
                    "{} → {} (n = {})",
                    views::figure(m.baseline, m.unit),
                    views::figure(m.result, m.unit),
                    m.n
                )
            }),
        }
    }
}

fn student_outcome(measures: &[Measure]) -> Option<&Measure> {
    measures
        .iter()
        .find(|m| m.ingredient == Ingredient::StudentOutcome)
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
        restorable: false,
        under_review: preview.is_none() && matches!(status, Status::Submitted),
        areas: found.areas,
        grades: views::grade_labels(&p.grade_bands),
        subjects: views::subject_labels(&p.subjects).join(", "),
        tags: parse_list(&p.tags),
        level: views::level_label(&p.level),
        locale: views::locale_label(&p.locale),
        measures: found.measures.iter().map(MeasureView::from).collect(),
        essa: views::EssaView::new(&found.essa),
        cost: views::cost_rows(&p.cost()),
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
        ledger: Vec::new(),
        forest: None,
        adopt_link: None,
        adopt_note: None,
        questions: None,
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
    let areas = area_counts(&state, super::index_ready(&state)).await?;
    let meta = PageMeta::page(
        &state,
        "Challenge areas",
        "/challenges",
        &format!(
            "The {} challenge areas of {}, each with its vetted practices: {}.",
            areas.len(),
            state.settings.network_name,
            areas
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    page(Challenges {
        chrome: Chrome::new(&state, &viewer).public(meta),
        areas,
    })
}

#[derive(Template)]
#[template(path = "challenge.html")]
struct Challenge {
    chrome: Chrome,
    area: AreaCount,
    listing: Listing,
    feed: FeedLink,
}

async fn challenge(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    // Counted and paged by the index once it has applied the database, by the database before.
    let ready = super::index_ready(&state);
    let area = area_counts(&state, ready)
        .await?
        .into_iter()
        .find(|a| a.slug == slug)
        .ok_or(AppError::NotFound)?;
    let listing = Listing::load(
        &state,
        Cards::Area(&slug),
        area.count,
        ready,
        query.as_deref(),
        format!("/challenges/{slug}"),
    )
    .await?;
    let description = if area.description.trim().is_empty() {
        format!(
            "{} vetted practices for {}, with their evidence.",
            area.count, area.name
        )
    } else {
        format!(
            "{} {} vetted practices.",
            area.description.trim(),
            area.count
        )
    };
    let meta = PageMeta::page(&state, &area.name, &listing.canonical(), &description);
    page(Challenge {
        chrome: Chrome::new(&state, &viewer).public(meta),
        feed: FeedLink::area(&state, &area.slug, &area.name),
        area,
        listing,
    })
}

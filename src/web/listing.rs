//! Lists of practice cards (a challenge area, a team, a school, a district): newest vetted
//! first, a page at a time, so that a list of thousands stays a page a phone can load.

use crate::AppState;
use crate::error::{AppError, AppResult};
use crate::search::{Facet, SearchRequest, Sort};
use crate::store::pages::Cards;

use super::views::{self, CardView};

pub const PER_PAGE: u64 = 24;

pub struct Listing {
    pub cards: Vec<CardView>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
    /// Positions of the first and last card shown (1-based).
    pub first: u64,
    pub last: u64,
    /// The list's own path; pages are `?page=N` on it.
    pub path: String,
}

impl Listing {
    /// A list whose count and pages come from the database (a team's, a school's, a
    /// district's: a few thousand practices at most).
    pub async fn counted(
        state: &AppState,
        of: Cards<'_>,
        query: Option<&str>,
        path: String,
    ) -> AppResult<Listing> {
        let total = state.db.card_count(of).await? as u64;
        Listing::load(state, of, total, false, query, path).await
    }

    /// The page that the query string asks for (`?page=N`; the first without) of `total`
    /// practices; a challenge area's pages come from the search index when `from_index`.
    pub async fn load(
        state: &AppState,
        of: Cards<'_>,
        total: u64,
        from_index: bool,
        query: Option<&str>,
        path: String,
    ) -> AppResult<Listing> {
        let pages = total.div_ceil(PER_PAGE).max(1);
        let page = match page_param(query).as_deref() {
            None => 1,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=pages).contains(n))
                .ok_or_else(|| {
                    AppError::NotFoundMessage(format!(
                        "This list has no page \"{}\": it has {pages} page{}.",
                        p.chars().take(20).collect::<String>(),
                        if pages == 1 { "" } else { "s" }
                    ))
                })?,
        };
        let offset = (page - 1) * PER_PAGE;
        let cards = match of {
            // An area holds a large share of the catalog. The index finds its page N directly
            // (the area browsed by newest); the database's OFFSET reads the pages before it:
            // 2.8 s for page 200 of an area at 1,000,000 practices.
            Cards::Area(area) if from_index => {
                let request = SearchRequest {
                    filters: [(Facet::Challenge, [area.to_string()].into())].into(),
                    sort: Sort::Newest,
                    page: page as usize,
                    per_page: PER_PAGE as usize,
                    ..SearchRequest::default()
                };
                let results = super::on_index(state, move |s| s.search(&request)).await?;
                let slugs: Vec<String> = results.hits.iter().map(|h| h.slug.clone()).collect();
                state.db.cards_in_order(&slugs).await?
            }
            _ => state.db.cards(of, PER_PAGE as i64, offset as i64).await?,
        };
        let cards = views::cards(cards);
        Ok(Listing {
            first: offset + 1,
            last: offset + cards.len() as u64,
            cards,
            total,
            page,
            pages,
            path,
        })
    }
}

impl Listing {
    /// The address of the page shown: the list's own for the first page, `?page=N` for
    /// another (each page lists other practices, so each is its own canonical page).
    pub fn canonical(&self) -> String {
        if self.page > 1 {
            format!("{}?page={}", self.path, self.page)
        } else {
            self.path.clone()
        }
    }
}

/// The `page` parameter of a query string, if any.
fn page_param(query: Option<&str>) -> Option<String> {
    crate::auth::form_value(query?.as_bytes(), "page")
}

//! Runs a search: builds the tantivy query from what the teacher typed, collects the page of
//! hits, the count, the facet counts and the snippets in one pass, and suggests corrections.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tantivy::collector::{Count, FilterCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EnableScoring, MoreLikeThisQuery, Occur,
    PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Facet as TantivyFacet, Field, IndexRecordOption, Value};
use tantivy::{DocAddress, DocId, DocSet, Order, Searcher, TERMINATED, TantivyDocument, Term};

use super::Search;
use super::pairs::{has_content, pairs_of};
use super::query::{UserQuery, is_stop_word};
use super::schema::Fields;
use super::snippets::FieldSnippets;

/// The facets a teacher can filter by, with their URL parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Facet {
    Challenge,
    Grade,
    Subject,
    Stage,
    District,
    Level,
    Locale,
    Essa,
    Cost,
    Start,
}

impl Facet {
    pub const ALL: [Facet; 10] = [
        Facet::Challenge,
        Facet::Grade,
        Facet::Subject,
        Facet::Stage,
        Facet::District,
        Facet::Level,
        Facet::Locale,
        Facet::Essa,
        Facet::Cost,
        Facet::Start,
    ];

    pub fn param(self) -> &'static str {
        match self {
            Facet::Challenge => "challenge",
            Facet::Grade => "grade",
            Facet::Subject => "subject",
            Facet::Stage => "stage",
            Facet::District => "district",
            Facet::Level => "level",
            Facet::Locale => "locale",
            Facet::Essa => "essa",
            Facet::Cost => "cost",
            Facet::Start => "start",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Facet::Challenge => "Challenge area",
            Facet::Grade => "Grade band",
            Facet::Subject => "Subject",
            Facet::Stage => "Evidence",
            Facet::District => "District",
            Facet::Level => "Worked in schools: level",
            Facet::Locale => "Worked in schools: locale",
            Facet::Essa => "ESSA evidence level",
            Facet::Cost => "Materials cost",
            Facet::Start => "Time to start",
        }
    }

    pub fn from_param(p: &str) -> Option<Facet> {
        Facet::ALL.into_iter().find(|f| f.param() == p)
    }

    fn index(self) -> usize {
        Facet::ALL.iter().position(|f| *f == self).expect("listed")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Newest,
    MostAdopted,
    /// By how alike the schools where each practice worked are to one school
    /// (`SearchRequest::like_mine`), then by relevance. Not in `ALL`: it needs a school.
    LikeMine,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Sort::Relevance, Sort::Newest, Sort::MostAdopted];

    pub fn param(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Newest => "newest",
            Sort::MostAdopted => "adopted",
            Sort::LikeMine => "like-mine",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Relevance => "Best match",
            Sort::Newest => "Newest vetted",
            Sort::MostAdopted => "Most adopted",
            Sort::LikeMine => "Worked in schools like mine",
        }
    }

    pub fn from_param(p: &str) -> Option<Sort> {
        Sort::ALL
            .into_iter()
            .chain([Sort::LikeMine])
            .find(|s| s.param() == p)
    }
}

/// The order `Sort::LikeMine` puts practices in for one school: each practice that worked
/// somewhere (by its id) with its rank (`domain::profile::Ranked::key`, larger first);
/// every other practice ranks 0, after them, by relevance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LikeMineOrder {
    pub school: String,
    pub keys: Arc<BTreeMap<u64, u64>>,
}

/// A validated search: the query text, facet filters (OR within a facet, AND across),
/// order and page (1-based).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: UserQuery,
    pub filters: BTreeMap<Facet, BTreeSet<String>>,
    pub sort: Sort,
    pub page: usize,
    pub per_page: usize,
    /// The school `Sort::LikeMine` compares with, and its order.
    pub like_mine: Option<LikeMineOrder>,
}

/// A page of `Search::list`: how many match, and the page's practices as (id, slug).
#[derive(Debug, Clone, Default)]
pub struct Listed {
    pub total: u64,
    pub practices: Vec<(u64, String)>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub slug: String,
    /// HTML: escaped text with `<mark>` around the matched words.
    pub snippet: String,
    pub score: Option<f32>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchResults {
    pub total: u64,
    pub hits: Vec<Hit>,
    /// For each facet, every value with its count for the current query (the facet's own
    /// selection left out, so choosing several values in one facet stays possible).
    pub facets: BTreeMap<Facet, Vec<(String, u64)>>,
    /// The query with misspelled words replaced by words the catalog has.
    pub suggestion: Option<String>,
    /// When nothing matched with filters: how many match without them.
    pub without_filters: Option<u64>,
}

/// The practices a saved search may announce (`Search::among`), where the searcher that found
/// them has them: for each segment, their documents in order, with their slugs.
pub struct Among {
    searcher: Searcher,
    docs: Vec<Vec<(DocId, String)>>,
}

const SNIPPET_CHARS: usize = 220;

impl Search {
    /// Searches the public catalog. Only vetted practices are in the index, so nothing else
    /// can reach results, counts, snippets or suggestions. A search that was run on the
    /// current index already is answered from the result cache.
    pub fn search(&self, req: &SearchRequest) -> tantivy::Result<Arc<SearchResults>> {
        let searcher = self.reader.searcher();
        let generation = searcher.generation().generation_id();
        let key = cache_key(req);
        if let Some(results) = self.results.get(generation, &key) {
            return Ok(results);
        }
        let results = Arc::new(self.run(&searcher, req)?);
        self.results.put(generation, key, results.clone());
        Ok(results)
    }

    /// The results of `req` if the result cache has them for the current index (a lookup, no
    /// search: callers may run it on the async executor).
    pub fn cached(&self, req: &SearchRequest) -> Option<Arc<SearchResults>> {
        let generation = self.reader.searcher().generation().generation_id();
        self.results.get(generation, &cache_key(req))
    }

    /// How many public practices have each value of `facet`, over the whole catalog (kept per
    /// index version: pages that show these counts do not count on every request).
    pub fn catalog_counts(&self, facet: Facet) -> tantivy::Result<Vec<(String, u64)>> {
        let searcher = self.reader.searcher();
        self.facet_tables.retain(&searcher);
        let counts = self.facet_tables.catalog_counts(&searcher)?;
        Ok(super::facets::values_of(&counts, facet.param()))
    }

    /// How many public practices have each pair of a `rows` value and a `cols` value, over
    /// the whole catalog (kept per index version): the coverage table of the quarterly view.
    pub fn catalog_pairs(
        &self,
        rows: Facet,
        cols: Facet,
    ) -> tantivy::Result<Arc<super::facets::PairCounts>> {
        let searcher = self.reader.searcher();
        self.facet_tables.retain(&searcher);
        self.facet_tables
            .catalog_pairs(&searcher, rows.param(), cols.param())
    }

    /// Searches without the result cache (what the benchmarks measure).
    pub fn search_uncached(&self, req: &SearchRequest) -> tantivy::Result<SearchResults> {
        self.run(&self.reader.searcher(), req)
    }

    /// Where a search's time goes (for the benchmarks): each stage of `run` for a
    /// relevance-sorted request, timed on its own. The collection stages are separate runs of
    /// the same query (the count alone, the page alone, the facets alone, then the one pass
    /// `run` makes), so they show what each part costs, not a sum.
    #[doc(hidden)]
    pub fn stage_times(
        &self,
        req: &SearchRequest,
    ) -> tantivy::Result<Vec<(&'static str, std::time::Duration)>> {
        use std::time::Instant;
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        let started = Instant::now();
        let built = self.text_query(&searcher, &req.query)?;
        let whole = started.elapsed();
        out.push(("query: spelling (in catalog? corrections)", built.spelling));
        out.push((
            "query: synonyms, analysis, building",
            whole.saturating_sub(built.spelling),
        ));
        let query = &*built.query;
        let offset = (req.page.max(1) - 1) * req.per_page;
        let top = TopDocs::with_limit(req.per_page.max(1))
            .and_offset(offset)
            .order_by_score();
        let started = Instant::now();
        searcher.search(query, &Count)?;
        out.push(("match + count alone (no scoring)", started.elapsed()));
        let started = Instant::now();
        let docs = searcher.search(query, &top)?;
        out.push(("match + score, top page alone", started.elapsed()));
        self.facet_tables.retain(&searcher);
        let started = Instant::now();
        searcher.search(query, &self.facet_tables.collector())?;
        out.push(("match + facet counts alone", started.elapsed()));
        let started = Instant::now();
        searcher.search(query, &(Count, top, self.facet_tables.collector()))?;
        out.push(("one pass: count + top page + facets", started.elapsed()));
        let docs: Vec<(Option<f32>, DocAddress)> =
            docs.into_iter().map(|(s, a)| (Some(s), a)).collect();
        let started = Instant::now();
        self.hits(&searcher, Some(query), &docs)?;
        out.push(("hits: stored text + snippets", started.elapsed()));
        Ok(out)
    }

    fn run(&self, searcher: &Searcher, req: &SearchRequest) -> tantivy::Result<SearchResults> {
        let f = &self.fields;
        let built = self.text_query(searcher, &req.query)?;
        let filter_clauses: BTreeMap<Facet, Box<dyn Query>> = req
            .filters
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(facet, values)| (*facet, facet_filter(f.facet_fields[facet.index()], values)))
            .collect();
        let query = combine(
            built.query.box_clone(),
            filter_clauses.values().map(|q| q.box_clone()).collect(),
        );

        let offset = (req.page.max(1) - 1) * req.per_page;
        let limit = req.per_page.max(1);
        let top = TopDocs::with_limit(limit).and_offset(offset);
        // Facets without a selection are counted in the main pass.
        let unselected: Vec<Facet> = Facet::ALL
            .into_iter()
            .filter(|x| !filter_clauses.contains_key(x))
            .collect();
        self.facet_tables.retain(searcher);
        // Browsing the whole catalog: its counts are cached per index version.
        let whole_catalog = req.query.is_empty() && filter_clauses.is_empty();
        let counter = (!whole_catalog).then(|| self.facet_tables.collector());
        // One pass counts, ranks and counts facets (a tuple of collectors: typed fruits, no
        // handles to extract).
        let (total, docs, counts): (usize, Vec<(Option<f32>, DocAddress)>, _) = match req.sort {
            Sort::Relevance => {
                let (n, hits, counts) =
                    searcher.search(&query, &(Count, top.order_by_score(), counter))?;
                let hits = hits.into_iter().map(|(s, a)| (Some(s), a)).collect();
                (n, hits, counts)
            }
            Sort::Newest => {
                let by = top.order_by_fast_field::<i64>("vetted", Order::Desc);
                let (n, hits, counts) = searcher.search(&query, &(Count, by, counter))?;
                (n, unscored(hits), counts)
            }
            Sort::MostAdopted => {
                let by = top.order_by_fast_field::<u64>("popularity", Order::Desc);
                let (n, hits, counts) = searcher.search(&query, &(Count, by, counter))?;
                (n, unscored(hits), counts)
            }
            Sort::LikeMine => {
                let keys = req
                    .like_mine
                    .as_ref()
                    .map(|l| l.keys.clone())
                    .unwrap_or_default();
                let by = top.tweak_score(move |segment: &tantivy::SegmentReader| {
                    let ids = segment
                        .fast_fields()
                        .u64("id")
                        .ok()
                        .map(|c| c.first_or_default_col(0));
                    let keys = keys.clone();
                    move |doc: DocId, score: tantivy::Score| {
                        let id = ids.as_ref().map(|c| c.get_val(doc));
                        let key = id.and_then(|id| keys.get(&id)).copied().unwrap_or(0);
                        (key, score)
                    }
                });
                let (n, hits, counts) = searcher.search(&query, &(Count, by, counter))?;
                (n, unscored(hits), counts)
            }
        };
        let total = total as u64;
        let counts = match counts {
            Some(counts) => Arc::new(counts),
            None => self.facet_tables.catalog_counts(searcher)?,
        };
        let mut facets = BTreeMap::new();
        for facet in unselected {
            facets.insert(facet, super::facets::values_of(&counts, facet.param()));
        }
        // A facet with a selection is counted under every other filter but its own: one pass
        // over the text query's matches counts them all.
        if req.query.is_empty() && filter_clauses.len() == 1 {
            // Browsing one facet: its counts are the whole catalog's.
            let counts = self.facet_tables.catalog_counts(searcher)?;
            for facet in filter_clauses.keys() {
                facets.insert(*facet, super::facets::values_of(&counts, facet.param()));
            }
        } else if !filter_clauses.is_empty() {
            let selected = req
                .filters
                .iter()
                .filter(|(_, values)| !values.is_empty())
                .map(|(facet, values)| {
                    (facet.param().to_string(), values.iter().cloned().collect())
                })
                .collect();
            let counter = self.facet_tables.leave_one_out(selected);
            let mut counts = searcher.search(&built.query, &counter)?;
            for facet in filter_clauses.keys() {
                let mut values: Vec<(String, u64)> = counts
                    .remove(facet.param())
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                values.sort();
                facets.insert(*facet, values);
            }
        }

        // Browsing (or only excluding) has no words to show in context: each hit's summary.
        let has_text = !req.query.words.is_empty() || !req.query.phrases.is_empty();
        let hits = self.hits(searcher, has_text.then_some(&*built.query), &docs)?;
        let without_filters = if total == 0 && !filter_clauses.is_empty() {
            Some(searcher.search(&built.query, &Count)? as u64)
        } else {
            None
        };
        Ok(SearchResults {
            total,
            hits,
            facets,
            suggestion: built.suggestion,
            without_filters,
        })
    }

    /// One page of the public catalog in a stable order, newest practice first (by its id),
    /// for the API's lists: the practices matching `query` and `filters` whose id is below
    /// `before` (the last one of the previous page), and how many match in all. Every page
    /// costs the same one pass over the matches: the cursor is a filter on the id's fast
    /// field, not an offset to skip through.
    pub fn list(
        &self,
        query: &UserQuery,
        filters: &BTreeMap<Facet, BTreeSet<String>>,
        before: Option<u64>,
        limit: usize,
    ) -> tantivy::Result<Listed> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let built = self.text_query(&searcher, query)?;
        let query = combine(
            built.query,
            filters
                .iter()
                .filter(|(_, values)| !values.is_empty())
                .map(|(facet, values)| facet_filter(f.facet_fields[facet.index()], values))
                .collect(),
        );
        let before = before.unwrap_or(u64::MAX);
        let top = FilterCollector::new(
            "id".to_string(),
            move |id: u64| id < before,
            TopDocs::with_limit(limit.max(1)).order_by_fast_field::<u64>("id", Order::Desc),
        );
        let (total, docs) = searcher.search(&query, &(Count, top))?;
        let mut practices = Vec::with_capacity(docs.len());
        for (id, address) in docs {
            let doc: TantivyDocument = searcher.doc(address)?;
            let slug = doc.get_first(f.slug).and_then(|v| v.as_str());
            if let (Some(id), Some(slug)) = (id, slug) {
                practices.push((id, slug.to_string()));
            }
        }
        Ok(Listed {
            total: total as u64,
            practices,
        })
    }

    /// The hits at `docs`, each with a snippet of where `query` matched. Without a query
    /// (browsing) there is nothing to show in context, and each hit's summary stands in.
    fn hits(
        &self,
        searcher: &Searcher,
        query: Option<&dyn Query>,
        docs: &[(Option<f32>, DocAddress)],
    ) -> tantivy::Result<Vec<Hit>> {
        let f = &self.fields;
        let mut fields = Vec::new();
        if let Some(query) = query {
            for field in [f.aspects, f.body, f.summary] {
                if let Some(s) =
                    FieldSnippets::create(searcher, query, f.all, field, SNIPPET_CHARS)?
                {
                    fields.push((field, s));
                }
            }
        }
        let mut hits = Vec::with_capacity(docs.len());
        for (score, address) in docs {
            let doc: TantivyDocument = searcher.doc(*address)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
            };
            let snippet = fields
                .iter()
                .map(|(field, s)| (text(*field), s.snippet(text(*field))))
                .find(|(_, s)| !s.highlighted().is_empty())
                .map(|(whole, mut s)| {
                    s.set_snippet_prefix_postfix("<mark>", "</mark>");
                    // A fragment cut from the middle of the text says so at the cut.
                    let fragment = s.fragment().trim();
                    let before = if whole.trim_start().starts_with(fragment) {
                        ""
                    } else {
                        "… "
                    };
                    let after = if whole.trim_end().ends_with(fragment) {
                        ""
                    } else {
                        " …"
                    };
                    format!("{before}{}{after}", s.to_html())
                })
                .unwrap_or_else(|| escape(&truncate(text(f.summary), SNIPPET_CHARS)));
            hits.push(Hit {
                slug: text(f.slug).to_string(),
                snippet,
                score: *score,
            });
        }
        Ok(hits)
    }

    /// Where the practices `slugs` are in the index now (a term lookup each per segment), for
    /// `matching`.
    pub fn among(&self, slugs: &[String]) -> tantivy::Result<Among> {
        let searcher = self.reader.searcher();
        let slug = self.fields.slug;
        let mut docs = Vec::new();
        for segment in searcher.segment_readers() {
            let index = segment.inverted_index(slug)?;
            let mut here = Vec::new();
            for s in slugs {
                let term = Term::from_field_text(slug, s);
                let Some(mut postings) = index.read_postings(&term, IndexRecordOption::Basic)?
                else {
                    continue;
                };
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    if segment.alive_bitset().is_none_or(|a| a.is_alive(doc)) {
                        here.push((doc, s.clone()));
                    }
                    doc = postings.advance();
                }
            }
            here.sort_unstable();
            docs.push(here);
        }
        Ok(Among { searcher, docs })
    }

    /// Which of the practices `among` match `req`'s words and filters: a saved search asking
    /// about the week's new practices. The order, page and counts of `req` play no part. It
    /// seeks the query's matches to each of those practices in turn, on this thread alone:
    /// nothing else of the index is read, and searches keep the search threads.
    pub fn matching(
        &self,
        req: &SearchRequest,
        among: &Among,
    ) -> tantivy::Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        if among.docs.iter().all(Vec::is_empty) {
            return Ok(out);
        }
        let searcher = &among.searcher;
        let f = &self.fields;
        let built = self.text_query(searcher, &req.query)?;
        let filters: Vec<Box<dyn Query>> = req
            .filters
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(facet, values)| facet_filter(f.facet_fields[facet.index()], values))
            .collect();
        let query = combine(built.query, filters);
        let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
        for (segment, docs) in searcher.segment_readers().iter().zip(&among.docs) {
            if docs.is_empty() {
                continue;
            }
            let mut scorer = weight.scorer(segment, 1.0)?;
            for (doc, slug) in docs {
                let mut at = scorer.doc();
                if at < *doc {
                    at = scorer.seek(*doc);
                }
                if at == TERMINATED {
                    break;
                }
                if at == *doc {
                    out.insert(slug.clone());
                }
            }
        }
        Ok(out)
    }

    /// Up to `n` practices like `slug` (more-like-this over the same index), never itself.
    pub fn related(&self, slug: &str, n: usize) -> tantivy::Result<Vec<String>> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let me = TermQuery::new(
            Term::from_field_text(f.slug, slug),
            IndexRecordOption::Basic,
        );
        let Some((_, address)) = searcher
            .search(&me, &TopDocs::with_limit(1).order_by_score())?
            .into_iter()
            .next()
        else {
            return Ok(Vec::new());
        };
        // Its words as the index has them: every part in the `all` field.
        let doc: TantivyDocument = searcher.doc(address)?;
        let texts = [f.title, f.summary, f.aspects, f.body]
            .into_iter()
            .filter_map(|field| doc.get_first(field).and_then(|v| v.as_str()))
            .map(|t| tantivy::schema::OwnedValue::Str(t.to_string()))
            .collect();
        let query = MoreLikeThisQuery::builder()
            .with_min_doc_frequency(1)
            .with_max_doc_frequency((searcher.num_docs() / 2).max(2))
            .with_min_term_frequency(1)
            .with_min_word_length(3)
            .with_max_query_terms(30)
            .with_document_fields(vec![(f.all, texts)]);
        let mut out = Vec::new();
        for (_, a) in searcher.search(&query, &TopDocs::with_limit(n + 1).order_by_score())? {
            let doc: TantivyDocument = searcher.doc(a)?;
            let other = doc
                .get_first(f.slug)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            if other != slug && out.len() < n {
                out.push(other);
            }
        }
        Ok(out)
    }

    /// The text part of the query, and a suggestion when a word was corrected.
    fn text_query(&self, searcher: &Searcher, q: &UserQuery) -> tantivy::Result<Built> {
        let f = &self.fields;
        // Every word, synonym and correction adds its clause to one flat union: a sum of the
        // same scores as a union of unions, in one pass over their postings.
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut corrected = Vec::new();
        let mut spelling = std::time::Duration::ZERO;
        for concept in self.synonyms.concepts(&q.words) {
            // A lone stop word ("in", "don't") adds nothing but noise.
            if concept.len() == 1 && concept[0].len() == 1 && is_stop_word(&concept[0][0]) {
                continue;
            }
            // Forms that stem alike ("english learner", "english learners") are one query.
            let mut seen: Vec<Vec<String>> = Vec::new();
            for (i, words) in concept.iter().enumerate() {
                let terms = self.analyze(&words.join(" "));
                if !has_content(&terms) || seen.contains(&terms) {
                    continue;
                }
                // The words as typed rank above their synonyms.
                let boost = if i == 0 { 1.0 } else { 0.6 };
                clauses.push((Occur::Should, terms_query(f, &terms, boost)));
                seen.push(terms);
            }
            let spelling_started = std::time::Instant::now();
            if concept.len() == 1
                && concept[0].len() == 1
                && !self.spelled_in_catalog(searcher, &concept[0][0])?
            {
                let word = &concept[0][0];
                let fixes = self.corrections(searcher, word)?;
                // A lone word has one form (its synonyms make a longer concept).
                let found = match seen.first() {
                    Some(terms) => self.any_doc_has(searcher, terms)?,
                    None => false,
                };
                // Suggest only when the word finds nothing as it is (not for "absences" when
                // the catalog says "absence": stemming already found those).
                if !found && let Some(best) = fixes.first() {
                    corrected.push((word.clone(), best.clone()));
                }
                // Typo tolerance for words of five letters or more, with the corrected word's
                // synonyms too; exact matches rank higher.
                if word.chars().count() >= 5 {
                    for fix in fixes.iter().take(2) {
                        let forms = self.synonyms.concepts(std::slice::from_ref(fix)).concat();
                        for (i, words) in forms.iter().enumerate() {
                            let terms = self.analyze(&words.join(" "));
                            if !terms.is_empty() {
                                let boost = if i == 0 { 0.5 } else { 0.3 };
                                clauses.push((Occur::Should, terms_query(f, &terms, boost)));
                            }
                        }
                    }
                }
            }
            spelling += spelling_started.elapsed();
        }
        // Stop words alone ("of the", "-the") say nothing, in a phrase or excluded, as when
        // typed alone.
        for phrase in &q.phrases {
            let terms = self.analyze(phrase);
            if has_content(&terms) {
                clauses.push((Occur::Must, terms_query(f, &terms, 1.0)));
            }
        }
        let has_positive = !clauses.is_empty();
        for word in &q.excluded {
            let terms = self.analyze(word);
            if has_content(&terms) {
                clauses.push((Occur::MustNot, terms_query(f, &terms, 1.0)));
            }
        }
        if !has_positive {
            // Browsing, or only exclusions: start from every practice.
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let suggestion = (!corrected.is_empty()).then(|| {
            q.normalized
                .split(' ')
                .map(|token| {
                    let word = super::query::bare(token);
                    corrected
                        .iter()
                        .find(|(w, _)| *w == word)
                        .map_or(token.to_string(), |(_, fix)| fix.clone())
                })
                .collect::<Vec<_>>()
                .join(" ")
        });
        Ok(Built {
            query: Box::new(BooleanQuery::new(clauses)),
            suggestion,
            spelling,
        })
    }

    /// The English-analysed terms of `text` (stemmed, folded).
    fn analyze(&self, text: &str) -> Vec<String> {
        // English alone: the `all` field's analyzer would add the known phrases' terms.
        let mut analyzer = self
            .index
            .tokenizers()
            .get(super::schema::EN)
            .expect("the English analyzer is registered");
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        while stream.advance() {
            terms.push(stream.token().text.clone());
        }
        terms
    }

    /// Whether the catalog has `word` exactly as typed (folded, not stemmed).
    fn spelled_in_catalog(&self, searcher: &Searcher, word: &str) -> tantivy::Result<bool> {
        let mut spell = self.index.tokenizer_for_field(self.fields.spell)?;
        let mut stream = spell.token_stream(word);
        let mut all = true;
        while let Some(token) = stream.next() {
            all &= searcher.doc_freq(&Term::from_field_text(self.fields.spell, &token.text))? > 0;
        }
        Ok(all)
    }

    fn any_doc_has(&self, searcher: &Searcher, terms: &[String]) -> tantivy::Result<bool> {
        for t in terms {
            if searcher.doc_freq(&Term::from_field_text(self.fields.all, t))? == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Words of the catalog close to `word` (one edit for short words, two for long ones),
    /// closest and most frequent first.
    fn corrections(&self, searcher: &Searcher, word: &str) -> tantivy::Result<Vec<String>> {
        let len = word.chars().count();
        if len < 3 || !word.chars().all(char::is_alphabetic) {
            return Ok(Vec::new());
        }
        let mut spell = self.index.tokenizer_for_field(self.fields.spell)?;
        let mut stream = spell.token_stream(word);
        let Some(folded) = stream.next().map(|t| t.text.clone()) else {
            return Ok(Vec::new());
        };
        let distance = if len >= 8 { 2 } else { 1 };
        let fuzzy = tantivy::query::FuzzyTermQuery::new(
            Term::from_field_text(self.fields.spell, &folded),
            distance,
            true,
        );
        let mut candidates: BTreeMap<String, u64> = BTreeMap::new();
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.fields.spell)?;
            let mut terms = inverted.terms().search(fuzzy.automaton()?).into_stream()?;
            while terms.advance() {
                let Ok(term) = std::str::from_utf8(terms.key()) else {
                    continue;
                };
                if term != folded {
                    *candidates.entry(term.to_string()).or_default() +=
                        u64::from(terms.value().doc_freq);
                }
            }
        }
        let mut ranked: Vec<(usize, u64, String)> = candidates
            .into_iter()
            .map(|(t, n)| (edit_distance(&folded, &t), n, t))
            .collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        Ok(ranked.into_iter().map(|(_, _, t)| t).collect())
    }
}

/// The request's every field, filters in order: equal requests, equal keys.
fn cache_key(req: &SearchRequest) -> String {
    format!("{req:?}")
}

/// Hits in a sort order other than relevance: no score to show.
fn unscored<K>(hits: Vec<(K, DocAddress)>) -> Vec<(Option<f32>, DocAddress)> {
    hits.into_iter().map(|(_, a)| (None, a)).collect()
}

struct Built {
    query: Box<dyn Query>,
    suggestion: Option<String>,
    /// Time spent on spelling: whether words are in the catalog, and their corrections.
    spelling: std::time::Duration,
}

/// The terms in the `all` field, weighted by `boost`. Several terms are a phrase: its words
/// next to each other, in order, in one part of the practice. A phrase is first narrowed to
/// the practices that have all its word pairs (the `pairs` field: a term lookup each), and
/// positions are checked there only (an intersection seeks its phrase scorer to the pairs'
/// candidates). Checking positions in every practice with the words instead was the largest
/// cost of a search whenever the words were common.
fn terms_query(f: &Fields, terms: &[String], boost: f32) -> Box<dyn Query> {
    let term = |text: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(f.all, text),
            IndexRecordOption::WithFreqs,
        ))
    };
    let known = super::phrases::term(terms);
    let q: Box<dyn Query> = match (terms, known) {
        ([one], _) => term(one),
        (_, Some(known)) => term(&known),
        _ => {
            let pairs: Vec<(Occur, Box<dyn Query>)> = pairs_of(terms)
                .into_iter()
                .map(|p| -> (Occur, Box<dyn Query>) {
                    let q = TermQuery::new(
                        Term::from_field_text(f.pairs, &p),
                        IndexRecordOption::Basic,
                    );
                    (Occur::Must, Box::new(q))
                })
                .collect();
            let phrase = Box::new(PhraseQuery::new(
                terms
                    .iter()
                    .map(|t| Term::from_field_text(f.all, t))
                    .collect(),
            ));
            if pairs.is_empty() {
                phrase
            } else {
                // The pairs only narrow: they add nothing to the score. They come first: the
                // intersection starts from them.
                let narrow = ConstScoreQuery::new(Box::new(BooleanQuery::new(pairs)), 0.0);
                Box::new(BooleanQuery::new(vec![
                    (Occur::Must, Box::new(narrow) as Box<dyn Query>),
                    (Occur::Must, phrase),
                ]))
            }
        }
    };
    if boost == 1.0 {
        q
    } else {
        Box::new(BoostQuery::new(q, boost))
    }
}

fn facet_filter(field: Field, values: &BTreeSet<String>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        values
            .iter()
            .map(|v| {
                let term = Term::from_facet(field, &TantivyFacet::from_path([v.as_str()]));
                (
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>,
                )
            })
            .collect(),
    ))
}

fn combine(text: Box<dyn Query>, filters: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if filters.is_empty() {
        return text;
    }
    let mut clauses = vec![(Occur::Must, text)];
    clauses.extend(filters.into_iter().map(|q| (Occur::Must, q)));
    Box::new(BooleanQuery::new(clauses))
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{}…", cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a))
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Levenshtein distance, for ranking spelling candidates (short words only).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = cur;
        }
    }
    row[b.len()]
}

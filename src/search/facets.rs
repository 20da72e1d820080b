//! Facet counting from an in-memory table of each segment's facet ordinals.
//!
//! tantivy's `FacetCollector` reads the facet column for every matching document (a
//! bit-packed read behind an optional-index rank), which profiling showed as a quarter of a
//! broad query's time. Segments are immutable, so each segment's ordinals are read once into
//! a flat array (`offsets`/`ords`, a few bytes per facet value) and counting becomes a slice
//! walk. The table of a segment is dropped when the segment leaves the searcher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::schema::Facet as TantivyFacet;
use tantivy::{DocId, Score, Searcher, SegmentReader};

/// The facet values of every document of one segment.
struct SegmentFacets {
    offsets: Vec<u32>,
    ords: Vec<u32>,
    /// How many documents of the segment (deleted ones too) have each ordinal.
    totals: Vec<u32>,
    /// The facet path of each ordinal ("/grade/6-8").
    names: Vec<String>,
}

impl SegmentFacets {
    fn build(reader: &SegmentReader, field: &str) -> tantivy::Result<SegmentFacets> {
        let facets = reader.facet_reader(field)?;
        let mut names = Vec::with_capacity(facets.num_facets());
        let mut facet = TantivyFacet::root();
        for ord in 0..facets.num_facets() as u64 {
            facets.facet_from_ord(ord, &mut facet)?;
            names.push(facet.to_string());
        }
        let max_doc = reader.max_doc();
        let mut offsets = Vec::with_capacity(max_doc as usize + 1);
        let mut ords = Vec::new();
        offsets.push(0);
        for doc in 0..max_doc {
            ords.extend(facets.facet_ords(doc).map(|o| o as u32));
            offsets.push(ords.len() as u32);
        }
        let mut totals = vec![0; names.len()];
        for &ord in &ords {
            totals[ord as usize] += 1;
        }
        Ok(SegmentFacets {
            offsets,
            ords,
            totals,
            names,
        })
    }

    fn max_doc(&self) -> DocId {
        (self.offsets.len() - 1) as DocId
    }

    /// Adds one to `counts` for each facet value of the documents `from..to`, or takes one
    /// away.
    fn count(&self, counts: &mut [u32], from: DocId, to: DocId, subtract: bool) {
        let (start, end) = (self.offsets[from as usize], self.offsets[to as usize]);
        for &ord in &self.ords[start as usize..end as usize] {
            let n = &mut counts[ord as usize];
            *n = if subtract { *n - 1 } else { *n + 1 };
        }
    }
}

/// Facet path ("/grade/6-8") → count.
pub type Counts = HashMap<String, u64>;

/// The ordinal tables of the segments in use, shared by every search.
#[derive(Default)]
pub struct FacetTables {
    field: String,
    segments: Mutex<HashMap<SegmentId, Arc<SegmentFacets>>>,
    /// The searcher generation the tables were last pruned for.
    pruned: std::sync::atomic::AtomicU64,
    /// The counts over the whole catalog, for the searcher generation they were taken from:
    /// browsing needs them on every request, and they change only when the index does.
    catalog: Mutex<Option<(u64, Arc<Counts>)>>,
    /// The last cross-tabulation taken over the whole catalog.
    pairs: Mutex<Option<CachedPairs>>,
}

struct CachedPairs {
    generation: u64,
    /// The row and column facets.
    facets: (String, String),
    counts: Arc<PairCounts>,
}

/// (row value, column value) → how many documents have both ("writing", "6-8").
pub type PairCounts = HashMap<(String, String), u64>;

impl FacetTables {
    pub fn new(field: &str) -> FacetTables {
        FacetTables {
            field: field.to_string(),
            segments: Mutex::default(),
            pruned: std::sync::atomic::AtomicU64::new(u64::MAX),
            catalog: Mutex::default(),
            pairs: Mutex::default(),
        }
    }

    /// How many documents of the whole catalog have each pair of a `rows` value and a `cols`
    /// value (computed once per index version).
    pub fn catalog_pairs(
        self: &Arc<Self>,
        searcher: &Searcher,
        rows: &str,
        cols: &str,
    ) -> tantivy::Result<Arc<PairCounts>> {
        let generation = searcher.generation().generation_id();
        let key = (rows.to_string(), cols.to_string());
        if let Some(c) = self.pairs.lock().expect("pair counts").as_ref()
            && c.generation == generation
            && c.facets == key
        {
            return Ok(c.counts.clone());
        }
        let counter = PairCounter {
            tables: self.clone(),
            rows: format!("/{rows}/"),
            cols: format!("/{cols}/"),
        };
        let counts = Arc::new(searcher.search(&tantivy::query::AllQuery, &counter)?);
        *self.pairs.lock().expect("pair counts") = Some(CachedPairs {
            generation,
            facets: key,
            counts: counts.clone(),
        });
        Ok(counts)
    }

    /// Every facet value's count over the whole catalog (computed once per index version).
    pub fn catalog_counts(
        self: &Arc<Self>,
        searcher: &Searcher,
    ) -> tantivy::Result<Arc<HashMap<String, u64>>> {
        let generation = searcher.generation().generation_id();
        if let Some((g, counts)) = self.catalog.lock().expect("catalog counts").as_ref()
            && *g == generation
        {
            return Ok(counts.clone());
        }
        let counts = Arc::new(searcher.search(&tantivy::query::AllQuery, &self.collector())?);
        *self.catalog.lock().expect("catalog counts") = Some((generation, counts.clone()));
        Ok(counts)
    }

    fn segment(&self, reader: &SegmentReader) -> tantivy::Result<Arc<SegmentFacets>> {
        let id = reader.segment_id();
        if let Some(t) = self.segments.lock().expect("facet tables").get(&id) {
            return Ok(t.clone());
        }
        // Built outside the lock; two searches racing on a new segment both build it once.
        let table = Arc::new(SegmentFacets::build(reader, &self.field)?);
        self.segments
            .lock()
            .expect("facet tables")
            .insert(id, table.clone());
        Ok(table)
    }

    /// Forgets the segments that `searcher` no longer has (merged away or deleted). Segments
    /// change only with the searcher generation, so the work is done once per generation.
    pub fn retain(&self, searcher: &Searcher) {
        let generation = searcher.generation().generation_id();
        if self
            .pruned
            .swap(generation, std::sync::atomic::Ordering::AcqRel)
            == generation
        {
            return;
        }
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        self.segments
            .lock()
            .expect("facet tables")
            .retain(|id, _| live.contains(id));
    }

    pub fn collector(self: &Arc<Self>) -> FacetCounter {
        FacetCounter {
            tables: self.clone(),
        }
    }
}

/// Counts every facet value of the matching documents: `"/grade/6-8"` → count.
pub struct FacetCounter {
    tables: Arc<FacetTables>,
}

pub struct FacetSegmentCounter {
    table: Arc<SegmentFacets>,
    /// The matching documents, in order: counted at the end, from whichever side is
    /// smaller.
    docs: Vec<DocId>,
}

impl Collector for FacetCounter {
    type Fruit = HashMap<String, u64>;
    type Child = FacetSegmentCounter;

    fn for_segment(&self, _: u32, reader: &SegmentReader) -> tantivy::Result<FacetSegmentCounter> {
        let table = self.tables.segment(reader)?;
        Ok(FacetSegmentCounter {
            docs: Vec::new(),
            table,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<HashMap<String, u64>>) -> tantivy::Result<Self::Fruit> {
        let mut all = HashMap::new();
        for fruit in fruits {
            for (k, v) in fruit {
                *all.entry(k).or_insert(0) += v;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for FacetSegmentCounter {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.docs.push(doc);
    }

    /// A search of a few everyday words matches most of the catalog: then the documents
    /// that do *not* match are fewer, and the counts are the segment's totals less theirs.
    fn harvest(self) -> HashMap<String, u64> {
        let t = &self.table;
        let counts = if self.docs.len() <= t.max_doc() as usize / 2 {
            let mut counts = vec![0; t.names.len()];
            for &doc in &self.docs {
                t.count(&mut counts, doc, doc + 1, false);
            }
            counts
        } else {
            let mut counts = t.totals.clone();
            let mut next = 0;
            for &doc in self.docs.iter().chain([&t.max_doc()]) {
                t.count(&mut counts, next, doc, true);
                next = doc + 1;
            }
            counts
        };
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(ord, n)| (self.table.names[ord].clone(), *n as u64))
            .collect()
    }
}

/// The counts of one facet ("grade"): value → count, from a counter's fruit.
pub fn values_of(counts: &HashMap<String, u64>, facet: &str) -> Vec<(String, u64)> {
    let prefix = format!("/{facet}/");
    let mut out: Vec<(String, u64)> = counts
        .iter()
        .filter_map(|(path, n)| Some((path.strip_prefix(&prefix)?.to_string(), *n)))
        .collect();
    out.sort();
    out
}

/// The counts a selected facet shows: for each selected facet, its values over the documents
/// that pass every *other* facet's filter. One pass over the text query's matches serves all
/// selected facets (instead of one search per selected facet).
pub struct LeaveOneOut {
    tables: Arc<FacetTables>,
    /// (facet name, the values selected in it).
    filters: Vec<(String, Vec<String>)>,
}

impl FacetTables {
    pub fn leave_one_out(self: &Arc<Self>, filters: Vec<(String, Vec<String>)>) -> LeaveOneOut {
        LeaveOneOut {
            tables: self.clone(),
            filters,
        }
    }
}

pub struct LeaveOneOutSegment {
    table: Arc<SegmentFacets>,
    /// For each ordinal: the selected facet it belongs to (`u8::MAX`: none) and whether it is
    /// one of that facet's selected values.
    owner: Vec<u8>,
    selected: Vec<bool>,
    /// Counts per selected facet, by ordinal.
    counts: Vec<u32>,
    filters: usize,
}

impl Collector for LeaveOneOut {
    /// facet name → value → count
    type Fruit = HashMap<String, HashMap<String, u64>>;
    type Child = LeaveOneOutSegment;

    fn for_segment(&self, _: u32, reader: &SegmentReader) -> tantivy::Result<LeaveOneOutSegment> {
        let table = self.tables.segment(reader)?;
        let mut owner = vec![u8::MAX; table.names.len()];
        let mut selected = vec![false; table.names.len()];
        for (i, (facet, values)) in self.filters.iter().enumerate() {
            let prefix = format!("/{facet}/");
            for (ord, name) in table.names.iter().enumerate() {
                if let Some(value) = name.strip_prefix(&prefix) {
                    owner[ord] = i as u8;
                    selected[ord] = values.iter().any(|v| v == value);
                }
            }
        }
        Ok(LeaveOneOutSegment {
            counts: vec![0; table.names.len()],
            table,
            owner,
            selected,
            filters: self.filters.len(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        let mut all: Self::Fruit = HashMap::new();
        for fruit in fruits {
            for (facet, values) in fruit {
                let entry = all.entry(facet).or_default();
                for (v, n) in values {
                    *entry.entry(v).or_insert(0) += n;
                }
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for LeaveOneOutSegment {
    type Fruit = HashMap<String, HashMap<String, u64>>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let t = &self.table;
        let ords = &t.ords[t.offsets[doc as usize] as usize..t.offsets[doc as usize + 1] as usize];
        // Which selected facets does the document pass? (at most 8 filters: one per facet)
        let mut passed = 0u32;
        for &ord in ords {
            let o = ord as usize;
            if self.owner[o] != u8::MAX && self.selected[o] {
                passed |= 1 << self.owner[o];
            }
        }
        let all = (1u32 << self.filters) - 1;
        let failed = all & !passed;
        if failed.count_ones() > 1 {
            return;
        }
        // Passing everything: counts for every selected facet; failing one: for that one only.
        for &ord in ords {
            let o = ord as usize;
            let f = self.owner[o];
            if f != u8::MAX && (failed == 0 || failed == 1 << f) {
                self.counts[o] += 1;
            }
        }
    }

    fn harvest(self) -> Self::Fruit {
        let mut out: Self::Fruit = HashMap::new();
        for (ord, n) in self.counts.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let name = &self.table.names[ord];
            if let Some((facet, value)) = name.trim_start_matches('/').split_once('/') {
                *out.entry(facet.to_string())
                    .or_default()
                    .entry(value.to_string())
                    .or_insert(0) += *n as u64;
            }
        }
        out
    }
}

/// Counts the pairs of a row facet's and a column facet's values on each document.
struct PairCounter {
    tables: Arc<FacetTables>,
    /// The facets' path prefixes ("/challenge/").
    rows: String,
    cols: String,
}

struct PairSegmentCounter {
    table: Arc<SegmentFacets>,
    /// For each ordinal: its value, if it belongs to the row (or column) facet.
    row: Vec<Option<String>>,
    col: Vec<Option<String>>,
    counts: HashMap<(u32, u32), u64>,
}

impl Collector for PairCounter {
    type Fruit = PairCounts;
    type Child = PairSegmentCounter;

    fn for_segment(&self, _: u32, reader: &SegmentReader) -> tantivy::Result<PairSegmentCounter> {
        let table = self.tables.segment(reader)?;
        let value = |prefix: &str| -> Vec<Option<String>> {
            table
                .names
                .iter()
                .map(|n| n.strip_prefix(prefix).map(str::to_string))
                .collect()
        };
        Ok(PairSegmentCounter {
            row: value(&self.rows),
            col: value(&self.cols),
            counts: HashMap::new(),
            table,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<PairCounts>) -> tantivy::Result<PairCounts> {
        let mut all = PairCounts::new();
        for fruit in fruits {
            for (k, v) in fruit {
                *all.entry(k).or_insert(0) += v;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for PairSegmentCounter {
    type Fruit = PairCounts;

    fn collect(&mut self, doc: DocId, _: Score) {
        let t = &self.table;
        let ords = &t.ords[t.offsets[doc as usize] as usize..t.offsets[doc as usize + 1] as usize];
        for &a in ords.iter().filter(|a| self.row[**a as usize].is_some()) {
            for &b in ords.iter().filter(|b| self.col[**b as usize].is_some()) {
                *self.counts.entry((a, b)).or_insert(0) += 1;
            }
        }
    }

    fn harvest(self) -> PairCounts {
        self.counts
            .into_iter()
            .filter_map(|((a, b), n)| {
                Some((
                    (self.row[a as usize].clone()?, self.col[b as usize].clone()?),
                    n,
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::Count;
    use tantivy::query::{Query, TermQuery};
    use tantivy::schema::{FacetOptions, INDEXED, IndexRecordOption, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument, Term};

    use super::*;

    /// Counting the matches and counting the catalog less the non-matches give the same
    /// counts, with deleted documents in the segment.
    #[test]
    fn counts_from_either_side_agree() {
        let mut b = Schema::builder();
        let n = b.add_u64_field("n", INDEXED);
        let facets = b.add_facet_field("facets", FacetOptions::default());
        let index = Index::create_in_ram(b.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..100u64 {
            let mut doc = TantivyDocument::default();
            doc.add_u64(n, i % 10);
            doc.add_facet(
                facets,
                TantivyFacet::from_path(["tens", &(i / 10).to_string()]),
            );
            if i % 3 == 0 {
                doc.add_facet(facets, TantivyFacet::from_path(["three", "yes"]));
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        // Deleted: every document with n = 9 (ten of them, one in each ten).
        writer.delete_term(Term::from_field_u64(n, 9));
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let tables = Arc::new(FacetTables::new("facets"));

        let below = |limit: u64| -> Box<dyn Query> {
            Box::new(tantivy::query::BooleanQuery::new(
                (0..limit)
                    .map(|v| {
                        let q =
                            TermQuery::new(Term::from_field_u64(n, v), IndexRecordOption::Basic);
                        (tantivy::query::Occur::Should, Box::new(q) as Box<dyn Query>)
                    })
                    .collect(),
            ))
        };
        // n < 2 matches 20 of the 90 live documents, n < 8 matches 80.
        for (limit, matching) in [(2, 20), (8, 80)] {
            let query = below(limit);
            assert_eq!(searcher.search(&*query, &Count).unwrap(), matching);
            let counts = searcher.search(&*query, &tables.collector()).unwrap();
            // Each ten has `limit` matching documents.
            for ten in 0..10 {
                assert_eq!(counts[&format!("/tens/{ten}")], limit, "{limit}: ten {ten}");
            }
            let threes = (0..100u64).filter(|i| i % 10 < limit && i % 3 == 0).count() as u64;
            assert_eq!(counts[&"/three/yes".to_string()], threes, "{limit}");
            assert_eq!(counts.len(), 11);
        }
    }
}

//! The one schema of the index, its analyzers, and how a practice becomes a document.

use std::sync::LazyLock;

use tantivy::schema::{
    FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter,
    TextAnalyzer, Tokenizer,
};
use tantivy::{Index, TantivyDocument, Term};

use crate::store::IndexDoc;

/// Bump when the schema or an analyzer changes: a mismatch rebuilds the index at start-up.
pub const SCHEMA_VERSION: u32 = 8;

/// English: words, lowercased, accents folded, stemmed.
pub const EN: &str = "bs_en";
/// Spelling: words, lowercased and folded but not stemmed — real words for "did you mean" —
/// without stop words (never a correction, and half of all the words to index).
pub const SPELL: &str = "bs_spell";
/// Pairs of adjacent English terms, for narrowing phrases (see `pairs.rs`).
pub const PAIRS: &str = "bs_en_pairs";
/// The name of the field with every facet value.
pub const FACETS: &str = "facets";
/// The single-facet fields, in `Facet::ALL` order.
pub const FACET_NAMES: [&str; 10] = [
    "challenge",
    "grade",
    "subject",
    "stage",
    "district",
    "level",
    "locale",
    "essa",
    "cost",
    "start",
];

/// The fields, resolved once.
#[derive(Clone, Copy, Debug)]
pub struct Fields {
    pub id: Field,
    pub slug: Field,
    pub title: Field,
    pub summary: Field,
    pub aspects: Field,
    pub body: Field,
    /// Every text field, each repeated by its weight: what searches match and rank.
    pub all: Field,
    pub spell: Field,
    /// The pairs of adjacent terms (not both stop words) of every text field (which documents
    /// only, no frequencies or positions: it narrows phrases, `all` checks them).
    pub pairs: Field,
    /// Every facet value as `/facet/value` (`/grade/6-8`): one field, so that counting all
    /// facets reads one column per document instead of seven.
    pub facets: Field,
    /// The same values, one field per facet (`challenge`, `grade`, …, named after the URL
    /// parameters, in `Facet::ALL` order): cheaper when a single facet is counted.
    pub facet_fields: [Field; 10],
    /// The vetting day and the id (`day << 32 | id`): the "newest" order, with no ties.
    pub vetted: Field,
    pub published: Field,
    pub adoptions: Field,
    /// Adoptions, vetting day and id (`adoptions << 48 | day << 32 | id`): "most adopted".
    pub popularity: Field,
}

/// How many times each part of a practice is written into the `all` field: title over summary
/// over aspects and conditions over the rest. Ranking one field where each part's words count
/// this many times is BM25F (the weighted term frequencies add up before BM25 saturates
/// them): a title word weighs more than a body word, but a word said once in the title
/// and again in the body does not count as two separate matches. One field means one posting
/// list per word for matching, counting and scoring, where four fields meant four.
pub const WEIGHTS: [usize; 4] = [4, 3, 2, 1];

pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // Scored: frequencies and positions.
    let text = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
    };
    // The texts are kept to show (snippets); `all` indexes them.
    let shown = TextOptions::default().set_stored();
    // Which documents have a term, no frequencies or positions: for lookups, not scores.
    let listed = |analyzer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(IndexRecordOption::Basic),
        )
    };
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST | STORED),
        slug: b.add_text_field("slug", STRING | STORED),
        title: b.add_text_field("title", shown.clone()),
        summary: b.add_text_field("summary", shown.clone()),
        aspects: b.add_text_field("aspects", shown.clone()),
        body: b.add_text_field("body", shown),
        all: b.add_text_field("all", text(&ALL)),
        spell: b.add_text_field("spell", listed(SPELL)),
        pairs: b.add_text_field("pairs", listed(PAIRS)),
        facets: b.add_facet_field(FACETS, FacetOptions::default()),
        facet_fields: FACET_NAMES.map(|name| b.add_facet_field(name, FacetOptions::default())),
        vetted: b.add_i64_field("vetted", FAST | STORED),
        published: b.add_i64_field("published", FAST | STORED),
        adoptions: b.add_u64_field("adoptions", FAST | STORED),
        popularity: b.add_u64_field("popularity", FAST),
    };
    (b.build(), fields)
}

/// English: words, lowercased, accents folded, stemmed.
pub fn english() -> tantivy::tokenizer::TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(super::stem::EnglishStemmer)
}

/// The analyzer of the `all` field: English, and the vocabulary's phrases as single terms
/// (`phrases.rs`). Its name carries a hash of the vocabulary, so an index built with another
/// `data/synonyms.txt` has another schema and is rebuilt at start-up.
pub static ALL: LazyLock<String> =
    LazyLock::new(|| format!("bs_en_known_{:08x}", super::synonyms::fingerprint()));

pub fn register_analyzers(index: &Index) {
    index.tokenizers().register(EN, english().build());
    index.tokenizers().register(
        ALL.as_str(),
        english().filter(super::phrases::PhraseTerms).build(),
    );
    index
        .tokenizers()
        .register(PAIRS, english().filter(super::pairs::WordPairs).build());
    index.tokenizers().register(
        SPELL,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter)
            .filter(StopWordFilter::remove(super::query::stop_words_as(
                &mut TextAnalyzer::from(SimpleTokenizer::default()),
            )))
            .build(),
    );
}

/// Days since 1970-01-01 of an ISO date, for sorting by newest.
pub fn day_number(iso: Option<&str>) -> i64 {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    iso.and_then(|s| time::Date::parse(s, format).ok())
        .map(|d| i64::from(d.to_julian_day()) - 2_440_588)
        .unwrap_or(0)
}

pub fn id_term(f: &Fields, id: i64) -> Term {
    Term::from_field_u64(f.id, id as u64)
}

pub fn to_document(f: &Fields, d: &IndexDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(f.id, d.id as u64);
    doc.add_text(f.slug, &d.slug);
    doc.add_text(f.title, &d.title);
    doc.add_text(f.summary, &d.summary);
    let aspects = markdown_text(&d.aspects);
    let sections = markdown_text(&d.sections);
    let body = format!("{sections}\n{}", d.extra);
    for text in [&d.title, &d.summary, &aspects, &body] {
        doc.add_text(f.pairs, text);
    }
    // Each value its own: positions leave a gap between values, so a phrase never spans
    // the end of one part and the start of the next.
    for (text, times) in [&d.title, &d.summary, &aspects, &body]
        .into_iter()
        .zip(WEIGHTS)
    {
        for _ in 0..times {
            doc.add_text(f.all, text);
        }
    }
    doc.add_text(f.aspects, &aspects);
    doc.add_text(f.body, body);
    // Only text a reader sees: no Markdown syntax, link targets or HTML comments.
    doc.add_text(
        f.spell,
        format!("{}\n{}\n{}\n{}", d.title, d.summary, aspects, d.extra),
    );
    doc.add_text(f.spell, &sections);
    let mut facet = |name: &str, value: &str| {
        doc.add_facet(f.facets, tantivy::schema::Facet::from_path([name, value]));
        let i = FACET_NAMES
            .iter()
            .position(|n| *n == name)
            .expect("a facet name");
        doc.add_facet(
            f.facet_fields[i],
            tantivy::schema::Facet::from_path([value]),
        );
    };
    for a in &d.challenge_areas {
        facet("challenge", a);
    }
    for g in &d.grade_bands {
        facet("grade", g);
    }
    for s in &d.subjects {
        facet("subject", s);
    }
    facet("stage", &d.stage);
    facet("district", &d.district);
    for l in &d.levels {
        facet("level", l);
    }
    for l in &d.locales {
        facet("locale", l);
    }
    for (name, value) in [("essa", d.essa), ("cost", d.materials), ("start", d.start)] {
        if let Some(v) = value {
            facet(name, v);
        }
    }
    // The sort keys end with the practice's id, so no two practices tie: paging is stable
    // even when a merge renumbers the documents (tantivy breaks ties by document address).
    let day = day_number(d.vetted_on.as_deref()).clamp(0, 0xFFFF);
    let id = d.id as u64 & 0xFFFF_FFFF;
    // Newest vetted first; among the same day, the newer practice.
    doc.add_i64(f.vetted, (day << 32) | id as i64);
    doc.add_i64(f.published, day_number(d.published_on.as_deref()));
    doc.add_u64(f.adoptions, d.adoption_count.max(0) as u64);
    // Most adopted first, then newest.
    let adoptions = (d.adoption_count.clamp(0, 0xFFFF)) as u64;
    doc.add_u64(f.popularity, (adoptions << 48) | ((day as u64) << 32) | id);
    doc
}

/// The readable text of Markdown: what a snippet shows and what gets indexed.
pub fn markdown_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, crate::content::markdown::options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_) | TagEnd::TableRow,
            ) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push_str(" · "),
            _ => {}
        }
    }
    out
}

//! Snippets: a hit's text around where the query matched, with the matched words marked.
//!
//! tantivy's snippet generator analyses (tokenizes, folds and stems) the whole text it is
//! given, and a practice's body is a thousand words: for 20 hits and three fields, that was
//! a sixth of a broad search's time. A stem begins with the first letters of the words it
//! stems from, so a plain byte search for those letters at the start of a word finds where a
//! match can be; only a window around it is analysed. When no window holds a real match (the
//! letters began another word, or a word folds to its stem from other letters, as "élève"),
//! the whole text is analysed as before, so a field that matched always gets its snippet.

use std::collections::{BTreeMap, BTreeSet};

use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::{Searcher, Term};

/// Letters of a term looked for: enough to skip most words, few enough that the stem's
/// changes at its end ("studi" for "study") do not matter.
const PREFIX_BYTES: usize = 4;
/// Windows tried for one that shows every term, before the one that shows the most wins
/// (or, when none shows any, the whole text is analysed).
const MAX_WINDOWS: usize = 2;

/// Snippets of one field for one query.
pub struct FieldSnippets {
    generator: SnippetGenerator,
    /// The first letters of each of the query's terms in this field, without repeats.
    prefixes: Vec<Vec<u8>>,
    max_chars: usize,
}

impl FieldSnippets {
    /// Snippets of the stored `field` for the query's terms in the indexed field `indexed`.
    /// `None` when the query has no term that the catalog has: no snippet can come from it,
    /// and no text need be read.
    pub fn create(
        searcher: &Searcher,
        query: &dyn Query,
        indexed: Field,
        field: Field,
        max_chars: usize,
    ) -> tantivy::Result<Option<Self>> {
        let mut terms: BTreeSet<Term> = BTreeSet::new();
        query.query_terms(&mut |term, _| {
            if term.field() == indexed {
                terms.insert(term.clone());
            }
        });
        // What `SnippetGenerator::create` does, keeping the terms' text for the prefixes. A
        // known phrase's single term ("english_languag_learner") is marked as its words,
        // as a phrase query's are.
        let mut scored = BTreeMap::new();
        for term in &terms {
            let value = term.value();
            let Some(text) = value.as_str() else {
                continue;
            };
            for word in text.split('_') {
                let doc_freq = searcher.doc_freq(&Term::from_field_text(indexed, word))?;
                if doc_freq > 0 {
                    scored.insert(word.to_string(), 1.0 / (1.0 + doc_freq as f32));
                }
            }
        }
        if scored.is_empty() {
            return Ok(None);
        }
        let mut prefixes: Vec<Vec<u8>> = scored
            .keys()
            .map(|t| t.as_bytes()[..t.len().min(PREFIX_BYTES)].to_vec())
            .collect();
        prefixes.dedup();
        // English alone, without the phrases' terms: the words are what is marked.
        let tokenizer = searcher
            .index()
            .tokenizers()
            .get(super::schema::EN)
            .ok_or_else(|| tantivy::TantivyError::InternalError("no English analyzer".into()))?;
        Ok(Some(Self {
            generator: SnippetGenerator::new(scored, tokenizer, field, max_chars),
            prefixes,
            max_chars,
        }))
    }

    /// The snippet of `text`: empty when none of the query's terms is in it. Windows are
    /// tried in order until one shows every term; otherwise the one that shows the most.
    pub fn snippet(&self, text: &str) -> Snippet {
        if text.len() <= 2 * MAX_WINDOWS * self.max_chars {
            return self.generator.snippet(text);
        }
        let lower = text.to_ascii_lowercase();
        let mut best: Option<(usize, Snippet)> = None;
        let mut from = 0;
        for _ in 0..MAX_WINDOWS {
            let Some(at) = self.next_candidate(lower.as_bytes(), from) else {
                break;
            };
            let snippet = self.generator.snippet(window(text, at, self.max_chars));
            let shown = self.terms_shown(&snippet);
            if shown == self.prefixes.len() {
                return snippet;
            }
            if shown > best.as_ref().map_or(0, |(n, _)| *n) {
                best = Some((shown, snippet));
            }
            // The next window starts past most of this one.
            from = (at + self.max_chars).min(lower.len());
        }
        match best {
            Some((_, snippet)) => snippet,
            None => self.generator.snippet(text),
        }
    }

    /// How many of the query's terms (told apart by their first letters) `snippet` marks.
    fn terms_shown(&self, snippet: &Snippet) -> usize {
        let fragment = snippet.fragment().as_bytes();
        self.prefixes
            .iter()
            .filter(|p| {
                snippet.highlighted().iter().any(|r| {
                    fragment[r.clone()]
                        .get(..p.len())
                        .is_some_and(|b| b.eq_ignore_ascii_case(p))
                })
            })
            .count()
    }

    /// The first byte at or after `from` where a word starts with one of the prefixes.
    fn next_candidate(&self, lower: &[u8], from: usize) -> Option<usize> {
        self.prefixes
            .iter()
            .filter_map(|p| {
                memchr::memmem::find_iter(&lower[from..], p)
                    .map(|i| from + i)
                    .find(|&i| {
                        i == 0 || !lower[i - 1].is_ascii_alphanumeric() && lower[i - 1] < 0x80
                    })
            })
            .min()
    }
}

/// The whole words of `text` within half of `max_chars` bytes before `at` and one and a half
/// after it: room for the best fragment of `max_chars` around the match.
fn window(text: &str, at: usize, max_chars: usize) -> &str {
    let mut start = at.saturating_sub(max_chars / 2);
    let mut end = (at + max_chars * 3 / 2).min(text.len());
    while !text.is_char_boundary(start) {
        start += 1;
    }
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Not half a word at either edge: it could analyse to a word the text does not have.
    if start > 0
        && let Some(space) = text[start..at].find(char::is_whitespace)
    {
        start += space;
    }
    if end < text.len()
        && let Some(space) = text[at..end].rfind(char::is_whitespace)
    {
        end = at + space;
    }
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::IndexRecordOption;
    use tantivy::{Index, TantivyDocument};

    use super::*;
    use crate::search::schema;

    /// An index of one practice whose body is `body`, and a searcher over it.
    fn one_body(body: &str) -> (Searcher, Field) {
        let (s, f) = schema::schema();
        let index = Index::create_in_ram(s);
        schema::register_analyzers(&index);
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut doc = TantivyDocument::default();
        doc.add_text(f.all, body);
        writer.add_document(doc).unwrap();
        writer.commit().unwrap();
        (index.reader().unwrap().searcher(), f.all)
    }

    fn query(field: Field, stems: &[&str]) -> BooleanQuery {
        BooleanQuery::new(
            stems
                .iter()
                .map(|t| {
                    let q = TermQuery::new(
                        Term::from_field_text(field, t),
                        IndexRecordOption::WithFreqs,
                    );
                    (Occur::Should, Box::new(q) as Box<dyn Query>)
                })
                .collect(),
        )
    }

    fn marked(body: &str, stems: &[&str]) -> Vec<String> {
        let (searcher, field) = one_body(body);
        let snippets = FieldSnippets::create(&searcher, &query(field, stems), field, field, 220)
            .unwrap()
            .expect("the body has the terms");
        let snippet = snippets.snippet(body);
        // Whatever the windows find, the whole text's analysis agrees that there is a match.
        let whole = snippets.generator.snippet(body);
        assert_eq!(
            snippet.highlighted().is_empty(),
            whole.highlighted().is_empty()
        );
        snippet
            .highlighted()
            .iter()
            .map(|r| snippet.fragment()[r.clone()].to_string())
            .collect()
    }

    /// `n` sentences with none of the searched words.
    fn filler(n: usize) -> String {
        "Teachers plan the week together and share notes. ".repeat(n)
    }

    #[test]
    fn a_word_deep_in_a_long_text_is_marked() {
        let filler = filler(60);
        let body = format!("{filler}Students lead the Discussions on Fridays. {filler}");
        assert_eq!(marked(&body, &["discuss"]), ["Discussions"]);
        // A stem that changes its last letter: "studi" from "study".
        let body = format!("{filler}Each study group meets. {filler}");
        assert_eq!(marked(&body, &["studi"]), ["study"]);
    }

    #[test]
    fn words_found_by_other_letters_fall_back_to_the_whole_text() {
        let filler = filler(60);
        // "Élèves" folds to "eleves": no byte of it starts with "elev".
        let body = format!("{filler}Les Élèves lisent. {filler}");
        assert_eq!(marked(&body, &["elev"]), ["Élèves"]);
        // "disc" begins many words before the one that matches.
        let decoys = "A disco, a disc, a discount and discipline. ".repeat(10);
        let body = format!("{decoys}{filler}Discussion time. {filler}");
        assert_eq!(marked(&body, &["discuss"]), ["Discussion"]);
    }

    #[test]
    fn a_known_phrase_is_marked_as_its_words() {
        let filler = filler(30);
        let body = format!("{filler}Chronic absence fell by a third. {filler}");
        assert_eq!(marked(&body, &["chronic_absenc"]), ["Chronic", "absence"]);
    }

    #[test]
    fn a_window_with_every_term_wins_over_the_first() {
        let filler = filler(30);
        let body = format!("An exit ticket first. {filler}{filler}Then exit slips daily. {filler}");
        assert_eq!(marked(&body, &["exit", "slip"]), ["exit", "slips"]);
    }

    #[test]
    fn a_window_holds_whole_words_around_the_position() {
        let text = "alpha beta gamma delta epsilon zeta eta theta";
        let at = text.find("delta").unwrap();
        let w = window(text, at, 8);
        assert!(w.contains("delta"));
        for word in w.split_whitespace() {
            assert!(
                text.split_whitespace().any(|t| t == word),
                "{word:?} is half a word"
            );
        }
        assert_eq!(window(text, 0, 100), text);
        let accented = "élève élève élève élève";
        assert!(accented.contains(window(accented, 7, 3)));
    }
}

//! Word pairs: a token filter that turns a stream of terms into the pairs of adjacent terms
//! ("english languag", "languag learner", "teacher not"; a pair of two stop words such as
//! "of the" is left out: they are a quarter of all pairs, in nearly every practice, so they
//! would narrow nothing). The `pairs` field indexes a hash bucket of each pair, so that a
//! phrase is first narrowed to the practices that have all its pairs (one term lookup per
//! pair), and word positions are checked only there: a phrase of common words ("english
//! language learners", a synonym of "ELL", or "students were") used to check positions in most
//! of the catalog.

use std::fmt::Write;
use std::sync::LazyLock;

use rustc_hash::FxHashSet;
use tantivy::tokenizer::{
    LowerCaser, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// The stop words as the English analyzer writes them ("don't" is "don" and "t").
static STOP_TERMS: LazyLock<FxHashSet<String>> = LazyLock::new(|| {
    let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(super::stem::EnglishStemmer)
        .build();
    super::query::stop_words_as(&mut analyzer)
        .into_iter()
        .collect()
});

fn is_stop(term: &str) -> bool {
    STOP_TERMS.contains(term)
}

/// Whether analysed terms say anything: not only stop words ("of the", "don't").
pub fn has_content(terms: &[String]) -> bool {
    terms.iter().any(|t| !is_stop(t))
}

/// How many bits of a pair's hash the index keeps: 262,144 buckets. A practice has some 700
/// distinct pairs, so it has a given bucket by chance one time in 370.
const PAIR_BITS: u32 = 18;

/// The indexed term of two adjacent analysed terms: a bucket of their 32-bit FNV-1a hash, in
/// hex. The field only narrows a phrase before the fields check it exactly, so a bucket
/// shared by other pairs costs a few more checks, never a wrong hit; and a few hundred
/// thousand short terms keep the indexer's term table in the processor's cache, where
/// millions of distinct pairs made the pairs cost more than all the text fields together.
/// (FNV is written out here: its buckets are part of the index format.)
pub fn pair(first: &str, second: &str) -> String {
    let mut out = String::new();
    write_pair(&mut out, first, second);
    out
}

fn write_pair(out: &mut String, first: &str, second: &str) {
    let mut h: u32 = 0x811c_9dc5;
    for b in first.bytes().chain([b' ']).chain(second.bytes()) {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let bucket = (h ^ (h >> PAIR_BITS)) & ((1 << PAIR_BITS) - 1);
    out.clear();
    let _ = write!(out, "{bucket:x}");
}

/// The pairs of adjacent terms of an analysed phrase that the index has, in order: none for
/// a single term or for stop words only ("of the").
pub fn pairs_of(terms: &[String]) -> Vec<String> {
    terms
        .windows(2)
        .filter(|w| !(is_stop(&w[0]) && is_stop(&w[1])))
        .map(|w| pair(&w[0], &w[1]))
        .collect()
}

#[derive(Clone, Copy, Default)]
pub struct WordPairs;

impl TokenFilter for WordPairs {
    type Tokenizer<T: Tokenizer> = WordPairsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> WordPairsFilter<T> {
        WordPairsFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct WordPairsFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for WordPairsFilter<T> {
    type TokenStream<'a> = WordPairsStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        WordPairsStream {
            tail: self.inner.token_stream(text),
            previous: None,
            token: Token::default(),
        }
    }
}

/// The previous term, kept in buffers reused for the whole text (no allocation per term:
/// this runs for every word of the catalog on a rebuild).
struct Previous {
    text: String,
    position: usize,
    offset_from: usize,
    stop: bool,
}

pub struct WordPairsStream<T> {
    tail: T,
    previous: Option<Previous>,
    token: Token,
}

impl<T: TokenStream> TokenStream for WordPairsStream<T> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let current = self.tail.token();
            let stop = is_stop(&current.text);
            // Only terms a phrase query would see as adjacent make a pair (a term removed
            // by a filter leaves a gap in the positions).
            let mut pairs = false;
            if let Some(previous) = &self.previous
                && previous.position + 1 == current.position
                && !(previous.stop && stop)
            {
                write_pair(&mut self.token.text, &previous.text, &current.text);
                self.token.offset_from = previous.offset_from;
                self.token.offset_to = current.offset_to;
                self.token.position = previous.position;
                self.token.position_length = 1;
                pairs = true;
            }
            let previous = self.previous.get_or_insert_with(|| Previous {
                text: String::new(),
                position: 0,
                offset_from: 0,
                stop,
            });
            previous.text.clear();
            previous.text.push_str(&current.text);
            previous.position = current.position;
            previous.offset_from = current.offset_from;
            previous.stop = stop;
            if pairs {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer};

    #[test]
    fn adjacent_terms_pair_up_and_gaps_do_not() {
        let mut a = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(10))
            .filter(LowerCaser)
            .filter(WordPairs)
            .build();
        let mut s = a.token_stream(
            "English Language learners averyveryverylongword talk of the town's people",
        );
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        let expected = [
            ("english", "language"),
            ("language", "learners"),
            ("talk", "of"),
            ("the", "town"),
            ("town", "s"),
            ("s", "people"),
        ]
        .map(|(a, b)| pair(a, b));
        assert_eq!(out, expected);
        let terms = ["exit", "slip", "and", "the", "cold", "call"].map(String::from);
        let expected = [
            ("exit", "slip"),
            ("slip", "and"),
            ("the", "cold"),
            ("cold", "call"),
        ];
        assert_eq!(pairs_of(&terms), expected.map(|(a, b)| pair(a, b)));
        // Buckets are short and spread: no two of these pairs share one.
        let buckets: FxHashSet<String> = out.iter().chain(&pairs_of(&terms)).cloned().collect();
        assert_eq!(buckets.len(), 10);
        assert!(buckets.iter().all(|b| b.len() <= 5));
        assert!(pairs_of(&["of", "the"].map(String::from)).is_empty());
        assert!(!has_content(&["don", "t"].map(String::from)));
    }
}

//! Word pairs: a token filter that turns a stream of terms into the pairs of adjacent content
//! terms ("english languag", "languag learner"; a pair with a stop word such as "of the" is
//! left out, which halves what the field costs to build and store). The `pairs` field indexes
//! them so that a phrase is one cheap term lookup per pair instead of a check of positions
//! in every practice that has its words: a phrase of common words ("english language
//! learners", a synonym of "ELL") used to check positions in most of the catalog.

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
    let mut terms = FxHashSet::default();
    for word in super::query::STOP_WORDS {
        let mut stream = analyzer.token_stream(word);
        while stream.advance() {
            terms.insert(stream.token().text.clone());
        }
    }
    terms
});

fn is_content(term: &str) -> bool {
    !STOP_TERMS.contains(term)
}

/// The indexed term of two adjacent analysed terms. The tokenizer never yields a space, so a
/// pair can never equal a single term.
pub fn pair(first: &str, second: &str) -> String {
    format!("{first} {second}")
}

/// The pairs of adjacent content terms of an analysed phrase, in order (none for "in math"
/// or "reading and writing").
pub fn pairs_of(terms: &[String]) -> Vec<String> {
    terms
        .windows(2)
        .filter(|w| is_content(&w[0]) && is_content(&w[1]))
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

pub struct WordPairsStream<T> {
    tail: T,
    previous: Option<Token>,
    token: Token,
}

impl<T: TokenStream> TokenStream for WordPairsStream<T> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let current = self.tail.token().clone();
            // Only terms a phrase query would see as adjacent make a pair (a term removed
            // by a filter leaves a gap in the positions).
            if let Some(previous) = self.previous.replace(current.clone())
                && previous.position + 1 == current.position
                && is_content(&previous.text)
                && is_content(&current.text)
            {
                self.token = Token {
                    offset_from: previous.offset_from,
                    offset_to: current.offset_to,
                    position: previous.position,
                    text: pair(&previous.text, &current.text),
                    position_length: 1,
                };
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
        assert_eq!(
            out,
            vec![
                "english language",
                "language learners",
                "town s",
                "s people"
            ]
        );
        let terms = ["exit", "slip", "and", "the", "cold", "call"].map(String::from);
        assert_eq!(pairs_of(&terms), vec!["exit slip", "cold call"]);
    }
}

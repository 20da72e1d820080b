//! English stemming with a per-thread memo. Snippets re-analyse the stored text of every hit
//! (a thousand words each), and the Snowball stemmer showed up as a fifth of a broad query's
//! time; a catalog's vocabulary is small next to its text, so most words are stemmed once.

use std::cell::RefCell;

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Entries kept per thread before the memo starts over (a few MB at most).
const MAX_ENTRIES: usize = 100_000;

thread_local! {
    static MEMO: RefCell<(frostem::Stemmer, FxHashMap<String, String>)> =
        RefCell::new((frostem::Stemmer::new(frostem::Algorithm::English), FxHashMap::default()));
}

/// Stems English tokens exactly as tantivy's `Stemmer::new(Language::English)` does.
#[derive(Clone, Copy, Default)]
pub struct EnglishStemmer;

impl TokenFilter for EnglishStemmer {
    type Tokenizer<T: Tokenizer> = EnglishStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> EnglishStemmerFilter<T> {
        EnglishStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct EnglishStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for EnglishStemmerFilter<T> {
    type TokenStream<'a> = EnglishStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        EnglishStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

pub struct EnglishStemmerStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for EnglishStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        MEMO.with(|memo| {
            let (stemmer, memo) = &mut *memo.borrow_mut();
            if let Some(stem) = memo.get(&token.text) {
                token.text.clone_from(stem);
                return;
            }
            let stem = stemmer.stem(&token.text).into_owned();
            if memo.len() >= MAX_ENTRIES {
                memo.clear();
            }
            memo.insert(std::mem::replace(&mut token.text, stem.clone()), stem);
        });
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::tokenizer::{Language, LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer};

    fn tokens(mut a: TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut s = a.token_stream(text);
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }

    #[test]
    fn same_stems_as_tantivy() {
        let text = "Students were discussing their reasoning; teachers discussed, argued and argues again running runners";
        let ours = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(EnglishStemmer)
            .build();
        let theirs = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build();
        // Twice: the second pass is served from the memo.
        for _ in 0..2 {
            assert_eq!(tokens(ours.clone(), text), tokens(theirs.clone(), text));
        }
    }
}

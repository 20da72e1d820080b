//! Known phrases as single terms. Every member of the education vocabulary that is several
//! words once analysed ("english language learners", "chronic absence", "social-emotional
//! learning") is also indexed as one term at the position of its first word
//! ("english_languag_learner"), so a search for it — most teachers' queries hold one — is one
//! posting list, where a phrase query checks word positions in every practice that has its
//! words (profiled as a sixth of a natural query's time).
//!
//! The term is indexed only where the words stand next to each other, in order, in one part of
//! a practice: exactly where the phrase query matched. `_` cannot be part of a word (the
//! tokenizer splits on it), so no real word is ever such a term.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// The analysed forms (stems) of the vocabulary's phrases.
struct Known {
    phrases: HashSet<Vec<String>>,
    /// First stem → the lengths of the phrases that start with it, longest first.
    lengths: HashMap<String, Vec<usize>>,
}

static KNOWN: LazyLock<Known> = LazyLock::new(|| {
    let mut english = super::schema::english().build();
    let mut analyse = |text: &str| {
        let mut stream = english.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    };
    let phrases: HashSet<Vec<String>> = super::synonyms::Synonyms::default()
        .members()
        .map(|member| analyse(&member))
        .filter(|stems| stems.len() > 1)
        .collect();
    let mut lengths: HashMap<String, Vec<usize>> = HashMap::new();
    for p in &phrases {
        lengths.entry(p[0].clone()).or_default().push(p.len());
    }
    for l in lengths.values_mut() {
        l.sort_unstable_by(|a, b| b.cmp(a));
        l.dedup();
    }
    Known { phrases, lengths }
});

/// The single term of `stems` when they are a known phrase.
pub fn term(stems: &[String]) -> Option<String> {
    (stems.len() > 1 && KNOWN.phrases.contains(stems)).then(|| stems.join("_"))
}

/// A token filter that adds, after the first word of every known phrase in the stream, the
/// phrase's term (same position, spanning the phrase's words).
#[derive(Clone)]
pub struct PhraseTerms;

impl TokenFilter for PhraseTerms {
    type Tokenizer<T: Tokenizer> = PhraseTermsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> PhraseTermsFilter<T> {
        PhraseTermsFilter(tokenizer)
    }
}

#[derive(Clone)]
pub struct PhraseTermsFilter<T>(T);

impl<T: Tokenizer> Tokenizer for PhraseTermsFilter<T> {
    type TokenStream<'a> = PhraseTermsStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PhraseTermsStream {
        let mut inner = self.0.token_stream(text);
        let mut words = Vec::new();
        while inner.advance() {
            // A clone: the tokenizer counts positions on from its own token.
            words.push(inner.token().clone());
        }
        // The phrases, each after its first word; most texts have none.
        let mut found: Vec<(usize, Token)> = Vec::new();
        for (i, word) in words.iter().enumerate() {
            for &n in KNOWN.lengths.get(&word.text).into_iter().flatten() {
                let Some(run) = words.get(i..i + n) else {
                    continue;
                };
                let stems: Vec<String> = run.iter().map(|t| t.text.clone()).collect();
                if let Some(text) = term(&stems) {
                    let token = Token {
                        offset_from: word.offset_from,
                        offset_to: run[n - 1].offset_to,
                        position: word.position,
                        text,
                        position_length: n,
                    };
                    found.push((i, token));
                }
            }
        }
        let tokens = if found.is_empty() {
            words
        } else {
            let mut tokens = Vec::with_capacity(words.len() + found.len());
            let mut found = found.into_iter().peekable();
            for (i, word) in words.into_iter().enumerate() {
                tokens.push(word);
                while let Some((_, phrase)) = found.next_if(|(at, _)| *at == i) {
                    tokens.push(phrase);
                }
            }
            tokens
        };
        PhraseTermsStream {
            tokens,
            next: 0,
            token: Token::default(),
        }
    }
}

pub struct PhraseTermsStream {
    tokens: Vec<Token>,
    next: usize,
    token: Token,
}

impl TokenStream for PhraseTermsStream {
    fn advance(&mut self) -> bool {
        let Some(token) = self.tokens.get_mut(self.next) else {
            return false;
        };
        self.token = std::mem::take(token);
        self.next += 1;
        true
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

    fn terms(text: &str) -> Vec<(String, usize)> {
        let mut analyzer = super::super::schema::english().filter(PhraseTerms).build();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    #[test]
    fn a_known_phrase_is_also_one_term_at_its_first_word() {
        let t = terms("Our English language learners read");
        assert!(
            t.contains(&("english_languag_learner".to_string(), 1)),
            "{t:?}"
        );
        // The words themselves are all still there, at their positions.
        assert!(t.contains(&("learner".to_string(), 3)));
        // Words apart, or out of order, are not the phrase.
        assert!(
            !terms("english and language learners")
                .iter()
                .any(|(t, _)| t.contains('_'))
        );
        assert!(
            !terms("learners english language")
                .iter()
                .any(|(t, _)| t.contains('_'))
        );
        assert_eq!(
            term(&["chronic".to_string(), "absenc".to_string()]),
            Some("chronic_absenc".to_string())
        );
        assert_eq!(term(&["exit".to_string(), "slip".to_string()]), None);
    }
}

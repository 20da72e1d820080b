//! Reads what a teacher typed: words, "quoted phrases", -excluded words. Never fails: any
//! text is a query, and what cannot be a query is dropped.

/// Longer queries are cut here (with a notice to the person).
pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct UserQuery {
    /// Plain words, lowercased, in order.
    pub words: Vec<String>,
    /// Quoted phrases, lowercased.
    pub phrases: Vec<String>,
    /// Words after a `-`, lowercased.
    pub excluded: Vec<String>,
    /// The query cut to `MAX_QUERY_CHARS`, with controls removed and spaces collapsed: what
    /// the search box shows back and what the search log keeps.
    pub normalized: String,
    pub truncated: bool,
}

impl UserQuery {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.phrases.is_empty() && self.excluded.is_empty()
    }

    /// What a search leaves out because it is only stop words, as the person wrote it: a
    /// quoted phrase (`"of the"`), an exclusion (`-the`), and the words when every one is a
    /// stop word. (Stop words among other words are left out too, silently: "kids don't
    /// talk in math" needs no notice.)
    pub fn ignored(&self) -> Vec<String> {
        let only_stop = |text: &str| text.split(' ').all(is_stop_word);
        let mut out: Vec<String> = self
            .phrases
            .iter()
            .filter(|p| only_stop(p))
            .map(|p| format!("\"{p}\""))
            .collect();
        if !self.words.is_empty() && self.words.iter().all(|w| is_stop_word(w)) {
            out.extend(self.words.iter().cloned());
        }
        out.extend(
            self.excluded
                .iter()
                .filter(|w| is_stop_word(w))
                .map(|w| format!("-{w}")),
        );
        out
    }

    pub fn parse(input: &str) -> UserQuery {
        let cleaned: String = input
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
        let truncated = collapsed.chars().count() > MAX_QUERY_CHARS;
        let normalized: String = if truncated {
            collapsed
                .chars()
                .take(MAX_QUERY_CHARS)
                .collect::<String>()
                .trim_end()
                .to_string()
        } else {
            collapsed
        };

        let mut q = UserQuery {
            truncated,
            ..Default::default()
        };
        let mut rest = normalized.as_str();
        while let Some(c) = rest.chars().next() {
            if c == ' ' {
                rest = &rest[1..];
            } else if c == '"' {
                match rest[1..].find('"') {
                    Some(end) => {
                        let phrase = rest[1..1 + end].trim().to_lowercase();
                        if !phrase.is_empty() {
                            q.phrases.push(phrase);
                        }
                        rest = &rest[end + 2..];
                    }
                    // An unbalanced quote is just a character.
                    None => rest = &rest[1..],
                }
            } else {
                let end = rest.find([' ', '"']).unwrap_or(rest.len());
                let token = &rest[..end];
                rest = &rest[end..];
                match token {
                    "AND" | "OR" | "NOT" | "&&" | "||" => {}
                    t if t.starts_with('-') => {
                        let word = bare(t);
                        if !word.is_empty() {
                            q.excluded.push(word);
                        }
                    }
                    t => {
                        let word = bare(t);
                        if !word.is_empty() {
                            q.words.push(word);
                        }
                    }
                }
            }
        }
        q.normalized = normalized;
        q
    }
}

/// A word without the punctuation around it ("math?" → "math", "+word" → "word"), lowercased;
/// inner apostrophes and hyphens stay ("don't", "k-2").
pub fn bare(token: &str) -> String {
    token
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// Words that carry no meaning in a teacher's query.
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "do", "does", "don't",
    "dont", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in",
    "into", "is", "it", "its", "my", "no", "not", "of", "on", "or", "our", "she", "so", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "too",
    "very", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with",
    "won't", "you", "your",
];

/// The stop words as `analyzer` writes them (the simple tokenizer splits "don't" into "don"
/// and "t"; the English analyzer also stems).
pub fn stop_words_as(analyzer: &mut tantivy::tokenizer::TextAnalyzer) -> Vec<String> {
    let mut out = Vec::new();
    for word in STOP_WORDS {
        let mut stream = analyzer.token_stream(word);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
    }
    out
}

pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\''))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_phrases_and_exclusions() {
        let q = UserQuery::parse(r#"Chronic  "exit slips" -homework math?"#);
        assert_eq!(q.words, vec!["chronic", "math"]);
        assert_eq!(q.phrases, vec!["exit slips"]);
        assert_eq!(q.excluded, vec!["homework"]);
        assert_eq!(q.normalized, r#"Chronic "exit slips" -homework math?"#);
    }

    #[test]
    fn stop_words_alone_are_named_as_ignored() {
        let ignored = |q: &str| UserQuery::parse(q).ignored();
        assert_eq!(ignored(r#""of the" -the talk"#), vec!["\"of the\"", "-the"]);
        assert_eq!(ignored("in the"), vec!["in", "the"]);
        assert!(ignored(r#"kids don't talk in math "turn and talk""#).is_empty());
    }

    #[test]
    fn hostile_input_never_fails() {
        for input in [
            "\"unbalanced",
            "-",
            "- -- ---",
            "AND OR NOT",
            "\u{0}\u{7}bell",
            "🎉 emoji",
            "' OR 1=1; --",
            "<script>",
        ] {
            let _ = UserQuery::parse(input);
        }
        let q = UserQuery::parse("\"unbalanced quote");
        assert_eq!(q.words, vec!["unbalanced", "quote"]);
        assert!(UserQuery::parse("AND OR NOT -").is_empty());
        let long = "word ".repeat(5000);
        let q = UserQuery::parse(&long);
        assert!(q.truncated && q.normalized.chars().count() <= MAX_QUERY_CHARS);
    }
}

//! The education vocabulary (`data/synonyms.txt`): groups of words and phrases that mean the
//! same thing to a teacher, expanded at query time so either form finds the other.

use std::collections::HashMap;

const DATA: &str = include_str!("../../data/synonyms.txt");

/// A hash of the vocabulary (FNV-1a): the index's terms depend on it (see `phrases`).
pub fn fingerprint() -> u32 {
    DATA.bytes().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub struct Synonyms {
    /// Each group's members, each member split into words.
    groups: Vec<Vec<Vec<String>>>,
    /// First word of a member → (group, member) pairs starting with it.
    by_first_word: HashMap<String, Vec<(usize, usize)>>,
}

impl Default for Synonyms {
    fn default() -> Self {
        Synonyms::parse(DATA)
    }
}

impl Synonyms {
    pub fn parse(text: &str) -> Synonyms {
        let mut groups = Vec::new();
        let mut by_first_word: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let members: Vec<Vec<String>> = line
                .split(',')
                .map(|m| {
                    m.split_whitespace()
                        .map(str::to_lowercase)
                        .collect::<Vec<_>>()
                })
                .filter(|m: &Vec<String>| !m.is_empty())
                .collect();
            let g = groups.len();
            for (i, m) in members.iter().enumerate() {
                by_first_word.entry(m[0].clone()).or_default().push((g, i));
            }
            groups.push(members);
        }
        Synonyms {
            groups,
            by_first_word,
        }
    }

    /// Every member of every group, its words joined by spaces ("english language learners").
    pub fn members(&self) -> impl Iterator<Item = String> + '_ {
        self.groups.iter().flatten().map(|words| words.join(" "))
    }

    /// Splits lowercased `words` into concepts: a run of words that is a member of a group
    /// becomes that group's members (the matched one first); any other word stands alone.
    pub fn concepts(&self, words: &[String]) -> Vec<Vec<Vec<String>>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let best = self
                .by_first_word
                .get(&words[i])
                .into_iter()
                .flatten()
                .filter(|(g, m)| {
                    let member = &self.groups[*g][*m];
                    words.len() >= i + member.len() && words[i..i + member.len()] == member[..]
                })
                .max_by_key(|(g, m)| self.groups[*g][*m].len());
            match best {
                Some(&(g, m)) => {
                    let matched = self.groups[g][m].clone();
                    i += matched.len();
                    let mut alternatives = vec![matched.clone()];
                    alternatives.extend(self.groups[g].iter().filter(|x| **x != matched).cloned());
                    out.push(alternatives);
                }
                None => {
                    out.push(vec![vec![words[i].clone()]]);
                    i += 1;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn longest_member_wins_and_matched_form_comes_first() {
        let s = Synonyms::parse("ell, english learners, eld\nsel, social-emotional learning\n");
        let c = s.concepts(&words("support english learners daily"));
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], vec![words("support")]);
        assert_eq!(c[1][0], words("english learners"));
        assert!(c[1].contains(&words("ell")) && c[1].contains(&words("eld")));
        assert_eq!(
            s.concepts(&words("sel"))[0][1],
            words("social-emotional learning")
        );
    }

    #[test]
    fn the_shipped_file_parses() {
        let s = Synonyms::default();
        assert!(s.concepts(&words("absenteeism"))[0].contains(&words("attendance")));
        assert!(s.concepts(&words("rti"))[0].contains(&words("mtss")));
    }
}

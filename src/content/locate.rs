//! Finds the line of a TOML key, so that errors found after parsing still point at a line.

use std::collections::HashMap;

/// Maps field paths (`title`, `measures[2].n`, `adoption[1].measures[1].n`; arrays count from
/// 1) to the line they are on.
pub struct Locator {
    lines: HashMap<String, usize>,
}

impl Locator {
    /// `first_line` is the file line of the first line of `toml` (front matter starts on 2).
    pub fn new(toml: &str, first_line: usize) -> Locator {
        let mut lines = HashMap::new();
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut prefix = String::new();
        for (i, raw) in toml.lines().enumerate() {
            let line_no = first_line + i;
            let line = raw.trim();
            if let Some(name) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
                // `[[a.b]]` is the next `b` inside the current `a`.
                let (parent, last) = match name.rsplit_once('.') {
                    Some((parent, last)) => (indexed(&prefix, parent), last),
                    None => (String::new(), name),
                };
                let key = format!("{parent}{}", last.trim());
                let n = counts.entry(key.clone()).or_default();
                *n += 1;
                let path = format!("{key}[{n}]");
                lines.insert(path.clone(), line_no);
                lines.entry(key).or_insert(line_no);
                prefix = format!("{path}.");
            } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                // `[cost]`: one table, its keys are `cost.key`.
                let name = name.trim();
                lines.entry(name.to_string()).or_insert(line_no);
                prefix = format!("{name}.");
            } else if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                if !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    lines.entry(format!("{prefix}{key}")).or_insert(line_no);
                }
            }
        }
        Locator { lines }
    }

    /// The line of `path`, or of its nearest enclosing table.
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(line) = self.lines.get(path) {
                return Some(*line);
            }
            // `tags[2]` → `tags`; `measures[2].n` → `measures[2]`.
            let cut = path.rfind(['.', '['])?;
            path = &path[..cut];
        }
    }
}

/// `adoption` within prefix `adoption[3].` (or `adoption[3].measures[1].`, after a first
/// nested table) → `adoption[3].`
fn indexed(prefix: &str, parent: &str) -> String {
    if let Some(rest) = prefix.strip_prefix(&format!("{parent}["))
        && let Some(end) = rest.find("].")
    {
        format!("{parent}[{}].", &rest[..end])
    } else {
        format!("{parent}.")
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::Locator;

    #[test]
    fn finds_keys_in_arrays_of_tables() {
        let toml = "title = \"x\"\n\n[[measures]]\nn = 1\n\n[[measures]]\nname = \"b\"\nn = 2\n";
        let loc = Locator::new(toml, 2);
        assert_eq!(loc.line("title"), Some(2));
        assert_eq!(loc.line("measures[2].n"), Some(9));
        assert_eq!(loc.line("measures[2].unit"), Some(7));
        assert_eq!(loc.line("nothing"), None);
    }

    #[test]
    fn finds_nested_arrays() {
        let toml = "[[adoption]]\nteam = \"a\"\n[[adoption]]\nteam = \"b\"\n[[adoption.measures]]\nn = 3\n";
        let loc = Locator::new(toml, 1);
        assert_eq!(loc.line("adoption[2].measures[1].n"), Some(6));
        // A second nested table of the same parent is its sibling, not its child.
        let toml = "[[question]]\n[[question.answers]]\nteam = \"a\"\n[[question.answers]]\nteam = \"b\"\n[[question]]\n[[question.answers]]\nteam = \"c\"\n";
        let loc = Locator::new(toml, 1);
        assert_eq!(loc.line("question[1].answers[2].team"), Some(5));
        assert_eq!(loc.line("question[2].answers[1].team"), Some(8));
    }
}

//! Writes TOML in the one canonical layout that `export` produces, so that a round trip is
//! byte-identical whatever layout the files had when imported.

use std::fmt::Write;

use time::Date;

/// Accumulates `key = value` lines.
#[derive(Default)]
pub struct TomlWriter {
    pub out: String,
}

impl TomlWriter {
    pub fn table(&mut self, header: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let _ = writeln!(self.out, "[[{header}]]");
    }

    /// A `[header]` table (one, not an array of tables).
    pub fn single_table(&mut self, header: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let _ = writeln!(self.out, "[{header}]");
    }

    pub fn str(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.out, "{key} = {}", quote(value));
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.str(key, v);
        }
    }

    pub fn strs<S: AsRef<str>>(&mut self, key: &str, values: &[S]) {
        let items: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
        let _ = writeln!(self.out, "{key} = [{}]", items.join(", "));
    }

    pub fn raw(&mut self, key: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{key} = {value}");
    }

    pub fn date(&mut self, key: &str, value: Option<Date>) {
        if let Some(d) = value {
            self.raw(key, d);
        }
    }

    pub fn number(&mut self, key: &str, value: f64) {
        self.raw(key, number(value));
    }
}

/// A basic TOML string with every escape it needs.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whole numbers without a fraction (`38`), others in their shortest exact form (`3.4`).
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_parse_back() {
        for s in [
            "plain",
            "with \"quotes\" and \\",
            "tab\tnew\nline",
            "bell\u{7}",
            "émoji 🎉",
        ] {
            let doc = format!("v = {}", quote(s));
            let table: toml::Table = toml::from_str(&doc).unwrap();
            assert_eq!(table["v"].as_str(), Some(s));
        }
        assert_eq!(number(38.0), "38");
        assert_eq!(number(3.4), "3.4");
    }
}

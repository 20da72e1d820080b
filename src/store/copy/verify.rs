//! How `copy` proves the copy: a digest per table over canonical row text, computed by the
//! same code on both sides, and the exported catalogs compared byte for byte.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::Pages;
use super::tables::Table;
use crate::store::Conn;
use crate::store::export::export_from;
use crate::store::sql::Value;

/// The count and SHA-256 of a table's rows, fed in primary-key order.
#[derive(Default)]
pub(super) struct Tally {
    pub rows: u64,
    hash: Sha256,
}

impl Tally {
    pub fn add(&mut self, page: &[Vec<Value>]) {
        for row in page {
            self.hash.update(canonical(row));
        }
        self.rows += page.len() as u64;
    }

    /// The tally of a table as `conn` sees it.
    pub async fn of(conn: &mut Conn, t: &Table) -> sqlx::Result<Tally> {
        let mut pages = Pages::new(t);
        let mut tally = Tally::default();
        while let Some(page) = pages.next(conn).await? {
            tally.add(&page);
        }
        Ok(tally)
    }

    /// How `other` differs from this tally (of the source), if it does.
    pub fn difference(&self, other: &Tally) -> Option<String> {
        let (mine, theirs) = (
            hex(&self.hash.clone().finalize()),
            hex(&other.hash.clone().finalize()),
        );
        if self.rows != other.rows {
            Some(format!(
                "{} rows read, {} in the target",
                self.rows, other.rows
            ))
        } else if mine != theirs {
            Some(format!(
                "the rows differ (SHA-256 {mine} in the source, {theirs} in the target)"
            ))
        } else {
            None
        }
    }
}

/// A row as text that only an equal row has: each value is tagged with its kind and ended by
/// `;`, text carries its length in bytes (so it may hold `;` and newlines), a float is its
/// shortest round-trip spelling, and the row ends with a newline.
fn canonical(row: &[Value]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for v in row {
        // Writing to a String cannot fail.
        let _ = match v {
            Value::Null => write!(out, "n;"),
            Value::I64(i) => write!(out, "i{i};"),
            Value::F64(f) => write!(out, "f{f:?};"),
            Value::Text(s) => write!(out, "t{}:{s};", s.len()),
            // Hex keeps the row text; the length tells the row's end as for text.
            Value::Bytes(b) => {
                let _ = write!(out, "b{}:", b.len());
                b.iter()
                    .try_for_each(|x| write!(out, "{x:02x}"))
                    .and_then(|()| write!(out, ";"))
            }
        };
    }
    out.push('\n');
    out
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Exports the catalog of the source (from its snapshot) and of the target (from inside its
/// transaction) as `export` would write them, into two temporary directories, one after the
/// other so that one catalog at a time is in memory; returns the files that differ.
pub(super) async fn export_differences(
    source: &mut Conn,
    target: &mut Conn,
) -> anyhow::Result<Vec<String>> {
    let (a, b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    for (conn, dir) in [(source, a.path()), (target, b.path())] {
        let catalog = export_from(conn).await?;
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || crate::content::write_dir(&dir, &catalog)).await??;
    }
    let (a_path, b_path) = (a.path().to_owned(), b.path().to_owned());
    Ok(tokio::task::spawn_blocking(move || differing_files(&a_path, &b_path)).await??)
}

/// The files (relative paths) that are not byte-identical in the two trees, or in one only.
fn differing_files(a: &Path, b: &Path) -> std::io::Result<Vec<String>> {
    fn files(
        root: &Path,
        dir: &Path,
        out: &mut std::collections::BTreeSet<String>,
    ) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                files(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
        Ok(())
    }
    let mut all = std::collections::BTreeSet::new();
    files(a, a, &mut all)?;
    files(b, b, &mut all)?;
    let mut differ = Vec::new();
    for rel in all {
        let same = match (std::fs::read(a.join(&rel)), std::fs::read(b.join(&rel))) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        };
        if !same {
            differ.push(rel);
        }
    }
    Ok(differ)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn only_equal_rows_have_equal_text() {
        let rows = [
            vec![Value::Null],
            vec![text("")],
            vec![Value::I64(0)],
            vec![text("0")],
            vec![Value::F64(0.0)],
            vec![Value::F64(-0.0)],
            // A text that spells out the next value must not merge with it.
            vec![text("a;i1;"), Value::Null],
            vec![text("a"), Value::I64(1), Value::Null],
            vec![text("a;"), text("b")],
            vec![text("a"), text(";b")],
            vec![text("line\none")],
            vec![text("line"), text("one")],
        ];
        for (i, x) in rows.iter().enumerate() {
            for (j, y) in rows.iter().enumerate() {
                assert_eq!(canonical(x) == canonical(y), i == j, "{x:?} vs {y:?}");
            }
        }
        // Floats are their shortest round-trip text: what was stored, not a rounding of it.
        assert_eq!(
            canonical(&[Value::F64(0.1), Value::F64(51.0), Value::F64(1e-7)]),
            "f0.1;f51.0;f1e-7;\n"
        );
        assert_eq!(canonical(&[text("é;")]), "t3:é;;\n");
    }
}

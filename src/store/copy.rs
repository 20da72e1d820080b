//! `brightspots copy`: moves a whole hub from one database to another (SQLite → PostgreSQL,
//! and back), ids and all, and proves the copy before keeping it.
//!
//! The source is read in one read transaction (one snapshot, even while its hub runs); the
//! target is written in one write transaction, verified from inside it, and committed only
//! when every table's rows and the exported catalog match: all or nothing.

mod tables;
mod verify;

use tracing::{info, instrument};

use super::sql::{Arg, Kind, Value, query, query_as, query_scalar};
use super::{Conn, Db, Dialect};
use tables::{NOT_COPIED, TABLES, Table};
use verify::{Tally, export_differences};

/// Rows read from the source per page.
const PAGE: usize = 5_000;

/// Binds per insert statement: under SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 30_000;

/// What the copy takes besides the hub's data, and whether it may empty a target first.
#[derive(Debug, Clone, Copy, Default)]
pub struct CopyOptions {
    /// Copy the sessions table too, so people stay signed in.
    pub sessions: bool,
    /// Empty the target's tables first instead of refusing a target that has rows.
    pub replace: bool,
}

/// What was copied: rows per table, in the order copied, each table verified.
#[derive(Debug)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The target has rows in tables the copy writes (by table, non-empty ones only).
    #[error("the target holds {}; --replace empties it first", held(.0))]
    NotEmpty(Vec<(&'static str, i64)>),
    /// The copy read back from the target differs from the source; nothing was committed.
    #[error("the copy does not match the source: {0}; the target was left as it was")]
    Mismatch(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Other(e.into())
    }
}

fn held(counts: &[(&str, i64)]) -> String {
    let parts: Vec<String> = counts
        .iter()
        .map(|(t, n)| format!("{n} {}", t.replace('_', " ")))
        .collect();
    parts.join(", ")
}

/// Copies every row of the hub in `from` into `to` (both opened with [`Db::connect`], so
/// each is migrated), preserving ids, and verifies the copy before committing it: equal row
/// counts and SHA-256 per table, then the exported catalogs, file by file. The target side of
/// each check is read through the target's own uncommitted transaction and the source side
/// from the snapshot the rows came from, so a failed check commits nothing, and a source hub
/// still writing cannot make a sound copy look wrong.
///
/// A target with rows in any copied table is refused with [`CopyError::NotEmpty`] unless
/// `opts.replace`, which empties it in the same transaction. Any failure leaves the target as
/// it was. On success the target's change feed holds one `reindex` request, so that any index
/// already next to it is rebuilt.
#[instrument(skip_all)]
pub async fn copy(from: &Db, to: &Db, opts: CopyOptions) -> Result<CopyReport, CopyError> {
    let tables: Vec<&Table> = TABLES
        .iter()
        .filter(|t| opts.sessions || t.name != "sessions")
        .collect();
    let mut target = to.begin_write().await?;
    check_schema(&mut target).await?;
    // practices point at their revisions and revisions at their practice: the check of
    // those two waits for the commit. PostgreSQL defers only what was declared deferrable.
    query(match target.dialect() {
        Dialect::Sqlite => "pragma defer_foreign_keys = on",
        Dialect::Postgres => "set constraints all deferred",
    })
    .execute(&mut target)
    .await?;
    let mut non_empty = Vec::new();
    for t in &tables {
        let n: i64 = query_scalar(format!("select count(*) from {}", t.name))
            .fetch_one(&mut target)
            .await?;
        if n > 0 {
            non_empty.push((t.name, n));
        }
    }
    if !non_empty.is_empty() {
        if !opts.replace {
            return Err(CopyError::NotEmpty(non_empty));
        }
        empty(&mut target).await?;
    }

    let mut source = from.begin_read().await?;
    check_schema(&mut source).await?;
    let mut report = Vec::new();
    for t in tables {
        let read = copy_table(&mut source, &mut target, t).await?;
        let written = Tally::of(&mut target, t).await?;
        if let Some(difference) = read.difference(&written) {
            return Err(CopyError::Mismatch(format!("{}: {difference}", t.name)));
        }
        info!(table = t.name, rows = read.rows, "copied and verified");
        report.push((t.name, read.rows));
    }
    if target.dialect() == Dialect::Postgres {
        // The ids came with the rows; the identity sequences must continue after them.
        for t in TABLES.iter().filter(|t| t.key == ["id"]) {
            query(format!(
                "select setval(pg_get_serial_sequence('{0}', 'id'), coalesce(max(id), 1), max(id) is not null) from {0}",
                t.name
            ))
            .execute(&mut target)
            .await?;
        }
    }
    let differ = export_differences(&mut source, &mut target).await?;
    if !differ.is_empty() {
        return Err(CopyError::Mismatch(format!(
            "the exported catalogs differ in {} file(s): {}",
            differ.len(),
            differ[..differ.len().min(5)].join(", ")
        )));
    }
    // Done reading: the source's snapshot is let go before the target commits.
    source.rollback().await?;
    // An index left over on the target's side (from a hub started on it before, or the
    // source's own) may not know these rows: ask whichever indexer runs next to rebuild.
    query("insert into changes (practice_id, kind) values (null, 'reindex')")
        .execute(&mut target)
        .await?;
    target.commit().await?;
    if to.dialect() == Dialect::Postgres {
        // Fresh tables have no statistics until autovacuum comes by; plan with them now.
        // The copy is committed by now: a failure here is no reason to report it failed.
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        if let Err(e) = query(format!("analyze {}", names.join(", ")))
            .execute(&to.write)
            .await
        {
            tracing::warn!(error = %e, "analyze after the copy failed; autovacuum will do it");
        }
    }
    Ok(CopyReport { tables: report })
}

/// Empties every table the copy may write (sessions too, copied or not, as PostgreSQL's
/// cascade does) and the change feed, which points at practices.
async fn empty(target: &mut Conn) -> sqlx::Result<()> {
    match target.dialect() {
        Dialect::Postgres => {
            let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
            query(format!(
                "truncate {}, changes restart identity cascade",
                names.join(", ")
            ))
            .execute(&mut *target)
            .await?;
        }
        Dialect::Sqlite => {
            // `changes` keeps its autoincrement high-water mark (sqlite_sequence): a
            // leftover index sees the reindex request after it rather than an old seq.
            query("delete from changes").execute(&mut *target).await?;
            for t in TABLES.iter().rev() {
                query(format!("delete from {}", t.name))
                    .execute(&mut *target)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Refuses a database with a table or column this copy does not know about.
async fn check_schema(conn: &mut Conn) -> Result<(), CopyError> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => {
            r"select m.name, c.name from sqlite_master m join pragma_table_info(m.name) c
               where m.type = 'table' and m.name not like 'sqlite\_%' escape '\'"
        }
        Dialect::Postgres => {
            "select table_name::text, column_name::text from information_schema.columns where table_schema = current_schema()"
        }
    };
    let columns: Vec<(String, String)> = query_as(sql).fetch_all(&mut *conn).await?;
    for (table, column) in columns {
        if NOT_COPIED.contains(&table.as_str()) {
            continue;
        }
        let known = TABLES
            .iter()
            .find(|t| t.name == table)
            .is_some_and(|t| t.columns.iter().any(|(c, _)| *c == column));
        if !known {
            return Err(anyhow::anyhow!(
                "{table}.{column} is not known to `brightspots copy`: this version cannot copy this database without losing it"
            )
            .into());
        }
    }
    Ok(())
}

/// Reads a table in primary-key order, a page at a time: each page starts after the last
/// key of the one before, so no page rereads or skips a row.
struct Pages<'t> {
    table: &'t Table,
    kinds: Vec<Kind>,
    after: Option<Vec<Value>>,
    done: bool,
}

impl<'t> Pages<'t> {
    fn new(table: &'t Table) -> Self {
        Pages {
            table,
            kinds: table.columns.iter().map(|(_, k)| *k).collect(),
            after: None,
            done: false,
        }
    }

    /// The key columns' positions among the columns.
    fn key_at(&self) -> impl Iterator<Item = usize> + '_ {
        self.table.key.iter().map(|k| {
            self.table
                .columns
                .iter()
                .position(|(c, _)| c == k)
                .expect("key columns are columns")
        })
    }

    async fn next(&mut self, conn: &mut Conn) -> sqlx::Result<Option<Vec<Vec<Value>>>> {
        if self.done {
            return Ok(None);
        }
        let t = self.table;
        let columns: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
        let key = t.key.join(", ");
        let after = match &self.after {
            None => String::new(),
            Some(_) => {
                let params: Vec<String> = (1..=t.key.len()).map(|i| format!("${i}")).collect();
                format!("where ({key}) > ({})", params.join(", "))
            }
        };
        let sql = format!(
            "select {} from {} {after} order by {key} limit {PAGE}",
            columns.join(", "),
            t.name
        );
        let mut q = query(sql);
        for (value, i) in self.after.iter().flatten().zip(self.key_at()) {
            q = q.bind(arg(value, self.kinds[i]));
        }
        let rows = q.fetch_values(conn, &self.kinds).await?;
        self.done = rows.len() < PAGE;
        match rows.last() {
            None => Ok(None),
            Some(last) => {
                self.after = Some(self.key_at().map(|i| last[i].clone()).collect());
                Ok(Some(rows))
            }
        }
    }
}

/// A value bound into a column of `kind`: a null keeps the column's type, as PostgreSQL
/// wants it.
fn arg(value: &Value, kind: Kind) -> Arg<'_> {
    match (value, kind) {
        (Value::I64(v), _) => Arg::I64(Some(*v)),
        (Value::F64(v), _) => Arg::F64(Some(*v)),
        (Value::Text(v), _) => Arg::Text(Some(v.as_str().into())),
        (Value::Bytes(v), _) => Arg::Bytes(Some(v.as_slice().into())),
        (Value::Null, Kind::I64) => Arg::I64(None),
        (Value::Null, Kind::F64) => Arg::F64(None),
        (Value::Null, Kind::Text) => Arg::Text(None),
        (Value::Null, Kind::Bytes) => Arg::Bytes(None),
    }
}

/// Copies one table in multi-row inserts; returns the tally of the rows read.
async fn copy_table(source: &mut Conn, target: &mut Conn, t: &Table) -> sqlx::Result<Tally> {
    let mut pages = Pages::new(t);
    let mut tally = Tally::default();
    let per_insert = (MAX_BINDS / t.columns.len()).min(PAGE);
    let columns: Vec<&str> = t.columns.iter().map(|(c, _)| *c).collect();
    while let Some(page) = pages.next(source).await? {
        for batch in page.chunks(per_insert) {
            let width = t.columns.len();
            let tuples: Vec<String> = (0..batch.len())
                .map(|r| {
                    let params: Vec<String> =
                        (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            let mut q = query(format!(
                "insert into {} ({}) values {}",
                t.name,
                columns.join(", "),
                tuples.join(", ")
            ));
            for row in batch {
                for (value, kind) in row.iter().zip(&pages.kinds) {
                    q = q.bind(arg(value, *kind));
                }
            }
            q.execute(&mut *target).await?;
        }
        tally.add(&page);
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_made_of_columns() {
        for t in TABLES {
            let p = Pages::new(t);
            assert_eq!(p.key_at().count(), t.key.len(), "{}", t.name);
        }
    }
}

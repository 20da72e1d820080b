//! One SQL text, two native backends. A statement is written once with `$n` placeholders
//! (which both SQLite and PostgreSQL read) and its binds are kept as portable values; it is
//! run by whichever driver holds the connection, and rows decode natively, so a column that
//! one backend cannot decode into the Rust type fails to compile rather than at run time.
//! The few statements whose SQL differs per engine take their fragment from [`Dialect`].
//!
//! This is what sqlx's `Any` driver would do, without its limits: bools, arrays and
//! SQLite's connection options stay native, and no value is copied twice.

use std::borrow::Cow;
use std::marker::PhantomData;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{
    Decode, FromRow, PgConnection, PgPool, SqliteConnection, SqlitePool, Transaction, Type,
};

/// The SQL engine behind a connection, for the statements written per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The database clock as ISO-8601 UTC text (`2026-12-01T17:19:21Z`): every instance of
    /// the hub reads one clock.
    pub fn now(self) -> &'static str {
        match self {
            Dialect::Sqlite => "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            Dialect::Postgres => "bs_utc_now()",
        }
    }

    /// Today's date in UTC as `YYYY-MM-DD`.
    pub fn today(self) -> &'static str {
        match self {
            Dialect::Sqlite => "date('now')",
            Dialect::Postgres => "to_char((now() at time zone 'utc')::date, 'YYYY-MM-DD')",
        }
    }

    /// The date `months` (an integer SQL expression) after the `YYYY-MM-DD` date `date`, with
    /// SQLite's day overflow on both engines (2025-08-31 + 6 months = 2026-03-03), so a due
    /// date never depends on the backend.
    pub fn months_after(self, date: &str, months: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date({date}, '+' || {months} || ' months')"),
            Dialect::Postgres => format!(
                "to_char((date_trunc('month', cast({date} as date)) + make_interval(months => cast({months} as integer)))::date + (extract(day from cast({date} as date))::int - 1), 'YYYY-MM-DD')"
            ),
        }
    }

    /// `column` is one of the list bound at `param` (bind it with [`Arg::ids`] or
    /// [`Arg::texts`]).
    pub fn in_list(self, column: &str, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{column} in (select value from json_each({param}))"),
            Dialect::Postgres => format!("{column} = any({param})"),
        }
    }

    /// A JSON array (as text) of `value` over the rows of `from_where` (what follows `from`
    /// in a subquery), in `order`.
    pub fn json_array(self, value: &str, from_where: &str, order: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "(select json_group_array(v) from (select {value} as v from {from_where} order by {order}))"
            ),
            Dialect::Postgres => format!(
                "(select coalesce(json_agg({value} order by {order}), '[]')::text from {from_where})"
            ),
        }
    }
}

/// A bound value, kept until the statement runs on one backend or the other.
#[derive(Debug, Clone)]
pub enum Arg<'q> {
    I64(Option<i64>),
    F64(Option<f64>),
    Bool(Option<bool>),
    Text(Option<Cow<'q, str>>),
    /// A blob on SQLite, `bytea` on PostgreSQL (uploaded files).
    Bytes(Option<Cow<'q, [u8]>>),
    /// A list for [`Dialect::in_list`]: JSON text on SQLite, an array on PostgreSQL.
    I64s(Vec<i64>),
    Texts(Vec<String>),
}

impl Arg<'_> {
    pub fn ids(ids: &[i64]) -> Arg<'static> {
        Arg::I64s(ids.to_vec())
    }

    pub fn texts<T: AsRef<str>>(items: &[T]) -> Arg<'static> {
        Arg::Texts(items.iter().map(|s| s.as_ref().to_owned()).collect())
    }
}

/// What can be bound: the Rust types the store binds.
pub trait Bind<'q> {
    fn arg(self) -> Arg<'q>;
}

impl<'q> Bind<'q> for Arg<'q> {
    fn arg(self) -> Arg<'q> {
        self
    }
}

macro_rules! bind_as {
    ($variant:ident: $($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl<'q> Bind<'q> for $t {
            fn arg(self) -> Arg<'q> {
                let $v = self;
                Arg::$variant($e)
            }
        }
    )*};
}

bind_as!(I64:
    i64 => |v| Some(v),
    i32 => |v| Some(i64::from(v)),
    u32 => |v| Some(i64::from(v)),
    Option<i64> => |v| v,
    &'q Option<i64> => |v| *v,
);
bind_as!(F64: f64 => |v| Some(v), Option<f64> => |v| v, &'q Option<f64> => |v| *v);
bind_as!(Bool: bool => |v| Some(v), Option<bool> => |v| v);
bind_as!(Text:
    &'q str => |v| Some(Cow::Borrowed(v)),
    &'q String => |v| Some(Cow::Borrowed(v.as_str())),
    String => |v| Some(Cow::Owned(v)),
    Option<&'q str> => |v| v.map(Cow::Borrowed),
    Option<String> => |v| v.map(Cow::Owned),
    &'q Option<String> => |v| v.as_deref().map(Cow::Borrowed),
    Option<&'q String> => |v| v.map(|s| Cow::Borrowed(s.as_str())),
);

/// Binds every `Arg` to a native sqlx query of the backend `$db`.
macro_rules! bind_native {
    (sqlite, $q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Bytes(v) => q.bind(v.as_deref()),
                Arg::I64s(v) => q.bind(serde_json::to_string(v).unwrap_or_default()),
                Arg::Texts(v) => q.bind(serde_json::to_string(v).unwrap_or_default()),
            };
        }
        q
    }};
    (postgres, $q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
                Arg::Bytes(v) => q.bind(v.as_deref()),
                Arg::I64s(v) => q.bind(v.as_slice()),
                Arg::Texts(v) => q.bind(v.as_slice()),
            };
        }
        q
    }};
}

/// Where a statement runs: a pool (one statement, any connection) or a held connection.
pub enum Exec<'e> {
    SqlitePool(&'e SqlitePool),
    PgPool(&'e PgPool),
    Sqlite(&'e mut SqliteConnection),
    Postgres(&'e mut PgConnection),
}

impl Exec<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Exec::SqlitePool(_) | Exec::Sqlite(_) => Dialect::Sqlite,
            Exec::PgPool(_) | Exec::Postgres(_) => Dialect::Postgres,
        }
    }
}

/// The native sqlx query of one shape (`plain`, `rows`, `scalar`) for the backend `$db`.
macro_rules! native {
    (plain, $db:ty, $sql:expr) => {
        sqlx::query::<$db>($sql)
    };
    (rows, $db:ty, $sql:expr) => {
        sqlx::query_as::<$db, _>($sql)
    };
    (scalar, $db:ty, $sql:expr) => {
        sqlx::query_scalar::<$db, _>($sql)
    };
}

/// Runs `$call` on the native query of shape `$shape` for whichever executor `$e` is, and
/// maps its result with `$map`.
macro_rules! run {
    ($e:expr, $q:ident, $shape:ident, $call:ident, $map:expr) => {
        match $e.into() {
            Exec::SqlitePool(p) => bind_native!(sqlite, native!($shape, Sqlite, &$q.sql), &$q.args)
                .$call(p)
                .await
                .map($map),
            Exec::Sqlite(c) => bind_native!(sqlite, native!($shape, Sqlite, &$q.sql), &$q.args)
                .$call(c)
                .await
                .map($map),
            Exec::PgPool(p) => bind_native!(postgres, native!($shape, Postgres, &$q.sql), &$q.args)
                .$call(p)
                .await
                .map($map),
            Exec::Postgres(c) => {
                bind_native!(postgres, native!($shape, Postgres, &$q.sql), &$q.args)
                    .$call(c)
                    .await
                    .map($map)
            }
        }
    };
}

/// A row type both backends decode.
pub trait Row: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{}

/// A column type both backends decode.
pub trait Col:
    for<'r> Decode<'r, Sqlite>
    + Type<Sqlite>
    + for<'r> Decode<'r, Postgres>
    + Type<Postgres>
    + Send
    + Unpin
{
}
impl<T> Col for T where
    T: for<'r> Decode<'r, Sqlite>
        + Type<Sqlite>
        + for<'r> Decode<'r, Postgres>
        + Type<Postgres>
        + Send
        + Unpin
{
}

/// A statement and its binds.
#[must_use]
pub struct Query<'q> {
    sql: Cow<'q, str>,
    args: Vec<Arg<'q>>,
}

/// How many rows a statement changed.
#[derive(Debug, Clone, Copy)]
pub struct Done(u64);

impl Done {
    pub fn rows_affected(self) -> u64 {
        self.0
    }

    /// The rows of this statement and of `other`.
    pub fn plus(self, other: Done) -> Done {
        Done(self.0 + other.0)
    }
}

pub fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query {
        sql: sql.into(),
        args: Vec::new(),
    }
}

pub fn query_as<'q, O: Row>(sql: impl Into<Cow<'q, str>>) -> QueryAs<'q, O> {
    QueryAs(query(sql), PhantomData)
}

pub fn query_scalar<'q, O: Col>(sql: impl Into<Cow<'q, str>>) -> QueryScalar<'q, O> {
    QueryScalar(query(sql), PhantomData)
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Bind<'q>) -> Self {
        self.args.push(value.arg());
        self
    }

    pub async fn execute<'e>(self, e: impl Into<Exec<'e>>) -> sqlx::Result<Done> {
        run!(e, self, plain, execute, |r| Done(r.rows_affected()))
    }
}

/// A column's type, for statements whose columns are known only at run time (`copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    I64,
    F64,
    Text,
    Bytes,
}

/// A value of such a column, as read from either backend.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    I64(i64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl<'q> Query<'q> {
    /// Fetches every row as one value per column of `kinds`, in order (null as
    /// [`Value::Null`]): for rows whose shape is data, not a Rust type.
    pub async fn fetch_values<'e>(
        self,
        e: impl Into<Exec<'e>>,
        kinds: &[Kind],
    ) -> sqlx::Result<Vec<Vec<Value>>> {
        run!(e, self, plain, fetch_all, |rows| values(rows, kinds))?
    }
}

/// Decodes native rows column by column. sqlx checks each value's type first, so a value
/// stored with another type (SQLite allows it) is an error, not a conversion.
fn values<R>(rows: Vec<R>, kinds: &[Kind]) -> sqlx::Result<Vec<Vec<Value>>>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    f64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    rows.iter()
        .map(|row| {
            kinds
                .iter()
                .enumerate()
                .map(|(i, kind)| {
                    Ok(match kind {
                        Kind::I64 => row
                            .try_get::<Option<i64>, _>(i)?
                            .map_or(Value::Null, Value::I64),
                        Kind::F64 => row
                            .try_get::<Option<f64>, _>(i)?
                            .map_or(Value::Null, Value::F64),
                        Kind::Text => row
                            .try_get::<Option<String>, _>(i)?
                            .map_or(Value::Null, Value::Text),
                        Kind::Bytes => row
                            .try_get::<Option<Vec<u8>>, _>(i)?
                            .map_or(Value::Null, Value::Bytes),
                    })
                })
                .collect()
        })
        .collect()
}

/// A query whose results decode as `$bound` values, through native queries of `$shape`.
macro_rules! typed_query {
    ($name:ident, $bound:ident, $shape:ident) => {
        #[must_use]
        pub struct $name<'q, O>(Query<'q>, PhantomData<fn() -> O>);

        impl<'q, O: $bound> $name<'q, O> {
            pub fn bind(self, value: impl Bind<'q>) -> Self {
                $name(self.0.bind(value), PhantomData)
            }

            pub async fn fetch_all<'e>(self, e: impl Into<Exec<'e>>) -> sqlx::Result<Vec<O>> {
                let q = self.0;
                run!(e, q, $shape, fetch_all, |r| r)
            }

            pub async fn fetch_one<'e>(self, e: impl Into<Exec<'e>>) -> sqlx::Result<O> {
                let q = self.0;
                run!(e, q, $shape, fetch_one, |r| r)
            }

            pub async fn fetch_optional<'e>(
                self,
                e: impl Into<Exec<'e>>,
            ) -> sqlx::Result<Option<O>> {
                let q = self.0;
                run!(e, q, $shape, fetch_optional, |r| r)
            }
        }
    };
}

typed_query!(QueryAs, Row, rows);
typed_query!(QueryScalar, Col, scalar);

/// A pool of either backend.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl<'e> From<&'e Pool> for Exec<'e> {
    fn from(p: &'e Pool) -> Exec<'e> {
        match p {
            Pool::Sqlite(p) => Exec::SqlitePool(p),
            Pool::Postgres(p) => Exec::PgPool(p),
        }
    }
}

impl Pool {
    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite pool, for what only SQLite has (the search benchmark's FTS5 baseline).
    #[doc(hidden)]
    pub fn as_sqlite(&self) -> Option<&SqlitePool> {
        match self {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    pub fn is_closed(&self) -> bool {
        match self {
            Pool::Sqlite(p) => p.is_closed(),
            Pool::Postgres(p) => p.is_closed(),
        }
    }

    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A connection held for several statements: a transaction, or a pooled connection.
pub enum Conn {
    SqliteTx(Transaction<'static, Sqlite>),
    PgTx(Transaction<'static, Postgres>),
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl<'e> From<&'e mut Conn> for Exec<'e> {
    fn from(c: &'e mut Conn) -> Exec<'e> {
        match c {
            Conn::SqliteTx(t) => Exec::Sqlite(t),
            Conn::PgTx(t) => Exec::Postgres(t),
            Conn::Sqlite(c) => Exec::Sqlite(c),
            Conn::Postgres(c) => Exec::Postgres(c),
        }
    }
}

impl Conn {
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::SqliteTx(_) | Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::PgTx(_) | Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Commits a transaction (a pooled connection has nothing to commit).
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Conn::SqliteTx(t) => t.commit().await,
            Conn::PgTx(t) => t.commit().await,
            Conn::Sqlite(_) | Conn::Postgres(_) => Ok(()),
        }
    }

    pub async fn rollback(self) -> sqlx::Result<()> {
        match self {
            Conn::SqliteTx(t) => t.rollback().await,
            Conn::PgTx(t) => t.rollback().await,
            Conn::Sqlite(_) | Conn::Postgres(_) => Ok(()),
        }
    }
}

//! The first rows of a list that may be long, with how long it is: a page shows the first
//! ones and says how many more there are, instead of rendering thousands of rows.

use sqlx::FromRow;

/// A row with the count of every row of its query (`count(*) over () as total`).
#[derive(Debug, FromRow)]
pub(crate) struct Counted<T> {
    #[sqlx(flatten)]
    pub row: T,
    pub total: i64,
}

#[derive(Debug, Clone)]
pub struct Capped<T> {
    pub rows: Vec<T>,
    /// How many rows there are in all.
    pub total: i64,
}

impl<T> Capped<T> {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// How many rows are not shown.
    pub fn more(&self) -> i64 {
        self.total - self.rows.len() as i64
    }
}

impl<T> From<Vec<Counted<T>>> for Capped<T> {
    fn from(rows: Vec<Counted<T>>) -> Capped<T> {
        Capped {
            total: rows.first().map_or(0, |r| r.total),
            rows: rows.into_iter().map(|r| r.row).collect(),
        }
    }
}

//! Measures in the database: one column list, one row type and one writer for the measures of
//! revisions and of adoptions alike.

use std::collections::HashMap;

use sqlx::FromRow;

use super::Conn;
use crate::domain::{Comparison, MEASURE_FIELDS, Measure, Vocabulary};

/// The columns a [`MeasureRow`] reads after its `owner` (the fields of the content format,
/// in order), each prefixed with `alias` (`"m."`
/// in a join, `""` alone).
pub(crate) fn columns(alias: &str) -> String {
    MEASURE_FIELDS.map(|c| format!("{alias}{c}")).join(", ")
}

/// A stored measure with the revision or adoption it belongs to (select it `as owner`).
#[derive(FromRow)]
pub(crate) struct MeasureRow {
    pub owner: i64,
    name: String,
    ingredient: String,
    unit: String,
    instrument: String,
    baseline: f64,
    result: f64,
    n: i64,
    period: String,
    design: String,
    better: String,
    comparison_baseline: Option<f64>,
    comparison_result: Option<f64>,
    comparison_n: Option<i64>,
    p_value: Option<f64>,
}

impl MeasureRow {
    /// The measure, or what in the stored row is not a value of its vocabulary.
    pub fn into_measure(self) -> Result<Measure, String> {
        let comparison = match (
            self.comparison_baseline,
            self.comparison_result,
            self.comparison_n,
        ) {
            (Some(baseline), Some(result), Some(n)) => Some(Comparison {
                baseline,
                result,
                n,
            }),
            _ => None,
        };
        Ok(Measure {
            name: self.name,
            ingredient: Vocabulary::parse(&self.ingredient)?,
            instrument: self.instrument,
            unit: Vocabulary::parse(&self.unit)?,
            baseline: self.baseline,
            result: self.result,
            n: self.n,
            period: self.period,
            design: Vocabulary::parse(&self.design)?,
            better: Vocabulary::parse(&self.better)?,
            comparison,
            p_value: self.p_value,
        })
    }
}

/// Stored rows grouped by owner, in the order read; rows that are not valid are skipped (the
/// readers of pages show what they can; export checks with `into_measure` itself).
pub(crate) fn by_owner(rows: Vec<MeasureRow>) -> HashMap<i64, Vec<Measure>> {
    let mut out: HashMap<i64, Vec<Measure>> = HashMap::new();
    for row in rows {
        let owner = row.owner;
        if let Ok(m) = row.into_measure() {
            out.entry(owner).or_default().push(m);
        }
    }
    out
}

pub(crate) enum Owner {
    Revision(i64),
    Adoption(i64),
}

pub(crate) async fn insert(tx: &mut Conn, owner: Owner, measures: &[Measure]) -> sqlx::Result<()> {
    let (revision_id, adoption_id) = match owner {
        Owner::Revision(id) => (Some(id), None),
        Owner::Adoption(id) => (None, Some(id)),
    };
    for (position, m) in measures.iter().enumerate() {
        super::sql::query(format!(
            r#"insert into measures (revision_id, adoption_id, position, {})
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"#,
            columns("")
        ))
        .bind(revision_id)
        .bind(adoption_id)
        .bind(position as i64)
        .bind(&m.name)
        .bind(m.ingredient.as_str())
        .bind(m.unit.as_str())
        .bind(&m.instrument)
        .bind(m.baseline)
        .bind(m.result)
        .bind(m.n)
        .bind(&m.period)
        .bind(m.design.as_str())
        .bind(m.better.as_str())
        .bind(m.comparison.map(|c| c.baseline))
        .bind(m.comparison.map(|c| c.result))
        .bind(m.comparison.map(|c| c.n))
        .bind(m.p_value)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

//! What a practice's ESSA evidence level is computed from, read in bulk: the student-outcome
//! measures of its public revision (at the originating school) and of the adoptions that
//! kept every essential aspect (at each adopting school), whether it has a logic model, and
//! the tier a coach confirmed with the latest vetting decision.

use std::collections::HashMap;

use sqlx::FromRow;

use super::measures::{MeasureRow, columns};
use super::sql::{Arg, query_as};
use super::{Db, parse_list};
use crate::domain::essa::{Assessment, Evidence, Tier, assess};
use crate::domain::{CellSize, Measure, SectionKind};

/// The inputs of one practice's ESSA assessment.
#[derive(Debug, Clone, Default)]
pub struct EssaInput {
    pub logic_model: bool,
    /// The tier a coach confirmed when last vetting the public revision.
    pub confirmed: Option<Tier>,
    /// (school name, student-outcome measure) of the originating school…
    pub own: Vec<(String, Measure)>,
    /// … and of the adoptions that kept every essential aspect.
    pub adopted: Vec<(String, Measure)>,
}

impl EssaInput {
    pub fn assess(&self) -> Assessment {
        let evidence: Vec<Evidence> = self
            .own
            .iter()
            .chain(&self.adopted)
            .map(|(school, measure)| Evidence { school, measure })
            .collect();
        assess(self.logic_model, &evidence)
    }

    /// Without the measures of a group below the minimum cell size (stored before the network
    /// raised it): what pages may show and count.
    pub fn within(mut self, min_cell: CellSize) -> EssaInput {
        self.own.retain(|(_, m)| m.publishable(min_cell));
        self.adopted.retain(|(_, m)| m.publishable(min_cell));
        self
    }

    /// The tier the hub shows (see `Assessment::shown`).
    pub fn shown(&self) -> Option<Tier> {
        self.assess().shown(self.confirmed)
    }
}

#[derive(FromRow)]
struct EvidenceRow {
    school: String,
    #[sqlx(flatten)]
    measure: MeasureRow,
}

/// Only public practices have a level: a public revision, not archived.
const PUBLIC: &str = "p.public_revision_id is not null and p.status <> 'archived'";

impl Db {
    /// The ESSA inputs of the given public practices (or of all), by practice id.
    pub async fn essa_inputs(&self, ids: Option<&[i64]>) -> sqlx::Result<HashMap<i64, EssaInput>> {
        let (filter, ids) = match ids {
            Some(ids) => (
                format!("and {}", self.dialect().in_list("p.id", "$1")),
                Arg::ids(ids),
            ),
            None => ("and $1 is null".to_owned(), Arg::I64(None)),
        };
        let mut out: HashMap<i64, EssaInput> = HashMap::new();
        let own: Vec<EvidenceRow> = query_as(format!(
            r#"select s.name as school, p.id as owner, {}
               from practices p
               join measures m on m.revision_id = p.public_revision_id
               join teams t on t.id = p.team_id
               join schools s on s.id = t.school_id
               where {PUBLIC} {filter} and m.ingredient = 'student-outcome'
               order by p.id, m.position"#,
            columns("m.")
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?;
        // An adaptation that dropped an essential aspect is not the practice: its results
        // are not the practice's evidence.
        let adopted: Vec<(String, String, EvidenceRow)> = query_as::<AdoptedRow>(format!(
            r#"select a.aspects_kept, ar.essential_aspects as aspects, s.name as school,
                      p.id as owner, {}
               from practices p
               join adoptions a on a.practice_id = p.id
               join practice_revisions ar on ar.id = a.revision_id
               join measures m on m.adoption_id = a.id
               join teams t on t.id = a.team_id
               join schools s on s.id = t.school_id
               where {PUBLIC} {filter} and m.ingredient = 'student-outcome'
               order by p.id, s.name, m.position"#,
            columns("m.")
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?
        .into_iter()
        .map(|r| (r.aspects_kept, r.aspects, r.row))
        .collect();
        for row in own {
            let owner = row.measure.owner;
            if let Ok(m) = row.measure.into_measure() {
                out.entry(owner).or_default().own.push((row.school, m));
            }
        }
        for (_, _, row) in adopted
            .into_iter()
            .filter(|(kept, aspects, _)| kept_all(kept, aspects))
        {
            let owner = row.measure.owner;
            if let Ok(m) = row.measure.into_measure() {
                out.entry(owner).or_default().adopted.push((row.school, m));
            }
        }
        for (id,) in query_as::<(i64,)>(format!(
            r#"select p.id from practices p
               join revision_sections rs on rs.revision_id = p.public_revision_id
               where {PUBLIC} {filter} and rs.kind = '{}'"#,
            SectionKind::LogicModel.key()
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?
        {
            out.entry(id).or_default().logic_model = true;
        }
        // The latest vetting decision on the public revision holds the confirmation.
        for (id, tier) in query_as::<(i64, Option<i64>)>(format!(
            r#"select p.id, r.essa_tier from practices p
               join reviews r on r.revision_id = p.public_revision_id and r.decision = 'vet'
               where {PUBLIC} {filter}
               order by p.id, r.at, r.id"#
        ))
        .bind(ids)
        .fetch_all(&self.read)
        .await?
        {
            out.entry(id).or_default().confirmed = tier.and_then(Tier::from_number);
        }
        Ok(out)
    }

    /// One practice's ESSA inputs (empty when it is not public).
    pub async fn essa_input(&self, practice_id: i64) -> sqlx::Result<EssaInput> {
        Ok(self
            .essa_inputs(Some(&[practice_id]))
            .await?
            .remove(&practice_id)
            .unwrap_or_default())
    }
}

#[derive(FromRow)]
struct AdoptedRow {
    aspects_kept: String,
    aspects: String,
    #[sqlx(flatten)]
    row: EvidenceRow,
}

/// Whether the positions kept cover every essential aspect of the adopted revision.
fn kept_all(kept: &str, aspects: &str) -> bool {
    let kept: Vec<usize> = serde_json::from_str(kept).unwrap_or_default();
    let total = parse_list(aspects).len();
    total > 0 && (1..=total).all(|i| kept.contains(&i))
}

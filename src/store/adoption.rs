//! Adoptions: schools trying a practice, what they kept, what happened — and the evidence
//! stage `replicated` that their reports earn a practice.

use sqlx::FromRow;

use super::Conn;
use super::sql::{Arg, query, query_as, query_scalar};
use tracing::instrument;

use super::review::record_event;
use super::{Db, record_change};
use crate::content::AdoptionDoc;
use crate::domain::{Measure, Vocabulary};

/// An adoption as pages show it.
#[derive(Debug, Clone, FromRow)]
pub struct AdoptionView {
    pub id: i64,
    pub practice_slug: String,
    pub practice_title: String,
    pub team_slug: String,
    pub team_name: String,
    /// Tells schools of the same name apart (the forest chart counts each school once).
    pub school_slug: String,
    pub school_name: String,
    pub level: String,
    pub locale: String,
    pub district_name: String,
    pub status: String,
    pub started_on: Option<String>,
    pub aspects_kept: String,
    /// The essential aspects of the revision adopted (JSON list).
    pub aspects: String,
    pub adaptations: Option<String>,
    pub outcome: Option<String>,
    pub revision_number: i64,
    /// The number of the practice's public revision now.
    pub public_number: Option<i64>,
    pub updated_at: Option<String>,
    #[sqlx(skip)]
    pub measures: Vec<Measure>,
}

impl AdoptionView {
    /// Without the measures of a group below the minimum cell size (see
    /// `PracticePage::within`).
    pub fn within(mut self, min_cell: crate::domain::CellSize) -> AdoptionView {
        self.measures.retain(|m| m.publishable(min_cell));
        self
    }

    pub fn kept(&self) -> Vec<u32> {
        serde_json::from_str(&self.aspects_kept).unwrap_or_default()
    }

    pub fn aspect_list(&self) -> Vec<String> {
        super::parse_list(&self.aspects)
    }

    /// "3 of 4" essential aspects kept.
    pub fn fidelity(&self) -> String {
        format!("{} of {}", self.kept().len(), self.aspect_list().len())
    }

    /// What the adopting team still owes the network.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !matches!(self.status.as_str(), "exploring") {
            if self.measures.is_empty() {
                out.push("your own measures (baseline and result)");
            }
            if self.outcome.is_none() {
                out.push("the outcome (improved, no change or declined)");
            }
        }
        out
    }
}

const VIEW: &str = r#"
    select a.id, p.slug as practice_slug, pr.title as practice_title, t.slug as team_slug,
           t.name as team_name, s.slug as school_slug, s.name as school_name, s.level, s.locale, d.name as district_name,
           a.status, a.started_on, a.aspects_kept, ar.essential_aspects as aspects, a.adaptations,
           a.outcome, ar.number as revision_number,
           (select number from practice_revisions where id = p.public_revision_id) as public_number,
           a.updated_at
    from adoptions a
    join practices p on p.id = a.practice_id
    join practice_revisions pr on pr.id = coalesce(p.public_revision_id, p.current_revision_id)
    join practice_revisions ar on ar.id = a.revision_id
    join teams t on t.id = a.team_id
    join schools s on s.id = t.school_id
    join districts d on d.id = s.district_id"#;

impl Db {
    /// Adoptions matching `condition`, which may use `$1` (a practice slug), `$2` (a team
    /// slug) and `$3` (a user id). All three are bound, typed, whether used or not.
    async fn adoptions_where(
        &self,
        condition: &str,
        practice: Option<&str>,
        team: Option<&str>,
        user: Option<i64>,
    ) -> sqlx::Result<Vec<AdoptionView>> {
        let sql = format!("{VIEW} where {condition} order by s.name, t.name");
        let mut rows: Vec<AdoptionView> = query_as(&sql)
            .bind(practice)
            .bind(team)
            .bind(user)
            .fetch_all(&self.read)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut measures = super::measures::by_owner(
            query_as(format!(
                "select adoption_id as owner, {} from measures where {} order by adoption_id, position",
                super::measures::columns(""),
                self.dialect().in_list("adoption_id", "$1")
            ))
            .bind(Arg::ids(&ids))
            .fetch_all(&self.read)
            .await?,
        );
        for r in &mut rows {
            r.measures = measures.remove(&r.id).unwrap_or_default();
        }
        Ok(rows)
    }

    /// Every adoption of a practice: its replication ledger.
    pub async fn adoptions_of_practice(&self, slug: &str) -> sqlx::Result<Vec<AdoptionView>> {
        self.adoptions_where("p.slug = $1", Some(slug), None, None)
            .await
    }

    /// One team's adoption of one practice, if there is one.
    pub async fn adoption(&self, slug: &str, team: &str) -> sqlx::Result<Option<AdoptionView>> {
        Ok(self
            .adoptions_where("p.slug = $1 and t.slug = $2", Some(slug), Some(team), None)
            .await?
            .into_iter()
            .next())
    }

    /// The adoptions made by the teams of a person.
    pub async fn adoptions_by_user_teams(&self, user_id: i64) -> sqlx::Result<Vec<AdoptionView>> {
        self.adoptions_where(
            "a.team_id in (select team_id from team_members where user_id = $3)",
            None,
            None,
            Some(user_id),
        )
        .await
    }

    /// The adoptions of the practices a team shared.
    pub async fn adoptions_of_team_practices(&self, team: &str) -> sqlx::Result<Vec<AdoptionView>> {
        self.adoptions_where(
            "p.team_id = (select id from teams where slug = $2)",
            None,
            Some(team),
            None,
        )
        .await
    }

    /// Creates or updates a team's adoption, keeps the change, and recomputes the practice's
    /// evidence stage. A new adoption adopts the practice's public revision.
    #[instrument(skip_all, fields(practice.slug = %doc.practice, team = %doc.team))]
    pub async fn save_adoption(&self, user_id: i64, doc: &AdoptionDoc) -> anyhow::Result<()> {
        let mut tx = self.begin_write().await?;
        let practice_id: i64 = query_scalar("select id from practices where slug = $1")
            .bind(doc.practice.as_str())
            .fetch_one(&mut tx)
            .await?;
        let adoption_id = upsert_adoption(&mut tx, practice_id, doc, true).await?;
        let snapshot = serde_json::json!({
            "status": doc.status.as_str(),
            "started_on": doc.started_on.map(|d| d.to_string()),
            "aspects_kept": doc.aspects_kept,
            "adaptations": doc.adaptations,
            "outcome": doc.outcome.map(|o| o.as_str()),
            "measures": doc.measures.iter().map(|m| serde_json::json!({
                "name": m.name, "ingredient": m.ingredient.as_str(), "unit": m.unit.as_str(),
                "baseline": m.baseline, "result": m.result, "n": m.n, "period": m.period,
            })).collect::<Vec<_>>(),
        });
        let entry: i64 = query_scalar(
            "insert into adoption_history (adoption_id, user_id, snapshot) values ($1, $2, $3) returning id",
        )
        .bind(adoption_id)
        .bind(user_id)
        .bind(snapshot.to_string())
        .fetch_one(&mut tx)
        .await?;
        super::schedule_in(
            &mut tx,
            crate::notify::JOB,
            &format!("adoption:{entry}"),
            "{}",
        )
        .await?;
        recompute_stage(&mut tx, practice_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The recorded changes of an adoption, newest first: (when, who, status, outcome).
    /// The status and outcome are read from each JSON snapshot here, not in SQL, so that
    /// the statement is the same on every backend.
    pub async fn adoption_history(
        &self,
        adoption_id: i64,
    ) -> sqlx::Result<Vec<(String, Option<String>, String, Option<String>)>> {
        let rows: Vec<(String, Option<String>, String)> = query_as(
            r#"select h.at, u.name, h.snapshot
               from adoption_history h left join users u on u.id = h.user_id
               where h.adoption_id = $1 order by h.id desc"#,
        )
        .bind(adoption_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(at, who, snapshot)| {
                let (status, outcome) = snapshot_status(&snapshot)?;
                Ok((at, who, status, outcome))
            })
            .collect()
    }
}

/// The status and outcome kept in an `adoption_history` snapshot (a JSON object). A
/// missing or null outcome is `None`; a snapshot that is not an object with a text status
/// is an error, as decoding a null status column would be.
pub(super) fn snapshot_status(snapshot: &str) -> sqlx::Result<(String, Option<String>)> {
    let decode = |e: String| sqlx::Error::Decode(format!("adoption snapshot: {e}").into());
    let value: serde_json::Value =
        serde_json::from_str(snapshot).map_err(|e| decode(e.to_string()))?;
    let status = value
        .get("status")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| decode("no status".into()))?
        .to_string();
    let outcome = match value.get("outcome") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(o)) => Some(o.clone()),
        Some(other) => return Err(decode(format!("outcome {other}"))),
    };
    Ok((status, outcome))
}

/// Writes one adoption (and replaces its measures). `touch` stamps it as new evidence.
pub(crate) async fn upsert_adoption(
    tx: &mut Conn,
    practice_id: i64,
    a: &AdoptionDoc,
    touch: bool,
) -> anyhow::Result<i64> {
    let adoption_id: i64 = query_scalar(
        format!(r#"insert into adoptions (practice_id, team_id, revision_id, status, started_on, aspects_kept,
                                  adaptations, outcome, updated_at)
           values ($1, (select id from teams where slug = $2),
                   (select coalesce(public_revision_id, current_revision_id) from practices where id = $1),
                   $3, $4, $5, $6, $7, case when $8 then {now} end)
           on conflict (practice_id, team_id) do update set status = excluded.status,
             started_on = excluded.started_on, aspects_kept = excluded.aspects_kept,
             adaptations = excluded.adaptations, outcome = excluded.outcome,
             updated_at = coalesce(excluded.updated_at, adoptions.updated_at)
           returning id"#,
        now = tx.dialect().now()
    ))
    .bind(practice_id)
    .bind(a.team.as_str())
    .bind(a.status.as_str())
    .bind(a.started_on.map(|d| d.to_string()))
    .bind(serde_json::to_string(&a.aspects_kept)?)
    .bind(&a.adaptations)
    .bind(a.outcome.map(|o| o.as_str()))
    .bind(touch)
    .fetch_one(&mut *tx)
    .await?;
    query("delete from measures where adoption_id = $1")
        .bind(adoption_id)
        .execute(&mut *tx)
        .await?;
    super::measures::insert(
        tx,
        super::measures::Owner::Adoption(adoption_id),
        &a.measures,
    )
    .await?;
    record_change(tx, practice_id, "adoption").await?;
    Ok(adoption_id)
}

/// `replicated` is earned, never typed: at least two adopting schools other than the
/// originating one, each keeping every essential aspect of the revision it adopted, report
/// `improved` with at least one student-outcome measure. Reaching or losing it is an event
/// the quarterly review reports.
pub(crate) async fn recompute_stage(tx: &mut Conn, practice_id: i64) -> sqlx::Result<()> {
    // Whether each adoption kept every aspect is decided here, from the JSON lists, so
    // the statement is the same on every backend.
    let stage: String = query_scalar("select stage from practices where id = $1")
        .bind(practice_id)
        .fetch_one(&mut *tx)
        .await?;
    let candidates: Vec<(i64, String, String)> = query_as(
        r#"select s.id, a.aspects_kept, ar.essential_aspects from adoptions a
           join practices p on p.id = a.practice_id
           join teams t on t.id = a.team_id join schools s on s.id = t.school_id
           join practice_revisions ar on ar.id = a.revision_id
           where a.practice_id = $1
             and s.id <> (select school_id from teams where id = p.team_id)
             and a.outcome = 'improved'
             and exists (select 1 from measures m where m.adoption_id = a.id
                         and m.ingredient = 'student-outcome')"#,
    )
    .bind(practice_id)
    .fetch_all(&mut *tx)
    .await?;
    let schools: std::collections::HashSet<i64> = candidates
        .into_iter()
        .filter(|(_, kept, essential)| kept_every_aspect(kept, essential))
        .map(|(school, _, _)| school)
        .collect();
    let replicated = schools.len() >= 2;
    if replicated == (stage == "replicated") {
        return Ok(());
    }
    // Losing it returns the practice to the stage its own evidence supports.
    query(
        r#"update practices set stage = case when $1 then 'replicated'
             else (select stage from practice_revisions where id = coalesce(public_revision_id, current_revision_id)) end
           where id = $2"#,
    )
    .bind(replicated)
    .bind(practice_id)
    .execute(&mut *tx)
    .await?;
    let kind = if replicated {
        "replicated"
    } else {
        "unreplicated"
    };
    record_event(tx, practice_id, None, kind, None).await?;
    record_change(tx, practice_id, "practice").await?;
    Ok(())
}

/// Whether `kept` (a JSON list of 1-based aspect numbers) names every one of `essential` (a
/// JSON list of the revision's essential aspects, of which there is at least one).
pub(crate) fn kept_every_aspect(kept: &str, essential: &str) -> bool {
    let essential =
        serde_json::from_str::<Vec<serde_json::Value>>(essential).map_or(0, |v| v.len());
    let kept: std::collections::HashSet<i64> = serde_json::from_str::<Vec<i64>>(kept)
        .unwrap_or_default()
        .into_iter()
        .filter(|k| (1..=essential as i64).contains(k))
        .collect();
    essential > 0 && kept.len() == essential
}

#[cfg(test)]
mod tests {
    use super::snapshot_status;

    #[test]
    fn history_snapshots_read_as_json_extract_did() {
        assert_eq!(
            snapshot_status(r#"{"status":"adopted","outcome":"improved","measures":[]}"#).unwrap(),
            ("adopted".to_string(), Some("improved".to_string()))
        );
        assert_eq!(
            snapshot_status(r#"{"status":"exploring","outcome":null}"#).unwrap(),
            ("exploring".to_string(), None)
        );
        assert_eq!(
            snapshot_status(r#"{"status":"exploring"}"#).unwrap(),
            ("exploring".to_string(), None)
        );
        assert!(snapshot_status("not json").is_err());
        assert!(snapshot_status(r#"{"outcome":"improved"}"#).is_err());
    }
}

//! The quarterly cross-district review: sessions, their decision log, and the figures a
//! session gathers for its period. Every figure is an aggregate query over indexed columns.

use sqlx::FromRow;

use super::sql::{Arg, query, query_as, query_scalar};

use super::{Capped, Db};
use crate::domain::{Standing, Status, Vocabulary};

#[derive(Debug, Clone, FromRow)]
pub struct PlcSession {
    pub id: i64,
    pub quarter: String,
    pub held_on: String,
    pub notes: String,
    pub opened_by: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct PlcDecision {
    pub agenda: String,
    pub decision: String,
    pub author: Option<String>,
    pub at: String,
}

/// A practice that something happened to in the period.
#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub slug: String,
    pub title: String,
    pub team_name: String,
    pub kind: String,
    pub at: String,
    pub public: bool,
}

#[derive(Debug, Clone, FromRow)]
pub struct AdoptionEvent {
    pub slug: String,
    pub title: String,
    pub school_name: String,
    pub district_name: String,
    pub status: String,
    pub outcome: Option<String>,
    pub at: String,
}

/// One practice in the session's CSV.
#[derive(Debug, Clone, FromRow)]
pub struct CatalogRow {
    pub slug: String,
    pub title: String,
    pub team: String,
    pub district: String,
    pub status: String,
    pub stage: String,
    pub adoptions: i64,
    pub last_review: Option<String>,
    pub due_on: Option<String>,
    /// Whether a vetted revision is public (while a newer one may be in draft).
    pub has_public: bool,
}

impl CatalogRow {
    /// Its status, and that of an edit waiting behind its public revision.
    pub fn standing(&self) -> Standing {
        Standing::of(
            Status::parse(&self.status).unwrap_or(Status::Draft),
            self.has_public,
        )
    }
}

/// Whether opening a session worked.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the session for {0} is already open")]
    AlreadyOpen(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Db {
    pub async fn plc_sessions(&self) -> sqlx::Result<Vec<PlcSession>> {
        query_as(
            r#"select s.id, s.quarter, s.held_on, s.notes, u.name as opened_by
               from plc_sessions s left join users u on u.id = s.opened_by order by s.quarter desc"#,
        )
        .fetch_all(&self.read)
        .await
    }

    pub async fn plc_session(&self, quarter: &str) -> sqlx::Result<Option<PlcSession>> {
        query_as(
            r#"select s.id, s.quarter, s.held_on, s.notes, u.name as opened_by
               from plc_sessions s left join users u on u.id = s.opened_by where s.quarter = $1"#,
        )
        .bind(quarter)
        .fetch_optional(&self.read)
        .await
    }

    /// The session before `quarter`, whose meeting starts this one's period.
    pub async fn previous_plc_session(&self, quarter: &str) -> sqlx::Result<Option<PlcSession>> {
        query_as(
            r#"select s.id, s.quarter, s.held_on, s.notes, u.name as opened_by
               from plc_sessions s left join users u on u.id = s.opened_by
               where s.quarter < $1 order by s.quarter desc limit 1"#,
        )
        .bind(quarter)
        .fetch_optional(&self.read)
        .await
    }

    pub async fn open_plc_session(
        &self,
        quarter: &str,
        held_on: &str,
        notes: &str,
        by: i64,
    ) -> Result<(), OpenError> {
        let mut tx = self.begin_write().await?;
        let done = query(
            "insert into plc_sessions (quarter, held_on, notes, opened_by) values ($1, $2, $3, $4) on conflict (quarter) do nothing",
        )
        .bind(quarter)
        .bind(held_on)
        .bind(notes)
        .bind(by)
        .execute(&mut tx)
        .await?
        .rows_affected();
        if done == 1 {
            super::schedule_in(&mut tx, crate::notify::JOB, &format!("plc:{quarter}"), "{}")
                .await?;
        }
        tx.commit().await?;
        if done == 0 {
            return Err(OpenError::AlreadyOpen(quarter.to_string()));
        }
        Ok(())
    }

    pub async fn add_plc_decision(
        &self,
        session: i64,
        agenda: &str,
        decision: &str,
        by: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query(
            "insert into plc_decisions (session_id, agenda, decision, author_id) values ($1, $2, $3, $4)",
        )
        .bind(session)
        .bind(agenda)
        .bind(decision)
        .bind(by)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    pub async fn plc_decisions(&self, session: i64) -> sqlx::Result<Vec<PlcDecision>> {
        query_as(
            r#"select d.agenda, d.decision, u.name as author, d.at from plc_decisions d
               left join users u on u.id = d.author_id where d.session_id = $1 order by d.id"#,
        )
        .bind(session)
        .fetch_all(&self.read)
        .await
    }

    /// Events of the given kinds in [from, to) from the practices' event log (submitted,
    /// returned, archived, replicated…): the first `limit`, oldest first, and how many.
    pub async fn events_between(
        &self,
        from: &str,
        to: &str,
        kinds: &[&str],
        limit: i64,
    ) -> sqlx::Result<Capped<EventRow>> {
        let kinds = Arg::texts(kinds);
        let where_ = format!(
            "{} and e.at >= $1 and e.at < $2",
            self.dialect().in_list("e.kind", "$3")
        );
        let rows = query_as(format!(
            r#"select p.slug, r.title, t.name as team_name, e.kind, e.at,
                      p.public_revision_id is not null and p.status <> 'archived' as public
               from practice_events e join practices p on p.id = e.practice_id
               join practice_revisions r on r.id = p.current_revision_id
               join teams t on t.id = p.team_id
               where {where_} order by e.at, p.slug limit $4"#
        ))
        .bind(from)
        .bind(to)
        .bind(kinds.clone())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let total = query_scalar(format!(
            "select count(*) from practice_events e where {where_}"
        ))
        .bind(from)
        .bind(to)
        .bind(kinds.clone())
        .fetch_one(&self.read)
        .await?;
        Ok(Capped { rows, total })
    }

    /// Practices vetted in [from, to), from their vetting dates (which covers imported
    /// catalogs too): the first `limit`, in vetting order (an index), and how many.
    pub async fn vetted_between(
        &self,
        from: &str,
        to: &str,
        limit: i64,
    ) -> sqlx::Result<Capped<EventRow>> {
        const WHERE: &str =
            "p.vetted_on >= $1 and p.vetted_on < $2 and p.public_revision_id is not null";
        let rows = query_as(format!(
            r#"select p.slug, r.title, t.name as team_name, 'vetted' as kind, p.vetted_on as at,
                      p.status <> 'archived' as public
               from practices p join practice_revisions r on r.id = p.public_revision_id
               join teams t on t.id = p.team_id
               where {WHERE} order by p.vetted_on, p.slug limit $3"#
        ))
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let total = query_scalar(format!("select count(*) from practices p where {WHERE}"))
            .bind(from)
            .bind(to)
            .fetch_one(&self.read)
            .await?;
        Ok(Capped { rows, total })
    }

    /// Adoptions that started or reported in [from, to): the first `limit`, in the order of
    /// the `adoptions_reported` index, and how many.
    pub async fn adoptions_between(
        &self,
        from: &str,
        to: &str,
        limit: i64,
    ) -> sqlx::Result<Capped<AdoptionEvent>> {
        const WHERE: &str = "coalesce(a.updated_at, a.started_on) >= $1 and coalesce(a.updated_at, a.started_on) < $2";
        let rows = query_as(format!(
            r#"select p.slug, r.title, s.name as school_name, d.name as district_name, a.status,
                      a.outcome, coalesce(a.updated_at, a.started_on) as at
               from adoptions a join practices p on p.id = a.practice_id
               join practice_revisions r on r.id = coalesce(p.public_revision_id, p.current_revision_id)
               join teams t on t.id = a.team_id join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where {WHERE} order by coalesce(a.updated_at, a.started_on), p.slug limit $3"#
        ))
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let total = query_scalar(format!("select count(*) from adoptions a where {WHERE}"))
            .bind(from)
            .bind(to)
            .fetch_one(&self.read)
            .await?;
        Ok(Capped { rows, total })
    }

    /// (public vetted practices at the end, submissions, vettings, adoptions) of [from, to).
    /// The first is those vetted before the end less those archived (and not restored) before
    /// it, so that it is counted from the `practices_vetted_public` index alone (no
    /// per-practice lookups).
    pub async fn quarter_figures(
        &self,
        from: &str,
        to: &str,
    ) -> sqlx::Result<(i64, i64, i64, i64)> {
        query_as(
            r#"select
                 (select count(*) from practices p where p.vetted_on < $2
                    and p.public_revision_id is not null)
                 - (select count(distinct e.practice_id) from practice_events e
                    join practices p on p.id = e.practice_id
                    where e.kind = 'archived' and e.at < $2 and p.vetted_on < $2
                      and p.public_revision_id is not null
                      -- restored after this archive (and before the end): in the catalog again
                      and not exists (select 1 from practice_events r
                                      where r.practice_id = e.practice_id and r.kind = 'restored'
                                        and r.id > e.id and r.at < $2)),
                 (select count(*) from practice_events where kind = 'submitted' and at >= $1 and at < $2),
                 (select count(*) from practices where vetted_on >= $1 and vetted_on < $2),
                 (select count(*) from adoptions where coalesce(updated_at, started_on) >= $1
                    and coalesce(updated_at, started_on) < $2)"#,
        )
        .bind(from)
        .bind(to)
        .fetch_one(&self.read)
        .await
    }

    /// One row per practice that has been submitted at least once, for the session's CSV.
    pub async fn catalog_rows(&self, months: u32) -> sqlx::Result<Vec<CatalogRow>> {
        query_as(format!(
            r#"select p.slug, r.title, t.name as team, d.name as district, p.status,
                      case when p.stage = 'replicated' then p.stage else r.stage end as stage,
                      (select count(*) from adoptions a where a.practice_id = p.id
                         and a.status in ('adopted', 'adapted')) as adoptions,
                      coalesce((select max(substr(v.at, 1, 10)) from reviews v where v.practice_id = p.id),
                               p.vetted_on) as last_review,
                      case when p.vetted_on is not null and p.status <> 'archived'
                           then {} end as due_on,
                      p.public_revision_id is not null as has_public
               from practices p
               join practice_revisions r on r.id = coalesce(p.public_revision_id, p.current_revision_id)
               join teams t on t.id = p.team_id join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where p.public_revision_id is not null or p.status <> 'draft'
               order by d.name, p.slug"#,
            super::review::due_on(self.dialect())
        ))
        .bind(i64::from(months))
        .fetch_all(&self.read)
        .await
    }
}

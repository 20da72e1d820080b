//! Coach review: the queue, decisions with their rubric, archiving and restoring, re-review,
//! and the life events of practices that the quarterly review reads.

use serde::{Deserialize, Serialize};
use sqlx::FromRow;

use super::Conn;
use super::sql::{Dialect, query, query_as, query_scalar};
use tracing::instrument;

use super::capped::Counted;
use super::{Capped, Db, record_change};

/// A submission waiting for a coach.
#[derive(Debug, Clone, FromRow)]
pub struct QueueRow {
    pub slug: String,
    pub title: String,
    pub team_name: String,
    pub school_name: String,
    pub district_slug: String,
    pub district_name: String,
    pub areas: String,
    pub submitted_at: String,
    pub revision_id: i64,
}

/// One scored criterion of a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub criterion: String,
    /// "meets", "partly" or "not-yet".
    pub score: String,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Vet,
    Return,
    /// Retires a vetted practice from the catalog.
    Archive,
    /// Brings an archived practice's vetted revision back to the catalog.
    Restore,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Vet => "vet",
            Decision::Return => "return",
            Decision::Archive => "archive",
            Decision::Restore => "restore",
        }
    }

    /// What the practice's life story records: "vetted", "restored"…
    fn event(self) -> &'static str {
        match self {
            Decision::Vet => "vetted",
            Decision::Return => "returned",
            Decision::Archive => "archived",
            Decision::Restore => "restored",
        }
    }

    fn parse(s: &str) -> Option<Decision> {
        [
            Decision::Vet,
            Decision::Return,
            Decision::Archive,
            Decision::Restore,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// A decision as the history and `/me` show it.
#[derive(Debug, Clone, FromRow)]
pub struct ReviewRow {
    pub slug: String,
    pub title: String,
    pub revision_number: i64,
    pub reviewer: String,
    pub decision: String,
    pub comment: String,
    pub rubric: String,
    pub at: String,
}

impl ReviewRow {
    pub fn scores(&self) -> Vec<Score> {
        serde_json::from_str(&self.rubric).unwrap_or_default()
    }

    /// The decision as a verb for the trail: "vetted", "archived", "restored"…
    pub fn verb(&self) -> &'static str {
        Decision::parse(&self.decision).map_or("decided on", Decision::event)
    }
}

/// A vetted practice due for re-review.
#[derive(Debug, Clone, FromRow)]
pub struct DueRow {
    pub slug: String,
    pub title: String,
    pub team_name: String,
    pub vetted_on: String,
    pub due_on: String,
}

/// What a coach decided and wrote, with the ESSA tier confirmed when vetting (above 4 only).
#[derive(Debug, Clone, Copy)]
pub struct Verdict<'a> {
    pub decision: Decision,
    pub comment: &'a str,
    pub rubric: &'a [Score],
    pub essa_tier: Option<crate::domain::essa::Tier>,
}

impl<'a> Verdict<'a> {
    /// A decision with a comment and nothing else (an archive, a restore).
    pub fn bare(decision: Decision, comment: &'a str) -> Verdict<'a> {
        Verdict {
            decision,
            comment,
            rubric: &[],
            essa_tier: None,
        }
    }
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error(
        "The team changed this practice after it was submitted (or it was decided meanwhile), so this decision was not recorded. Open the review again to judge the newest revision."
    )]
    Stale,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The day a vetted practice `p` falls due for re-review: `$1` months after its vetting.
/// Every list and export of due dates uses this one expression.
pub(crate) fn due_on(d: Dialect) -> String {
    d.months_after("p.vetted_on", "$1")
}

/// Practices due for re-review on the day `$2` (`YYYY-MM-DD`): due on or before it. The queue
/// passes today and the quarter page the last day of its period, so both answer alike.
pub(super) fn due_where(d: Dialect) -> String {
    format!(
        r#"
    where p.status <> 'archived' and p.vetted_on is not null and p.public_revision_id is not null
      and {} <= $2
      and not exists (select 1 from adoptions a where a.practice_id = p.id
                      and coalesce(a.updated_at, a.started_on) > p.vetted_on)"#,
        due_on(d)
    )
}

impl Db {
    /// The first `limit` submitted revisions, oldest first, optionally of one district or
    /// challenge area, and how many there are.
    pub async fn review_queue(
        &self,
        district: Option<&str>,
        area: Option<&str>,
        limit: i64,
    ) -> sqlx::Result<Capped<QueueRow>> {
        let rows: Vec<Counted<QueueRow>> = query_as(
            r#"select p.slug, r.title, t.name as team_name, s.name as school_name,
                      d.slug as district_slug, d.name as district_name,
                      coalesce((select string_agg(a.name, ', ' order by rca.challenge_area_id)
                                from revision_challenge_areas rca
                                join challenge_areas a on a.id = rca.challenge_area_id
                                where rca.revision_id = r.id), '') as areas,
                      coalesce((select max(e.at) from practice_events e
                                where e.practice_id = p.id and e.kind = 'submitted'), p.updated_at) as submitted_at,
                      r.id as revision_id, count(*) over () as total
               from practices p
               join practice_revisions r on r.id = p.current_revision_id
               join teams t on t.id = p.team_id
               join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where p.status = 'submitted'
                 and ($1 is null or d.slug = $1)
                 and ($2 is null or exists (select 1 from revision_challenge_areas rca
                        join challenge_areas a on a.id = rca.challenge_area_id
                        where rca.revision_id = r.id and a.slug = $2))
               order by submitted_at, p.slug limit $3"#,
        )
        .bind(district)
        .bind(area)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into())
    }

    /// Records a coach's decision on `revision_id`, if it is still the submitted revision.
    #[instrument(skip_all, fields(practice.id = practice_id, decision = verdict.decision.as_str()))]
    pub async fn decide(
        &self,
        practice_id: i64,
        revision_id: i64,
        reviewer: i64,
        verdict: Verdict<'_>,
    ) -> Result<(), DecisionError> {
        let Verdict {
            decision,
            comment,
            rubric,
            essa_tier,
        } = verdict;
        let mut tx = self.begin_write().await?;
        // The revision public before: adopting teams hear what a new one changed.
        let public_before: Option<i64> =
            query_scalar("select public_revision_id from practices where id = $1")
                .bind(practice_id)
                .fetch_optional(&mut tx)
                .await?
                .flatten();
        let sql = match decision {
            Decision::Vet => {
                r#"update practices set status = 'vetted', public_revision_id = current_revision_id,
                     published_on = coalesce(published_on, {today}), vetted_on = {today},
                     updated_at = {now}
                   where id = $1 and current_revision_id = $2
                     and (status = 'submitted'
                          -- a re-review that finds the vetted practice still current
                          or (status = 'vetted' and public_revision_id = current_revision_id))"#
            }
            Decision::Return => {
                r#"update practices set status = 'returned', updated_at = {now}
                   where id = $1 and current_revision_id = $2 and status = 'submitted'"#
            }
            // Only a practice with a vetted, public revision is retired: a draft or a
            // submission is returned instead, and an archive must be restorable.
            Decision::Archive => {
                r#"update practices set status = 'archived', updated_at = {now}
                   where id = $1 and current_revision_id = $2 and status <> 'archived'
                     and public_revision_id is not null"#
            }
            // The vetted revision is public again; an edit that was waiting behind it when the
            // practice was archived goes back to its team as a draft.
            Decision::Restore => {
                r#"update practices set
                     status = case when current_revision_id = public_revision_id then 'vetted' else 'draft' end,
                     updated_at = {now}
                   where id = $1 and current_revision_id = $2 and status = 'archived'
                     and public_revision_id is not null"#
            }
        };
        let d = tx.dialect();
        let sql = sql.replace("{now}", d.now()).replace("{today}", d.today());
        let changed = query(sql)
            .bind(practice_id)
            .bind(revision_id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        if changed != 1 {
            return Err(DecisionError::Stale);
        }
        query(
            "insert into reviews (practice_id, revision_id, reviewer_id, decision, comment, rubric, essa_tier) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(practice_id)
        .bind(revision_id)
        .bind(reviewer)
        .bind(decision.as_str())
        .bind(comment)
        .bind(serde_json::to_string(rubric).unwrap_or_else(|_| "[]".into()))
        .bind(essa_tier.filter(|_| decision == Decision::Vet).map(|t| t.number()))
        .execute(&mut tx)
        .await?;
        record_event_noting(
            &mut tx,
            practice_id,
            Some(revision_id),
            decision.event(),
            Some(reviewer),
            &serde_json::json!({ "public_before": public_before }).to_string(),
        )
        .await?;
        record_change(&mut tx, practice_id, "practice").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every decision on a practice, newest first.
    pub async fn reviews_of(&self, slug: &str) -> sqlx::Result<Vec<ReviewRow>> {
        self.reviews_where("p.slug = $1 and $2 is null", Some(slug), None)
            .await
    }

    /// The latest decision on each practice of the person's teams that is back with them.
    pub async fn returned_to(&self, user_id: i64) -> sqlx::Result<Vec<ReviewRow>> {
        self.reviews_where(
            r#"$1 is null and p.status = 'returned' and v.id = (select max(id) from reviews where practice_id = p.id)
               and p.team_id in (select team_id from team_members where user_id = $2)"#,
            None,
            Some(user_id),
        )
        .await
    }

    /// Decisions matching `condition`, which may use `$1` (a slug) and `$2` (a user id).
    async fn reviews_where(
        &self,
        condition: &str,
        slug: Option<&str>,
        user: Option<i64>,
    ) -> sqlx::Result<Vec<ReviewRow>> {
        let sql = format!(
            r#"select p.slug, cr.title, r.number as revision_number, u.name as reviewer, v.decision,
                      v.comment, v.rubric, v.at
               from reviews v join practices p on p.id = v.practice_id
               join practice_revisions r on r.id = v.revision_id
               join practice_revisions cr on cr.id = p.current_revision_id
               join users u on u.id = v.reviewer_id
               where {condition} order by v.at desc, v.id desc"#
        );
        query_as(&sql)
            .bind(slug)
            .bind(user)
            .fetch_all(&self.read)
            .await
    }

    /// The first `limit` vetted practices due for re-review on `day` (`YYYY-MM-DD`, due on
    /// or before it), longest due first, and how many are due.
    pub async fn due_for_rereview(
        &self,
        months: u32,
        day: &str,
        limit: i64,
    ) -> sqlx::Result<Capped<DueRow>> {
        // Due dates follow vetting dates, so the vetting order (an index) is the due order —
        // within a few days: SQLite carries a month-end overflow over ("08-31" + 6 months is
        // "03-03"). The first rows are read without sorting every vetted practice.
        let rows: Vec<DueRow> = query_as(format!(
            r#"select p.slug, r.title, t.name as team_name, p.vetted_on,
                      {} as due_on
               from practices p
               join practice_revisions r on r.id = p.public_revision_id
               join teams t on t.id = p.team_id
               {}
               order by p.vetted_on, p.slug limit $3"#,
            due_on(self.dialect()),
            due_where(self.dialect())
        ))
        .bind(i64::from(months))
        .bind(day)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let total = query_scalar(format!(
            "select count(*) from practices p {}",
            due_where(self.dialect())
        ))
        .bind(i64::from(months))
        .bind(day)
        .fetch_one(&self.read)
        .await?;
        Ok(Capped { rows, total })
    }
}

/// Appends to the practice's life story, and schedules the notices it causes. Call inside
/// the transaction of the change.
pub(crate) async fn record_event(
    tx: &mut Conn,
    practice_id: i64,
    revision_id: Option<i64>,
    kind: &str,
    user: Option<i64>,
) -> sqlx::Result<()> {
    record_event_noting(tx, practice_id, revision_id, kind, user, "{}").await
}

/// [`record_event`], with what the notices need to know that the event row does not keep
/// (`payload`, JSON).
async fn record_event_noting(
    tx: &mut Conn,
    practice_id: i64,
    revision_id: Option<i64>,
    kind: &str,
    user: Option<i64>,
    payload: &str,
) -> sqlx::Result<()> {
    let id: i64 = query_scalar(
        "insert into practice_events (practice_id, revision_id, kind, user_id) values ($1, $2, $3, $4) returning id",
    )
    .bind(practice_id)
    .bind(revision_id)
    .bind(kind)
    .bind(user)
    .fetch_one(&mut *tx)
    .await?;
    // The people who hear about it are told by the `notify` job, due as the event commits.
    if crate::notify::TOLD.contains(&kind) {
        super::schedule_in(tx, crate::notify::JOB, &format!("event:{id}"), payload).await?;
    }
    Ok(())
}

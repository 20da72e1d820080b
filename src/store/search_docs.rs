//! What the search index needs of each practice, read in bulk from the database.

use std::collections::HashMap;

use sqlx::FromRow;

use super::sql::{Arg, Dialect, query, query_as, query_scalar};

use super::{Db, parse_list};

/// Everything indexed for one public practice.
#[derive(Debug, Clone)]
pub struct IndexDoc {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// Markdown of the essential aspects and necessary conditions.
    pub aspects: String,
    /// Markdown of every other section.
    pub sections: String,
    /// Measure names and instruments, tags, team/school/district names.
    pub extra: String,
    pub challenge_areas: Vec<String>,
    pub grade_bands: Vec<String>,
    pub subjects: Vec<String>,
    pub stage: String,
    pub district: String,
    /// Levels and locales of the schools where the practice has worked: the originating
    /// school and every adopting school that reports `improved` ("schools like mine").
    pub levels: Vec<String>,
    pub locales: Vec<String>,
    /// The ESSA tier the practice page shows (`tier-3`), if any.
    pub essa: Option<&'static str>,
    /// The materials and time-to-start bands of what it takes, where the team said.
    pub materials: Option<&'static str>,
    pub start: Option<&'static str>,
    pub team_name: String,
    pub school_name: String,
    pub district_name: String,
    pub vetted_on: Option<String>,
    pub published_on: Option<String>,
    pub adoption_count: i64,
}

#[derive(FromRow)]
struct Row {
    id: i64,
    revision_id: i64,
    slug: String,
    title: String,
    summary: String,
    grade_bands: String,
    subjects: String,
    tags: String,
    stage: String,
    vetted_on: Option<String>,
    published_on: Option<String>,
    team_name: String,
    school_name: String,
    level: String,
    locale: String,
    district: String,
    district_name: String,
    adoption_count: i64,
    start_hours: Option<f64>,
    materials_cost: Option<f64>,
}

/// Only practices the public can read are indexed: a public revision, not archived.
const PUBLIC: &str = "p.public_revision_id is not null and p.status <> 'archived'";

impl Db {
    /// The index documents of the given practices (or of every public practice), in id order.
    /// Practices that are not public are absent from the result.
    pub async fn index_docs(&self, ids: Option<&[i64]>) -> sqlx::Result<Vec<IndexDoc>> {
        let mut essa = self.essa_inputs(ids).await?;
        // All five statements share `filter`.
        let (filter, ids) = match ids {
            Some(ids) => (
                format!("and {}", self.dialect().in_list("p.id", "$1")),
                Arg::ids(ids),
            ),
            None => ("and $1 is null".to_owned(), Arg::I64(None)),
        };
        let rows: Vec<Row> = query_as(format!(
            r#"select p.id, r.id as revision_id, p.slug, r.title, r.summary, r.grade_bands, r.subjects, r.tags,
                      case when p.stage = 'replicated' then p.stage else r.stage end as stage, p.vetted_on, p.published_on,
                      t.name as team_name, s.name as school_name, s.level, s.locale,
                      d.slug as district, d.name as district_name,
                      (select count(*) from adoptions a where a.practice_id = p.id
                         and a.status in ('adopted', 'adapted')) as adoption_count,
                      r.start_hours, r.materials_cost
               from practices p
               join practice_revisions r on r.id = p.public_revision_id
               join teams t on t.id = p.team_id
               join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where {PUBLIC} {filter}
               order by p.id"#
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?;

        let revision_filter =
            format!("(select p.public_revision_id from practices p where {PUBLIC} {filter})");
        let mut sections: HashMap<i64, (String, String)> = HashMap::new();
        for (rev, kind, md) in query_as::<(i64, String, String)>(&format!(
            "select revision_id, kind, markdown from revision_sections where revision_id in {revision_filter} order by revision_id, position"
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?
        {
            let entry = sections.entry(rev).or_default();
            let target = if kind == "essential-aspects" || kind == "necessary-conditions" { &mut entry.0 } else { &mut entry.1 };
            target.push_str(&md);
            target.push_str("\n\n");
        }
        let mut areas: HashMap<i64, Vec<String>> = HashMap::new();
        let mut area_names: HashMap<i64, String> = HashMap::new();
        for (rev, slug, name) in query_as::<(i64, String, String)>(&format!(
            r#"select rca.revision_id, a.slug, a.name from revision_challenge_areas rca
               join challenge_areas a on a.id = rca.challenge_area_id
               where rca.revision_id in {revision_filter} order by rca.revision_id, rca.position"#
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?
        {
            areas.entry(rev).or_default().push(slug);
            let names = area_names.entry(rev).or_default();
            names.push_str(&name);
            names.push_str(". ");
        }
        let mut measures: HashMap<i64, String> = HashMap::new();
        for (rev, name, instrument) in query_as::<(i64, String, String)>(&format!(
            "select revision_id, name, instrument from measures where revision_id in {revision_filter} order by revision_id, position"
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?
        {
            let text = measures.entry(rev).or_default();
            text.push_str(&name);
            text.push_str(". ");
            text.push_str(&instrument);
            text.push_str(". ");
        }

        let mut worked: HashMap<i64, (Vec<String>, Vec<String>)> = HashMap::new();
        for (id, level, locale) in query_as::<(i64, String, String)>(&format!(
            r#"select p.id, s.level, s.locale from adoptions a
               join practices p on p.id = a.practice_id
               join teams t on t.id = a.team_id join schools s on s.id = t.school_id
               where a.outcome = 'improved' and {PUBLIC} {filter}"#
        ))
        .bind(ids.clone())
        .fetch_all(&self.read)
        .await?
        {
            let entry = worked.entry(id).or_default();
            entry.0.push(level);
            entry.1.push(locale);
        }

        Ok(rows
            .into_iter()
            .map(|r| {
                let cost = crate::domain::Cost {
                    start_hours: r.start_hours,
                    materials: r.materials_cost,
                    ..Default::default()
                };
                let (mut levels, mut locales) = worked.remove(&r.id).unwrap_or_default();
                levels.push(r.level.clone());
                locales.push(r.locale.clone());
                for list in [&mut levels, &mut locales] {
                    list.sort();
                    list.dedup();
                }
                let (aspects, other) = sections.remove(&r.revision_id).unwrap_or_default();
                let extra = format!(
                    "{} {} {} {} {} {}",
                    area_names.remove(&r.revision_id).unwrap_or_default(),
                    measures.remove(&r.revision_id).unwrap_or_default(),
                    parse_list(&r.tags).join(". "),
                    r.team_name,
                    r.school_name,
                    r.district_name
                );
                IndexDoc {
                    id: r.id,
                    slug: r.slug,
                    title: r.title,
                    summary: r.summary,
                    aspects,
                    sections: other,
                    extra,
                    challenge_areas: areas.remove(&r.revision_id).unwrap_or_default(),
                    grade_bands: parse_list(&r.grade_bands),
                    subjects: parse_list(&r.subjects),
                    stage: r.stage,
                    district: r.district,
                    levels,
                    locales,
                    essa: essa.remove(&r.id).and_then(|e| e.shown()).map(|t| t.key()),
                    materials: cost.materials_band(),
                    start: cost.start_band(),
                    team_name: r.team_name,
                    school_name: r.school_name,
                    district_name: r.district_name,
                    vetted_on: r.vetted_on,
                    published_on: r.published_on,
                    adoption_count: r.adoption_count,
                }
            })
            .collect())
    }

    /// Changes after `after` in feed order, at most `limit`.
    ///
    /// SQLite has one writer, so `seq` order is commit order. On PostgreSQL it is not: a
    /// sequence value is taken before commit, so a row with a smaller `seq` can become
    /// visible after a larger one, and a reader that remembered "the highest seq applied"
    /// would skip it for ever. There the feed is read in `(xid, seq)` order, and only rows
    /// of transactions older than the oldest one still running (the snapshot's xmin, read
    /// *before* the rows): that set can never grow again, and every row committed later has
    /// an `xid` at or above the horizon, so it sorts after anything returned now.
    pub async fn changes_after(&self, after: FeedPos, limit: i64) -> sqlx::Result<Vec<Change>> {
        match self.dialect() {
            Dialect::Sqlite => {
                query_as(
                    "select 0 as xid, seq, practice_id, kind from changes where seq > $1 order by seq limit $2",
                )
                .bind(after.seq)
                .bind(limit)
                .fetch_all(&self.read)
                .await
            }
            Dialect::Postgres => {
                let horizon: i64 = query_scalar(
                    "select pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
                )
                .fetch_one(&self.read)
                .await?;
                query_as(
                    r#"select xid, seq, practice_id, kind from changes
                       where (xid, seq) > ($1, $2) and xid < $3
                       order by xid, seq limit $4"#,
                )
                .bind(after.xid)
                .bind(after.seq)
                .bind(horizon)
                .bind(limit)
                .fetch_all(&self.read)
                .await
            }
        }
    }

    /// The newest committed change in feed order: an indexer at or past it has applied
    /// every write acknowledged so far.
    pub async fn feed_head(&self) -> sqlx::Result<FeedPos> {
        let head: Option<FeedPos> = match self.dialect() {
            Dialect::Sqlite => {
                query_as("select 0 as xid, seq from changes order by seq desc limit 1")
                    .fetch_optional(&self.read)
                    .await?
            }
            Dialect::Postgres => {
                query_as("select xid, seq from changes order by xid desc, seq desc limit 1")
                    .fetch_optional(&self.read)
                    .await?
            }
        };
        Ok(head.unwrap_or_default())
    }

    /// Where a rebuild that reads the practices *after* this call stands in the feed: every
    /// change it may not have seen comes after it, and is applied again (which is harmless).
    pub async fn rebuild_position(&self) -> sqlx::Result<FeedPos> {
        match self.dialect() {
            Dialect::Sqlite => Ok(FeedPos {
                xid: 0,
                seq: self.last_change().await?,
            }),
            Dialect::Postgres => {
                let horizon: i64 =
                    query_scalar("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                        .fetch_one(&self.read)
                        .await?;
                // Every row of a transaction below the horizon is visible by now, so none
                // of them has a `seq` above this one.
                Ok(FeedPos {
                    xid: horizon - 1,
                    seq: self.last_change().await?,
                })
            }
        }
    }

    /// PostgreSQL: when committed changes after `after` wait for an older transaction to end
    /// (anywhere on the server: the horizon is the whole cluster's), which one holds them.
    /// None when nothing waits, and always on SQLite.
    pub async fn feed_held_back(&self, after: FeedPos) -> sqlx::Result<Option<String>> {
        if self.dialect() == Dialect::Sqlite {
            return Ok(None);
        }
        let waiting: i64 = query_scalar(
            r#"select count(*) from changes where (xid, seq) > ($1, $2)
                 and xid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint"#,
        )
        .bind(after.xid)
        .bind(after.seq)
        .fetch_one(&self.read)
        .await?;
        if waiting == 0 {
            return Ok(None);
        }
        let holder: Option<String> = query_scalar(
            r#"select format('database %s, pid %s, %s for %s s: %s', coalesce(datname, '?'), pid,
                             coalesce(state, '?'), extract(epoch from now() - xact_start)::bigint,
                             left(query, 80))
               from pg_stat_activity where backend_xid is not null
               order by age(backend_xid) desc limit 1"#,
        )
        .fetch_optional(&self.read)
        .await?;
        Ok(Some(format!(
            "{waiting} change(s) wait for an older transaction to end ({})",
            holder.as_deref().unwrap_or("not visible to this role")
        )))
    }

    /// Whether an index that stands at `pos` is ahead of this database (restored from an
    /// older backup, or into another PostgreSQL cluster): it would skip the next writes.
    pub async fn is_ahead(&self, pos: FeedPos) -> sqlx::Result<bool> {
        if pos.seq > self.last_change().await? {
            return Ok(true);
        }
        if self.dialect() == Dialect::Postgres {
            let next: i64 =
                query_scalar("select pg_snapshot_xmax(pg_current_snapshot())::text::bigint")
                    .fetch_one(&self.read)
                    .await?;
            return Ok(pos.xid >= next);
        }
        Ok(false)
    }

    /// The newest change, 0 when there is none.
    pub async fn last_change(&self) -> sqlx::Result<i64> {
        query_scalar("select coalesce(max(seq), 0) from changes")
            .fetch_one(&self.read)
            .await
    }

    /// Asks the running indexer to rebuild the whole index (what `reindex --online` does).
    pub async fn request_reindex(&self) -> sqlx::Result<i64> {
        let mut tx = self.begin_write().await?;
        let seq: i64 = query_scalar(
            "insert into changes (practice_id, kind) values (null, 'reindex') returning seq",
        )
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Records searches (no user identity), in one transaction per batch.
    pub async fn log_searches(&self, entries: &[SearchLogEntry]) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        for e in entries {
            query(
                "insert into search_log (query, filters, results, took_ms) values ($1, $2, $3, $4)",
            )
            .bind(&e.query)
            .bind(&e.filters)
            .bind(e.results as i64)
            .bind(e.took_ms)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await
    }

    /// The most frequent normalised queries since `since` (ISO timestamp) that found nothing.
    pub async fn zero_result_searches(
        &self,
        since: &str,
        until: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<(String, i64)>> {
        query_as(
            r#"select query, count(*) as n from search_log
               where results = 0 and query <> '' and at >= $1 and at < $2
               group by query order by n desc, query limit $3"#,
        )
        .bind(since)
        .bind(until)
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }
}

/// A place in the change feed: `(xid, seq)` in PostgreSQL's commit-safe order, `(0, seq)` on
/// SQLite. Ordered as the feed is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, FromRow)]
pub struct FeedPos {
    pub xid: i64,
    pub seq: i64,
}

/// One row of the change feed.
#[derive(Debug, Clone, FromRow)]
pub struct Change {
    #[sqlx(flatten)]
    pub pos: FeedPos,
    pub practice_id: Option<i64>,
    pub kind: String,
}

/// One search, as the network's log keeps it.
#[derive(Debug, Clone)]
pub struct SearchLogEntry {
    pub query: String,
    pub filters: String,
    pub results: u64,
    pub took_ms: f64,
}

impl Db {
    /// Ids of every practice the public can read, ascending.
    pub async fn public_practice_ids(&self) -> sqlx::Result<Vec<i64>> {
        query_scalar(format!(
            "select p.id from practices p where {PUBLIC} order by p.id"
        ))
        .fetch_all(&self.read)
        .await
    }
}

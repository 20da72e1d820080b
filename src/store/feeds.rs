//! The reads behind the Atom feeds (`web::feeds`): public practices as feed entries. (Not the
//! change feed in `search_docs`, which tells the indexer what was written.)

use sqlx::FromRow;
use tracing::instrument;

use super::Db;
use super::pages::Cards;
use super::sql::{Arg, Dialect, query_as};

/// A public practice as a feed shows it: its vetted revision, never a newer one that waits for
/// review, and never an archived practice (the rule of `pages`).
#[derive(Debug, Clone, FromRow)]
pub struct FeedEntry {
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// A JSON array of the public revision's challenge areas (slugs), in its order.
    pub areas: String,
    pub team_slug: String,
    pub team_name: String,
    pub published_on: Option<String>,
    pub vetted_on: Option<String>,
    /// When the public revision was vetted (`2026-03-02T14:05:09Z`): the time of the coach's
    /// decision, or the start of `vetted_on` (UTC) for a practice vetted in an imported file
    /// (which records a day, not a decision).
    pub vetted_at: Option<String>,
}

/// The columns of `FeedEntry`, joining `p`, `r` (the public revision), `t`, `s` and `d` as
/// `pages`' cards do, so that a `Cards` clause narrows it. The decision's time counts only
/// when it fell on `vetted_on`: an import that changes the day has no decision behind it.
fn select(d: Dialect) -> String {
    format!(
        r#"select p.slug, r.title, r.summary, {areas} as areas,
                  t.slug as team_slug, t.name as team_name, p.published_on, p.vetted_on,
                  coalesce((select max(e.at) from practice_events e
                            where e.practice_id = p.id and e.kind = 'vetted'
                              and e.revision_id = p.public_revision_id
                              and substr(e.at, 1, 10) = p.vetted_on),
                           p.vetted_on || 'T00:00:00Z') as vetted_at
           from practices p
           join practice_revisions r on r.id = p.public_revision_id
           join teams t on t.id = p.team_id
           join schools s on s.id = t.school_id
           join districts d on d.id = s.district_id
           where p.status <> 'archived'"#,
        areas = d.json_array(
            "a.slug",
            "revision_challenge_areas rca join challenge_areas a on a.id = rca.challenge_area_id where rca.revision_id = r.id",
            "rca.position"
        ),
    )
}

impl Db {
    /// The `limit` public practices of `of` vetted last, newest first (by day, as lists are;
    /// the feed orders a day's practices by the time of their vetting).
    #[instrument(skip_all)]
    pub async fn feed_entries(&self, of: Cards<'_>, limit: i64) -> sqlx::Result<Vec<FeedEntry>> {
        let (clause, bind) = of.clause();
        let next = 1 + usize::from(bind.is_some());
        let sql = format!(
            "{}{clause} order by p.vetted_on desc nulls last, p.slug limit ${next}",
            select(self.dialect())
        );
        let query = query_as(&sql);
        let query = match bind {
            Some(value) => query.bind(value),
            None => query,
        };
        query.bind(limit).fetch_all(&self.read).await
    }

    /// The public practices among `slugs`, in the order given (a search's results).
    #[instrument(skip_all)]
    pub async fn feed_entries_in_order(&self, slugs: &[String]) -> sqlx::Result<Vec<FeedEntry>> {
        let d = self.dialect();
        let sql = format!("{} and {}", select(d), d.in_list("p.slug", "$1"));
        let mut entries: Vec<FeedEntry> = query_as(&sql)
            .bind(Arg::texts(slugs))
            .fetch_all(&self.read)
            .await?;
        entries.sort_by_key(|e| slugs.iter().position(|s| *s == e.slug));
        Ok(entries)
    }
}

//! What the hub tells people by e-mail: the outbox of messages to send, the kinds of notice
//! each person turned off, their subscriptions, and who hears about a practice.
//!
//! The outbox is written by the `notify` job in one transaction per event, each message once
//! (`dedupe`), and drained by one sender per instance (see `crate::mail`): a claim moves the
//! message to `sending` before the server sees it, so no instance and no restart ever sends
//! it a second time.

use sqlx::FromRow;

use super::sql::{query, query_as, query_scalar};
use super::{Conn, Db};

/// A message ready to go into the outbox.
#[derive(Debug, Clone)]
pub struct Draft {
    /// What the message is about and for whom; a second draft with the same key is dropped.
    pub dedupe: String,
    pub user_id: i64,
    pub to_addr: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The message's one-click unsubscribe link (signed).
    pub unsubscribe: String,
}

/// A message claimed for sending.
#[derive(Debug, Clone, FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub to_addr: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub unsubscribe: String,
    pub attempts: i64,
}

/// How a send ended, as the outbox records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Delivered,
    /// The server refused for now (4xx): try again at this time.
    Retry {
        at: i64,
        error: String,
    },
    /// The server refused for good (5xx), or it was retried too often.
    Failed(String),
    /// The connection broke while the server had the message: it may have been delivered,
    /// so it is not sent again by itself.
    Uncertain(String),
}

/// Someone to tell.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Recipient {
    pub id: i64,
    pub email: String,
    pub name: String,
}

/// A subscription as `/me/notifications` lists it.
#[derive(Debug, Clone, FromRow)]
pub struct Subscription {
    pub id: i64,
    pub user_id: i64,
    pub target: String,
    pub value: String,
    pub label: String,
    pub delivery: String,
}

/// Counts of the outbox by state, for the administrators' page.
#[derive(Debug, Clone, Default)]
pub struct OutboxCounts {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub uncertain: i64,
    pub expired: i64,
}

/// Every recipient query below leaves out people whose address no sign-in provider vouched
/// for (`users.email_confirmed`): the hub never e-mails an address someone merely claimed.
impl Db {
    /// Adds `drafts` to the outbox, leaving out people who turned their kind off and drafts
    /// already there. Returns how many were added.
    pub async fn enqueue_mail(&self, drafts: &[Draft], now: i64) -> sqlx::Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for d in drafts {
            added += query(
                r#"insert into outbox (dedupe, user_id, to_addr, kind, subject, body_text, body_html,
                                       unsubscribe, run_after, created_at)
                   select $1, $2, $3, $4, $5, $6, $7, $8, $9, $9
                   where not exists (select 1 from notifications_off where user_id = $2 and kind = $4)
                   on conflict (dedupe) do nothing"#,
            )
            .bind(d.dedupe.as_str())
            .bind(d.user_id)
            .bind(d.to_addr.as_str())
            .bind(d.kind.as_str())
            .bind(d.subject.as_str())
            .bind(d.body_text.as_str())
            .bind(d.body_html.as_str())
            .bind(d.unsubscribe.as_str())
            .bind(now)
            .execute(&mut tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Whether a message waits to be sent at `now`.
    pub async fn mail_due(&self, now: i64) -> sqlx::Result<bool> {
        query_scalar(
            "select count(*) > 0 from (select 1 from outbox where channel = 'mail' and state = 'pending' and run_after <= $1 limit 1) d",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await
    }

    /// Takes the message due longest, as `sending` until `lease_until`.
    pub async fn claim_mail(&self, now: i64, lease_until: i64) -> sqlx::Result<Option<Outgoing>> {
        self.claim(now, lease_until, |skip_locked| {
            format!(
                r#"update outbox set state = 'sending', attempts = attempts + 1, run_after = $2
                   where channel = 'mail' and state = 'pending' and run_after <= $1
                     and id = (select id from outbox where channel = 'mail' and state = 'pending'
                               and run_after <= $1 order by run_after, id limit 1 {skip_locked})
                   returning id, to_addr, subject, body_text, body_html, unsubscribe, attempts"#
            )
        })
        .await
    }

    /// Records how sending `mail` ended. Fenced by `attempts`: only the latest claim records.
    pub async fn record_mail(&self, mail: &Outgoing, sent: &Sent, now: i64) -> sqlx::Result<()> {
        let (state, run_after, error) = match sent {
            Sent::Delivered => ("sent", now, None),
            Sent::Retry { at, error } => ("pending", *at, Some(error.as_str())),
            Sent::Failed(e) => ("failed", now, Some(e.as_str())),
            Sent::Uncertain(e) => ("uncertain", now, Some(e.as_str())),
        };
        let mut tx = self.begin_write().await?;
        query(
            r#"update outbox set state = $3, run_after = $4, last_error = $5,
                 sent_at = case when $3 = 'sent' then $4 else sent_at end
               where id = $1 and attempts = $2"#,
        )
        .bind(mail.id)
        .bind(mail.attempts)
        .bind(state)
        .bind(run_after)
        .bind(error)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    /// Settles messages nobody can send any more: a claim whose lease ran out (its sender
    /// stopped while sending) becomes `uncertain`, never sent again by itself; a message
    /// waiting since before `expire_before` becomes `expired`. Webhook deliveries expire too,
    /// but a stale claim of one is claimed again (at least once: see `store::webhooks`).
    pub async fn settle_mail(&self, now: i64, expire_before: i64) -> sqlx::Result<u64> {
        let mut tx = self.begin_write().await?;
        let stale = query(
            r#"update outbox set state = 'uncertain',
                 last_error = 'the hub stopped while sending it: it may have gone out, so it is not sent again'
               where channel = 'mail' and state = 'sending' and run_after < $1"#,
        )
        .bind(now)
        .execute(&mut tx)
        .await?
        .rows_affected();
        let old = query(
            r#"update outbox set state = 'expired', last_error = coalesce(last_error, 'not sent in time')
               where state = 'pending' and created_at < $1"#,
        )
        .bind(expire_before)
        .execute(&mut tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(stale + old)
    }

    pub async fn outbox_counts(&self) -> sqlx::Result<OutboxCounts> {
        let rows: Vec<(String, i64)> =
            query_as("select state, count(*) from outbox where channel = 'mail' group by state")
                .fetch_all(&self.read)
                .await?;
        let mut c = OutboxCounts::default();
        for (state, n) in rows {
            match state.as_str() {
                "pending" | "sending" => c.pending += n,
                "sent" => c.sent += n,
                "failed" => c.failed += n,
                "uncertain" => c.uncertain += n,
                _ => c.expired += n,
            }
        }
        Ok(c)
    }

    /// `(to, kind, subject, state, attempts)` of every message, oldest first: for tests and
    /// operators.
    pub async fn outbox(&self) -> sqlx::Result<Vec<(String, String, String, String, i64)>> {
        query_as("select to_addr, kind, subject, state, attempts from outbox where channel = 'mail' order by id")
            .fetch_all(&self.read)
            .await
    }

    /// The kinds of notice `user` turned off.
    pub async fn notifications_off(&self, user: i64) -> sqlx::Result<Vec<String>> {
        query_scalar("select kind from notifications_off where user_id = $1 order by kind")
            .bind(user)
            .fetch_all(&self.read)
            .await
    }

    /// Turns notices of `kind` on or off for `user`.
    pub async fn set_notification(&self, user: i64, kind: &str, on: bool) -> sqlx::Result<()> {
        let sql = if on {
            "delete from notifications_off where user_id = $1 and kind = $2"
        } else {
            "insert into notifications_off (user_id, kind) values ($1, $2) on conflict do nothing"
        };
        let mut tx = self.begin_write().await?;
        query(sql).bind(user).bind(kind).execute(&mut tx).await?;
        tx.commit().await
    }

    pub async fn subscriptions_of(&self, user: i64) -> sqlx::Result<Vec<Subscription>> {
        query_as(
            "select id, user_id, target, value, label, delivery from subscriptions where user_id = $1 order by target, label, id",
        )
        .bind(user)
        .fetch_all(&self.read)
        .await
    }

    /// Every subscription delivered `delivery` (`weekly` or `immediate`), by person.
    pub async fn subscriptions_by(&self, delivery: &str) -> sqlx::Result<Vec<Subscription>> {
        query_as(
            "select id, user_id, target, value, label, delivery from subscriptions where delivery = $1 order by user_id, id",
        )
        .bind(delivery)
        .fetch_all(&self.read)
        .await
    }

    /// Subscribes `user` (again: the delivery and label are updated).
    pub async fn subscribe(
        &self,
        user: i64,
        target: &str,
        value: &str,
        label: &str,
        delivery: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        query(
            r#"insert into subscriptions (user_id, target, value, label, delivery, created_at)
               values ($1, $2, $3, $4, $5, $6)
               on conflict (user_id, target, value) do update
                 set label = excluded.label, delivery = excluded.delivery"#,
        )
        .bind(user)
        .bind(target)
        .bind(value)
        .bind(label)
        .bind(delivery)
        .bind(now)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    /// Changes how subscription `id` of `user` is delivered; false if it is not theirs.
    pub async fn set_delivery(&self, user: i64, id: i64, delivery: &str) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = query("update subscriptions set delivery = $3 where id = $1 and user_id = $2")
            .bind(id)
            .bind(user)
            .bind(delivery)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Ends subscription `id` of `user`; false if there was none.
    pub async fn unsubscribe(&self, user: i64, id: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = query("delete from subscriptions where id = $1 and user_id = $2")
            .bind(id)
            .bind(user)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// The key named `name`, made from `fresh` the first time any instance asks.
    pub async fn hub_key(&self, name: &str, fresh: &str) -> sqlx::Result<String> {
        if let Some(key) = query_scalar("select value from hub_keys where name = $1")
            .bind(name)
            .fetch_optional(&self.read)
            .await?
        {
            return Ok(key);
        }
        let mut tx = self.begin_write().await?;
        query("insert into hub_keys (name, value) values ($1, $2) on conflict (name) do nothing")
            .bind(name)
            .bind(fresh)
            .execute(&mut tx)
            .await?;
        let key = query_scalar("select value from hub_keys where name = $1")
            .bind(name)
            .fetch_one(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Members of team `team_id`.
    pub async fn team_recipients(&self, team_id: i64) -> sqlx::Result<Vec<Recipient>> {
        query_as(
            r#"select u.id, u.email, u.name from team_members m join users u on u.id = m.user_id
               where m.team_id = $1 and u.email_confirmed = 1 order by u.id"#,
        )
        .bind(team_id)
        .fetch_all(&self.read)
        .await
    }

    /// The coaches (and administrators) of district `district_id`; every coach when the
    /// district has none.
    pub async fn coach_recipients(&self, district_id: Option<i64>) -> sqlx::Result<Vec<Recipient>> {
        let local: Vec<Recipient> = query_as(
            r#"select id, email, name from users
               where role in ('coach', 'admin') and district_id = $1 and email_confirmed = 1
               order by id"#,
        )
        .bind(district_id)
        .fetch_all(&self.read)
        .await?;
        if !local.is_empty() {
            return Ok(local);
        }
        query_as(
            "select id, email, name from users where role in ('coach', 'admin') and email_confirmed = 1 order by id",
        )
            .fetch_all(&self.read)
            .await
    }

    /// Members of the teams that adopted practice `practice_id` and still use it.
    pub async fn adopter_recipients(
        &self,
        practice_id: i64,
    ) -> sqlx::Result<Vec<(Recipient, String)>> {
        let rows: Vec<(i64, String, String, String)> = query_as(
            r#"select distinct u.id, u.email, u.name, t.name from adoptions a
               join teams t on t.id = a.team_id
               join team_members m on m.team_id = a.team_id join users u on u.id = m.user_id
               where a.practice_id = $1 and a.status <> 'discontinued' and u.email_confirmed = 1
               order by u.id"#,
        )
        .bind(practice_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, email, name, team)| (Recipient { id, email, name }, team))
            .collect())
    }

    /// The people `user_ids`, as recipients.
    pub async fn recipients(&self, user_ids: &[i64]) -> sqlx::Result<Vec<Recipient>> {
        query_as(format!(
            "select id, email, name from users where {} and email_confirmed = 1 order by id",
            self.dialect().in_list("id", "$1")
        ))
        .bind(super::sql::Arg::ids(user_ids))
        .fetch_all(&self.read)
        .await
    }
}

/// Makes job `(kind, key)` due now, inside the transaction of the change that causes it: the
/// notice exists exactly when the change does.
pub(crate) async fn schedule_in(
    tx: &mut Conn,
    kind: &str,
    key: &str,
    payload: &str,
) -> sqlx::Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    super::jobs::insert_job(tx, kind, key, payload, now).await
}

/// What a notice about a practice event needs to say.
#[derive(Debug, Clone, FromRow)]
pub struct EventFacts {
    pub kind: String,
    pub practice_id: i64,
    pub revision_id: i64,
    pub revision_number: i64,
    pub slug: String,
    pub title: String,
    pub team_id: i64,
    pub team_name: String,
    pub district_id: i64,
    /// Whether the event's revision is the public one now (vetted, not archived).
    pub public_now: bool,
    /// The revision public before this event (set by the caller from the job's payload).
    #[sqlx(skip)]
    pub public_before: Option<i64>,
    /// The reviewer and comment of the decision the event records.
    #[sqlx(skip)]
    pub comment: Option<(String, String)>,
}

/// What a notice about an adoption report needs to say.
#[derive(Debug, Clone)]
pub struct AdoptionFacts {
    pub slug: String,
    pub title: String,
    pub owner_team_id: i64,
    pub team_name: String,
    pub school_name: String,
    pub status: Option<String>,
    pub outcome: Option<String>,
    /// The adoption's status and outcome before this report (no status: it is new).
    pub previous_status: Option<String>,
    pub previous_outcome: Option<String>,
}

/// A public practice a subscription may announce.
#[derive(Debug, Clone, FromRow)]
pub struct Announced {
    pub practice_id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub team_slug: String,
    pub team_name: String,
    pub school_slug: String,
    pub school_name: String,
    /// Vetted before the window (or the event) too: a revision, not a new practice.
    pub revised: bool,
    #[sqlx(skip)]
    pub areas: Vec<String>,
}

const ANNOUNCED: &str = r#"
    select p.id as practice_id, p.slug, r.title, r.summary, t.slug as team_slug,
           t.name as team_name, s.slug as school_slug, s.name as school_name,
           exists (select 1 from practice_events b where b.practice_id = p.id and b.kind = 'vetted'
                   and b.at < $1 and b.revision_id <> p.public_revision_id) as revised
    from practices p
    join practice_revisions r on r.id = p.public_revision_id
    join teams t on t.id = p.team_id join schools s on s.id = t.school_id"#;

impl Db {
    pub async fn event_facts(&self, event: i64) -> sqlx::Result<Option<EventFacts>> {
        let facts: Option<EventFacts> = query_as(
            r#"select e.kind, e.practice_id, coalesce(e.revision_id, p.current_revision_id) as revision_id,
                      r.number as revision_number, p.slug, r.title, t.id as team_id,
                      t.name as team_name, s.district_id,
                      (p.status = 'vetted' and p.public_revision_id = r.id) as public_now
               from practice_events e join practices p on p.id = e.practice_id
               join practice_revisions r on r.id = coalesce(e.revision_id, p.public_revision_id, p.current_revision_id)
               join teams t on t.id = p.team_id join schools s on s.id = t.school_id
               where e.id = $1"#,
        )
        .bind(event)
        .fetch_optional(&self.read)
        .await?;
        let Some(mut facts) = facts else {
            return Ok(None);
        };
        if facts.kind == "returned" {
            facts.comment = query_as(
                r#"select u.name, v.comment from reviews v join users u on u.id = v.reviewer_id
                   where v.practice_id = $1 and v.revision_id = $2 and v.decision = 'return'
                   order by v.id desc limit 1"#,
            )
            .bind(facts.practice_id)
            .bind(facts.revision_id)
            .fetch_optional(&self.read)
            .await?;
        }
        Ok(Some(facts))
    }

    pub async fn adoption_facts(&self, entry: i64) -> sqlx::Result<Option<AdoptionFacts>> {
        let row: Option<(String, String, i64, String, String, i64, String)> = query_as(
            r#"select p.slug, r.title, p.team_id, t.name, s.name, h.adoption_id, h.snapshot
               from adoption_history h join adoptions a on a.id = h.adoption_id
               join practices p on p.id = a.practice_id
               join practice_revisions r on r.id = coalesce(p.public_revision_id, p.current_revision_id)
               join teams t on t.id = a.team_id join schools s on s.id = t.school_id
               where h.id = $1"#,
        )
        .bind(entry)
        .fetch_optional(&self.read)
        .await?;
        let Some((slug, title, owner_team_id, team_name, school_name, adoption, snapshot)) = row
        else {
            return Ok(None);
        };
        let before: Option<String> = query_scalar(
            "select snapshot from adoption_history where adoption_id = $1 and id < $2 order by id desc limit 1",
        )
        .bind(adoption)
        .bind(entry)
        .fetch_optional(&self.read)
        .await?;
        let (status, outcome) = super::adoption::snapshot_status(&snapshot)?;
        let (previous_status, previous_outcome) = match before {
            Some(b) => {
                let (s, o) = super::adoption::snapshot_status(&b)?;
                (Some(s), o)
            }
            None => (None, None),
        };
        Ok(Some(AdoptionFacts {
            slug,
            title,
            owner_team_id,
            team_name,
            school_name,
            status: Some(status),
            outcome,
            previous_status,
            previous_outcome,
        }))
    }

    /// The essential aspects of revision `id`.
    pub async fn revision_aspects(&self, id: i64) -> sqlx::Result<Vec<String>> {
        let json: Option<String> =
            query_scalar("select essential_aspects from practice_revisions where id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        Ok(json.map(|j| super::parse_list(&j)).unwrap_or_default())
    }

    /// Practice `id` if it is public, as subscriptions announce it (`revised` if a different
    /// revision was vetted before `at`).
    pub async fn announced(&self, id: i64, at: &str) -> sqlx::Result<Vec<Announced>> {
        let rows = query_as(format!(
            "{ANNOUNCED} where p.id = $2 and p.status = 'vetted'"
        ))
        .bind(at)
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        self.with_areas(rows).await
    }

    /// Every practice public now whose public revision was vetted in `[since, until)`
    /// (timestamps as events record them), oldest first.
    pub async fn announced_between(
        &self,
        since: &str,
        until: &str,
    ) -> sqlx::Result<Vec<Announced>> {
        let rows = query_as(format!(
            r#"{ANNOUNCED} where p.status = 'vetted' and exists (
                 select 1 from practice_events e where e.practice_id = p.id and e.kind = 'vetted'
                   and e.revision_id = p.public_revision_id and e.at >= $1 and e.at < $2)
               order by p.vetted_on, p.slug"#
        ))
        .bind(since)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        self.with_areas(rows).await
    }

    async fn with_areas(&self, mut rows: Vec<Announced>) -> sqlx::Result<Vec<Announced>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.practice_id).collect();
        let pairs: Vec<(i64, String)> = query_as(format!(
            r#"select p.id, c.slug from practices p
               join revision_challenge_areas rc on rc.revision_id = p.public_revision_id
               join challenge_areas c on c.id = rc.challenge_area_id where {}"#,
            self.dialect().in_list("p.id", "$1")
        ))
        .bind(super::sql::Arg::ids(&ids))
        .fetch_all(&self.read)
        .await?;
        let mut areas: std::collections::HashMap<i64, Vec<String>> = Default::default();
        for (id, slug) in pairs {
            areas.entry(id).or_default().push(slug);
        }
        for r in &mut rows {
            r.areas = areas.remove(&r.practice_id).unwrap_or_default();
        }
        Ok(rows)
    }
}

/// An adoption whose outcome report fell due.
#[derive(Debug, Clone, FromRow)]
pub struct Overdue {
    pub adoption_id: i64,
    pub team_id: i64,
    pub slug: String,
    pub title: String,
    pub started_on: String,
    pub due_on: String,
}

impl Db {
    /// Vetted practices that fell due for re-review after `since` and by `today`
    /// (`YYYY-MM-DD`), `rereview_months` after vetting.
    pub async fn newly_due(
        &self,
        months: u32,
        since: &str,
        today: &str,
    ) -> sqlx::Result<Vec<super::DueRow>> {
        let d = self.dialect();
        query_as(format!(
            r#"select p.slug, r.title, t.name as team_name, p.vetted_on, {due} as due_on
               from practices p
               join practice_revisions r on r.id = p.public_revision_id
               join teams t on t.id = p.team_id
               {filter} and {due} > $3
               order by p.vetted_on, p.slug"#,
            due = super::review::due_on(d),
            filter = super::review::due_where(d),
        ))
        .bind(i64::from(months))
        .bind(today)
        .bind(since)
        .fetch_all(&self.read)
        .await
    }

    /// Adoptions under way whose outcome report fell due after `since` and by `today`: no
    /// outcome `months` after they started.
    pub async fn newly_overdue(
        &self,
        months: u32,
        since: &str,
        today: &str,
    ) -> sqlx::Result<Vec<Overdue>> {
        let due = self.dialect().months_after("a.started_on", "$1");
        query_as(format!(
            r#"select a.id as adoption_id, a.team_id, p.slug, r.title, a.started_on, {due} as due_on
               from adoptions a join practices p on p.id = a.practice_id
               join practice_revisions r on r.id = coalesce(p.public_revision_id, p.current_revision_id)
               where a.status in ('testing', 'adopted', 'adapted') and a.outcome is null
                 and a.started_on is not null and {due} <= $2 and {due} > $3
               order by a.id"#
        ))
        .bind(i64::from(months))
        .bind(today)
        .bind(since)
        .fetch_all(&self.read)
        .await
    }
}

impl Db {
    /// The name of the challenge area, team or school `slug` (`target`), if it exists.
    pub async fn subscription_label(
        &self,
        target: &str,
        slug: &str,
    ) -> sqlx::Result<Option<String>> {
        let table = match target {
            "area" => "challenge_areas",
            "team" => "teams",
            "school" => "schools",
            _ => return Ok(None),
        };
        query_scalar(format!("select name from {table} where slug = $1"))
            .bind(slug)
            .fetch_optional(&self.read)
            .await
    }
}

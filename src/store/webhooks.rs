//! Webhooks: the endpoints administrators register, their deliveries in the shared outbox
//! (`channel = 'webhook'`), and the public facts of a practice that a delivery may carry.
//!
//! Deliveries are claimed as e-mail is (see `jobs::claim`), but the guarantee differs: a
//! delivery is sent **at least once**. A claim whose lease ran out (its instance stopped while
//! sending) is claimed again, and a receiver dedupes by the delivery id; an e-mail in the
//! same spot becomes `uncertain` instead, because nobody dedupes an inbox.

use sqlx::FromRow;

use super::Db;
use super::sql::{query, query_as, query_scalar};
use crate::auth::Secret;

/// A registered endpoint.
#[derive(Debug, Clone, FromRow)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    /// Signs every delivery; never printed (`Secret`'s `Debug` hides it).
    #[sqlx(try_from = "String")]
    pub secret: Secret,
    /// The event names it wants, space-separated.
    pub events: String,
    pub district_id: Option<i64>,
    pub district_name: Option<String>,
    pub challenge_area_id: Option<i64>,
    pub area_name: Option<String>,
    pub active: bool,
    pub created_at: i64,
}

impl Webhook {
    pub fn wants(&self, event: &str) -> bool {
        self.events.split_whitespace().any(|e| e == event)
    }
}

/// An endpoint as an administrator registers it.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub secret: Secret,
    pub events: Vec<String>,
    pub district_id: Option<i64>,
    pub challenge_area_id: Option<i64>,
}

/// A delivery to put in the outbox: one event for one endpoint. `body` is the JSON without
/// its `delivery` id, which is the outbox row's and is added as the row is written.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: i64,
    pub url: String,
    pub event: String,
    /// What the delivery is about; a second delivery with the same key to the same endpoint
    /// is dropped (a `notify` job run twice sends each delivery once).
    pub about: String,
    pub body: serde_json::Value,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    Retry { at: i64, error: String },
    Failed(String),
}

/// A delivery as the administrators' page lists it.
#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    pub body: String,
}

/// A practice as the public sees it: its public revision, never a draft or a submission.
#[derive(Debug, Clone, FromRow)]
pub struct PublicPractice {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub summary: String,
    pub stage: String,
    pub status: String,
    pub team_slug: String,
    pub team_name: String,
    pub school_slug: String,
    pub school_name: String,
    pub district_id: i64,
    pub district_slug: String,
    pub district_name: String,
    /// `(slug, name)` of its public revision's challenge areas.
    #[sqlx(skip)]
    pub areas: Vec<(i64, String, String)>,
}

/// An adoption report as a delivery tells it: who, and where they stand.
#[derive(Debug, Clone, FromRow)]
pub struct AdoptionReport {
    pub practice_id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub school_slug: String,
    pub school_name: String,
    pub at: String,
}

const WEBHOOK: &str = r#"
    select w.id, w.url, w.secret, w.events, w.district_id, d.name as district_name,
           w.challenge_area_id, c.name as area_name, (w.active = 1) as active, w.created_at
    from webhooks w left join districts d on d.id = w.district_id
    left join challenge_areas c on c.id = w.challenge_area_id"#;

impl Db {
    /// Registers an endpoint; returns its id.
    pub async fn add_webhook(&self, w: &NewWebhook, by: i64, now: i64) -> sqlx::Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = query_scalar(
            r#"insert into webhooks (url, secret, events, district_id, challenge_area_id, created_at, created_by)
               values ($1, $2, $3, $4, $5, $6, $7) returning id"#,
        )
        .bind(w.url.as_str())
        .bind(w.secret.expose())
        .bind(w.events.join(" "))
        .bind(w.district_id)
        .bind(w.challenge_area_id)
        .bind(now)
        .bind(by)
        .fetch_one(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every endpoint, newest first.
    pub async fn webhooks(&self) -> sqlx::Result<Vec<Webhook>> {
        query_as(format!("{WEBHOOK} order by w.id desc"))
            .fetch_all(&self.read)
            .await
    }

    pub async fn webhook(&self, id: i64) -> sqlx::Result<Option<Webhook>> {
        query_as(format!("{WEBHOOK} where w.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await
    }

    /// Turns an endpoint on or off. Turning it off gives up its waiting deliveries: they were
    /// meant for a receiver the administrator no longer trusts to take them.
    pub async fn set_webhook_active(&self, id: i64, active: bool) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = query("update webhooks set active = $2 where id = $1")
            .bind(id)
            .bind(i64::from(active))
            .execute(&mut tx)
            .await?
            .rows_affected();
        if !active {
            query(
                r#"update outbox set state = 'failed', last_error = 'the endpoint was deactivated'
                   where channel = 'webhook' and webhook_id = $1 and state = 'pending'"#,
            )
            .bind(id)
            .execute(&mut tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Deletes an endpoint and its deliveries.
    pub async fn delete_webhook(&self, id: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        // Explicit, not only by cascade: SQLite enforces foreign keys per connection.
        query("delete from outbox where channel = 'webhook' and webhook_id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?;
        let n = query("delete from webhooks where id = $1")
            .bind(id)
            .execute(&mut tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Puts deliveries in the outbox, each once per endpoint and `about`; returns how many
    /// were added. The body gets its row's id as `delivery`, so retries carry the same one.
    pub async fn enqueue_deliveries(&self, all: &[NewDelivery], now: i64) -> sqlx::Result<u64> {
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for d in all {
            let id: Option<i64> = query_scalar(
                r#"insert into outbox (dedupe, to_addr, kind, subject, body_text, body_html,
                                       unsubscribe, run_after, created_at, channel, webhook_id)
                   values ($1, $2, $3, '', '', '', '', $4, $4, 'webhook', $5)
                   on conflict (dedupe) do nothing returning id"#,
            )
            .bind(format!("webhook:{}:{}", d.webhook_id, d.about))
            .bind(d.url.as_str())
            .bind(d.event.as_str())
            .bind(now)
            .bind(d.webhook_id)
            .fetch_optional(&mut tx)
            .await?;
            let Some(id) = id else { continue };
            let mut body = d.body.clone();
            if let Some(o) = body.as_object_mut() {
                o.insert("delivery".into(), id.into());
            }
            query("update outbox set body_text = $2 where id = $1")
                .bind(id)
                .bind(body.to_string())
                .execute(&mut tx)
                .await?;
            added += 1;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Whether a delivery is due at `now` (waiting, or claimed by a sender whose lease ran
    /// out).
    pub async fn deliveries_due(&self, now: i64) -> sqlx::Result<bool> {
        query_scalar(
            r#"select count(*) > 0 from (select 1 from outbox where channel = 'webhook'
                 and state in ('pending', 'sending') and run_after <= $1 limit 1) d"#,
        )
        .bind(now)
        .fetch_one(&self.read)
        .await
    }

    /// Takes the delivery due longest, as `sending` until `lease_until`. A `sending` one
    /// whose lease ran out is taken again (at least once).
    pub async fn claim_delivery(
        &self,
        now: i64,
        lease_until: i64,
    ) -> sqlx::Result<Option<Outgoing>> {
        self.claim(now, lease_until, |skip_locked| {
            format!(
                r#"update outbox set state = 'sending', attempts = attempts + 1, run_after = $2
                   where channel = 'webhook' and state in ('pending', 'sending') and run_after <= $1
                     and id = (select id from outbox where channel = 'webhook'
                               and state in ('pending', 'sending') and run_after <= $1
                               order by run_after, id limit 1 {skip_locked})
                   returning id, webhook_id, to_addr as url, kind as event, body_text as body, attempts"#
            )
        })
        .await
    }

    /// Records how an attempt ended. Fenced by `attempts`: only the latest claim records.
    pub async fn record_delivery(
        &self,
        d: &Outgoing,
        outcome: &Attempt,
        now: i64,
    ) -> sqlx::Result<()> {
        let (state, run_after, error) = match outcome {
            Attempt::Delivered => ("sent", now, None),
            Attempt::Retry { at, error } => ("pending", *at, Some(error.as_str())),
            Attempt::Failed(e) => ("failed", now, Some(e.as_str())),
        };
        let mut tx = self.begin_write().await?;
        query(
            r#"update outbox set state = $3, run_after = $4, last_error = $5,
                 sent_at = case when $3 = 'sent' then $4 else sent_at end
               where id = $1 and attempts = $2 and state = 'sending'"#,
        )
        .bind(d.id)
        .bind(d.attempts)
        .bind(state)
        .bind(run_after)
        .bind(error)
        .execute(&mut tx)
        .await?;
        tx.commit().await
    }

    /// The latest `limit` deliveries of every endpoint, newest first.
    pub async fn recent_deliveries(&self, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
        query_as(
            r#"select o.id, o.webhook_id, o.kind as event, o.state, o.attempts, o.created_at,
                      o.sent_at, o.last_error, o.body_text as body
               from webhooks w join outbox o on o.id in (
                 select id from outbox where channel = 'webhook' and webhook_id = w.id
                 order by id desc limit $1)
               order by o.id desc"#,
        )
        .bind(limit)
        .fetch_all(&self.read)
        .await
    }

    /// Practice `id` as the public sees it, if it has a public revision; `archived` too when
    /// `or_archived` (the news that it left the catalog names what left).
    pub async fn public_practice(
        &self,
        id: i64,
        or_archived: bool,
    ) -> sqlx::Result<Option<PublicPractice>> {
        let p: Option<PublicPractice> = query_as(
            // The stage as the practice page shows it: earned `replicated`, else the public
            // revision's (a draft's stage is not public).
            r#"select p.id, p.slug, r.title, r.summary,
                      case when p.stage = 'replicated' then p.stage else r.stage end as stage, p.status,
                      t.slug as team_slug, t.name as team_name, s.slug as school_slug,
                      s.name as school_name, d.id as district_id, d.slug as district_slug,
                      d.name as district_name
               from practices p join practice_revisions r on r.id = p.public_revision_id
               join teams t on t.id = p.team_id join schools s on s.id = t.school_id
               join districts d on d.id = s.district_id
               where p.id = $1 and (p.status <> 'archived' or $2 = 1)"#,
        )
        .bind(id)
        .bind(i64::from(or_archived))
        .fetch_optional(&self.read)
        .await?;
        let Some(mut p) = p else { return Ok(None) };
        p.areas = query_as(
            r#"select c.id, c.slug, c.name from practices p
               join revision_challenge_areas rc on rc.revision_id = p.public_revision_id
               join challenge_areas c on c.id = rc.challenge_area_id
               where p.id = $1 order by c.position, c.id"#,
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        Ok(Some(p))
    }

    /// When event `id` happened, and of which practice.
    pub async fn event_when(&self, id: i64) -> sqlx::Result<Option<(i64, String, String)>> {
        query_as("select practice_id, kind, at from practice_events where id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await
    }

    /// The adopting team of adoption report `entry` (an `adoption_history` row).
    pub async fn adoption_report(&self, entry: i64) -> sqlx::Result<Option<AdoptionReport>> {
        query_as(
            r#"select a.practice_id, t.slug as team_slug, t.name as team_name,
                      s.slug as school_slug, s.name as school_name, h.at
               from adoption_history h join adoptions a on a.id = h.adoption_id
               join teams t on t.id = a.team_id join schools s on s.id = t.school_id
               where h.id = $1"#,
        )
        .bind(entry)
        .fetch_optional(&self.read)
        .await
    }

    /// `(id, name)` of every district and challenge area, for the scope choices.
    pub async fn scope_choices(&self) -> sqlx::Result<(Vec<(i64, String)>, Vec<(i64, String)>)> {
        let districts = query_as("select id, name from districts order by name, id")
            .fetch_all(&self.read)
            .await?;
        let areas = query_as("select id, name from challenge_areas order by position, id")
            .fetch_all(&self.read)
            .await?;
        Ok((districts, areas))
    }
}

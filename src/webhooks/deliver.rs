//! The webhook sender: drains the webhook rows of the outbox over HTTP. Each instance runs
//! one; several share the outbox through claims (see `store::webhooks`).
//!
//! The guarantee: **a delivery is sent at least once** while its endpoint answers within
//! about a day. A 2xx answer is delivered. Any other answer, a timeout or a connection error
//! is retried with exponential backoff (by default 1 min, 4 min, 16 min, ~1 h, ~4 h, ~17 h:
//! seven attempts over about 23 hours), then the delivery is `failed`. An answer lost on the
//! way back, or an instance stopping mid-send, means the receiver may see a delivery twice:
//! it dedupes by `Bright-Spots-Delivery`.

use std::time::Duration;

use crate::auth::now;
use crate::store::Db;
use crate::store::webhooks::{Attempt, Outgoing};

use super::sign;

/// How often an idle sender looks at the outbox.
const POLL: Duration = Duration::from_secs(5);
/// A claimed delivery is this sender's for this long; past it, another claims it again.
const LEASE_SECS: i64 = 120;
/// An endpoint that takes longer than this to answer has failed this attempt.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 7;

/// The HTTP client of every delivery: a short timeout, and no redirects followed (a
/// redirect is an answer that is not 2xx: the administrator registers the final URL).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Bright-Spots-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a TLS backend for the HTTP client")
}

/// Sends what the outbox holds for webhooks until the process ends.
pub async fn run(db: Db, retry_secs: u64, wake: std::sync::Arc<tokio::sync::Notify>) {
    let client = client();
    loop {
        match db.deliveries_due(now()).await {
            Ok(true) => {
                if let Err(e) = deliver_due(&db, &client, retry_secs).await {
                    tracing::warn!(error = %e, "cannot read or write the outbox; deliveries wait");
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the outbox"),
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = wake.notified() => {}
        }
    }
}

/// Attempts every delivery due now, once each; returns how many were attempted.
pub async fn deliver_due(
    db: &Db,
    client: &reqwest::Client,
    retry_secs: u64,
) -> anyhow::Result<usize> {
    let mut n = 0;
    loop {
        let t = now();
        let Some(d) = db.claim_delivery(t, t + LEASE_SECS).await? else {
            break;
        };
        let outcome = attempt(db, client, &d, retry_secs).await;
        match &outcome {
            Attempt::Delivered => {
                tracing::info!(delivery = d.id, event = %d.event, "webhook delivered")
            }
            other => {
                tracing::warn!(delivery = d.id, event = %d.event, outcome = ?other, "webhook not delivered")
            }
        }
        db.record_delivery(&d, &outcome, now()).await?;
        n += 1;
        // With no backoff (tests), a failing delivery is due again at once: let the others
        // through in turn, and come back at the next poll or wake.
        if n >= 1000 {
            break;
        }
    }
    Ok(n)
}

async fn attempt(db: &Db, client: &reqwest::Client, d: &Outgoing, retry_secs: u64) -> Attempt {
    let hook = match db.webhook(d.webhook_id).await {
        Ok(Some(h)) if h.active => h,
        Ok(_) => return Attempt::Failed("the endpoint was deactivated or deleted".into()),
        Err(e) => return retry(d, retry_secs, format!("cannot read the endpoint: {e}")),
    };
    let timestamp = now();
    let sent = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Bright-Spots-Event", &d.event)
        .header("Bright-Spots-Delivery", d.id.to_string())
        .header(
            sign::HEADER,
            sign::header(hook.secret.expose(), timestamp, &d.body),
        )
        .body(d.body.clone())
        .send()
        .await;
    match sent {
        Ok(r) if r.status().is_success() => Attempt::Delivered,
        Ok(r) => retry(
            d,
            retry_secs,
            format!("the endpoint answered {}", r.status()),
        ),
        Err(e) => retry(d, retry_secs, describe(&e)),
    }
}

/// Tried again after `retry_secs` × 4^(attempts − 1), or given up after the last attempt.
fn retry(d: &Outgoing, retry_secs: u64, error: String) -> Attempt {
    if d.attempts >= MAX_ATTEMPTS {
        return Attempt::Failed(format!("given up after {} attempts: {error}", d.attempts));
    }
    let wait = (retry_secs as i64).saturating_mul(1_i64 << (2 * (d.attempts - 1).clamp(0, 20)));
    Attempt::Retry {
        at: now().saturating_add(wait),
        error,
    }
}

/// A connection error in a few words (the URL is on the page already).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    format!("{what}: {detail}")
}

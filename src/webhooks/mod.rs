//! Webhooks: what the hub tells other systems (a district's PD portal, a data warehouse)
//! when the public catalog changes. The `notify` job of an event (see `crate::notify`) calls
//! [`announce`], which writes one delivery per matching endpoint into the outbox; the sender
//! in `deliver` posts them, signed (`sign`), with retries. Only public content goes out: the
//! body is built from the practice's public revision (`payload`), and an event about a
//! practice that is not public sends nothing.

pub mod deliver;
pub mod payload;
pub mod sign;

use crate::AppState;
use crate::store::{NewDelivery, PublicPractice, Webhook};

/// The events an endpoint can ask for, with what they mean on the administrators' page.
pub const EVENTS: &[(&str, &str)] = &[
    (
        "practice.vetted",
        "A practice is vetted for the first time: it joins the catalog",
    ),
    (
        "practice.revised",
        "A new revision of a public practice is vetted",
    ),
    (
        "practice.archived",
        "A practice is archived: it leaves the catalog",
    ),
    (
        "practice.restored",
        "An archived practice is restored to the catalog",
    ),
    ("practice.adopted", "A school starts adopting a practice"),
    (
        "adoption.outcome_reported",
        "An adopting school reports an outcome",
    ),
    ("practice.replicated", "A practice becomes replicated"),
    ("practice.unreplicated", "A practice stops being replicated"),
];

/// The test delivery an administrator sends from the page; every endpoint takes it.
pub const PING: &str = "ping";

/// Turns the event of the `notify` job `key` into deliveries; returns how many.
pub async fn announce(state: &AppState, key: &str, payload: &str) -> anyhow::Result<u64> {
    let hooks: Vec<Webhook> = state
        .db
        .webhooks()
        .await?
        .into_iter()
        .filter(|h| h.active)
        .collect();
    if hooks.is_empty() {
        return Ok(0);
    }
    let Some((what, id)) = key.split_once(':') else {
        return Ok(0);
    };
    let found = match what {
        "event" => {
            let public_before = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|p| p.get("public_before")?.as_i64());
            practice_event(state, id.parse()?, public_before).await?
        }
        "adoption" => adoption_event(state, id.parse()?).await?,
        // Questions and answers are members-only: no webhook hears of them.
        _ => None,
    };
    let Some((event, practice, body)) = found else {
        return Ok(0);
    };
    let deliveries: Vec<NewDelivery> = hooks
        .iter()
        .filter(|h| h.wants(event) && in_scope(h, &practice))
        .map(|h| NewDelivery {
            webhook_id: h.id,
            url: h.url.clone(),
            event: event.to_string(),
            about: key.to_string(),
            body: body.clone(),
        })
        .collect();
    let added = state
        .db
        .enqueue_deliveries(&deliveries, crate::auth::now())
        .await?;
    state.wake_webhooks.notify_one();
    Ok(added)
}

/// Whether the practice is in the endpoint's district and challenge area (when it has them).
fn in_scope(h: &Webhook, p: &PublicPractice) -> bool {
    h.district_id.is_none_or(|d| d == p.district_id)
        && h.challenge_area_id
            .is_none_or(|a| p.areas.iter().any(|(id, _, _)| *id == a))
}

type Found = Option<(&'static str, PublicPractice, serde_json::Value)>;

async fn practice_event(
    state: &AppState,
    event: i64,
    public_before: Option<i64>,
) -> anyhow::Result<Found> {
    let db = &state.db;
    let Some(facts) = db.event_facts(event).await? else {
        return Ok(None);
    };
    let Some((_, _, at)) = db.event_when(event).await? else {
        return Ok(None);
    };
    let name = match facts.kind.as_str() {
        // Only the revision public now is news; a re-review that keeps it is not.
        "vetted" if !facts.public_now => return Ok(None),
        "vetted" => match public_before {
            None => "practice.vetted",
            Some(b) if b != facts.revision_id => "practice.revised",
            Some(_) => return Ok(None),
        },
        "archived" => "practice.archived",
        "restored" => "practice.restored",
        "replicated" => "practice.replicated",
        "unreplicated" => "practice.unreplicated",
        _ => return Ok(None),
    };
    // What left the catalog is named by what the public saw of it until then.
    let Some(p) = db
        .public_practice(facts.practice_id, name == "practice.archived")
        .await?
    else {
        return Ok(None);
    };
    let body = payload::body(
        name,
        &at,
        payload::practice(&state.settings.public_url(), &p),
    );
    Ok(Some((name, p, body)))
}

async fn adoption_event(state: &AppState, entry: i64) -> anyhow::Result<Found> {
    let db = &state.db;
    let (Some(facts), Some(report)) = (
        db.adoption_facts(entry).await?,
        db.adoption_report(entry).await?,
    ) else {
        return Ok(None);
    };
    let name = if facts.previous_status.is_none() {
        "practice.adopted"
    } else if facts.outcome.is_some() && facts.outcome != facts.previous_outcome {
        "adoption.outcome_reported"
    } else {
        return Ok(None);
    };
    let Some(p) = db.public_practice(report.practice_id, false).await? else {
        return Ok(None);
    };
    let mut body = payload::body(
        name,
        &report.at,
        payload::practice(&state.settings.public_url(), &p),
    );
    body["adoption"] = payload::adoption(&report, &facts);
    Ok(Some((name, p, body)))
}

/// Queues a test delivery to endpoint `id`.
pub async fn ping(state: &AppState, hook: &Webhook) -> anyhow::Result<()> {
    let now = crate::auth::now();
    let at = time::OffsetDateTime::from_unix_timestamp(now)?
        .format(&time::format_description::well_known::Rfc3339)?;
    state
        .db
        .enqueue_deliveries(
            &[NewDelivery {
                webhook_id: hook.id,
                url: hook.url.clone(),
                event: PING.into(),
                about: format!("ping:{}", crate::auth::random_token()),
                body: payload::ping(&at),
            }],
            now,
        )
        .await?;
    state.wake_webhooks.notify_one();
    Ok(())
}

/// A URL an endpoint may have: absolute `https://` or `http://` with a host, parsed (not
/// pattern-matched) so that `https://evil@host` or a space cannot slip through as something
/// else. Returns the URL as it will be requested.
pub fn parse_url(input: &str) -> Result<String, String> {
    let url = url::Url::parse(input.trim())
        .map_err(|e| format!("“{input}” is not a URL ({e}). Give one like https://portal.district.org/hooks/bright-spots."))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "Only https:// (or http://) URLs can receive webhooks, not {}:.",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("The URL needs a host name.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "Leave the user name and password out of the URL: deliveries are signed instead."
                .into(),
        );
    }
    if url.fragment().is_some() {
        return Err("Leave the #fragment out of the URL: it is never sent to the server.".into());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn only_absolute_http_urls_with_a_host() {
        assert_eq!(
            parse_url(" https://portal.district.org/hooks ").unwrap(),
            "https://portal.district.org/hooks"
        );
        assert!(parse_url("http://127.0.0.1:9000/x").is_ok());
        for bad in [
            "ftp://h/x",
            "javascript:alert(1)",
            "portal.district.org/hooks",
            "https://user:pw@h/x",
            "https://h/x#frag",
            "file:///etc/passwd",
            "",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}

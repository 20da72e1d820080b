//! Signed unsubscribe links: a link stops exactly one thing (a kind of notice, or one
//! subscription) for exactly one person, and works without signing in — from the e-mail,
//! or from a mail client's one-click button (RFC 8058).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::AppState;

/// What a link stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsubscribe {
    /// A kind of notice (`notify::KINDS`).
    Kind(String),
    /// One subscription.
    Subscription(i64),
}

impl Unsubscribe {
    fn encode(&self) -> String {
        match self {
            Unsubscribe::Kind(k) => format!("kind:{k}"),
            Unsubscribe::Subscription(id) => format!("sub:{id}"),
        }
    }

    fn decode(s: &str) -> Option<Unsubscribe> {
        match s.split_once(':')? {
            ("kind", k) if super::kind(k).is_some() => Some(Unsubscribe::Kind(k.to_string())),
            ("sub", id) => id.parse().ok().map(Unsubscribe::Subscription),
            _ => None,
        }
    }
}

/// The shared signing key, made by the first instance that needs it.
async fn key(state: &AppState) -> anyhow::Result<&[u8]> {
    let key = state
        .unsubscribe_key
        .get_or_try_init(|| async {
            let mut fresh = [0u8; 32];
            getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let stored = state.db.hub_key("unsubscribe", &B64.encode(fresh)).await?;
            B64.decode(stored)
                .map_err(|e| anyhow::anyhow!("the stored unsubscribe key is not base64: {e}"))
        })
        .await?;
    Ok(key)
}

fn mac(key: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac
}

/// The token of `user`'s link that stops `what`.
pub async fn sign(state: &AppState, user: i64, what: &Unsubscribe) -> anyhow::Result<String> {
    let payload = format!("{user}|{}", what.encode());
    let tag = mac(key(state).await?, &payload).finalize().into_bytes();
    Ok(format!("{}.{}", B64.encode(&payload), B64.encode(tag)))
}

/// Whose link `token` is and what it stops, if the hub signed it.
pub async fn verify(state: &AppState, token: &str) -> anyhow::Result<Option<(i64, Unsubscribe)>> {
    let Some((payload, tag)) = token.split_once('.') else {
        return Ok(None);
    };
    let (Ok(payload), Ok(tag)) = (B64.decode(payload), B64.decode(tag)) else {
        return Ok(None);
    };
    let Ok(payload) = String::from_utf8(payload) else {
        return Ok(None);
    };
    // Compared in constant time.
    if mac(key(state).await?, &payload).verify_slice(&tag).is_err() {
        return Ok(None);
    }
    let Some((user, what)) = payload.split_once('|') else {
        return Ok(None);
    };
    Ok(user.parse().ok().zip(Unsubscribe::decode(what)))
}

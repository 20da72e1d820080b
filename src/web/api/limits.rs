//! The API's rate limits: a token bucket per client address and per token, refilled
//! continuously (a minute's allowance at most, so a client that was quiet may burst), and a
//! cap on API requests answered at once. A refusal is `429` with `Retry-After`, decided before
//! any database or index work: a flood costs a hash lookup per request.
//!
//! The counts live in this instance's memory. They are an allowance, not a record: lost on a
//! restart, and each instance behind a load balancer counts its own.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ApiError;
use crate::AppState;

/// Buckets kept at most; past it, the full ones (clients quiet for a minute) are dropped.
const MAX_BUCKETS: usize = 100_000;

pub struct Limiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    in_flight: Arc<Semaphore>,
}

struct Bucket {
    /// Requests left, fractional while it refills.
    left: f64,
    at: Instant,
}

impl Limiter {
    pub fn new(max_concurrent: usize) -> Limiter {
        Limiter {
            buckets: Mutex::default(),
            in_flight: Arc::new(Semaphore::new(max_concurrent)),
        }
    }

    /// Takes one request from `key`'s allowance of `per_minute`, or says how long until
    /// there is one.
    pub fn take(&self, key: &str, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let per_second = f64::from(per_minute) / 60.0;
        let full = f64::from(per_minute);
        let mut buckets = self.buckets.lock().expect("rate limits");
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets
                .retain(|_, b| b.left + now.duration_since(b.at).as_secs_f64() * per_second < full);
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            left: full,
            at: now,
        });
        b.left = (b.left + now.duration_since(b.at).as_secs_f64() * per_second).min(full);
        b.at = now;
        if b.left >= 1.0 {
            b.left -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.left) / per_second))
        }
    }

    /// A place among the API requests answered at once, if one is free.
    pub fn try_begin(&self) -> Option<OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().ok()
    }
}

/// The client's address: the connection's peer, or behind a proxy the last address the proxy
/// appended to `X-Forwarded-For` (parsed: anything that is not an address is not trusted).
fn client(request: &Request, behind_proxy: bool) -> String {
    if behind_proxy
        && let Some(ip) = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_string();
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".into(), |c| c.0.ip().to_string())
}

/// The presented token, hashed (a bucket key never holds a secret).
fn token_key(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (_, token) = value.trim().split_once(' ')?;
    Some(crate::auth::hash_token(token.trim())[..32].to_string())
}

/// `429`, sent after a pause of up to a second: a client that keeps asking while refused is
/// slowed to about one request a second per connection, so a flood costs the machine almost
/// nothing (answered at once, a refusal costs what `/healthz` does, thousands a second).
async fn too_many(wait: Duration, message: &str) -> Response {
    tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
    let mut r = ApiError::respond(StatusCode::TOO_MANY_REQUESTS, None, message);
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// Applies the limits to every API request (a browser's preflight aside).
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let limits = &state.settings.api;
    let now = Instant::now();
    let address = client(&request, limits.behind_proxy);
    if let Err(wait) =
        state
            .api_limits
            .take(&format!("a:{address}"), limits.per_address_per_minute, now)
    {
        return too_many(
            wait,
            &format!(
                "too many requests from your address: at most {} a minute; wait and try again",
                limits.per_address_per_minute
            ),
        )
        .await;
    }
    if let Some(token) = token_key(&request)
        && let Err(wait) =
            state
                .api_limits
                .take(&format!("t:{token}"), limits.per_token_per_minute, now)
    {
        return too_many(
            wait,
            &format!(
                "too many requests with this token: at most {} a minute; wait and try again",
                limits.per_token_per_minute
            ),
        )
        .await;
    }
    let Some(_permit) = state.api_limits.try_begin() else {
        return too_many(
            Duration::from_secs(1),
            "the API is answering as many requests as it takes at once; try again in a moment",
        )
        .await;
    };
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_refills_and_says_how_long_to_wait() {
        let l = Limiter::new(1);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take("a", 3, t0).is_ok());
        }
        let wait = l.take("a", 3, t0).unwrap_err();
        assert!((19.0..=20.0).contains(&wait.as_secs_f64()), "{wait:?}");
        assert!(l.take("b", 3, t0).is_ok(), "another client has its own");
        assert!(
            l.take("a", 3, t0 + Duration::from_secs(21)).is_ok(),
            "refilled"
        );
        assert!(l.take("a", 3, t0 + Duration::from_secs(21)).is_err());
        let held = l.try_begin().unwrap();
        assert!(l.try_begin().is_none());
        drop(held);
        assert!(l.try_begin().is_some());
    }
}

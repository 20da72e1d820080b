//! Signatures of deliveries, Stripe-style: `Bright-Spots-Signature: t=<unix>,v1=<hex>` where
//! the hex is HMAC-SHA256, keyed with the endpoint's secret, of `"<t>.<body>"`. The time is
//! inside what is signed, so a receiver that refuses old timestamps refuses a replayed
//! delivery; each retry is signed anew with its own time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const HEADER: &str = "Bright-Spots-Signature";
/// How old a signature a receiver should accept, as the README advises.
pub const TOLERANCE_SECS: i64 = 300;

/// A fresh secret for a new endpoint: 32 random bytes, URL-safe base64, with a prefix that
/// says what it is when it turns up in a receiver's configuration.
pub fn new_secret() -> String {
    format!("whsec_{}", crate::auth::random_token())
}

fn mac(secret: &str, timestamp: i64, body: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

/// The header value for `body` sent at `timestamp`.
pub fn header(secret: &str, timestamp: i64, body: &str) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Whether `header` signs `body` with `secret` within `tolerance` seconds of `now`: what a
/// receiver does (the tests' receiver uses it; the README shows the same in Python).
pub fn verify(secret: &str, header: &str, body: &str, now: i64, tolerance: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > tolerance {
        return false;
    }
    signatures.iter().any(|sig| {
        let Some(bytes) = from_hex(sig) else {
            return false;
        };
        // Compared in constant time.
        mac(secret, t, body).verify_slice(&bytes).is_ok()
    })
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let h = header("whsec_k", 1_700_000_000, r#"{"event":"ping"}"#);
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify(
            "whsec_k",
            &h,
            r#"{"event":"ping"}"#,
            1_700_000_100,
            300
        ));
        assert!(!verify(
            "whsec_other",
            &h,
            r#"{"event":"ping"}"#,
            1_700_000_100,
            300
        ));
        assert!(!verify(
            "whsec_k",
            &h,
            r#"{"event":"pong"}"#,
            1_700_000_100,
            300
        ));
        // A replay ten minutes later is refused.
        assert!(!verify(
            "whsec_k",
            &h,
            r#"{"event":"ping"}"#,
            1_700_000_600,
            300
        ));
        assert!(!verify("whsec_k", "v1=00", "", 0, 300));
    }

    #[test]
    fn the_hmac_is_the_one_any_library_computes() {
        // Python: hmac.new(b"key", b"0.The quick brown fox jumps over the lazy dog",
        // hashlib.sha256).hexdigest()
        assert_eq!(
            header("key", 0, "The quick brown fox jumps over the lazy dog"),
            "t=0,v1=8511f28f7a1949f0c42772b447d68b2daf760f5f0439a20a17e3b4e7cd395763"
        );
    }
}

//! A real OpenID Connect provider for the tests, served over HTTP on loopback: discovery, a
//! JWKS with RSA keys, authorize, token and userinfo. It issues single-use codes bound to a
//! PKCE challenge and RS256-signed ID tokens, and a test can make it misbehave as an attacker
//! or a broken provider would: forged signatures, `alg: none`, rotated keys, chosen claims.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use openidconnect::core::{CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{JsonWebKeyId, PrivateSigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "hub-client";
pub const CLIENT_SECRET: &str = "hub-secret";

/// How an ID token is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// With key `n` of [`KEYS`], naming it by its `kid`.
    Key(usize),
    /// With key 1, but naming key 0's `kid`: what a forger without the provider's key sends.
    Forged,
    /// `alg: none`, no signature.
    Unsigned,
}

/// How the provider behaves for the next sign-ins (read when a sign-in is authorized).
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub preferred_username: Option<String>,
    /// `sub`; by default derived from the e-mail.
    pub subject: Option<String>,
    pub name: String,
    /// `aud` of the ID tokens it issues.
    pub audience: String,
    /// Return an ID token (otherwise only userinfo knows who signed in).
    pub id_token: bool,
    pub signing: Signing,
    /// Which of [`KEYS`] the JWKS publishes.
    pub published: Vec<usize>,
    pub tid: Option<String>,
    pub hd: Option<String>,
    /// The token endpoint answers this status with a page that is not JSON.
    pub token_status: Option<u16>,
}

impl Behaviour {
    fn subject(&self) -> String {
        self.subject
            .clone()
            .unwrap_or_else(|| format!("sub-{}", self.email.as_deref().unwrap_or("nobody")))
    }
}

/// The provider's RSA keys (test keys, made for this suite) and their `kid`s.
pub const KEYS: [(&str, &str); 2] = [
    ("key-a", include_str!("../data/oidc-key-a.pem")),
    ("key-b", include_str!("../data/oidc-key-b.pem")),
];

fn signing_key(n: usize) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(KEYS[n].1, Some(JsonWebKeyId::new(KEYS[n].0.into())))
        .unwrap()
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, Issued>,
    access: HashMap<String, Behaviour>,
    next_code: u64,
}

struct Issued {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    behaviour: Behaviour,
}

#[derive(Clone)]
pub struct Provider {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
    /// How many times the JWKS was fetched.
    pub jwks_fetches: Arc<AtomicUsize>,
}

impl Provider {
    pub async fn start() -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let provider = Provider {
            base: base.clone(),
            inner: Default::default(),
            behaviour: Arc::new(Mutex::new(Behaviour {
                email: Some("ana@lincoln.k12.us".into()),
                email_verified: Some(true),
                preferred_username: None,
                subject: None,
                name: "Ana Ortiz".into(),
                audience: CLIENT_ID.into(),
                id_token: true,
                signing: Signing::Key(0),
                published: vec![0],
                tid: None,
                hd: None,
                token_status: None,
            })),
            jwks_fetches: Default::default(),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(provider.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        provider
    }

    pub fn issuer(&self) -> String {
        self.base.clone()
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }
}

async fn discovery(State(p): State<Provider>) -> Json<Value> {
    let base = &p.base;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(p): State<Provider>) -> Json<Value> {
    p.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let published = p.behaviour.lock().unwrap().published.clone();
    let keys: Vec<Value> = published
        .into_iter()
        .map(|n| serde_json::to_value(signing_key(n).as_verification_key()).unwrap())
        .collect();
    Json(json!({ "keys": keys }))
}

async fn authorize(
    State(p): State<Provider>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let behaviour = p.behaviour.lock().unwrap().clone();
    let mut inner = p.inner.lock().unwrap();
    inner.next_code += 1;
    let code = format!("code-{}", inner.next_code);
    inner.codes.insert(
        code.clone(),
        Issued {
            challenge: q["code_challenge"].clone(),
            nonce: q.get("nonce").cloned().unwrap_or_default(),
            redirect_uri: q["redirect_uri"].clone(),
            behaviour,
        },
    );
    let state = serde_urlencoded::to_string([("state", &q["state"])]).unwrap();
    Redirect::to(&format!("{}?code={code}&{state}", q["redirect_uri"])).into_response()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The identity claims both the ID token and userinfo carry.
fn identity_claims(b: &Behaviour) -> serde_json::Map<String, Value> {
    let mut c = serde_json::Map::new();
    c.insert("sub".into(), json!(b.subject()));
    c.insert("name".into(), json!(b.name));
    let optional = [
        ("email", b.email.clone().map(Value::from)),
        ("email_verified", b.email_verified.map(Value::from)),
        (
            "preferred_username",
            b.preferred_username.clone().map(Value::from),
        ),
        ("tid", b.tid.clone().map(Value::from)),
        ("hd", b.hd.clone().map(Value::from)),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            c.insert(k.into(), v);
        }
    }
    c
}

/// A compact JWS of `claims`, signed as `b.signing` says.
pub fn sign(claims: &Value, signing: Signing) -> String {
    let (kid, key) = match signing {
        Signing::Key(n) => (KEYS[n].0, Some(signing_key(n))),
        Signing::Forged => (KEYS[0].0, Some(signing_key(1))),
        Signing::Unsigned => (KEYS[0].0, None),
    };
    let alg = if key.is_some() { "RS256" } else { "none" };
    let header = json!({ "alg": alg, "typ": "JWT", "kid": kid });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.map_or_else(Vec::new, |k| {
        k.sign(
            &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            input.as_bytes(),
        )
        .unwrap()
    });
    format!("{input}.{}", b64(&signature))
}

async fn token(
    State(p): State<Provider>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let error = |e: &str| (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let body_auth = f.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && f.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str())
        && !body_auth
    {
        return error("invalid_client");
    }
    // A code is good once: taken out before anything is checked.
    let Some(issued) = p
        .inner
        .lock()
        .unwrap()
        .codes
        .remove(f.get("code").map(String::as_str).unwrap_or(""))
    else {
        return error("invalid_grant");
    };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    if verifier.is_empty() || b64(&Sha256::digest(verifier.as_bytes())) != issued.challenge {
        return error("invalid_grant");
    }
    if f.get("redirect_uri") != Some(&issued.redirect_uri) {
        return error("invalid_grant");
    }
    let b = issued.behaviour;
    if let Some(status) = b.token_status {
        return (
            StatusCode::from_u16(status).unwrap(),
            "<html><body>Internal Server Error</body></html>",
        )
            .into_response();
    }
    let access = {
        let mut inner = p.inner.lock().unwrap();
        inner.next_code += 1;
        let access = format!("access-{}", inner.next_code);
        inner.access.insert(access.clone(), b.clone());
        access
    };
    let mut body = json!({ "access_token": access, "token_type": "Bearer", "expires_in": 3600 });
    if b.id_token {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = identity_claims(&b);
        claims.insert("iss".into(), json!(p.issuer()));
        claims.insert("aud".into(), json!(b.audience));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("iat".into(), json!(now));
        claims.insert("nonce".into(), json!(issued.nonce));
        body["id_token"] = json!(sign(&Value::Object(claims), b.signing));
    }
    Json(body).into_response()
}

async fn userinfo(State(p): State<Provider>, headers: HeaderMap) -> Response {
    let behaviour = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| p.inner.lock().unwrap().access.get(token).cloned());
    match behaviour {
        Some(b) => Json(Value::Object(identity_claims(&b))).into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

//! A real OAuth2 / OpenID Connect provider for the tests, served over HTTP on loopback: it
//! issues single-use codes bound to a PKCE challenge and returns ID tokens (or only userinfo).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "hub-client";
pub const CLIENT_SECRET: &str = "hub-secret";

/// How the provider behaves for the next sign-ins.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub email: String,
    pub name: String,
    /// `aud` of the ID tokens it issues.
    pub audience: String,
    /// Return an ID token (otherwise only userinfo knows who signed in).
    pub id_token: bool,
}

#[derive(Default)]
struct Inner {
    codes: HashMap<String, Issued>,
    next_code: u64,
}

struct Issued {
    challenge: String,
    nonce: String,
    redirect_uri: String,
    email: String,
    name: String,
}

#[derive(Clone)]
pub struct Provider {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    pub behaviour: Arc<Mutex<Behaviour>>,
}

impl Provider {
    pub async fn start() -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let provider = Provider {
            base: base.clone(),
            inner: Default::default(),
            behaviour: Arc::new(Mutex::new(Behaviour {
                email: "ana@lincoln.k12.us".into(),
                name: "Ana Ortiz".into(),
                audience: CLIENT_ID.into(),
                id_token: true,
            })),
        };
        let app = Router::new()
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

async fn authorize(
    State(p): State<Provider>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if q.get("code_challenge_method").map(String::as_str) != Some("S256")
        || q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
    {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let b = p.behaviour.lock().unwrap().clone();
    let mut inner = p.inner.lock().unwrap();
    inner.next_code += 1;
    let code = format!("code-{}", inner.next_code);
    inner.codes.insert(
        code.clone(),
        Issued {
            challenge: q["code_challenge"].clone(),
            nonce: q.get("nonce").cloned().unwrap_or_default(),
            redirect_uri: q["redirect_uri"].clone(),
            email: b.email,
            name: b.name,
        },
    );
    let state = serde_urlencoded::to_string([("state", &q["state"])]).unwrap();
    Redirect::to(&format!("{}?code={code}&{state}", q["redirect_uri"])).into_response()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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
    let b = p.behaviour.lock().unwrap().clone();
    let access = format!("access:{}:{}", issued.email, issued.name);
    let mut body = json!({ "access_token": access, "token_type": "Bearer", "expires_in": 3600 });
    if b.id_token {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "iss": p.issuer(), "aud": b.audience, "exp": now + 300, "iat": now,
            "nonce": issued.nonce, "sub": format!("sub-{}", issued.email),
            "email": issued.email, "email_verified": true, "name": issued.name,
        });
        body["id_token"] = json!(format!(
            "{}.{}.{}",
            b64(br#"{"alg":"RS256","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes()),
            b64(b"signature")
        ));
    }
    Json(body).into_response()
}

async fn userinfo(headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer access:"))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let (email, name) = token.split_once(':').unwrap();
    Json(json!({ "sub": format!("sub-{email}"), "email": email, "name": name })).into_response()
}

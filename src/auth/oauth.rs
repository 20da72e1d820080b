//! The authorization-code flow with PKCE (S256), a single-use `state` and an OIDC `nonce`, all
//! kept server-side. Identity comes from the ID token when the provider returns one (its
//! `iss`, `aud`, expiry and `nonce` checked; it arrives straight from the token endpoint over
//! the client's own connection, which OIDC Core §3.1.3.7 accepts in place of a signature
//! check), otherwise from the userinfo endpoint.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use super::{ProviderKind, ProviderSettings, hash_token, now, random_token};
use crate::config::Settings;
use crate::store::{Db, LoginAttempt};

/// How long someone may take at the provider before the attempt is void.
pub const ATTEMPT_LIFETIME: i64 = 600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdTokenField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

type Client = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Who signed in, as the provider vouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: String,
    pub name: String,
}

/// Why a sign-in failed; every message tells the person what to do next.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(
        "This sign-in link was already used, has expired, or was started in another browser. Start again from the sign-in page."
    )]
    UnknownState,
    #[error("The provider did not complete sign-in ({0}). Start again from the sign-in page.")]
    Provider(String),
    #[error(
        "The sign-in could not be confirmed with the provider ({0}). Start again from the sign-in page."
    )]
    Exchange(String),
    #[error("The provider could not be reached. Try again in a few minutes.")]
    Unreachable,
    #[error(
        "The identity the provider sent could not be trusted ({0}). Start again from the sign-in page."
    )]
    IdToken(String),
    #[error(
        "{0} may not sign in here: this hub accepts accounts of {1}. Sign in with your district account."
    )]
    Domain(String, String),
    #[error(
        "The provider did not share an email address, which this hub needs to know who you are."
    )]
    NoEmail,
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            // A token endpoint that redirects is not followed (it could send the code elsewhere).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("HTTP client")
    })
}

fn client(settings: &Settings, p: &ProviderSettings) -> anyhow::Result<Client> {
    let e = p.endpoints()?;
    let mut c = oauth2::Client::new(ClientId::new(p.client_id.clone()))
        .set_auth_uri(AuthUrl::new(e.auth_url)?)
        .set_token_uri(TokenUrl::new(e.token_url)?)
        .set_redirect_uri(RedirectUrl::new(redirect_uri(settings, p))?);
    if !p.client_secret.expose().is_empty() {
        c = c.set_client_secret(ClientSecret::new(p.client_secret.expose().to_string()));
    }
    Ok(c)
}

pub fn redirect_uri(settings: &Settings, p: &ProviderSettings) -> String {
    format!("{}/auth/{}/callback", settings.public_url(), p.id)
}

/// Records a new attempt and returns the provider's authorization URL and the `state`.
pub async fn start(
    db: &Db,
    settings: &Settings,
    p: &ProviderSettings,
    return_to: &str,
) -> anyhow::Result<(String, String)> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = random_token();
    let client = client(settings, p)?;
    let mut request = client
        .authorize_url(|| CsrfToken::new(random_token()))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.clone());
    for scope in p.endpoints()?.scopes {
        request = request.add_scope(Scope::new(scope));
    }
    if p.kind == ProviderKind::Google && p.allowed_domains.len() == 1 {
        // Google shows only accounts of this Workspace domain (checked again on return).
        request = request.add_extra_param("hd", p.allowed_domains[0].clone());
    }
    let (url, state) = request.url();
    db.create_login_attempt(
        &hash_token(state.secret()),
        &LoginAttempt {
            provider: p.id.clone(),
            pkce_verifier: verifier.secret().clone(),
            nonce,
            return_to: return_to.to_string(),
            created_at: now(),
        },
    )
    .await?;
    Ok((url.to_string(), state.secret().clone()))
}

/// Completes a callback: the attempt must exist (it is deleted first), be fresh and belong to
/// this provider; then the code is exchanged with its PKCE verifier and the identity checked.
pub async fn finish(
    db: &Db,
    settings: &Settings,
    p: &ProviderSettings,
    state: &str,
    code: &str,
) -> Result<(Identity, LoginAttempt), LoginError> {
    let attempt = db
        .take_login_attempt(&hash_token(state))
        .await
        .map_err(|_| LoginError::Unreachable)?
        .filter(|a| a.provider == p.id && now() - a.created_at <= ATTEMPT_LIFETIME)
        .ok_or(LoginError::UnknownState)?;
    let client = client(settings, p).map_err(|e| LoginError::Exchange(e.to_string()))?;
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.pkce_verifier.clone()))
        .request_async(http())
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::ServerResponse(r) => {
                LoginError::Exchange(r.error().to_string())
            }
            oauth2::RequestTokenError::Request(_) => LoginError::Unreachable,
            other => LoginError::Exchange(other.to_string()),
        })?;
    let endpoints = p
        .endpoints()
        .map_err(|e| LoginError::Exchange(e.to_string()))?;
    let mut claims = match &token.extra_fields().id_token {
        Some(jwt) => {
            let c = id_token_claims(jwt)?;
            check_id_token(&c, p, endpoints.issuer.as_deref(), &attempt.nonce)?;
            c
        }
        None => Claims::default(),
    };
    if claims.email.is_none() || claims.sub.is_none() {
        let Some(url) = &endpoints.userinfo_url else {
            return Err(LoginError::NoEmail);
        };
        let info: Claims = http()
            .get(url)
            .bearer_auth(token.access_token().secret())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|_| LoginError::Unreachable)?
            .json()
            .await
            .map_err(|e| LoginError::Exchange(format!("userinfo: {e}")))?;
        if claims.sub.is_some() && info.sub.is_some() && claims.sub != info.sub {
            return Err(LoginError::IdToken("userinfo is about someone else".into()));
        }
        claims.sub = claims.sub.or(info.sub);
        claims.email = claims.email.or(info.email);
        claims.name = claims.name.or(info.name);
        claims.hd = claims.hd.or(info.hd);
        claims.email_verified = claims.email_verified.or(info.email_verified);
    }
    let email = claims.email.ok_or(LoginError::NoEmail)?.to_lowercase();
    if claims.email_verified == Some(false) {
        return Err(LoginError::IdToken(
            "the email address is not verified".into(),
        ));
    }
    let domains = p.allowed_domains.join(", ");
    if !p.allows(&email) {
        return Err(LoginError::Domain(email, domains));
    }
    if p.kind == ProviderKind::Google
        && !p.allowed_domains.is_empty()
        && !claims
            .hd
            .as_deref()
            .is_some_and(|hd| p.allowed_domains.iter().any(|d| d.eq_ignore_ascii_case(hd)))
    {
        return Err(LoginError::Domain(email, domains));
    }
    let name = claims
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    Ok((
        Identity {
            subject: claims.sub.unwrap_or_default(),
            email,
            name,
        },
        attempt,
    ))
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Claims {
    iss: Option<String>,
    #[serde(default)]
    aud: Audience,
    exp: Option<i64>,
    nonce: Option<String>,
    sub: Option<String>,
    #[serde(alias = "preferred_username")]
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    hd: Option<String>,
    tid: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
enum Audience {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

fn id_token_claims(jwt: &str) -> Result<Claims, LoginError> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| LoginError::IdToken("malformed ID token".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| LoginError::IdToken("malformed ID token".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| LoginError::IdToken("malformed ID token".into()))
}

fn check_id_token(
    c: &Claims,
    p: &ProviderSettings,
    issuer: Option<&str>,
    nonce: &str,
) -> Result<(), LoginError> {
    let bad = |what: &str| Err(LoginError::IdToken(what.into()));
    let expected_issuer = match (issuer, p.kind, &c.tid) {
        (Some(i), _, _) => Some(i.to_string()),
        (None, ProviderKind::Microsoft, Some(tid)) => {
            Some(format!("https://login.microsoftonline.com/{tid}/v2.0"))
        }
        _ => None,
    };
    match (&expected_issuer, &c.iss) {
        (Some(want), Some(got)) if want.trim_end_matches('/') == got.trim_end_matches('/') => {}
        (None, _) => {}
        _ => return bad("wrong issuer"),
    }
    let audience_ok = match &c.aud {
        Audience::One(a) => *a == p.client_id,
        Audience::Many(all) => all.contains(&p.client_id),
        Audience::None => false,
    };
    if !audience_ok {
        return bad("issued for another application");
    }
    if c.exp.is_none_or(|exp| exp + 60 < now()) {
        return bad("expired");
    }
    if !c
        .nonce
        .as_deref()
        .is_some_and(|n| super::same_secret(n, nonce))
    {
        return bad("nonce does not match");
    }
    Ok(())
}

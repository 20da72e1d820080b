//! The authorization-code flow with PKCE (S256), a single-use `state` and an OIDC `nonce`, all
//! kept server-side. Who signed in is what the provider proves: an ID token whose signature
//! checks against the provider's published keys ([`super::oidc`]), or, for a plain OAuth2
//! provider without an issuer, its userinfo endpoint answering our own access token.
//!
use std::sync::OnceLock;
use std::time::Duration;

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

use super::oidc::KeyCache;
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
    /// The provider's stable id of the person: accounts are bound to it.
    pub subject: String,
    pub email: String,
    pub name: String,
    /// The provider is authoritative for `email`: it says it verified it (`email_verified`),
    /// or it owns the domain (Google Workspace's `hd`, a pinned Entra tenant).
    pub email_trusted: bool,
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
        "The provider had a problem completing sign-in ({0}). Try again in a few minutes; if it keeps happening, tell your district's IT team."
    )]
    ProviderFailed(String),
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

impl LoginError {
    /// Whether the fault is the provider's (a 502), not the sign-in's (a 400).
    pub fn is_provider_fault(&self) -> bool {
        matches!(
            self,
            LoginError::Unreachable | LoginError::ProviderFailed(_)
        )
    }
}

/// The token endpoint's HTTP call, with a server error told apart from an OAuth error answer.
#[derive(Debug, thiserror::Error)]
enum TokenHttpError {
    #[error(transparent)]
    Http(#[from] oauth2::HttpClientError<reqwest::Error>),
    #[error("the token endpoint answered {0}")]
    Status(u16),
}

/// GETs a provider's JSON document (discovery, keys, userinfo with our access token). A
/// provider that cannot be reached, answers an error or sends something unreadable is the
/// provider's fault, told apart from a refused sign-in.
pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
    url: &str,
    bearer: Option<&str>,
) -> Result<T, LoginError> {
    let mut request = http().get(url);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|_| LoginError::Unreachable)?;
    if !response.status().is_success() {
        return Err(LoginError::ProviderFailed(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    response
        .json()
        .await
        .map_err(|e| LoginError::ProviderFailed(format!("{url}: {e}")))
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

/// Sign-ins started and not finished that the hub keeps at most (each lives
/// [`ATTEMPT_LIFETIME`]): anonymous clients cannot make the database hold more.
pub const MAX_ATTEMPTS_IN_FLIGHT: i64 = 10_000;

/// Records a new attempt and returns the provider's authorization URL and the `state`; none
/// when [`MAX_ATTEMPTS_IN_FLIGHT`] are already waiting.
pub async fn start(
    db: &Db,
    settings: &Settings,
    p: &ProviderSettings,
    return_to: &str,
) -> anyhow::Result<Option<(String, String)>> {
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
    let added = db
        .create_login_attempt(
            &hash_token(state.secret()),
            &LoginAttempt {
                provider: p.id.clone(),
                pkce_verifier: verifier.secret().clone(),
                nonce,
                return_to: return_to.to_string(),
                created_at: now(),
            },
            MAX_ATTEMPTS_IN_FLIGHT,
        )
        .await?;
    if !added {
        return Ok(None);
    }
    Ok(Some((url.to_string(), state.secret().clone())))
}

/// Completes a callback: the attempt must exist (it is deleted first), be fresh and belong to
/// this provider; then the code is exchanged with its PKCE verifier and the identity checked.
pub async fn finish(
    db: &Db,
    keys: &KeyCache,
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
        .request_async(&|request| async move {
            let response = oauth2::AsyncHttpClient::call(http(), request).await?;
            if response.status().is_server_error() {
                return Err(TokenHttpError::Status(response.status().as_u16()));
            }
            Ok(response)
        })
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::ServerResponse(r) => {
                LoginError::Exchange(r.error().to_string())
            }
            oauth2::RequestTokenError::Request(TokenHttpError::Status(s)) => {
                LoginError::ProviderFailed(format!("its token endpoint answered {s}"))
            }
            oauth2::RequestTokenError::Request(_) => LoginError::Unreachable,
            other => LoginError::Exchange(other.to_string()),
        })?;
    let endpoints = p
        .endpoints()
        .map_err(|e| LoginError::Exchange(e.to_string()))?;
    let mut claims = match (&endpoints.issuer, &token.extra_fields().id_token) {
        (Some(_), Some(jwt)) => {
            let c = keys.verify(p, jwt, &attempt.nonce).await?;
            let name = c.name().and_then(|n| n.get(None)).map(|n| n.to_string());
            Found {
                sub: Some(c.subject().to_string()),
                email: c.email().map(|e| e.to_string()),
                email_verified: c.email_verified(),
                name,
                hd: c.additional_claims().hd.clone(),
                tid: c.additional_claims().tid.clone(),
            }
        }
        (Some(_), None) => {
            return Err(LoginError::IdToken("the provider sent no ID token".into()));
        }
        // A plain OAuth2 provider: identity is what its userinfo endpoint says.
        (None, _) => Found::default(),
    };
    if claims.email.is_none() || claims.sub.is_none() {
        let Some(url) = &endpoints.userinfo_url else {
            return Err(LoginError::NoEmail);
        };
        let info: UserInfo = get_json(url, Some(token.access_token().secret())).await?;
        if claims.sub.is_some() && info.sub.is_some() && claims.sub != info.sub {
            return Err(LoginError::IdToken("userinfo is about someone else".into()));
        }
        claims.sub = claims.sub.or(info.sub);
        if claims.email.is_none() {
            claims.email = info.email;
            claims.email_verified = info.email_verified.and_then(|v| v.as_bool());
        }
        claims.name = claims.name.or(info.name);
        claims.hd = claims.hd.or(info.hd);
    }
    let subject = claims
        .sub
        .filter(|s| !s.is_empty())
        .ok_or_else(|| LoginError::IdToken("the provider did not say who signed in".into()))?;
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
    // Google's `hd` is the Workspace that owns the account (an address may be in one of its
    // secondary domains): it must be one of ours, and it vouches for an address in its own
    // domain.
    let hd_allowed = claims
        .hd
        .as_deref()
        .is_some_and(|hd| p.allowed_domains.iter().any(|d| d.eq_ignore_ascii_case(hd)));
    if p.kind == ProviderKind::Google && !p.allowed_domains.is_empty() && !hd_allowed {
        return Err(LoginError::Domain(email, domains));
    }
    let email_domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    let workspace = p.kind == ProviderKind::Google
        && hd_allowed
        && claims
            .hd
            .as_deref()
            .is_some_and(|hd| hd.eq_ignore_ascii_case(email_domain));
    // A pinned tenant was checked against the token's `tid` with its signature.
    let tenant = p.pinned_tenant().is_some() && claims.tid.is_some();
    let name = claims
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    Ok((
        Identity {
            subject,
            email_trusted: claims.email_verified == Some(true) || workspace || tenant,
            email,
            name,
        },
        attempt,
    ))
}

/// What the ID token and userinfo said, gathered.
#[derive(Debug, Default)]
struct Found {
    sub: Option<String>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    hd: Option<String>,
    tid: Option<String>,
}

/// A userinfo answer. `preferred_username` is not read: it is a name the person may choose,
/// never an e-mail the provider checked.
#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: Option<String>,
    email: Option<String>,
    /// Some providers send it as a string.
    email_verified: Option<BoolOrString>,
    name: Option<String>,
    hd: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BoolOrString {
    Bool(bool),
    String(String),
}

impl BoolOrString {
    fn as_bool(&self) -> Option<bool> {
        match self {
            BoolOrString::Bool(b) => Some(*b),
            BoolOrString::String(s) => s.parse().ok(),
        }
    }
}

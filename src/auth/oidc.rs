//! ID tokens, verified: the provider's signing keys come from its OpenID discovery document
//! (or a configured `jwks_url`), are kept per provider, and are fetched again when a token
//! names a key the hub has not seen (the provider rotated its keys). Only the algorithms the
//! provider advertises are accepted, never `none`; `iss`, `aud`, `exp` and `nonce` are checked
//! by `openidconnect`, `tid` here.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, ClaimsVerificationError, ClientId, ClientSecret, IdTokenClaims,
    IdTokenVerifier, IssuerUrl, Nonce, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};

use super::ProviderSettings;
use super::oauth::{LoginError, get_json};

/// Claims beyond the standard ones that presets check: Google Workspace's `hd` (the
/// account's domain) and Microsoft Entra's `tid` (its tenant).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
}
impl AdditionalClaims for ExtraClaims {}

pub type Claims = IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type IdToken = openidconnect::IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Keys are fetched again after this long even when every token names a known one.
const KEYS_LIFETIME: Duration = Duration::from_secs(3600);
/// A token naming an unknown key fetches the keys again at once, but a second such fetch
/// waits this long: a stream of tokens with made-up key ids cannot turn the hub into a client
/// hammering the provider.
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

/// What the hub trusts of one provider: its issuer, keys and algorithms.
struct Keys {
    issuer: String,
    keys: CoreJsonWebKeySet,
    algs: Vec<CoreJwsSigningAlgorithm>,
    fetched: Instant,
    /// Fetched because a token named an unknown key.
    on_demand: bool,
}

/// The providers' keys, per provider id; a cache of what the providers publish.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, Arc<Keys>>>,
}

/// The parts of a discovery document the hub reads.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    #[serde(default)]
    id_token_signing_alg_values_supported: Vec<String>,
}

impl KeyCache {
    /// Verifies `jwt` for provider `p` and returns its claims.
    pub async fn verify(
        &self,
        p: &ProviderSettings,
        jwt: &str,
        nonce: &str,
    ) -> Result<Claims, LoginError> {
        let token = IdToken::from_str(jwt)
            .map_err(|_| LoginError::IdToken("the ID token is malformed".into()))?;
        let keys = self.keys(p, false).await?;
        match check(&token, p, &keys, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if !keys.on_demand || keys.fetched.elapsed() >= REFETCH_AT_MOST_EVERY => {
                let keys = self.keys(p, true).await?;
                check(&token, p, &keys, nonce).map_err(refusal)
            }
            other => other.map_err(refusal),
        }
    }

    async fn keys(&self, p: &ProviderSettings, refetch: bool) -> Result<Arc<Keys>, LoginError> {
        if !refetch
            && let Some(k) = self.entries.lock().expect("key cache").get(&p.id)
            && k.fetched.elapsed() < KEYS_LIFETIME
        {
            return Ok(k.clone());
        }
        let mut keys = fetch(p).await?;
        keys.on_demand = refetch;
        let keys = Arc::new(keys);
        self.entries
            .lock()
            .expect("key cache")
            .insert(p.id.clone(), keys.clone());
        Ok(keys)
    }
}

async fn fetch(p: &ProviderSettings) -> Result<Keys, LoginError> {
    let e = p
        .endpoints()
        .map_err(|e| LoginError::ProviderFailed(e.to_string()))?;
    let configured = e.issuer.clone().unwrap_or_default();
    let (issuer, jwks_url, advertised) = match (&p.jwks_url, &e.discovery_url) {
        (Some(jwks), _) => (configured, jwks.clone(), Vec::new()),
        (None, Some(url)) => {
            let d: Discovery = get_json(url, None).await?;
            // Microsoft's document names the tenant's own issuer (its directory id, where the
            // settings may name its domain, or the `{tenantid}` template): that one is checked.
            let microsoft = p.kind == super::ProviderKind::Microsoft && p.issuer.is_none();
            if !microsoft && d.issuer.trim_end_matches('/') != configured.trim_end_matches('/') {
                return Err(LoginError::ProviderFailed(format!(
                    "the discovery document is for issuer {}, not {configured}",
                    d.issuer
                )));
            }
            (
                d.issuer,
                d.jwks_uri,
                d.id_token_signing_alg_values_supported,
            )
        }
        (None, None) => {
            return Err(LoginError::ProviderFailed(
                "no issuer or jwks_url is configured to check ID tokens with".into(),
            ));
        }
    };
    let keys: CoreJsonWebKeySet = get_json(&jwks_url, None).await?;
    // Whatever the provider advertises, except an unsigned token; RS256 when it says nothing
    // (the default of OpenID Connect).
    let mut algs: Vec<CoreJwsSigningAlgorithm> = advertised
        .iter()
        .filter(|a| !a.eq_ignore_ascii_case("none"))
        .filter_map(|a| serde_json::from_value(serde_json::Value::String(a.clone())).ok())
        .collect();
    if algs.is_empty() {
        algs.push(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    }
    Ok(Keys {
        issuer,
        keys,
        algs,
        fetched: Instant::now(),
        on_demand: false,
    })
}

fn check(
    token: &IdToken,
    p: &ProviderSettings,
    keys: &Keys,
    nonce: &str,
) -> Result<Claims, ClaimsVerificationError> {
    let template = keys.issuer.contains("{tenantid}");
    let issuer = IssuerUrl::new(keys.issuer.clone())
        .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
    let client_id = ClientId::new(p.client_id.clone());
    let verifier = if p.client_secret.expose().is_empty() {
        IdTokenVerifier::new_public_client(client_id, issuer, keys.keys.clone())
    } else {
        // A confidential client can check HS256 tokens, keyed with its secret.
        IdTokenVerifier::new_confidential_client(
            client_id,
            ClientSecret::new(p.client_secret.expose().to_string()),
            issuer,
            keys.keys.clone(),
        )
    }
    .set_allowed_algs(keys.algs.clone())
    // A template issuer is compared below, once `tid` is known.
    .require_issuer_match(!template);
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_string()))?
        .clone();
    if p.kind == super::ProviderKind::Microsoft {
        check_tenant(p, &keys.issuer, &claims)?;
    }
    Ok(claims)
}

/// Microsoft Entra: the token's tenant must be the pinned one; a multi-tenant token's issuer
/// must be its own tenant's.
fn check_tenant(
    p: &ProviderSettings,
    issuer: &str,
    claims: &Claims,
) -> Result<(), ClaimsVerificationError> {
    let wrong = || ClaimsVerificationError::Other("wrong tenant".into());
    let tid = claims
        .additional_claims()
        .tid
        .as_deref()
        .ok_or_else(wrong)?;
    let own_issuer = issuer.replace("{tenantid}", tid);
    if claims.issuer().as_str().trim_end_matches('/') != own_issuer.trim_end_matches('/') {
        return Err(ClaimsVerificationError::InvalidIssuer(
            "the token's issuer is not its tenant's".into(),
        ));
    }
    match p.pinned_tenant() {
        // A tenant named by its directory id must be that id; one named by its domain was
        // resolved to its id by the tenant's own discovery document, which names the issuer.
        Some(tenant) if tenant.eq_ignore_ascii_case(tid) => Ok(()),
        Some(_) if issuer.contains(&format!("/{tid}/")) => Ok(()),
        Some(_) => Err(wrong()),
        None => Ok(()),
    }
}

fn refusal(e: ClaimsVerificationError) -> LoginError {
    let what = match &e {
        ClaimsVerificationError::InvalidAudience(_) => "issued for another application".into(),
        ClaimsVerificationError::InvalidIssuer(_) => "wrong issuer".into(),
        ClaimsVerificationError::Expired(_) => "expired".into(),
        ClaimsVerificationError::InvalidNonce(_) => "nonce does not match".into(),
        ClaimsVerificationError::SignatureVerification(_) => {
            "its signature is not the provider's".into()
        }
        other => other.to_string(),
    };
    LoginError::IdToken(what)
}

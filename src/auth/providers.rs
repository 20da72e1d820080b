//! Sign-in providers as configured in `brightspots.toml`, with presets for the identity
//! providers school districts use.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A value that must never reach a log: `Debug` prints a placeholder.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Read from the database (a webhook's signing key).
impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(unset)"
        } else {
            "Secret(***)"
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Google,
    Microsoft,
    Clever,
    ClassLink,
    Oidc,
}

/// One `[[providers]]` table. The client secret comes from the environment variable
/// `BRIGHTSPOTS_OAUTH_<ID>_SECRET` (ID upper-cased, `-` as `_`), never from the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// Short name used in URLs: `/auth/{id}/login`.
    pub id: String,
    pub kind: ProviderKind,
    /// The button text; defaults to "Sign in with <provider>".
    pub label: Option<String>,
    pub client_id: String,
    /// Microsoft Entra ID: the tenant (directory) id or domain; default `organizations`.
    pub tenant: Option<String>,
    /// Only these email domains may sign in (empty: any). For Google Workspace this is also
    /// checked against the `hd` claim.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Email domain → district slug, shown on the person's profile for admins.
    #[serde(default)]
    pub districts: BTreeMap<String, String>,
    /// Endpoints: required for `kind = "oidc"`, override a preset otherwise.
    pub auth_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    /// Expected `iss` of ID tokens; their signing keys come from this issuer's OpenID
    /// discovery document (`{issuer}/.well-known/openid-configuration`).
    pub issuer: Option<String>,
    /// Where the ID tokens' signing keys are, when the provider has no discovery document.
    pub jwks_url: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(skip)]
    pub client_secret: Secret,
}

/// A provider's endpoints after presets and overrides are applied.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub auth_url: String,
    pub token_url: String,
    pub userinfo_url: Option<String>,
    /// The `iss` ID tokens must carry; for a multi-tenant Microsoft sign-in, a template with
    /// `{tenantid}` (the token's `tid` fills it in).
    pub issuer: Option<String>,
    /// The OpenID discovery document: the issuer, the signing keys' URL and algorithms.
    pub discovery_url: Option<String>,
    pub scopes: Vec<String>,
}

/// The Microsoft tenants that mean "any organisation" rather than one directory.
const MICROSOFT_MULTI_TENANT: [&str; 3] = ["organizations", "common", "consumers"];

impl ProviderSettings {
    pub fn secret_variable(&self) -> String {
        format!(
            "BRIGHTSPOTS_OAUTH_{}_SECRET",
            self.id.to_ascii_uppercase().replace('-', "_")
        )
    }

    /// Reads the client secret from the environment and checks the table is complete.
    pub(crate) fn load_secret(&mut self) -> anyhow::Result<()> {
        if self.id.is_empty()
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            anyhow::bail!(
                "providers: id \"{}\" must be lowercase letters, digits and '-'",
                self.id
            );
        }
        if self.kind == ProviderKind::Microsoft
            && self.pinned_tenant().is_none()
            && self.allowed_domains.is_empty()
        {
            anyhow::bail!(
                "providers.{}: a Microsoft sign-in without `tenant` accepts accounts of every Entra \
                 organisation; pin your district's tenant (tenant = \"<directory id or domain>\"), or \
                 list the e-mail domains that may sign in (allowed_domains = [\"…\"])",
                self.id
            );
        }
        if let Ok(secret) = std::env::var(self.secret_variable()) {
            self.client_secret = Secret::new(secret);
        }
        self.endpoints()?;
        Ok(())
    }

    /// The Entra tenant this Microsoft sign-in is pinned to, if it is.
    pub fn pinned_tenant(&self) -> Option<&str> {
        let tenant = self.tenant.as_deref()?;
        (self.kind == ProviderKind::Microsoft && !MICROSOFT_MULTI_TENANT.contains(&tenant))
            .then_some(tenant)
    }

    /// What an administrator should know at start-up about how far this provider is trusted.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.kind == ProviderKind::Microsoft && self.pinned_tenant().is_none() {
            w.push(format!(
                "providers.{}: multi-tenant Microsoft sign-in: any Entra organisation can send an \
                 e-mail in {}; such e-mails are not taken as proof, so they link to no account set \
                 up beforehand and make nobody an administrator. Set `tenant` to trust them.",
                self.id,
                self.allowed_domains.join(", ")
            ));
        }
        w
    }

    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| {
            let name = match self.kind {
                ProviderKind::Google => "Google",
                ProviderKind::Microsoft => "Microsoft",
                ProviderKind::Clever => "Clever",
                ProviderKind::ClassLink => "ClassLink",
                ProviderKind::Oidc => "your district account",
            };
            format!("Sign in with {name}")
        })
    }

    pub fn endpoints(&self) -> anyhow::Result<Endpoints> {
        let tenant = self.tenant.as_deref().unwrap_or("organizations");
        let (auth, token, userinfo, issuer): (&str, &str, Option<&str>, Option<String>) =
            match self.kind {
                ProviderKind::Google => (
                    "https://accounts.google.com/o/oauth2/v2/auth",
                    "https://oauth2.googleapis.com/token",
                    Some("https://openidconnect.googleapis.com/v1/userinfo"),
                    Some("https://accounts.google.com".into()),
                ),
                ProviderKind::Microsoft => (
                    "", // built below: the URLs carry the tenant
                    "",
                    Some("https://graph.microsoft.com/oidc/userinfo"),
                    // A multi-tenant sign-in is checked against the token's own `tid`.
                    Some(format!(
                        "https://login.microsoftonline.com/{}/v2.0",
                        if MICROSOFT_MULTI_TENANT.contains(&tenant) {
                            "{tenantid}"
                        } else {
                            tenant
                        }
                    )),
                ),
                ProviderKind::Clever => (
                    "https://clever.com/oauth/authorize",
                    "https://clever.com/oauth/tokens",
                    Some("https://api.clever.com/userinfo"),
                    Some("https://clever.com".into()),
                ),
                ProviderKind::ClassLink => (
                    "https://launchpad.classlink.com/oauth2/v2/auth",
                    "https://launchpad.classlink.com/oauth2/v2/token",
                    Some("https://launchpad.classlink.com/oauth2/v2/userinfo"),
                    Some("https://launchpad.classlink.com".into()),
                ),
                ProviderKind::Oidc => ("", "", None, None),
            };
        let microsoft =
            |path: &str| format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/{path}");
        let pick = |own: &Option<String>, preset: &str, fallback: String| {
            own.clone().or_else(|| {
                if !preset.is_empty() {
                    Some(preset.to_string())
                } else if !fallback.is_empty() {
                    Some(fallback)
                } else {
                    None
                }
            })
        };
        let is_ms = self.kind == ProviderKind::Microsoft;
        let auth_url = pick(
            &self.auth_url,
            auth,
            if is_ms {
                microsoft("authorize")
            } else {
                String::new()
            },
        );
        let token_url = pick(
            &self.token_url,
            token,
            if is_ms {
                microsoft("token")
            } else {
                String::new()
            },
        );
        let (Some(auth_url), Some(token_url)) = (auth_url, token_url) else {
            anyhow::bail!(
                "providers.{}: an \"oidc\" provider needs auth_url and token_url (and userinfo_url or issuer)",
                self.id
            );
        };
        let userinfo_url = self.userinfo_url.clone().or(userinfo.map(String::from));
        let discovery_url = match (&self.issuer, self.kind) {
            // Microsoft's multi-tenant issuer is a template: its document is the tenant's.
            (None, ProviderKind::Microsoft) => Some(format!(
                "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
            )),
            _ => self.issuer.clone().or(issuer.clone()).map(|i| {
                format!(
                    "{}/.well-known/openid-configuration",
                    i.trim_end_matches('/')
                )
            }),
        };
        let issuer = self.issuer.clone().or(issuer);
        if userinfo_url.is_none() && issuer.is_none() {
            anyhow::bail!(
                "providers.{}: give userinfo_url, or issuer to read identity from the ID token",
                self.id
            );
        }
        let scopes = if self.scopes.is_empty() {
            vec!["openid".into(), "email".into(), "profile".into()]
        } else {
            self.scopes.clone()
        };
        Ok(Endpoints {
            auth_url,
            token_url,
            userinfo_url,
            issuer,
            discovery_url,
            scopes,
        })
    }

    /// The district this provider maps the email's domain to.
    pub fn district_for(&self, email: &str) -> Option<&str> {
        let domain = email.rsplit_once('@')?.1;
        self.districts
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(domain))
            .map(|(_, slug)| slug.as_str())
    }

    /// Whether an email may sign in with this provider.
    pub fn allows(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
        self.allowed_domains.is_empty()
            || domain.is_some_and(|d| {
                self.allowed_domains
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&d))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_secret_stays_out_of_debug() {
        let mut p: ProviderSettings = toml::from_str(
            "id = \"entra\"\nkind = \"microsoft\"\nclient_id = \"abc\"\ntenant = \"lincoln.k12.us\"\nallowed_domains = [\"lincoln.k12.us\"]\n",
        )
        .unwrap();
        p.client_secret = Secret::new("s3cret-value");
        let e = p.endpoints().unwrap();
        assert_eq!(
            e.auth_url,
            "https://login.microsoftonline.com/lincoln.k12.us/oauth2/v2.0/authorize"
        );
        assert_eq!(
            e.issuer.as_deref(),
            Some("https://login.microsoftonline.com/lincoln.k12.us/v2.0")
        );
        assert!(!format!("{p:?}").contains("s3cret"));
        assert!(p.allows("Ana@LINCOLN.k12.us"));
        assert!(!p.allows("ana@gmail.com"));
        assert_eq!(p.secret_variable(), "BRIGHTSPOTS_OAUTH_ENTRA_SECRET");

        let bare: ProviderSettings =
            toml::from_str("id = \"x\"\nkind = \"oidc\"\nclient_id = \"c\"\n").unwrap();
        assert!(bare.endpoints().is_err());
    }
}

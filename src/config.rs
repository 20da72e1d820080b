//! Typed settings, layered: built-in defaults → `brightspots.toml` → environment → flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::domain::CellSize;

/// The settings of one running hub.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address the web server listens on.
    pub bind: SocketAddr,
    /// sqlx database URL; SQLite by default.
    pub database_url: DatabaseUrl,
    /// Where the derived search index lives.
    pub index_dir: PathBuf,
    /// The catalog imported on first start and the default of `check`/`import`.
    pub content_dir: PathBuf,
    /// Measures with a smaller n are refused (FERPA).
    pub min_cell_size: i64,
    /// Licence of practices that do not name one.
    pub default_license: String,
    /// The network's name, shown in every page header.
    pub network_name: String,
    /// The address people reach the hub at (`https://…` makes cookies `Secure`); OAuth
    /// redirect URIs are built from it. Defaults to `http://{bind}`.
    pub public_url: Option<String>,
    /// Emails that are administrators whenever they sign in.
    pub admins: Vec<String>,
    /// A session ends after this many hours without a request…
    pub session_idle_hours: u64,
    /// …and this many days after sign-in in any case.
    pub session_max_days: u64,
    /// Sign-in providers (`[[providers]]`); none means local sign-in on a loopback address.
    pub providers: Vec<crate::auth::ProviderSettings>,
    /// The criteria a coach scores every submission against.
    pub rubric: Vec<String>,
    /// A vetted practice is due for re-review this many months after vetting, unless new
    /// adoption evidence arrived since.
    pub rereview_months: u32,
    /// Results of this many recent searches are kept until the index changes (0: none).
    pub search_cache_entries: usize,
    /// A client that has not sent a request's headers this many seconds after connecting
    /// (or after the first byte of a later request on the connection) is disconnected.
    pub header_timeout_secs: u64,
    /// A connection with no request in flight for this many seconds is closed.
    pub idle_timeout_secs: u64,
    /// At most this many connections are open at once; beyond it, new ones wait to be
    /// accepted until one closes.
    pub max_connections: usize,
    /// How long a web request waits for the database's one writer (held by a long import,
    /// say) before the person is told the hub is busy and to press the button again.
    pub write_wait_secs: u64,
    /// PostgreSQL only: connections this instance keeps to the database at most (each
    /// instance has its own pool; the server's `max_connections` bounds their sum).
    pub database_max_connections: u32,
    /// E-mail (`[smtp]`); none means e-mail is off.
    pub smtp: Option<SmtpSettings>,
    /// An adoption under way this many months with no outcome reported is overdue: its team
    /// gets a reminder.
    pub outcome_due_months: u32,
    /// A webhook delivery that failed is tried again after this many seconds, four times
    /// longer at each attempt (60: seven attempts over about 23 hours). Tests set 0.
    pub webhook_retry_secs: u64,
    /// The API's rate limits (`[api]`).
    pub api: ApiLimits,
    /// Hosts that images in practices may load from besides the hub itself, as bare names
    /// (`["images.district.org"]`), always over https. An image anywhere else is shown as a
    /// link, and the Content-Security-Policy refuses it.
    pub image_hosts: Vec<String>,
    /// The largest image or handout a team may upload, in bytes.
    pub max_upload_bytes: usize,
}

/// How much of the API one client may use. Each instance counts its own requests: behind a
/// load balancer over N instances a client gets up to N times these.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiLimits {
    /// API requests a minute from one client address (with a token or without).
    pub per_address_per_minute: u32,
    /// API requests a minute with one token, from wherever.
    pub per_token_per_minute: u32,
    /// API requests this instance answers at once; more are refused at once (429), so a
    /// flood on the API leaves the reading pages their share of the machine.
    pub max_concurrent: usize,
    /// The hub is reached through a reverse proxy that appends the client's address to
    /// `X-Forwarded-For`: the last address there is the client's. Off, every request behind
    /// a proxy would come from the proxy.
    pub behind_proxy: bool,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            per_address_per_minute: 600,
            per_token_per_minute: 300,
            max_concurrent: 8,
            behind_proxy: false,
        }
    }
}

/// How the hub reaches its mail server. The password comes from the environment
/// (`BRIGHTSPOTS_SMTP_PASSWORD`), like the sign-in providers' secrets, never from the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The sender, e.g. `"Coastal NIC <hub@district.org>"`.
    pub from: String,
    /// Sign in to the server as this user (with the password from the environment).
    pub username: Option<String>,
    #[serde(skip)]
    pub password: crate::auth::Secret,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on this machine or in tests.
    None,
}

/// The environment variable that holds the SMTP password.
pub const SMTP_PASSWORD_VARIABLE: &str = "BRIGHTSPOTS_SMTP_PASSWORD";

impl SmtpSettings {
    /// Checks the section and reads the password from the environment (`env`).
    fn check(&mut self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if self.host.trim().is_empty() {
            anyhow::bail!("smtp.host: name the mail server (or leave [smtp] out: e-mail off)");
        }
        self.from
            .parse::<lettre::message::Mailbox>()
            .map_err(|e| anyhow::anyhow!("smtp.from: \"{}\" is not an address: {e}", self.from))?;
        if let Some(password) = env(SMTP_PASSWORD_VARIABLE) {
            self.password = crate::auth::Secret::new(password);
        }
        if self.username.is_some() && self.password.expose().is_empty() {
            anyhow::bail!(
                "smtp.username is set but {SMTP_PASSWORD_VARIABLE} is not: set the mail server's password in the environment"
            );
        }
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }
}

/// A database URL. It may carry a password (`postgres://hub:secret@db/spots`), so `Debug`
/// shows it as `***`: settings can be logged whole.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl std::ops::Deref for DatabaseUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        DatabaseUrl(url)
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        DatabaseUrl(url.to_string())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                // Only fails for URLs that cannot have a password, which this one has.
                let _ = url.set_password(Some("***"));
                write!(f, "{:?}", url.as_str())
            }
            Ok(_) => write!(f, "{:?}", self.0),
            // Unparsable: it may still hold a secret somewhere, so show none of it.
            Err(_) => f.write_str("\"(a database URL)\""),
        }
    }
}

/// The default rubric: what a network coach checks before a practice is vetted.
pub const DEFAULT_RUBRIC: [&str; 6] = [
    "The evidence connects the practice to the student outcome",
    "Measures have a baseline, a result, n and a period",
    "Essential aspects are specific and observable",
    "Necessary conditions are stated",
    "No student is identifiable",
    "The practice is described well enough to try",
];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            database_url: "sqlite:brightspots.db".into(),
            index_dir: "search_index".into(),
            content_dir: "content".into(),
            min_cell_size: CellSize::DEFAULT.get(),
            default_license: "CC-BY-4.0".into(),
            network_name: "Bright Spots".into(),
            public_url: None,
            admins: Vec::new(),
            session_idle_hours: 72,
            session_max_days: 30,
            providers: Vec::new(),
            rubric: DEFAULT_RUBRIC.iter().map(|c| c.to_string()).collect(),
            rereview_months: 18,
            search_cache_entries: crate::search::DEFAULT_CACHED_RESULTS,
            // A browser sends a request's headers in one packet, at once; ten seconds is room
            // for a slow mobile link, and a slowloris client holds a connection no longer.
            header_timeout_secs: 10,
            // Longer than a reader takes between clicks, so a browsing visitor reuses one
            // connection; short enough that idle sockets do not pile up (browsers keep
            // theirs open for minutes if we let them).
            idle_timeout_secs: 60,
            // Half of Linux's usual soft limit of 1024 open files, leaving the other half to
            // the database, the search index's segments and outgoing sign-in requests; a
            // browser opens about six connections, and idle ones close after a minute.
            max_connections: 512,
            // A person waits on it; a command-line writer waits 30 seconds.
            write_wait_secs: 10,
            database_max_connections: 16,
            smtp: None,
            // A semester.
            outcome_due_months: 5,
            webhook_retry_secs: 60,
            api: ApiLimits::default(),
            image_hosts: Vec::new(),
            // A phone photo or a handout of a few pages; the files live in the database.
            max_upload_bytes: 5 * 1024 * 1024,
        }
    }
}

/// Values given on the command line or in the environment; each one that is set wins over
/// the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// Settings file [default: brightspots.toml, if present]
    #[arg(long, env = "BRIGHTSPOTS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000]
    #[arg(long, env = "BRIGHTSPOTS_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// Database URL [default: sqlite:brightspots.db]
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Search index directory [default: search_index]
    #[arg(long, env = "BRIGHTSPOTS_INDEX_DIR", global = true)]
    pub index_dir: Option<PathBuf>,
    /// Catalog directory imported on first start [default: content]
    #[arg(long, env = "BRIGHTSPOTS_CONTENT_DIR", global = true)]
    pub content_dir: Option<PathBuf>,
    /// Smallest n a measure may report [default: 10]
    #[arg(long, env = "BRIGHTSPOTS_MIN_CELL_SIZE", global = true)]
    pub min_cell_size: Option<i64>,
    /// Licence of practices that name none [default: CC-BY-4.0]
    #[arg(long, env = "BRIGHTSPOTS_DEFAULT_LICENSE", global = true)]
    pub default_license: Option<String>,
    /// Network name shown on every page [default: Bright Spots]
    #[arg(long, env = "BRIGHTSPOTS_NETWORK_NAME", global = true)]
    pub network_name: Option<String>,
    /// Seconds a client has to send a request's headers [default: 10]
    #[arg(long, env = "BRIGHTSPOTS_HEADER_TIMEOUT_SECS", global = true)]
    pub header_timeout_secs: Option<u64>,
    /// Seconds an idle connection stays open [default: 60]
    #[arg(long, env = "BRIGHTSPOTS_IDLE_TIMEOUT_SECS", global = true)]
    pub idle_timeout_secs: Option<u64>,
    /// Connections open at once [default: 512]
    #[arg(long, env = "BRIGHTSPOTS_MAX_CONNECTIONS", global = true)]
    pub max_connections: Option<usize>,
}

impl Settings {
    /// Defaults, then the settings file (an explicit `--config` must exist), then overrides.
    pub fn load(o: &Overrides) -> anyhow::Result<Settings> {
        let mut s = match &o.config {
            Some(path) => Self::from_file(path)?,
            None if Path::new("brightspots.toml").exists() => {
                Self::from_file(Path::new("brightspots.toml"))?
            }
            None => Settings::default(),
        };
        if let Some(v) = o.bind {
            s.bind = v;
        }
        if let Some(v) = &o.database_url {
            s.database_url = v.clone().into();
        }
        if let Some(v) = &o.index_dir {
            s.index_dir = v.clone();
        }
        if let Some(v) = &o.content_dir {
            s.content_dir = v.clone();
        }
        if let Some(v) = o.min_cell_size {
            s.min_cell_size = v;
        }
        if let Some(v) = &o.default_license {
            s.default_license = v.clone();
        }
        if let Some(v) = &o.network_name {
            s.network_name = v.clone();
        }
        if let Some(v) = o.header_timeout_secs {
            s.header_timeout_secs = v;
        }
        if let Some(v) = o.idle_timeout_secs {
            s.idle_timeout_secs = v;
        }
        if let Some(v) = o.max_connections {
            s.max_connections = v;
        }
        CellSize::parse(s.min_cell_size).map_err(|e| anyhow::anyhow!("min_cell_size: {e}"))?;
        if let Some(url) = &s.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            anyhow::bail!("public_url: \"{url}\" must start with https:// or http://");
        }
        if s.rubric.iter().all(|c| c.trim().is_empty()) {
            anyhow::bail!(
                "rubric: list at least one criterion a coach scores (or leave rubric out for the default six)"
            );
        }
        if s.rereview_months == 0 {
            anyhow::bail!("rereview_months: must be at least 1");
        }
        // Zero would close every connection at once, or accept none.
        for (name, v) in [
            ("header_timeout_secs", s.header_timeout_secs),
            ("idle_timeout_secs", s.idle_timeout_secs),
            ("max_connections", s.max_connections as u64),
            (
                "api.per_address_per_minute",
                s.api.per_address_per_minute.into(),
            ),
            (
                "api.per_token_per_minute",
                s.api.per_token_per_minute.into(),
            ),
            ("api.max_concurrent", s.api.max_concurrent as u64),
        ] {
            if v == 0 {
                anyhow::bail!("{name}: must be at least 1");
            }
        }
        for p in &mut s.providers {
            p.load_secret()?;
        }
        if let Some(smtp) = &mut s.smtp {
            smtp.check(|name| std::env::var(name).ok())?;
        }
        if s.outcome_due_months == 0 {
            anyhow::bail!("outcome_due_months: must be at least 1");
        }
        crate::content::ImagePolicy::new(&s.image_hosts)
            .map_err(|e| anyhow::anyhow!("image_hosts: {e}"))?;
        if s.max_upload_bytes == 0 {
            anyhow::bail!("max_upload_bytes: must be at least 1");
        }
        Ok(s)
    }

    fn from_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read settings file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            anyhow::anyhow!(
                "{}{}: {}",
                path.display(),
                line.map(|l| format!(":{l}")).unwrap_or_default(),
                e.message()
            )
        })
    }

    /// Where images may load from. `load` has checked `image_hosts`; settings built in code
    /// with an invalid host fall back to the hub alone, the strictest policy.
    pub fn image_policy(&self) -> crate::content::ImagePolicy {
        crate::content::ImagePolicy::new(&self.image_hosts).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "image_hosts ignored: images from the hub only");
            crate::content::ImagePolicy::default()
        })
    }

    /// How long a web request waits for the database's writer.
    pub fn write_wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.write_wait_secs)
    }

    /// The base of every absolute link, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }

    /// Whether session cookies must only travel over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    /// Local sign-in (pick a name and a role) exists only without providers, on a hub that
    /// people reach at a loopback `http://` address: behind a reverse proxy (an `https://`
    /// public URL) anyone who reached it could pick "administrator".
    pub fn local_sign_in(&self) -> bool {
        self.providers.is_empty() && self.reached_on_loopback()
    }

    fn reached_on_loopback(&self) -> bool {
        url::Url::parse(&self.public_url()).is_ok_and(|u| {
            u.scheme() == "http"
                && match u.host() {
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                    None => false,
                }
        })
    }

    /// Refuses settings that would open local sign-in to a network.
    pub fn check_serving(&self) -> anyhow::Result<()> {
        if !self.providers.is_empty() {
            return Ok(());
        }
        if !self.bind.ip().is_loopback() {
            anyhow::bail!(
                "no sign-in provider is configured, and local sign-in (anyone picks a name and a role) \
                 is only allowed on a loopback address; bind to 127.0.0.1 or add a [[providers]] \
                 section to brightspots.toml (see README, \"Signing in\")"
            );
        }
        if !self.reached_on_loopback() {
            anyhow::bail!(
                "no sign-in provider is configured, and public_url is {}: people reach this hub \
                 through another address (a reverse proxy), where local sign-in would let anyone \
                 choose to be an administrator. Add a [[providers]] section to brightspots.toml \
                 (see README, \"Signing in\"), or leave public_url out to try the hub on this computer",
                self.public_url()
            );
        }
        Ok(())
    }

    pub fn min_cell(&self) -> CellSize {
        CellSize::parse(self.min_cell_size).unwrap_or(CellSize::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_stays_out_of_debug() {
        let s = Settings {
            database_url: "postgres://hub:s3cret@db.district.org/spots".into(),
            ..Settings::default()
        };
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(
            printed.contains("postgres://hub:***@db.district.org/spots"),
            "{printed}"
        );
        assert!(format!("{:?}", Settings::default()).contains("sqlite:brightspots.db"));
    }

    #[test]
    fn smtp_section_with_the_password_from_the_environment_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::from_file(&path)
        };
        let mut s = load(
            "[smtp]\nhost = \"smtp.district.org\"\nfrom = \"Coastal NIC <spots@district.org>\"\nusername = \"spots\"\n",
        )
        .unwrap();
        let smtp = s.smtp.as_mut().unwrap();
        assert_eq!((smtp.security, smtp.port()), (SmtpSecurity::Starttls, 587));
        let err = smtp.clone().check(|_| None).unwrap_err().to_string();
        assert!(err.contains(SMTP_PASSWORD_VARIABLE), "{err}");
        smtp.check(|name| (name == SMTP_PASSWORD_VARIABLE).then(|| "hunter2".into()))
            .unwrap();
        assert_eq!(smtp.password.expose(), "hunter2");
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");

        let s = load("[smtp]\nhost = \"h\"\nsecurity = \"tls\"\nfrom = \"a@b.org\"\n").unwrap();
        assert_eq!(s.smtp.unwrap().port(), 465);
        let mut bad = load("[smtp]\nhost = \"h\"\nfrom = \"not an address\"\n").unwrap();
        let err = bad
            .smtp
            .as_mut()
            .unwrap()
            .check(|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("smtp.from"), "{err}");
        let err = load("[smtp]\nhost = \"h\"\nfrom = \"a@b.org\"\npassword = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("password"),
            "the password is never read from the file: {err}"
        );
    }

    #[test]
    fn file_then_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.toml");
        std::fs::write(
            &path,
            "network_name = \"Coastal NIC\"\nmin_cell_size = 12\nidle_timeout_secs = 30\n",
        )
        .unwrap();
        let o = Overrides {
            config: Some(path.clone()),
            min_cell_size: Some(15),
            header_timeout_secs: Some(5),
            ..Default::default()
        };
        let s = Settings::load(&o).unwrap();
        assert_eq!(s.network_name, "Coastal NIC");
        assert_eq!(s.min_cell_size, 15);
        assert_eq!(s.content_dir, PathBuf::from("content"));
        assert_eq!(
            (
                s.header_timeout_secs,
                s.idle_timeout_secs,
                s.max_connections
            ),
            (5, 30, 512)
        );

        let zero = Overrides {
            max_connections: Some(0),
            ..o.clone()
        };
        let err = Settings::load(&zero).unwrap_err().to_string();
        assert!(err.contains("max_connections"), "{err}");

        std::fs::write(&path, "netwrok_name = \"typo\"\n").unwrap();
        let err = Settings::load(&o).unwrap_err().to_string();
        assert!(
            err.contains("b.toml:1") && err.contains("netwrok_name"),
            "{err}"
        );
    }
}

//! A real SMTP server for the mail tests: aiosmtpd (PyPI) over TCP on 127.0.0.1, started by
//! the test that needs it. The first use installs it into a virtualenv under `target/`
//! (`tests/smtp/requirements.txt`); it reports every message it accepts as one JSON line,
//! read here as a mail client would see it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brightspots::config::{SmtpSecurity, SmtpSettings};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

/// One message as the server received it.
#[derive(Debug, Clone, Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Received {
    pub fn to(&self) -> &str {
        &self.rcpt_tos[0]
    }

    pub fn subject(&self) -> &str {
        self.headers.get("subject").map_or("", String::as_str)
    }

    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }

    /// The unsubscribe URL of `List-Unsubscribe` (`<https://…>`).
    pub fn unsubscribe_url(&self) -> String {
        let h = &self.headers["list-unsubscribe"];
        h.trim()
            .strip_prefix('<')
            .and_then(|h| h.strip_suffix('>'))
            .unwrap_or_else(|| panic!("List-Unsubscribe is not one <URL>: {h}"))
            .to_string()
    }
}

pub struct SmtpServer {
    /// Killed when the server is dropped.
    _child: tokio::process::Child,
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

/// The virtualenv's Python with aiosmtpd.
fn python() -> PathBuf {
    crate::helpers::venv("tests/smtp/requirements.txt").join("bin/python")
}

/// The hub's settings for a server on `port` of this machine.
pub fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: SmtpSecurity::None,
        from: "Bright Spots <hub@brightspots.test>".into(),
        username: None,
        password: Default::default(),
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl SmtpServer {
    pub async fn start() -> SmtpServer {
        SmtpServer::start_with(&[]).await
    }

    /// Starts the server with `args` (see `tests/smtp/server.py`) and waits until it listens.
    pub async fn start_with(args: &[&str]) -> SmtpServer {
        let python = tokio::task::spawn_blocking(python).await.unwrap();
        let mut child = tokio::process::Command::new(python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py"))
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP server starts")
            .unwrap()
            .expect("the SMTP server says where it listens");
        let port = first
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let message: Received =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                sink.lock().unwrap().push(message);
            }
        });
        SmtpServer {
            _child: child,
            port,
            received,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived (at most 30 s) and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} message(s) arrived, waited for {n}: {:#?}",
                got.len(),
                got.iter()
                    .map(|m| (m.to(), m.subject()))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages to `to`.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_tos.iter().any(|r| r == to))
            .collect()
    }
}

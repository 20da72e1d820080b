//! The sender: drains the outbox over SMTP, one connection per batch. Each instance runs one;
//! several instances share the outbox through claims (see `store::notices`).
//!
//! The guarantee: **a message is handed to the mail server at most once**. A claim marks it
//! `sending` (committed) before the server sees it. When the server could not be reached,
//! nothing is claimed and the outbox waits. When the server refuses a message for now (4xx)
//! it is tried again later; for good (5xx), it is `failed`. When the connection breaks while
//! the server has the message, or the hub stops between sending and recording, nobody can
//! tell whether it went: the message becomes `uncertain` and is not sent again by itself.

use std::time::Duration;

use lettre::Address;
use lettre::address::Envelope;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::auth::now;
use crate::config::{SmtpSecurity, SmtpSettings};
use crate::store::{Db, Outgoing, Sent};

/// How often an idle sender looks at the outbox.
const POLL: Duration = Duration::from_secs(2);
/// A claimed message is this sender's for this long; past it, the session sweep records it
/// `uncertain`.
const LEASE_SECS: i64 = 300;
/// Connecting or a reply taking longer than this is a failure.
const TIMEOUT: Duration = Duration::from_secs(60);
/// A message the server keeps refusing for now is given up after this many tries…
const MAX_ATTEMPTS: i64 = 8;
/// …and one that could not be sent for this long expires.
pub const EXPIRE_SECS: i64 = 3 * 24 * 3600;
/// Waiting for an unreachable server doubles from 1 s up to this.
const MAX_WAIT: Duration = Duration::from_secs(60);

/// Sends what the outbox holds until the process ends.
pub async fn run(db: Db, smtp: SmtpSettings, wake: std::sync::Arc<tokio::sync::Notify>) {
    let mut wait = Duration::from_secs(1);
    loop {
        // Settling stale claims and old messages is the session sweep's (src/jobs.rs): this
        // loop writes only when it sends.
        match db.mail_due(now()).await {
            Ok(true) => match send_due(&db, &smtp).await {
                Ok(()) => wait = Duration::from_secs(1),
                Err(e) => {
                    tracing::warn!(server = %smtp.host, error = %e, retry_in = ?wait,
                        "cannot send e-mail now; messages wait in the outbox");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                    continue;
                }
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the outbox"),
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = wake.notified() => {}
        }
    }
}

/// Connects and sends every due message. An error means the server could not be reached (or
/// refused the sign-in), or the outbox could not be read or written (a message claimed and
/// not recorded stays `sending` until the sweep records it `uncertain`).
async fn send_due(db: &Db, smtp: &SmtpSettings) -> anyhow::Result<()> {
    let mut conn = connect(smtp).await?;
    let from: Mailbox = smtp.from.parse()?;
    loop {
        let t = now();
        let Some(mail) = db.claim_mail(t, t + LEASE_SECS).await? else {
            break;
        };
        let sent = send_one(&mut conn, &from, &mail).await;
        match &sent {
            Sent::Delivered => tracing::info!(message = mail.id, "e-mail sent"),
            other => tracing::warn!(message = mail.id, outcome = ?other, "e-mail not sent"),
        }
        db.record_mail(&mail, &sent, now()).await?;
        if conn.has_broken() || !matches!(sent, Sent::Delivered) {
            // A fresh connection for the rest: a refused transaction may leave state behind.
            conn.abort().await;
            conn = connect(smtp).await?;
        }
    }
    let _ = conn.quit().await;
    Ok(())
}

async fn send_one(conn: &mut AsyncSmtpConnection, from: &Mailbox, mail: &Outgoing) -> Sent {
    let (envelope, bytes) = match build(from, mail) {
        Ok(built) => built,
        Err(e) => return Sent::Failed(format!("cannot build the message: {e}")),
    };
    match conn.send(&envelope, &bytes).await {
        Ok(_) => Sent::Delivered,
        Err(e) if e.is_transient() && mail.attempts < MAX_ATTEMPTS => Sent::Retry {
            at: now() + 60 * (1 << mail.attempts.clamp(0, 6)),
            error: e.to_string(),
        },
        Err(e) if e.is_transient() || e.is_permanent() => Sent::Failed(e.to_string()),
        Err(e) => Sent::Uncertain(format!(
            "the connection failed while sending ({e}): it may have gone out, so it is not sent again"
        )),
    }
}

/// The message as it goes on the wire: both parts, a stable Message-ID, and the one-click
/// unsubscribe headers of RFC 8058.
fn build(from: &Mailbox, mail: &Outgoing) -> anyhow::Result<(Envelope, Vec<u8>)> {
    let to: Address = mail.to_addr.parse()?;
    let unsubscribe = format!("<{}>", mail.unsubscribe);
    let message = Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to.clone()))
        .subject(mail.subject.clone())
        .message_id(Some(format!(
            "<outbox-{}@{}>",
            mail.id,
            from.email.domain()
        )))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            unsubscribe,
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ))
        .multipart(MultiPart::alternative_plain_html(
            mail.body_text.clone(),
            mail.body_html.clone(),
        ))?;
    let envelope = Envelope::new(Some(from.email.clone()), vec![to])?;
    Ok((envelope, message.formatted()))
}

async fn connect(smtp: &SmtpSettings) -> anyhow::Result<AsyncSmtpConnection> {
    let hello = ClientId::default();
    let tls = || TlsParameters::new(smtp.host.clone());
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (smtp.host.as_str(), smtp.port()),
        Some(TIMEOUT),
        &hello,
        match smtp.security {
            SmtpSecurity::Tls => Some(tls()?),
            _ => None,
        },
        None,
    )
    .await?;
    if smtp.security == SmtpSecurity::Starttls {
        if !conn.can_starttls() {
            conn.abort().await;
            anyhow::bail!(
                "the server does not offer STARTTLS (set security = \"tls\" or \"none\")"
            );
        }
        conn.starttls(tls()?, &hello).await?;
    }
    if let Some(user) = &smtp.username {
        let credentials = Credentials::new(user.clone(), smtp.password.expose().to_string());
        conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
            .await?;
    }
    Ok(conn)
}

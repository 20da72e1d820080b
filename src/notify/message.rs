//! One e-mail, in a plain-text and an HTML part made from the same parts: a lead, a list,
//! a quoted comment, one link to act on, and a foot that says why the person got it and how
//! to stop.

use askama::Template;

use crate::AppState;
use crate::store::{Draft, Recipient};

/// A line of a message's list, linked or not.
#[derive(Debug, Clone)]
pub struct Item {
    pub title: String,
    pub url: Option<String>,
    pub note: String,
}

impl Item {
    pub fn text(title: String) -> Item {
        Item {
            title,
            url: None,
            note: String::new(),
        }
    }

    pub fn link(title: String, url: String, note: String) -> Item {
        Item {
            title,
            url: Some(url),
            note,
        }
    }
}

/// A group of items under a heading (a digest's subscriptions).
#[derive(Debug, Clone)]
pub struct Section {
    pub heading: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub subject: String,
    pub lead: String,
    pub sections: Vec<Section>,
    pub quote: Option<(String, String)>,
    pub action: Option<(String, String)>,
}

impl Mail {
    pub fn new(subject: String) -> Mail {
        Mail {
            subject,
            lead: String::new(),
            sections: Vec::new(),
            quote: None,
            action: None,
        }
    }

    pub fn lead(mut self, lead: String) -> Mail {
        self.lead = lead;
        self
    }

    pub fn items(mut self, items: Vec<Item>) -> Mail {
        if !items.is_empty() {
            self.sections.push(Section {
                heading: String::new(),
                items,
            });
        }
        self
    }

    pub fn section(mut self, heading: String, items: Vec<Item>) -> Mail {
        self.sections.push(Section { heading, items });
        self
    }

    pub fn quote(mut self, who: &str, text: &str) -> Mail {
        self.quote = Some((who.to_string(), text.to_string()));
        self
    }

    pub fn action(mut self, label: &str, url: String) -> Mail {
        self.action = Some((label.to_string(), url));
        self
    }

    /// This message for `to`, as an outbox row.
    pub fn draft(
        &self,
        state: &AppState,
        dedupe: String,
        to: &Recipient,
        kind: &str,
        why: &str,
        token: &str,
    ) -> Draft {
        let base = state.settings.public_url();
        let parts = Parts {
            mail: self,
            network: &state.settings.network_name,
            name: &to.name,
            why,
            settings: format!("{base}/me/notifications"),
            unsubscribe: unsubscribe_url(&base, token),
        };
        let unsubscribe = parts.unsubscribe.clone();
        Draft {
            dedupe,
            user_id: to.id,
            to_addr: to.email.clone(),
            kind: kind.to_string(),
            subject: format!("[{}] {}", state.settings.network_name, self.subject),
            body_text: parts.text(),
            body_html: HtmlPart { p: &parts }.render().unwrap_or_default(),
            unsubscribe,
        }
    }
}

pub fn unsubscribe_url(base: &str, token: &str) -> String {
    format!("{base}/unsubscribe?t={token}")
}

struct Parts<'a> {
    mail: &'a Mail,
    network: &'a str,
    name: &'a str,
    why: &'a str,
    settings: String,
    unsubscribe: String,
}

impl Parts<'_> {
    /// The plain-text part: paragraphs with one blank line between them, links on their own
    /// lines, and the signature separator (`-- `) before the foot.
    fn text(&self) -> String {
        let m = self.mail;
        let mut blocks = vec![format!("Hello {},", self.name), m.lead.clone()];
        for s in &m.sections {
            let mut block = Vec::new();
            if !s.heading.is_empty() {
                block.push(s.heading.clone());
            }
            for i in &s.items {
                let mut line = format!("- {}", i.title);
                if !i.note.is_empty() {
                    line.push_str(&format!(" — {}", i.note));
                }
                if let Some(url) = &i.url {
                    line.push_str(&format!("\n  {url}"));
                }
                block.push(line);
            }
            blocks.push(block.join("\n"));
        }
        if let Some((who, text)) = &m.quote {
            blocks.push(format!("{who} wrote:"));
            blocks.push(
                text.lines()
                    .map(|l| format!("> {l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        if let Some((label, url)) = &m.action {
            blocks.push(format!("{label}: {url}"));
        }
        blocks.push(format!(
            "-- \n{}\nYou get this e-mail because {}.\nChoose what you hear about: {}\nUnsubscribe from these e-mails: {}\n",
            self.network, self.why, self.settings, self.unsubscribe
        ));
        blocks.join("\n\n")
    }
}

#[derive(Template)]
#[template(path = "mail/message.html")]
struct HtmlPart<'a> {
    p: &'a Parts<'a>,
}

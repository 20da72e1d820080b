//! Who hears about what, by e-mail. An event (a submission, a decision, an adoption, a PLC
//! session) schedules a `notify` job in its own transaction; the job decides who is told
//! and writes their messages to the outbox (each once: see `store::notices`); the sender in
//! `crate::mail` delivers them. Subscriptions are matched here too, immediately or in the
//! weekly digest (`digest`).
//!
//! What a message may say: only public content goes to subscribers and adopters; a returned
//! practice's comment goes only to its team; submissions only to coaches. No measure values
//! are ever sent, so nothing below the minimum cell size can be.

pub mod daily;
pub mod digest;
mod message;
mod token;

use std::collections::BTreeSet;

use crate::AppState;
use crate::domain::Vocabulary;
use crate::store::{Draft, Recipient};

pub use message::{Item, Mail};
pub use token::{Unsubscribe, sign, verify};

/// The job that turns one event into messages; its key names the event.
pub const JOB: &str = "notify";

/// Practice events that tell someone (see `store::review::record_event`): by e-mail, or by
/// webhook only (`archived`, `restored`).
pub const TOLD: &[&str] = &[
    "submitted",
    "vetted",
    "returned",
    "replicated",
    "unreplicated",
    "archived",
    "restored",
];

/// A kind of notice a person can turn off at `/me/notifications`.
pub struct Kind {
    pub id: &'static str,
    /// Who gets it, for the settings page's headings.
    pub audience: &'static str,
    /// What it is, as the settings page lists it.
    pub label: &'static str,
    /// Why the person got the message, as the message says at its foot.
    pub why: &'static str,
}

pub const SUBMITTED: &str = "review-submitted";
pub const DUE: &str = "review-due";
pub const PLC: &str = "plc-opened";
pub const REVIEWED: &str = "practice-reviewed";
pub const ADOPTED: &str = "practice-adopted";
pub const REPLICATED: &str = "practice-replicated";
pub const REVISED: &str = "adopted-revised";
pub const OVERDUE: &str = "outcome-overdue";
pub const QUESTION: &str = "question-asked";
pub const ANSWERED: &str = "question-answered";
/// A subscription's messages: each is ended by its own unsubscribe link.
pub const SUBSCRIPTION: &str = "subscription";

pub const KINDS: &[Kind] = &[
    Kind {
        id: SUBMITTED,
        audience: "Coaches",
        label: "A practice is submitted for review",
        why: "you coach in this network and a practice of your district (or of a district without a coach) waits for review",
    },
    Kind {
        id: DUE,
        audience: "Coaches",
        label: "Vetted practices fall due for re-review",
        why: "you coach in this network and these practices are due for re-review",
    },
    Kind {
        id: PLC,
        audience: "Coaches",
        label: "A quarter's PLC session is opened, with its packet",
        why: "you coach in this network and a cross-district review was opened",
    },
    Kind {
        id: REVIEWED,
        audience: "Your team's practices",
        label: "A practice of your team is returned with comments, or vetted",
        why: "you are a member of the team that wrote this practice",
    },
    Kind {
        id: ADOPTED,
        audience: "Your team's practices",
        label: "A school adopts a practice of your team, or reports an outcome",
        why: "you are a member of the team that wrote this practice",
    },
    Kind {
        id: REPLICATED,
        audience: "Your team's practices",
        label: "A practice of your team becomes, or stops being, replicated",
        why: "you are a member of the team that wrote this practice",
    },
    Kind {
        id: REVISED,
        audience: "Practices your team adopted",
        label: "A practice your team adopted is revised (what changed in its essential aspects)",
        why: "your team adopted this practice",
    },
    Kind {
        id: OVERDUE,
        audience: "Practices your team adopted",
        label: "Your team's outcome report is overdue",
        why: "your team adopted this practice and has not reported what happened yet",
    },
    Kind {
        id: QUESTION,
        audience: "Questions to the team",
        label: "A member of the network asks a question about a practice your team shared or adopted",
        why: "you are a member of a team that shared or adopted this practice",
    },
    Kind {
        id: ANSWERED,
        audience: "Questions to the team",
        label: "Someone answers a question you asked",
        why: "you asked this question",
    },
    Kind {
        id: digest::KIND,
        audience: "Your subscriptions",
        label: "The weekly digest of your subscriptions (each subscription can also be stopped on its own below)",
        why: "you subscribed to practices at this hub and chose a weekly digest",
    },
];

pub fn kind(id: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.id == id)
}

/// Turns the event named by `key` into webhook deliveries and messages in the outbox. With
/// e-mail off only the webhooks hear of it. Run again (a retried job), each delivery and
/// message is still written once.
pub async fn run(state: &AppState, key: &str, payload: &str) -> anyhow::Result<()> {
    crate::webhooks::announce(state, key, payload).await?;
    if state.settings.smtp.is_none() {
        return Ok(());
    }
    let (what, id) = key
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("notify job {key:?} names no event"))?;
    let drafts = match what {
        "event" => {
            let public_before = serde_json::from_str::<serde_json::Value>(payload)
                .ok()
                .and_then(|p| p.get("public_before")?.as_i64());
            practice_event(state, id.parse()?, public_before).await?
        }
        "adoption" => adoption_event(state, id.parse()?).await?,
        "plc" => plc_opened(state, id).await?,
        "question" => question_asked(state, id.parse()?).await?,
        "answer" => question_answered(state, id.parse()?).await?,
        other => anyhow::bail!("notify job of an unknown event {other:?}"),
    };
    state.db.enqueue_mail(&drafts, crate::auth::now()).await?;
    Ok(())
}

/// One message for each recipient, with their own unsubscribe link for `kind`.
pub(crate) async fn drafts_for(
    state: &AppState,
    kind: &'static str,
    about: &str,
    recipients: &[Recipient],
    mail: &Mail,
) -> anyhow::Result<Vec<Draft>> {
    let why = self::kind(kind).map_or("", |k| k.why);
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for r in recipients {
        if !seen.insert(r.id) {
            continue;
        }
        let token = sign(state, r.id, &Unsubscribe::Kind(kind.to_string())).await?;
        out.push(mail.draft(
            state,
            format!("{kind}:{about}:{}", r.id),
            r,
            kind,
            why,
            &token,
        ));
    }
    Ok(out)
}

async fn practice_event(
    state: &AppState,
    event: i64,
    public_before: Option<i64>,
) -> anyhow::Result<Vec<Draft>> {
    let Some(mut e) = state.db.event_facts(event).await? else {
        return Ok(Vec::new());
    };
    e.public_before = public_before;
    let base = state.settings.public_url();
    let about = format!("event{event}");
    let mut drafts = Vec::new();
    match e.kind.as_str() {
        "submitted" => {
            let coaches = state.db.coach_recipients(Some(e.district_id)).await?;
            let mail = Mail::new(format!("Waiting for review: {}", e.title))
                .lead(format!(
                    "{} submitted revision {} of “{}” for review.",
                    e.team_name, e.revision_number, e.title
                ))
                .action("Review it", format!("{base}/review/{}", e.slug));
            drafts = drafts_for(state, SUBMITTED, &about, &coaches, &mail).await?;
        }
        "returned" => {
            let team = state.db.team_recipients(e.team_id).await?;
            let mut mail = Mail::new(format!("Returned with comments: {}", e.title))
                .lead(format!(
                    "A coach returned revision {} of “{}” to your team.",
                    e.revision_number, e.title
                ))
                .action(
                    "Edit the practice",
                    format!("{base}/practices/{}/edit", e.slug),
                );
            if let Some((reviewer, comment)) = &e.comment
                && !comment.trim().is_empty()
            {
                mail = mail.quote(reviewer, comment);
            }
            drafts = drafts_for(state, REVIEWED, &about, &team, &mail).await?;
        }
        "vetted" => {
            let team = state.db.team_recipients(e.team_id).await?;
            let rereview = e.public_before == Some(e.revision_id);
            let mail = if rereview {
                Mail::new(format!("Re-reviewed: {}", e.title)).lead(format!(
                    "A coach re-reviewed “{}” (revision {}): it stays in the network's catalog as it is.",
                    e.title, e.revision_number
                ))
            } else {
                Mail::new(format!("Vetted: {}", e.title)).lead(format!(
                    "A coach vetted revision {} of “{}”: it is in the network's catalog.",
                    e.revision_number, e.title
                ))
            }
            .action("See it", format!("{base}/practices/{}", e.slug));
            drafts = drafts_for(state, REVIEWED, &about, &team, &mail).await?;
            // Adopters and subscribers hear only of what is public now.
            if e.public_now {
                if let Some(before) = e.public_before.filter(|b| *b != e.revision_id) {
                    drafts.extend(revised(state, &e, before, &about).await?);
                }
                drafts.extend(digest::immediate(state, &e, event).await?);
            }
        }
        "replicated" | "unreplicated" => {
            let team = state.db.team_recipients(e.team_id).await?;
            let mail = if e.kind == "replicated" {
                Mail::new(format!("Replicated: {}", e.title)).lead(format!(
                    "“{}” is now replicated: at least two other schools kept every essential aspect and reported improved student outcomes.",
                    e.title
                ))
            } else {
                Mail::new(format!("No longer replicated: {}", e.title)).lead(format!(
                    "“{}” is no longer replicated: fewer than two other schools' reports now meet the rule (every essential aspect kept, improved student outcomes).",
                    e.title
                ))
            }
            .action("See its replication ledger", format!("{base}/practices/{}", e.slug));
            drafts = drafts_for(state, REPLICATED, &about, &team, &mail).await?;
        }
        _ => {}
    }
    Ok(drafts)
}

/// Adopting teams hear what changed in the essential aspects between the revision public
/// before and the one vetted now.
async fn revised(
    state: &AppState,
    e: &crate::store::EventFacts,
    before: i64,
    about: &str,
) -> anyhow::Result<Vec<Draft>> {
    let adopters = state.db.adopter_recipients(e.practice_id).await?;
    if adopters.is_empty() {
        return Ok(Vec::new());
    }
    let old = state.db.revision_aspects(before).await?;
    let new = state.db.revision_aspects(e.revision_id).await?;
    let mut items = Vec::new();
    for a in &new {
        if !old.contains(a) {
            items.push(Item::text(format!("Added: {a}")));
        }
    }
    for a in &old {
        if !new.contains(a) {
            items.push(Item::text(format!("Removed: {a}")));
        }
    }
    let lead = if items.is_empty() {
        format!(
            "“{}” was revised (revision {}). Its essential aspects did not change.",
            e.title, e.revision_number
        )
    } else {
        format!(
            "“{}” was revised (revision {}). Its essential aspects changed, which matters for fidelity: check that your team still keeps each one.",
            e.title, e.revision_number
        )
    };
    let mail = Mail::new(format!("Revised: {}", e.title))
        .lead(lead)
        .items(items)
        // The practice page: the revision history is its team's and the coaches' only.
        .action(
            "Read the new revision",
            format!("{}/practices/{}", state.settings.public_url(), e.slug),
        );
    let people: Vec<Recipient> = adopters.into_iter().map(|(r, _)| r).collect();
    drafts_for(state, REVISED, about, &people, &mail).await
}

async fn adoption_event(state: &AppState, entry: i64) -> anyhow::Result<Vec<Draft>> {
    let Some(a) = state.db.adoption_facts(entry).await? else {
        return Ok(Vec::new());
    };
    let base = state.settings.public_url();
    let team = state.db.team_recipients(a.owner_team_id).await?;
    let status = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| crate::domain::AdoptionStatus::parse(s).ok())
            .map(|s| s.label().to_lowercase())
    };
    let outcome = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| crate::domain::Outcome::parse(s).ok())
            .map(|o| o.label().to_lowercase())
    };
    let mail = if a.previous_status.is_none() {
        Mail::new(format!("{} adopted {}", a.school_name, a.title)).lead(format!(
            "{} ({}) started with “{}”: {}{}.",
            a.team_name,
            a.school_name,
            a.title,
            status(&a.status).unwrap_or_default(),
            outcome(&a.outcome)
                .map(|o| format!(", and reported what happened: {o}"))
                .unwrap_or_default()
        ))
    } else if a.outcome.is_some() && a.outcome != a.previous_outcome {
        Mail::new(format!(
            "{} reported an outcome: {}",
            a.school_name, a.title
        ))
        .lead(format!(
            "{} ({}) reported what happened with “{}”: {}.",
            a.team_name,
            a.school_name,
            a.title,
            outcome(&a.outcome).unwrap_or_default()
        ))
    } else {
        return Ok(Vec::new());
    }
    .action(
        "See the replication ledger",
        format!("{base}/practices/{}", a.slug),
    );
    drafts_for(state, ADOPTED, &format!("adoption{entry}"), &team, &mail).await
}

async fn plc_opened(state: &AppState, quarter: &str) -> anyhow::Result<Vec<Draft>> {
    let coaches = state.db.coach_recipients(None).await?;
    let base = state.settings.public_url();
    let mail = Mail::new(format!("PLC session opened: {quarter}"))
        .lead(format!(
            "The cross-district review of {quarter} is open. Its packet has the quarter's submissions, vettings, adoptions and the practices due for re-review."
        ))
        .action("Open the packet", format!("{base}/plc/{quarter}"));
    drafts_for(state, PLC, &format!("plc{quarter}"), &coaches, &mail).await
}

/// A question tells the members of the team that shared the practice and of the teams that
/// adopted it (not the person who asked). The text is members-only: it goes to these
/// members by e-mail, never to a webhook (see `webhooks::announce`).
async fn question_asked(state: &AppState, id: i64) -> anyhow::Result<Vec<Draft>> {
    let Some(q) = state.db.question_facts(id).await? else {
        return Ok(Vec::new());
    };
    // Hidden before the job ran: nobody hears of it.
    if q.hidden {
        return Ok(Vec::new());
    }
    let mut people = state.db.team_recipients(q.team_id).await?;
    people.extend(
        state
            .db
            .adopter_recipients(q.practice_id)
            .await?
            .into_iter()
            .map(|(r, _)| r),
    );
    people.retain(|r| Some(r.id) != q.asker_id);
    let mail = Mail::new(format!("A question about {}", q.title))
        .lead(format!(
            "{} asked a question about “{}”, a practice your team shared or adopted.",
            q.asker_name, q.title
        ))
        .quote(&q.asker_name, &q.question)
        .action(
            "Answer it",
            format!(
                "{}/practices/{}#question-{}",
                state.settings.public_url(),
                q.slug,
                q.question_id
            ),
        );
    drafts_for(state, QUESTION, &format!("question{id}"), &people, &mail).await
}

/// An answer tells the person who asked (unless they answered themselves).
async fn question_answered(state: &AppState, id: i64) -> anyhow::Result<Vec<Draft>> {
    let Some(crate::store::AnswerFacts {
        question: q,
        answerer_id: answerer,
        answerer_name: name,
        text,
    }) = state.db.answer_facts(id).await?
    else {
        return Ok(Vec::new());
    };
    let Some(asker) = q.asker_id.filter(|a| Some(*a) != answerer) else {
        return Ok(Vec::new());
    };
    if q.hidden {
        return Ok(Vec::new());
    }
    let people = state.db.recipients(&[asker]).await?;
    let mail = Mail::new(format!("An answer to your question about {}", q.title))
        .lead(format!(
            "{name} answered the question you asked about “{}”.",
            q.title
        ))
        .quote(&name, &text)
        .action(
            "Read the answers",
            format!(
                "{}/practices/{}#question-{}",
                state.settings.public_url(),
                q.slug,
                q.question_id
            ),
        );
    drafts_for(state, ANSWERED, &format!("answer{id}"), &people, &mail).await
}

//! Reminders that fall due with the calendar, checked once a day: practices due for
//! re-review (to coaches) and overdue outcome reports (to adopting teams). Each names only
//! what fell due since the last check, so nobody hears the same reminder twice.

use super::{DUE, Item, Mail, OVERDUE, drafts_for};
use crate::AppState;

/// The daily job: due every day at 06:00 UTC; its payload is the last day it covered.
pub const JOB: &str = "notify-daily";
const DAY: i64 = 24 * 3600;
/// A message lists at most this many practices, then says how many more.
const LISTED: usize = 25;

/// 06:00 UTC after `now`.
pub fn next_run(now: i64) -> i64 {
    let offset = 6 * 3600;
    ((now - offset).div_euclid(DAY) + 1) * DAY + offset
}

/// `YYYY-MM-DD` of `unix`.
pub fn day(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}

/// Tells what fell due after `since` and by `today`. Returns how many messages were added.
pub async fn run(state: &AppState, since: &str, today: &str) -> anyhow::Result<u64> {
    if state.settings.smtp.is_none() {
        return Ok(0);
    }
    let base = state.settings.public_url();
    let mut drafts = Vec::new();

    let due = state
        .db
        .newly_due(state.settings.rereview_months, since, today)
        .await?;
    if !due.is_empty() {
        let mut items: Vec<Item> = due
            .iter()
            .take(LISTED)
            .map(|d| {
                Item::link(
                    d.title.clone(),
                    format!("{base}/review/{}", d.slug),
                    format!("{} — vetted {}, due {}", d.team_name, d.vetted_on, d.due_on),
                )
            })
            .collect();
        if due.len() > LISTED {
            items.push(Item::text(format!("…and {} more", due.len() - LISTED)));
        }
        let mail = Mail::new(format!(
            "{} practice{} due for re-review",
            due.len(),
            if due.len() == 1 { "" } else { "s" }
        ))
        .lead(format!(
            "These vetted practices reached {} months without new adoption evidence: check that each still holds.",
            state.settings.rereview_months
        ))
        .items(items)
        .action("Open the review queue", format!("{base}/review"));
        let coaches = state.db.coach_recipients(None).await?;
        drafts.extend(drafts_for(state, DUE, &format!("due{today}"), &coaches, &mail).await?);
    }

    for o in state
        .db
        .newly_overdue(state.settings.outcome_due_months, since, today)
        .await?
    {
        let team = state.db.team_recipients(o.team_id).await?;
        let mail = Mail::new(format!("What happened with {}?", o.title))
            .lead(format!(
                "Your team started “{}” on {}. The network counts on your outcome report (due {}): what you kept, your measures, and whether students improved — a result of no change counts as much as an improvement.",
                o.title, o.started_on, o.due_on
            ))
            .action(
                "Report the outcome",
                format!("{base}/practices/{}/adopt", o.slug),
            );
        drafts.extend(
            drafts_for(
                state,
                OVERDUE,
                &format!("adoption{}:{}", o.adoption_id, o.started_on),
                &team,
                &mail,
            )
            .await?,
        );
    }
    Ok(state.db.enqueue_mail(&drafts, crate::auth::now()).await?)
}

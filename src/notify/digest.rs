//! Subscriptions: "tell me about new practices in this challenge area, of this team, of this
//! school, or like this search". Immediate ones are told as a practice is vetted; weekly ones
//! get one digest a week that groups the week's new and revised practices by subscription,
//! and nothing when nothing is new.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Item, Mail, Unsubscribe, sign};
use crate::AppState;
use crate::store::{Announced, Draft, EventFacts, Recipient, Subscription};

/// The weekly digest job: due every Monday at 07:00 UTC, covering the week before.
pub const JOB: &str = "digest";
/// Turning this kind off stops the weekly digest (each subscription also has its own link).
pub const KIND: &str = "weekly-digest";
const WEEK: i64 = 7 * 24 * 3600;
/// Messages added to the outbox per transaction: a few, so that each slice of work is short.
const ENQUEUED_AT_ONCE: usize = 8;

/// A digest lists this many practices per subscription, then links to the rest: a digest is
/// read in a few minutes, on a phone.
const LISTED: usize = 10;

/// The page with everything `sub` asks about, newest first.
fn all_of(sub: &Subscription) -> String {
    match sub.target.as_str() {
        "area" => format!("/challenges/{}", sub.value),
        "team" => format!("/teams/{}", sub.value),
        "school" => format!("/schools/{}", sub.value),
        _ if sub.value.is_empty() => "/search?sort=newest".into(),
        _ => format!("/search?{}&sort=newest", sub.value),
    }
}

/// Where a subscription points and what it is called.
pub const TARGETS: &[(&str, &str)] = &[
    ("area", "Challenge area"),
    ("team", "Team"),
    ("school", "School"),
    ("search", "Search"),
];

/// The Monday 07:00 UTC after `now` (unix seconds).
pub fn next_run(now: i64) -> i64 {
    // 1970-01-01 was a Thursday: Mondays are 4 days into each 7-day cycle, plus 7 hours.
    let offset = 4 * 24 * 3600 + 7 * 3600;
    let k = (now - offset).div_euclid(WEEK) + 1;
    k * WEEK + offset
}

/// Events record their time as `YYYY-MM-DDTHH:MM:SSZ`.
fn stamp(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The digest shares the machine with searches, and a search uses every core (see
/// `search::segments`): whatever core the digest takes, a search waits for. So it works in
/// slices of about `SLICE` and rests `COMPOSING` times as long after each: at most a tenth
/// of a core, for a job that has the whole week. Writing the outbox rests longer, `WRITING`
/// times: its slices also take the disk and the database's writer, and at a tenth they still
/// slowed searches by 10–18 % (`cargo bench --bench digest`).
const SLICE: Duration = Duration::from_millis(2);
const COMPOSING: u32 = 9;
const WRITING: u32 = 29;

/// Work done since the last rest, and how many times as long to rest.
struct Pace(Instant, u32);

impl Pace {
    fn new(rest: u32) -> Pace {
        Pace(Instant::now(), rest)
    }

    /// Rests in proportion to the work done since the last rest, once that is a slice.
    async fn rest(&mut self) {
        let worked = self.0.elapsed();
        if worked >= SLICE {
            tokio::time::sleep(worked * self.1).await;
            self.0 = Instant::now();
        }
    }
}

/// Whether `sub` asks about `p`; searches are looked up in `searches`.
fn wants(sub: &Subscription, p: &Announced, searches: &HashMap<String, HashSet<String>>) -> bool {
    match sub.target.as_str() {
        "area" => p.areas.contains(&sub.value),
        "team" => p.team_slug == sub.value,
        "school" => p.school_slug == sub.value,
        "search" => searches
            .get(&sub.value)
            .is_some_and(|slugs| slugs.contains(&p.slug)),
        _ => false,
    }
}

/// For each distinct saved search of `subs`, which of `practices` match it now.
async fn match_searches(
    state: &AppState,
    subs: &[Subscription],
    practices: &[Announced],
) -> anyhow::Result<HashMap<String, HashSet<String>>> {
    let queries: HashSet<String> = subs
        .iter()
        .filter(|s| s.target == "search")
        .map(|s| s.value.clone())
        .collect();
    if queries.is_empty() || practices.is_empty() {
        return Ok(HashMap::new());
    }
    index_caught_up(state).await?;
    let requests = crate::web::saved_searches(state, queries).await?;
    let slugs: Vec<String> = practices.iter().map(|p| p.slug.clone()).collect();
    let search = state.search.clone();
    let among = Arc::new(tokio::task::spawn_blocking(move || search.among(&slugs)).await??);
    let mut out = HashMap::new();
    let mut pace = Pace::new(COMPOSING);
    // One search at a time, resting between them.
    for (q, req) in requests {
        let (search, among) = (state.search.clone(), among.clone());
        let found = tokio::task::spawn_blocking(move || search.matching(&req, &among)).await??;
        out.insert(q, found);
        pace.rest().await;
    }
    Ok(out)
}

/// Saved searches are matched on this instance's index, which follows the database a moment
/// behind (and behind another instance's writes): wait until it has applied every change
/// committed before now, the event's among them. If it cannot, the job fails and is retried.
async fn index_caught_up(state: &AppState) -> anyhow::Result<()> {
    let head = state.db.feed_head().await?;
    state.search.wake();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !state.search.caught_up(head) {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the search index has not caught up with the database yet");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(())
}

fn item(state: &AppState, p: &Announced) -> Item {
    let what = if p.revised { "Revised" } else { "New" };
    Item::link(
        format!("{what}: {}", p.title),
        format!("{}/practices/{}", state.settings.public_url(), p.slug),
        format!("{} — {}. {}", p.team_name, p.school_name, p.summary),
    )
}

/// Immediate subscribers' messages about the practice event `e` just made public.
pub(super) async fn immediate(
    state: &AppState,
    e: &EventFacts,
    event: i64,
) -> anyhow::Result<Vec<Draft>> {
    let subs = state.db.subscriptions_by("immediate").await?;
    if subs.is_empty() {
        return Ok(Vec::new());
    }
    // A re-review that finds the public revision still current is no news.
    if e.public_before == Some(e.revision_id) {
        return Ok(Vec::new());
    }
    let mut practices = state.db.announced(e.practice_id, "").await?;
    for p in &mut practices {
        p.revised = e.public_before.is_some();
    }
    let Some(p) = practices.first() else {
        return Ok(Vec::new());
    };
    let searches = match_searches(state, &subs, &practices).await?;
    let hits: Vec<&Subscription> = subs.iter().filter(|s| wants(s, p, &searches)).collect();
    let people = people(state, hits.iter().map(|s| s.user_id)).await?;
    let mut drafts = Vec::new();
    for sub in hits {
        let Some(to) = people.get(&sub.user_id) else {
            continue;
        };
        let what = if p.revised { "Revised" } else { "New" };
        let mail = Mail::new(format!("{what} practice: {}", p.title))
            .lead(format!(
                "A practice that matches your subscription “{}” was vetted.",
                sub.label
            ))
            .items(vec![item(state, p)]);
        drafts.push(
            subscription_draft(state, &mail, to, sub, format!("sub{}:event{event}", sub.id))
                .await?,
        );
    }
    Ok(drafts)
}

async fn subscription_draft(
    state: &AppState,
    mail: &Mail,
    to: &Recipient,
    sub: &Subscription,
    dedupe: String,
) -> anyhow::Result<Draft> {
    let token = sign(state, to.id, &Unsubscribe::Subscription(sub.id)).await?;
    let why = format!(
        "you subscribed to “{}” at {}",
        sub.label, state.settings.network_name
    );
    Ok(mail.draft(state, dedupe, to, super::SUBSCRIPTION, &why, &token))
}

async fn people(
    state: &AppState,
    ids: impl Iterator<Item = i64>,
) -> anyhow::Result<HashMap<i64, Recipient>> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(state
        .db
        .recipients(&ids)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect())
}

/// The weekly digest of the week before `until` (unix seconds): one message per person with
/// something new, into the outbox. Returns how many messages were added.
pub async fn run(state: &AppState, until: i64) -> anyhow::Result<u64> {
    if state.settings.smtp.is_none() {
        return Ok(0);
    }
    let drafts = compose(state, until).await?;
    // A few messages per transaction, resting between them: one transaction for all would
    // hold the database's writer for seconds. A run stopped halfway is finished by the next
    // (each message is added once, by its `dedupe` key).
    let mut added = 0;
    let mut pace = Pace::new(WRITING);
    for some in drafts.chunks(ENQUEUED_AT_ONCE) {
        added += state.db.enqueue_mail(some, crate::auth::now()).await?;
        pace.rest().await;
    }
    Ok(added)
}

/// The digest's messages (public for the benchmark, which measures composing them).
pub async fn compose(state: &AppState, until: i64) -> anyhow::Result<Vec<Draft>> {
    let since = until - WEEK;
    let practices = state
        .db
        .announced_between(&stamp(since), &stamp(until))
        .await?;
    if practices.is_empty() {
        return Ok(Vec::new());
    }
    let subs = state.db.subscriptions_by("weekly").await?;
    let searches = match_searches(state, &subs, &practices).await?;
    let mut pace = Pace::new(COMPOSING);
    let mut by_person: BTreeMap<i64, Vec<(&Subscription, Vec<&Announced>)>> = BTreeMap::new();
    for sub in &subs {
        let hits: Vec<&Announced> = practices
            .iter()
            .filter(|p| wants(sub, p, &searches))
            .collect();
        if !hits.is_empty() {
            by_person.entry(sub.user_id).or_default().push((sub, hits));
        }
        pace.rest().await;
    }
    let people = people(state, by_person.keys().copied()).await?;
    let week = stamp(since).get(..10).unwrap_or_default().to_string();
    let digest_off = Unsubscribe::Kind(KIND.to_string());
    let why = format!(
        "you subscribed to these practices at {} and chose a weekly digest",
        state.settings.network_name
    );
    let mut drafts = Vec::with_capacity(by_person.len());
    for (user, groups) in by_person {
        let Some(to) = people.get(&user) else {
            continue;
        };
        let count: HashSet<&str> = groups
            .iter()
            .flat_map(|(_, ps)| ps.iter().map(|p| p.slug.as_str()))
            .collect();
        let mut mail = Mail::new(format!(
            "This week: {} practice{} for you",
            count.len(),
            if count.len() == 1 { "" } else { "s" }
        ))
        .lead(format!(
            "New and revised practices of the week from {week}, by subscription."
        ));
        for (sub, ps) in groups {
            let stop = sign(state, user, &Unsubscribe::Subscription(sub.id)).await?;
            let mut items: Vec<Item> = ps.iter().take(LISTED).map(|p| item(state, p)).collect();
            if ps.len() > LISTED {
                items.push(Item::link(
                    format!("…and {} more", ps.len() - LISTED),
                    format!("{}{}", state.settings.public_url(), all_of(sub)),
                    String::new(),
                ));
            }
            items.push(Item::link(
                "Stop this subscription".into(),
                super::message::unsubscribe_url(&state.settings.public_url(), &stop),
                String::new(),
            ));
            mail = mail.section(sub.label.clone(), items);
        }
        drafts.push(mail.draft(
            state,
            format!("digest:{week}:{user}"),
            to,
            KIND,
            &why,
            &sign(state, user, &digest_off).await?,
        ));
        pace.rest().await;
    }
    Ok(drafts)
}

#[cfg(test)]
mod tests {
    use super::next_run;

    #[test]
    fn digests_go_out_on_monday_mornings() {
        // 2026-12-01 is a Tuesday; the next Monday is 2026-12-07.
        let tuesday = 1_796_126_400; // 2026-12-01T12:00:00Z
        let monday = next_run(tuesday);
        let t = time::OffsetDateTime::from_unix_timestamp(monday).unwrap();
        assert_eq!(t.weekday(), time::Weekday::Monday);
        assert_eq!(
            (t.date().to_string(), t.hour(), t.minute()),
            ("2026-12-07".into(), 7, 0)
        );
        // At the hour itself, the next one is a week later.
        assert_eq!(next_run(monday), monday + 7 * 24 * 3600);
    }
}

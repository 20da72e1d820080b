//! `/me/notifications`: what a person hears about by e-mail, and their subscriptions; and
//! `/unsubscribe`, the signed link at the foot of every message.

use std::collections::HashSet;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::search::Labels;
use super::{Chrome, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::error::{AppError, AppResult};
use crate::notify::{self, Kind, Unsubscribe, digest};
use crate::search::{SearchRequest, Sort};
use crate::store::{Subscription, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notifications", get(settings).post(save_settings))
        .route("/me/subscriptions", post(subscribe))
        .route("/me/subscriptions/{id}", post(change_subscription))
        .route("/unsubscribe", get(confirm_unsubscribe).post(unsubscribe))
}

/// Saved searches' parameters (as `/search` takes them) as requests.
pub async fn saved_searches(
    state: &AppState,
    queries: impl IntoIterator<Item = String>,
) -> anyhow::Result<Vec<(String, SearchRequest)>> {
    let labels = Labels::load(state)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(queries
        .into_iter()
        .map(|q| {
            let req = super::search::parse_with(Some(&q), &labels, Sort::Relevance, 1).0;
            (q, req)
        })
        .collect())
}

struct KindRow {
    kind: &'static Kind,
    on: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct SettingsPage {
    chrome: Chrome,
    user: User,
    mail_on: bool,
    groups: Vec<(&'static str, Vec<KindRow>)>,
    subscriptions: Vec<Subscription>,
    notice: Option<&'static str>,
}

/// The kinds that concern `user`: coaches' only for coaches, teams' only for team members.
fn concerns(user: &User, kind: &Kind) -> bool {
    match kind.audience {
        _ if kind.id == notify::QUESTION => !user.teams.is_empty(),
        "Coaches" => user.is_coach(),
        "Your team's practices" | "Practices your team adopted" => !user.teams.is_empty(),
        _ => true,
    }
}

async fn settings(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let off: HashSet<String> = state
        .db
        .notifications_off(user.id)
        .await?
        .into_iter()
        .collect();
    let mut groups: Vec<(&'static str, Vec<KindRow>)> = Vec::new();
    for kind in notify::KINDS.iter().filter(|k| concerns(&user, k)) {
        let row = KindRow {
            kind,
            on: !off.contains(kind.id),
        };
        match groups.last_mut() {
            Some((audience, rows)) if *audience == kind.audience => rows.push(row),
            _ => groups.push((kind.audience, vec![row])),
        }
    }
    let notice = match q.get("done").map(String::as_str) {
        Some("saved") => Some("Saved: you will hear about what is ticked."),
        Some("subscribed") => Some("Subscribed. New practices will come by e-mail as you chose."),
        Some("removed") => Some("Subscription ended."),
        Some("changed") => Some("Saved."),
        _ => None,
    };
    page(SettingsPage {
        chrome: Chrome::new(&state, &viewer),
        mail_on: state.settings.smtp.is_some(),
        subscriptions: state.db.subscriptions_of(user.id).await?,
        user,
        groups,
        notice,
    })
}

/// Every kind the page showed is turned on if ticked (`on=<kind>`), off if not.
async fn save_settings(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    body: Bytes,
) -> AppResult<Response> {
    let ticked: HashSet<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "on")
        .map(|(_, v)| v.into_owned())
        .collect();
    for kind in notify::KINDS.iter().filter(|k| concerns(&user, k)) {
        state
            .db
            .set_notification(user.id, kind.id, ticked.contains(kind.id))
            .await?;
    }
    Ok(Redirect::to("/me/notifications?done=saved").into_response())
}

fn field(body: &[u8], name: &str) -> String {
    crate::auth::form_value(body, name).unwrap_or_default()
}

fn delivery(body: &[u8]) -> AppResult<&'static str> {
    match field(body, "delivery").as_str() {
        "" | "weekly" => Ok("weekly"),
        "immediate" => Ok("immediate"),
        other => Err(AppError::BadRequest(format!(
            "“{other}” is not a way to deliver: choose a weekly digest or immediate e-mail."
        ))),
    }
}

/// Subscribes to what a page shows: `target` (area, team, school, search) and `value` (a
/// slug, or a search's parameters).
async fn subscribe(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    body: Bytes,
) -> AppResult<Response> {
    let target = field(&body, "target");
    let value = field(&body, "value");
    let delivery = delivery(&body)?;
    let (value, label) = match target.as_str() {
        "area" | "team" | "school" => {
            let name = state
                .db
                .subscription_label(&target, &value)
                .await?
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "There is no {} “{value}” to subscribe to.",
                        digest::TARGETS
                            .iter()
                            .find(|(t, _)| *t == target)
                            .map_or("page", |(_, l)| l)
                            .to_lowercase()
                    ))
                })?;
            let what = digest::TARGETS
                .iter()
                .find(|(t, _)| *t == target)
                .map_or("", |(_, l)| l);
            (value, format!("{what}: {name}"))
        }
        "search" => {
            let labels = Labels::load(&state).await?;
            let (req, problems) =
                super::search::parse_with(Some(&value), &labels, Sort::Relevance, 1);
            if let Some(p) = problems.first() {
                return Err(AppError::BadRequest(format!(
                    "This search cannot be saved: {}: {}.",
                    p.parameter, p.message
                )));
            }
            (
                super::feeds::search_query(&req, req.sort, false),
                format!("Search: {}", super::feeds::describe(&req, &labels)),
            )
        }
        _ => {
            return Err(AppError::BadRequest(
                "Subscribe from a challenge area, a team, a school or a search.".into(),
            ));
        }
    };
    state
        .db
        .subscribe(
            user.id,
            &target,
            &value,
            &label,
            delivery,
            crate::auth::now(),
        )
        .await?;
    Ok(Redirect::to("/me/notifications?done=subscribed").into_response())
}

/// Changes how a subscription is delivered (`delivery`), or ends it (`remove`).
async fn change_subscription(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    let done = if crate::auth::form_value(&body, "remove").is_some() {
        state
            .db
            .unsubscribe(user.id, id)
            .await?
            .then_some("removed")
    } else {
        state
            .db
            .set_delivery(user.id, id, delivery(&body)?)
            .await?
            .then_some("changed")
    };
    match done {
        Some(done) => Ok(Redirect::to(&format!("/me/notifications?done={done}")).into_response()),
        None => Err(AppError::NotFound),
    }
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    chrome: Chrome,
    token: String,
    what: String,
    done: bool,
}

/// What an unsubscribe link stops, in words; None if it no longer stops anything.
async fn describe(state: &AppState, user: i64, what: &Unsubscribe) -> AppResult<Option<String>> {
    Ok(match what {
        Unsubscribe::Kind(k) => {
            notify::kind(k).map(|k| format!("e-mails when: {}", k.label.to_lowercase()))
        }
        Unsubscribe::Subscription(id) => state
            .db
            .subscriptions_of(user)
            .await?
            .into_iter()
            .find(|s| s.id == *id)
            .map(|s| format!("your subscription “{}”", s.label)),
    })
}

async fn token_from(state: &AppState, token: &str) -> AppResult<(i64, Unsubscribe)> {
    crate::notify::verify(state, token)
        .await
        .map_err(AppError::Internal)?
        .ok_or_else(|| {
            AppError::BadRequest(
                "This unsubscribe link is not valid: it may have been cut short when it was copied. Open it from the e-mail again, or choose what you hear about at /me/notifications after signing in.".into(),
            )
        })
}

/// The link in a message opens a page with one button: a link scanner that follows every
/// link in an e-mail does not unsubscribe anyone.
async fn confirm_unsubscribe(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    let token = q.get("t").cloned().unwrap_or_default();
    let (user, what) = token_from(&state, &token).await?;
    let described = describe(&state, user, &what).await?;
    page(UnsubscribePage {
        chrome: Chrome::new(&state, &viewer),
        done: described.is_none(),
        what: described.unwrap_or_else(|| "this subscription".into()),
        token,
    })
}

/// Unsubscribes: the page's button, or a mail client's one-click POST (RFC 8058: the token
/// in the URL, `List-Unsubscribe=One-Click` in the body, no cookies).
async fn unsubscribe(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    body: Bytes,
) -> AppResult<Response> {
    let token = crate::auth::form_value(&body, "t")
        .or_else(|| q.get("t").cloned())
        .unwrap_or_default();
    let (user, what) = token_from(&state, &token).await?;
    let described = describe(&state, user, &what).await?;
    match &what {
        Unsubscribe::Kind(k) => state.db.set_notification(user, k, false).await?,
        Unsubscribe::Subscription(id) => {
            state.db.unsubscribe(user, *id).await?;
        }
    }
    let page = page(UnsubscribePage {
        chrome: Chrome::new(&state, &viewer),
        done: true,
        what: described.unwrap_or_else(|| "this subscription".into()),
        token: String::new(),
    })?;
    Ok((StatusCode::OK, page).into_response())
}

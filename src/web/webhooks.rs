//! `/admin/webhooks`: administrators register endpoints, see their recent deliveries and how
//! each went, send a test ping, and turn endpoints off or delete them.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::{Chrome, page};
use crate::AppState;
use crate::auth::{SignedIn, Viewer};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::store::{DeliveryRow, NewWebhook, User, Webhook};
use crate::webhooks::{self, EVENTS, sign};

/// Deliveries listed per endpoint.
const RECENT: i64 = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/webhooks", get(list).post(register))
        .route("/admin/webhooks/{id}/active", post(set_active))
        .route("/admin/webhooks/{id}/delete", post(delete))
        .route("/admin/webhooks/{id}/ping", post(ping))
}

fn require_admin(user: &User) -> AppResult<()> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only administrators manage webhooks.".into(),
        ))
    }
}

/// What the registration form holds, as typed.
#[derive(Debug, Default)]
struct Form {
    url: String,
    events: Vec<String>,
    district: String,
    area: String,
}

struct Endpoint {
    hook: Webhook,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    endpoints: Vec<Endpoint>,
    events: &'static [(&'static str, &'static str)],
    districts: Vec<(i64, String)>,
    areas: Vec<(i64, String)>,
    f: Form,
    problems: Vec<(&'static str, String)>,
    /// The endpoint just registered and its secret, shown this once.
    created: Option<(String, String)>,
    notice: Option<&'static str>,
    tolerance_minutes: i64,
}

impl WebhooksPage {
    fn problem(&self, field: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn when(&self, unix: &i64) -> String {
        time::OffsetDateTime::from_unix_timestamp(*unix)
            .ok()
            .and_then(|t| {
                t.format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute] UTC"
                ))
                .ok()
            })
            .unwrap_or_default()
    }

    fn event_label(&self, event: &str) -> String {
        EVENTS
            .iter()
            .filter(|(e, _)| event.split_whitespace().any(|x| x == *e))
            .map(|(e, _)| *e)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    f: Form,
    problems: Vec<(&'static str, String)>,
    created: Option<(String, String)>,
    notice: Option<&'static str>,
) -> AppResult<WebhooksPage> {
    let hooks = state.db.webhooks().await?;
    let mut deliveries = state.db.recent_deliveries(RECENT).await?;
    let endpoints = hooks
        .into_iter()
        .map(|hook| {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut deliveries)
                .into_iter()
                .partition(|d| d.webhook_id == hook.id);
            deliveries = rest;
            Endpoint {
                hook,
                deliveries: mine,
            }
        })
        .collect();
    let (districts, areas) = state.db.scope_choices().await?;
    Ok(WebhooksPage {
        chrome: Chrome::new(state, viewer),
        endpoints,
        events: EVENTS,
        districts,
        areas,
        f,
        problems,
        created,
        notice,
        tolerance_minutes: sign::TOLERANCE_SECS / 60,
    })
}

async fn list(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> AppResult<Response> {
    require_admin(&user)?;
    let notice = match q.get("done").map(String::as_str) {
        Some("on") => Some("The endpoint is active again: new events reach it."),
        Some("off") => Some(
            "The endpoint is off: no new events reach it, and its waiting deliveries were given up.",
        ),
        Some("deleted") => Some("The endpoint and its deliveries were deleted."),
        Some("ping") => Some("A test delivery is on its way; its status shows below in a moment."),
        _ => None,
    };
    let f = Form {
        events: EVENTS.iter().map(|(e, _)| e.to_string()).collect(),
        ..Form::default()
    };
    page(render(&state, &viewer, f, Vec::new(), None, notice).await?)
}

/// An optional id chosen from a select: "" is none; anything else must be one of `choices`.
fn choice(value: &str, choices: &[(i64, String)]) -> Result<Option<i64>, ()> {
    if value.is_empty() {
        return Ok(None);
    }
    let id: i64 = value.parse().map_err(|_| ())?;
    choices
        .iter()
        .any(|(c, _)| *c == id)
        .then_some(Some(id))
        .ok_or(())
}

async fn register(
    viewer: Viewer,
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    body: Bytes,
) -> AppResult<Response> {
    require_admin(&user)?;
    let mut f = Form::default();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "url" => f.url = v.trim().to_string(),
            "event" => f.events.push(v.into_owned()),
            "district" => f.district = v.trim().to_string(),
            "area" => f.area = v.trim().to_string(),
            _ => {}
        }
    }
    let (districts, areas) = state.db.scope_choices().await?;
    let mut problems = Vec::new();
    let url = if f.url.is_empty() {
        problems.push((
            "url",
            "Give the URL that receives the deliveries.".to_string(),
        ));
        None
    } else {
        webhooks::parse_url(&f.url)
            .map_err(|e| problems.push(("url", e)))
            .ok()
    };
    let unknown: Vec<&String> = f
        .events
        .iter()
        .filter(|e| !EVENTS.iter().any(|(k, _)| k == e))
        .collect();
    if f.events.is_empty() {
        problems.push(("events", "Tick at least one event.".to_string()));
    } else if let Some(e) = unknown.first() {
        problems.push(("events", format!("“{e}” is not an event the hub sends.")));
    }
    let district = choice(&f.district, &districts).unwrap_or_else(|()| {
        problems.push((
            "district",
            "Choose a district from the list, or any district.".into(),
        ));
        None
    });
    let area = choice(&f.area, &areas).unwrap_or_else(|()| {
        problems.push((
            "area",
            "Choose a challenge area from the list, or any area.".into(),
        ));
        None
    });
    let Some(url) = url.filter(|_| problems.is_empty()) else {
        let mut r = page(render(&state, &viewer, f, problems, None, None).await?)?;
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(r);
    };
    let events: Vec<String> = EVENTS
        .iter()
        .filter(|(e, _)| f.events.iter().any(|x| x == e))
        .map(|(e, _)| e.to_string())
        .collect();
    let secret = sign::new_secret();
    let id = state
        .db
        .add_webhook(
            &NewWebhook {
                url: url.clone(),
                secret: crate::auth::Secret::new(secret.clone()),
                events,
                district_id: district,
                challenge_area_id: area,
            },
            user.id,
            crate::auth::now(),
        )
        .await?;
    // Neither the secret nor the whole URL is logged: some receivers take a token in the
    // path or query. The host says which system it is.
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    tracing::info!(user.id = user.id, webhook.id = id, webhook.host = %host, "webhook registered");
    // Shown on this response only (not a redirect: a secret in a URL ends up in logs and
    // history), and never again.
    let fresh = Form {
        events: EVENTS.iter().map(|(e, _)| e.to_string()).collect(),
        ..Form::default()
    };
    let mut r = page(
        render(
            &state,
            &viewer,
            fresh,
            Vec::new(),
            Some((url, secret)),
            None,
        )
        .await?,
    )?;
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

async fn existing(state: &AppState, id: i64) -> AppResult<Webhook> {
    state.db.webhook(id).await?.ok_or(AppError::NotFound)
}

async fn set_active(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<i64>,
    body: Bytes,
) -> AppResult<Response> {
    require_admin(&user)?;
    existing(&state, id).await?;
    let on = super::form_field(&body, "active") == "1";
    state.db.set_webhook_active(id, on).await?;
    tracing::info!(
        user.id = user.id,
        webhook.id = id,
        active = on,
        "webhook switched"
    );
    Ok(Redirect::to(if on {
        "/admin/webhooks?done=on"
    } else {
        "/admin/webhooks?done=off"
    })
    .into_response())
}

async fn delete(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    require_admin(&user)?;
    existing(&state, id).await?;
    state.db.delete_webhook(id).await?;
    tracing::info!(user.id = user.id, webhook.id = id, "webhook deleted");
    Ok(Redirect::to("/admin/webhooks?done=deleted").into_response())
}

async fn ping(
    State(state): State<AppState>,
    SignedIn(user, _): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    require_admin(&user)?;
    let hook = existing(&state, id).await?;
    if !hook.active {
        return Err(AppError::BadRequest(
            "This endpoint is off: turn it on before sending it a test delivery.".into(),
        ));
    }
    webhooks::ping(&state, &hook)
        .await
        .map_err(AppError::Internal)?;
    Ok(Redirect::to("/admin/webhooks?done=ping").into_response())
}

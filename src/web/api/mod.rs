//! The open API under `/api/v1`: the public catalog as JSON, described by an OpenAPI 3.1
//! document that utoipa generates from these handlers and types (`/api/v1/openapi.json`),
//! with a readable reference page (`/api/v1/docs`) drawn from the same document.
//!
//! Every read is public and needs no token. Answers are kept, as bytes with their `ETag`,
//! until the catalog changes (like the reading pages: any write anywhere moves the index's
//! generation), so a client polling with `If-None-Match` costs a hash lookup and gets `304`.

mod adoptions;
pub(super) mod caller;
pub(super) mod catalog;
mod drafts;
pub mod limits;
mod network;
mod reference;
mod reviews;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::openapi::OpenApi;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Viewer;
use crate::error::AppResult;
use crate::search::Facet;

/// How long a client or proxy may reuse an answer without asking again.
const CACHE_CONTROL: &str = "public, max-age=60";

pub fn router(state: &AppState) -> Router<AppState> {
    let (router, doc) = OpenApiRouter::with_openapi(description())
        .routes(routes!(super::search::search_api))
        .routes(routes!(catalog::practices, drafts::create))
        .routes(routes!(catalog::practice))
        .routes(routes!(catalog::revisions))
        .routes(routes!(drafts::draft, drafts::update))
        .routes(routes!(drafts::add_measures))
        .routes(routes!(drafts::submit))
        .routes(routes!(adoptions::record))
        .routes(routes!(reviews::decide))
        .routes(routes!(caller::me))
        .routes(routes!(network::challenge_areas))
        .routes(routes!(network::districts))
        .routes(routes!(network::district))
        .routes(routes!(network::school))
        .routes(routes!(network::team))
        .split_for_parts();
    let json = Bytes::from(
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises"),
    );
    let reference = Arc::new(reference::read(&doc));
    router
        .route(
            "/api/v1/openapi.json",
            get(
                move || async move { ([(header::CONTENT_TYPE, "application/json")], json.clone()) },
            ),
        )
        .route(
            "/api/v1/docs",
            get(
                move |viewer: Viewer, State(state): State<AppState>| async move {
                    super::page(reference::ReferencePage {
                        chrome: super::Chrome::new(&state, &viewer),
                        r: &reference,
                    })
                },
            ),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit,
        ))
        .layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers([header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE])
                .expose_headers([header::ETAG, header::RETRY_AFTER]),
        )
}

/// The document's own part: what the API is, and its error shape.
fn description() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(
            title = "Bright Spots API",
            version = "1",
            description = "The public catalog of a networked improvement community's bright-spot \
                practices: practices with their evidence and replication ledger, challenge areas, \
                districts, schools and teams. Reads need no token and never show anything that is \
                not public. Every error is an `Error` object.",
        ),
        components(schemas(ApiError)),
        modifiers(&TokenScheme, &RateLimited)
    )]
    struct Doc;
    <Doc as utoipa::OpenApi>::openapi()
}

/// Every operation may answer 429 (`limits`): said once here rather than on each handler.
struct RateLimited;

impl utoipa::Modify for RateLimited {
    fn modify(&self, doc: &mut OpenApi) {
        use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder};
        let response = ResponseBuilder::new()
            .description("Too many requests from this address or with this token, or too many at once; wait `Retry-After` seconds")
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(Some(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer)))
                    .description(Some("Seconds to wait"))
                    .build(),
            )
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build(),
            )
            .build();
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .insert("429".into(), response.clone().into());
            }
        }
    }
}

/// Writes take a personal access token (`/me/tokens`) as a bearer token.
struct TokenScheme;

impl utoipa::Modify for TokenScheme {
    fn modify(&self, doc: &mut OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal access token made at /me/tokens, in `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every error the API answers, whatever the status.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ApiError {
    /// What went wrong and how to fix it, in words.
    pub error: String,
    /// The query parameter or field that could not be used, when one is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Every problem of a write that was refused (`422`), each by its field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<FieldProblem>>,
}

/// One problem of a write, named as the field is in the request (`measures[1].n`,
/// `sections.evidence`), with the message the web form shows beside that field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

impl ApiError {
    pub fn respond(
        status: StatusCode,
        parameter: Option<&str>,
        error: impl Into<String>,
    ) -> Response {
        let body = ApiError {
            error: error.into(),
            parameter: parameter.map(str::to_string),
            problems: None,
        };
        (status, Json(body)).into_response()
    }

    /// `422`: nothing was saved, for these reasons.
    pub fn problems(problems: Vec<FieldProblem>) -> Response {
        let body = ApiError {
            error: format!(
                "nothing was saved: {} to fix (see problems)",
                if problems.len() == 1 {
                    "1 problem".to_string()
                } else {
                    format!("{} problems", problems.len())
                }
            ),
            parameter: None,
            problems: Some(problems),
        };
        (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
    }

    pub fn bad_parameter(parameter: &str, error: impl Into<String>) -> Response {
        ApiError::respond(StatusCode::BAD_REQUEST, Some(parameter), error)
    }

    pub fn not_found(what: &str) -> Response {
        ApiError::respond(
            StatusCode::NOT_FOUND,
            None,
            format!("no public {what} with this slug"),
        )
    }

    /// A parameter the search parser could not use: a filter naming a challenge area or
    /// district that does not exist is `404` (like its page), anything else `400`.
    pub(super) fn from_problem(p: &super::search::Problem) -> Response {
        let missing = [Facet::Challenge, Facet::District]
            .iter()
            .any(|f| f.param() == p.parameter);
        let status = if missing {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::respond(status, Some(&p.parameter), &p.message)
    }
}

/// The values a facet takes when they are fixed by the content format (challenge areas and
/// districts are the network's own).
fn vocabulary(facet: Facet) -> Option<Vec<&'static str>> {
    use crate::domain::{GradeBand, Level, Locale, Stage, Subject, Vocabulary};
    fn all<V: Vocabulary>() -> Vec<&'static str> {
        V::ALL.iter().map(|v| v.as_str()).collect()
    }
    match facet {
        Facet::Grade => Some(all::<GradeBand>()),
        Facet::Subject => Some(all::<Subject>()),
        Facet::Stage => Some(all::<Stage>()),
        Facet::Level => Some(all::<Level>()),
        Facet::Locale => Some(all::<Locale>()),
        Facet::Essa => Some(
            crate::domain::essa::Tier::ALL
                .iter()
                .map(|t| t.key())
                .collect(),
        ),
        Facet::Cost => Some(crate::domain::MATERIALS_BANDS.map(|b| b.0).to_vec()),
        Facet::Start => Some(crate::domain::START_BANDS.map(|b| b.0).to_vec()),
        Facet::Challenge | Facet::District => None,
    }
}

/// A form field (`m2-n`, `s-evidence`, `areas`) as this API names it (`measures[1].n`,
/// `sections.evidence`, `challenge_areas`).
fn api_field(key: &str) -> String {
    for (prefix, list) in [('m', "measures"), ('r', "resources")] {
        if let Some((row, field)) = key
            .strip_prefix(prefix)
            .and_then(|rest| rest.split_once('-'))
            && let Ok(row) = row.parse::<usize>()
        {
            return format!("{list}[{}].{field}", row.saturating_sub(1));
        }
    }
    if let Some(section) = key.strip_prefix("s-") {
        return format!("sections.{section}");
    }
    if let Some(field) = key.strip_prefix("cost-") {
        return format!("cost.{field}");
    }
    match key {
        "areas" => "challenge_areas".into(),
        "grades" => "grade_bands".into(),
        "aspects" => "aspects_kept".into(),
        other => other.into(),
    }
}

/// `422` with every problem, as the form would mark them.
pub(super) fn refused(problems: crate::web::publish::form::Problems) -> Response {
    let list: Vec<FieldProblem> = problems
        .into_iter()
        .flat_map(|(key, messages)| {
            let field = api_field(&key);
            messages.into_iter().map(move |message| FieldProblem {
                field: field.clone(),
                message,
            })
        })
        .collect();
    ApiError::problems(list)
}

/// A JSON body; one that cannot be read is answered in the API's error shape (axum's own
/// answer is plain text).
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::respond(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None,
                    format!(
                        "the body is larger than {} MB, so it was not read and nothing was saved",
                        crate::auth::MAX_FORM_BYTES / (1024 * 1024)
                    ),
                ))
            }
            Err(rejection) => Err(ApiError::respond(
                rejection.status(),
                None,
                rejection.body_text(),
            )),
        }
    }
}

/// A slug in a path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SlugParam {
    /// The slug, as in the page's address (`/practices/{slug}`).
    #[allow(dead_code)]
    slug: String,
}

/// The JSON that `make` builds, answered with an `ETag` and kept until the catalog changes
/// (`key`: the path and query). `make` answers `None` when there is nothing public there.
async fn cached<T, F>(
    state: &AppState,
    request: &HeaderMap,
    key: String,
    make: F,
) -> AppResult<Response>
where
    T: Serialize,
    F: Future<Output = AppResult<Result<T, Response>>>,
{
    let generation = state.search.generation();
    let (headers, body) = match state.api.get(generation, &key) {
        Some(kept) => kept,
        None => {
            let value = match make.await? {
                Ok(value) => value,
                Err(refused) => return Ok(refused),
            };
            let body = Bytes::from(serde_json::to_vec(&value).map_err(anyhow::Error::from)?);
            let mut headers = HeaderMap::new();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(CACHE_CONTROL),
            );
            headers.insert(header::ETAG, super::feeds::etag(&body));
            state
                .api
                .put(generation, key, headers.clone(), body.clone());
            (headers, body)
        }
    };
    if super::feeds::is_current(request, &headers) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::ETAG, header::CACHE_CONTROL] {
            if let Some(value) = headers.get(&name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
        return Ok(response);
    }
    let mut response = Body::from(body).into_response();
    *response.headers_mut() = headers;
    Ok(response)
}

/// The query parameters that filter the catalog, as `/search` takes them: generated from the
/// facets, so the document lists exactly what the parser accepts.
pub struct Filters;

impl IntoParams for Filters {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        use utoipa::openapi::{RefOr, Required};
        let string = || RefOr::T(ObjectBuilder::new().schema_type(Type::String).into());
        let mut params = vec![
            ParameterBuilder::new()
                .name("q")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "Words to look for, as typed on the search page (typos, synonyms, \
                     \"phrases\" and -exclusions work).",
                ))
                .schema(Some(string()))
                .build(),
        ];
        for facet in Facet::ALL {
            let values = match vocabulary(facet) {
                // An empty value is a parameter left out, as a form's "any" sends it.
                Some(values) => RefOr::T(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(values.into_iter().chain([""])))
                        .into(),
                ),
                None => string(),
            };
            params.push(
                ParameterBuilder::new()
                    .name(facet.param())
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(format!(
                        "{}: a value as in the search page's address (repeat the parameter for \
                         several; any of them matches).{}",
                        facet.label(),
                        if vocabulary(facet).is_none() {
                            " A slug that names none is 404."
                        } else {
                            ""
                        }
                    )))
                    .schema(Some(ArrayBuilder::new().items(values).build()))
                    .style(Some(utoipa::openapi::path::ParameterStyle::Form))
                    .explode(Some(true))
                    .build(),
            );
        }
        params
    }
}

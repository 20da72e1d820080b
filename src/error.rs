//! One error type for every handler: 4xx carry a message for the person, 5xx are logged once
//! and never show their details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Not found, with what the person can do instead.
    #[error("{0}")]
    NotFoundMessage(String),
    #[error("{0}")]
    BadRequest(String),
    /// Not signed in (or the session ended): the page offers sign-in.
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A page that needs sign-in, reached by a link: go to the sign-in page and come back.
    #[error("redirect to {0}")]
    Redirect(String),
    /// The database's one writer stayed taken (a long import) for longer than a person should
    /// wait: nothing was changed, and pressing the button again will work.
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// What a person is told when the writer stayed busy.
pub const BUSY_MESSAGE: &str = "The hub is busy writing something large (usually a catalog import), so nothing was changed. Wait a minute, then press the button again.";

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if crate::store::is_busy(&e) {
            AppError::Busy
        } else {
            AppError::Internal(e.into())
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<sqlx::Error>() {
            Ok(e) => e.into(),
            Err(e) => AppError::Internal(e),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, None),
            AppError::NotFoundMessage(m) => (StatusCode::NOT_FOUND, Some(m.clone())),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, Some(m.clone())),
            AppError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, Some(m.clone())),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, Some(m.clone())),
            AppError::PayloadTooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, Some(m.clone())),
            AppError::Redirect(to) => {
                return axum::response::Redirect::to(to).into_response();
            }
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, Some(BUSY_MESSAGE.into())),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        // The page itself is drawn by `web::render_errors`, which knows the site's chrome.
        let mut response = (status, message.clone().unwrap_or_default()).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("30"),
            );
        }
        response.extensions_mut().insert(ErrorMessage(message));
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Marks a response as an error for the page renderer, with the message for the person.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub Option<String>);

//! [`AppError`]: every way a request can fail, each with its status and a JSON body.

use std::borrow::Cow;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use ordertrail::web::error_response;

/// An error a handler returns. Converting it to a response has no side effect: the
/// correlation middleware logs it once, in the completion event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The body or a parameter is malformed or invalid (400).
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(Cow<'static, str>),
    /// The request conflicts with the current state, such as stock running out (409).
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    /// The card was declined (402).
    #[error("payment declined")]
    PaymentDeclined,
    /// The body is over the size limit (413).
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not JSON (415).
    #[error("expected a JSON body with content-type application/json")]
    UnsupportedMediaType,
    /// A downstream service answered with a client error, passed on as it is.
    #[error("{message}")]
    Downstream {
        /// The downstream status (4xx).
        status: StatusCode,
        /// The downstream error message.
        message: String,
    },
    /// A downstream service failed or could not be reached (502).
    #[error("{service} failed")]
    BadGateway {
        /// The service called.
        service: &'static str,
        /// What happened, for the log only.
        detail: String,
    },
    /// A downstream service did not answer in time (504).
    #[error("{service} timed out")]
    GatewayTimeout {
        /// The service called.
        service: &'static str,
    },
    /// A fault injected for demonstrations (503).
    #[error("{0}")]
    Unavailable(Cow<'static, str>),
    /// A bug or an environment failure of ours (500); the detail is logged, not sent.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    /// The status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PaymentDeclined => StatusCode::PAYMENT_REQUIRED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Downstream { status, .. } => *status,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::GatewayTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the log says: the client message plus any detail kept from the client.
    fn log_message(&self) -> String {
        match self {
            Self::BadGateway { service, detail } => format!("{service} failed: {detail}"),
            Self::Internal(detail) => format!("internal error: {detail}"),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        error_response(
            self.status(),
            &self.to_string(),
            Cow::Owned(self.log_message()),
        )
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Internal(format!("database: {err}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::Internal(format!("background task: {err}"))
    }
}

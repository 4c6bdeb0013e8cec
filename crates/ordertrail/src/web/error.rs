//! [`ErrorBody`]: `{"error": "...", "request_id": "..."}`, the body of every error answer.

use std::borrow::Cow;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::correlation::{self, ErrorMessage};

/// The body of every non-2xx response: `{"error": "...", "request_id": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// What went wrong, for the client; never internal detail.
    pub error: String,
    /// The request id, to quote when asking what happened.
    pub request_id: Option<String>,
}

/// An error answer: `status`, an [`ErrorBody`] with `message` (through the redaction policy,
/// see [`crate::redact`]: it may quote input) and the current request id, and
/// an [`ErrorMessage`] carrying `log_message` for the completion event (so the error is
/// logged once, by the middleware, with its status and latency).
///
/// ```
/// use http::StatusCode;
/// use ordertrail::web::error_response;
///
/// let res = error_response(StatusCode::CONFLICT, "out of stock", "out of stock: sku mug".into());
/// assert_eq!(res.status(), StatusCode::CONFLICT);
/// ```
///
/// A card number in the message is masked:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use http::StatusCode;
/// use ordertrail::web::{ErrorBody, error_response};
///
/// let res = error_response(StatusCode::BAD_REQUEST, "bad sku 4242.4242.4242.4242", "x".into());
/// let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
/// let body: ErrorBody = serde_json::from_slice(&body).unwrap();
/// assert_eq!(body.error, "bad sku [card ••••4242]");
/// # });
/// ```
pub fn error_response(
    status: StatusCode,
    message: &str,
    log_message: Cow<'static, str>,
) -> Response {
    let body = ErrorBody {
        error: crate::redact::redact(message).into_owned(),
        request_id: correlation::current().map(|id| id.to_string()),
    };
    let mut res = (status, Json(body)).into_response();
    res.extensions_mut().insert(ErrorMessage(log_message));
    res
}

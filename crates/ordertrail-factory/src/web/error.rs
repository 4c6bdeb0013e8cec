//! [`AppError`]: every way a request can fail, each with its status and a JSON body.
//!
//! Domain errors (a store failure, a downstream call that failed) become an [`AppError`] once,
//! at the handler edge. What the client reads stays generic; the log gets the whole source
//! chain, rendered by [`Chain`].

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use ordertrail::web::error_response;

/// Any error, boxed with its source chain, as kept for the log.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

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
        #[source]
        source: BoxError,
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
    /// A bug or an environment failure of ours (500); the source chain is logged, not sent.
    #[error("internal error")]
    Internal {
        /// What failed, such as "orders store failed".
        context: &'static str,
        /// Why, for the log only.
        #[source]
        source: BoxError,
    },
}

impl AppError {
    /// A 500 for `source`, logged after `context`.
    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        Self::Internal {
            context,
            source: source.into(),
        }
    }

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
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the log says: the client message, or for a failure of ours or of a service we
    /// called, what failed and its whole source chain.
    pub fn log_message(&self) -> String {
        match self {
            Self::BadGateway { service, source } => {
                format!("{service} failed: {}", Chain(source.as_ref()))
            }
            Self::Internal { context, source } => {
                format!("{context}: {}", Chain(source.as_ref()))
            }
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

/// Displays an error and each of its sources, joined by `": "`.
///
/// ```
/// use ordertrail_factory::web::Chain;
///
/// let err = std::io::Error::other("disk full");
/// assert_eq!(Chain(&err).to_string(), "disk full");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(err) = next {
            write!(f, ": {err}")?;
            next = err.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a source, like a wrapped database failure.
    #[derive(Debug, thiserror::Error)]
    #[error("database")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_joins_every_source() {
        let err = Outer(std::io::Error::other("no such table: orders"));
        assert_eq!(Chain(&err).to_string(), "database: no such table: orders");
    }

    #[test]
    fn internal_logs_its_context_and_chain_but_answers_generically() {
        let err = AppError::internal("orders store failed", Outer(std::io::Error::other("gone")));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.to_string(), "internal error");
        assert_eq!(err.log_message(), "orders store failed: database: gone");
    }

    #[test]
    fn bad_gateway_logs_the_service_and_chain() {
        let err = AppError::BadGateway {
            service: "payments",
            source: Outer(std::io::Error::other("reset")).into(),
        };
        assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(err.to_string(), "payments failed");
        assert_eq!(err.log_message(), "payments failed: database: reset");
    }
}

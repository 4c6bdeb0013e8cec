//! [`AppJson`]: `axum::Json` whose rejections become [`AppError`]s with a JSON body.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use http::StatusCode;
use serde::de::DeserializeOwned;

use ordertrail::card;
use ordertrail::web::BODY_LIMIT;

use super::AppError;

/// A JSON request body. Malformed JSON and wrong types are a 400, a body over
/// [`BODY_LIMIT`] a 413, a missing content type a 415; the message names what is wrong (with
/// any card number masked) and never echoes the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

fn rejected(rejection: &JsonRejection) -> AppError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge { limit: BODY_LIMIT },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        _ => AppError::BadRequest(card::mask_cards(&rejection.body_text()).into_owned().into()),
    }
}

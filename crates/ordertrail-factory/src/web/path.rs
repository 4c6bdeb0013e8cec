//! [`AppPath`]: `axum::extract::Path` whose rejections become [`AppError`]s with a JSON body.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppError;

/// Path parameters. A segment that is not valid UTF-8 after percent-decoding, or does not
/// deserialize, is a 400 with the JSON error body and the request id (axum's own rejection is
/// a text/plain 400 without either). The message never echoes the segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AppPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

fn rejected(rejection: &PathRejection) -> AppError {
    let what = match rejection {
        PathRejection::FailedToDeserializePathParams(_) => "a path segment is not valid",
        _ => "the path cannot be read",
    };
    AppError::BadRequest(what.into())
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{Request, StatusCode};
    use ordertrail::correlation::CorrelationLayer;
    use ordertrail::web::ErrorBody;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn an_undecodable_segment_is_a_json_400_with_the_id() {
        async fn show(AppPath(id): AppPath<String>) -> String {
            id
        }
        let app = Router::new()
            .route("/orders/{id}", get(show))
            .layer(CorrelationLayer::new());
        let req = Request::get("/orders/%FF%FE")
            .header("x-request-id", "bad-path-1")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&bytes).expect("a JSON error body");
        assert_eq!(body.request_id.as_deref(), Some("bad-path-1"));
        assert!(!body.error.contains("%FF"), "{}", body.error);
    }
}

//! [`instrument`]: the middleware every service router gets, in the right order.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::get;
use tower::ServiceBuilder;

use http::StatusCode;

use super::error_response;
use super::panic::CatchPanicLayer;
use crate::correlation::{CorrelationLayer, MakeRequestId, MakeSpan, OnCompletion};

/// Largest request body accepted, in bytes (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Adds `GET /healthz` and the standard middleware to `router`, outermost first:
/// 1. `correlation` (a [`CorrelationLayer`]) — request id, server span, task-local scope, echo,
///    completion event;
/// 2. `CatchPanicLayer` — a panic becomes a 500 JSON error inside the request's scope;
/// 3. the body limit, enforced by the extractors as a 413.
///
/// Unknown paths and methods answer 404 and 405 with the JSON error body, carrying the id, like
/// every other error.
pub fn instrument<M, P, C>(router: Router, correlation: CorrelationLayer<M, P, C>) -> Router
where
    M: MakeRequestId,
    P: MakeSpan,
    C: OnCompletion,
{
    router
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(correlation)
                .layer(CatchPanicLayer)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "no such resource", "no route".into())
}

async fn method_not_allowed() -> Response {
    let message = "method not allowed for this resource";
    error_response(StatusCode::METHOD_NOT_ALLOWED, message, message.into())
}

async fn healthz() -> &'static str {
    "ok"
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::post;
    use http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::web::ErrorBody;

    async fn answer(method: &str, path: &str) -> (StatusCode, ErrorBody, String) {
        let app = instrument(
            Router::new().route("/orders", post(|| async { "ok" })),
            CorrelationLayer::new(),
        );
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("x-request-id", "lost-1")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        let status = res.status();
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).expect("a JSON error body"),
            echoed,
        )
    }

    #[tokio::test]
    async fn an_unknown_path_is_a_json_404_with_the_id() {
        let (status, body, echoed) = answer("GET", "/nowhere").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body.request_id.as_deref(), Some("lost-1"));
        assert_eq!(echoed, "lost-1");
    }

    #[tokio::test]
    async fn a_wrong_method_is_a_json_405_with_the_id() {
        let (status, body, _) = answer("DELETE", "/orders").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(body.request_id.as_deref(), Some("lost-1"));
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let app = instrument(Router::new(), CorrelationLayer::new());
        let res = app
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

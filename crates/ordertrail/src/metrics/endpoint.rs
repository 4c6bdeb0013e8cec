//! [`router`]: `GET /metrics`, content-negotiated between OpenMetrics (with exemplars) and the
//! classic Prometheus text format.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};

use super::format::Format;
use super::registry::Metrics;

/// A router answering `GET /metrics` from `metrics`. Merge it into a service's router *after*
/// [`web::instrument`](crate::web::instrument), so scrapes make no request span, no log line
/// and no sample of their own:
///
/// ```
/// use axum::Router;
/// use axum::routing::get;
/// use ordertrail::correlation::CorrelationLayer;
/// use ordertrail::metrics::{self, Metrics};
///
/// let metrics = Metrics::new();
/// let app = ordertrail::web::instrument(
///     Router::new().route("/orders", get(|| async { "[]" })),
///     CorrelationLayer::new(),
/// )
/// .merge(metrics::router(metrics.clone()));
/// # let _ = app;
/// ```
pub fn router<S>(metrics: Metrics) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/metrics", get(scrape).with_state(metrics))
}

async fn scrape(State(metrics): State<Metrics>, headers: HeaderMap) -> Response {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    match metrics.encode(format) {
        Ok(text) => ([(CONTENT_TYPE, format.content_type())], text).into_response(),
        Err(err) => {
            eprintln!("ordertrail: {err}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
                .into_response()
        }
    }
}

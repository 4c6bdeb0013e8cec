//! `GET /metrics`: the collector's own counts for Prometheus — export requests and their items
//! received per signal, and requests that could not be written (a full disk) — in OpenMetrics
//! or the classic text format, as the scraper's `Accept` asks ([`Format::negotiate`]).
//!
//! Read from [`Received::counts`] at each scrape; nothing is counted twice.

use axum::Router;
use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ordertrail::metrics::Format;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::registry::Registry;

use super::received::{Counts, Received};

/// Path of the collector's own metrics.
pub const METRICS_ROUTE: &str = "/metrics";

/// `GET /metrics` over `received`.
pub(crate) fn routes(received: Received) -> Router {
    Router::new().route(METRICS_ROUTE, get(scrape).with_state(received))
}

async fn scrape(State(received): State<Received>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    let mut registry = Registry::default();
    registry.register_collector(Box::new(CountsCollector(received.counts())));
    let mut text = String::new();
    let encoded = match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut text, &registry),
        _ => prometheus_client::encoding::prometheus_text::encode(&mut text, &registry),
    };
    match encoded {
        Ok(()) => ([(CONTENT_TYPE, format.content_type())], text).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// One scrape's copy of the counts.
#[derive(Debug)]
struct CountsCollector(Counts);

impl Collector for CountsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let c = &self.0;
        let requests = [
            ("traces", c.trace_requests),
            ("logs", c.log_requests),
            ("metrics", c.metric_requests),
        ];
        let items = [
            ("traces", c.spans),
            ("logs", c.log_records),
            ("metrics", c.metric_points),
        ];
        let help = "OTLP export requests received, by signal";
        by_signal(
            &mut encoder,
            "ordertrail_collector_requests",
            help,
            &requests,
        )?;
        let help = "Spans, log records and metric data points received, by signal";
        by_signal(&mut encoder, "ordertrail_collector_items", help, &items)?;
        let failures = ConstCounter::new(c.write_failures);
        let help = "Export requests refused because they could not be written to the files";
        let metric = encoder.encode_descriptor(
            "ordertrail_collector_write_failures",
            help,
            None,
            failures.metric_type(),
        )?;
        failures.encode(metric)
    }
}

/// A counter family labelled by `signal`.
fn by_signal(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    values: &[(&str, u64)],
) -> Result<(), std::fmt::Error> {
    let kind = ConstCounter::new(0u64).metric_type();
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (signal, value) in values {
        let labels = [("signal", *signal)];
        ConstCounter::new(*value).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

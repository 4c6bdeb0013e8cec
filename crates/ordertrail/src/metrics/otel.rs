//! [`OtelInstruments`]: the same RED instruments on an OpenTelemetry meter, for OTLP export.
//!
//! The OpenTelemetry Rust SDK aggregates without exemplars (its data points carry an empty
//! exemplar list), so the OTLP path has the same histograms and attributes, but no exemplars;
//! those are on `/metrics` only.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, Meter, UpDownCounter};

use super::buckets::HTTP_DURATION_BUCKETS;
use super::instruments::Side;
use super::labels::HttpLabels;

/// Histograms and the in-flight counter, by the OpenTelemetry HTTP semantic conventions.
#[derive(Debug, Clone)]
pub(crate) struct OtelInstruments {
    server: Histogram<f64>,
    client: Histogram<f64>,
    active: UpDownCounter<i64>,
}

impl OtelInstruments {
    /// The instruments on `meter`.
    pub(crate) fn new(meter: &Meter) -> Self {
        let histogram = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(HTTP_DURATION_BUCKETS.to_vec())
                .build()
        };
        Self {
            server: histogram(
                "http.server.request.duration",
                "Duration of HTTP server requests",
            ),
            client: histogram(
                "http.client.request.duration",
                "Duration of HTTP client requests",
            ),
            active: meter
                .i64_up_down_counter("http.server.active_requests")
                .with_unit("{request}")
                .with_description("HTTP server requests in flight")
                .build(),
        }
    }

    pub(crate) fn observe(&self, side: Side, labels: &HttpLabels, seconds: f64) {
        let attributes = attributes(labels);
        match side {
            Side::Server => self.server.record(seconds, &attributes),
            Side::Client => self.client.record(seconds, &attributes),
        }
    }

    pub(crate) fn started(&self, method: &'static str) {
        self.active
            .add(1, &[KeyValue::new("http.request.method", method)]);
    }

    pub(crate) fn finished(&self, method: &'static str) {
        self.active
            .add(-1, &[KeyValue::new("http.request.method", method)]);
    }
}

/// The semantic-convention attributes of `labels`.
fn attributes(labels: &HttpLabels) -> Vec<KeyValue> {
    if labels.overflow {
        return vec![KeyValue::new("otel.metric.overflow", true)];
    }
    // The most a series has: method, route, status, error type, address and port.
    let mut attributes = Vec::with_capacity(6);
    attributes.push(KeyValue::new("http.request.method", labels.method));
    if let Some(route) = &labels.route {
        attributes.push(KeyValue::new("http.route", route.clone()));
    }
    if let Some(status) = labels.status {
        attributes.push(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
    }
    if let Some(error) = &labels.error_type {
        attributes.push(KeyValue::new("error.type", error.clone()));
    }
    if let Some(address) = &labels.server_address {
        attributes.push(KeyValue::new("server.address", address.clone()));
    }
    if let Some(port) = labels.server_port {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    attributes
}

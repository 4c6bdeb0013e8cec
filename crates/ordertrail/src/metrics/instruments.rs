//! [`HttpInstruments`]: the RED instruments of HTTP traffic, in and out.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use prometheus_client::metrics::exemplar::HistogramWithExemplars;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::buckets::HTTP_DURATION_BUCKETS;
use super::exemplar::ExemplarLabels;
use super::labels::{HttpLabels, MAX_SERIES, MethodLabel};

type Hist = HistogramWithExemplars<ExemplarLabels>;

/// A histogram family that keeps at most [`MAX_SERIES`] label sets.
#[derive(Debug, Clone)]
struct Histograms {
    family: Family<HttpLabels, Hist, fn() -> Hist>,
    /// Label sets created (a little more under a race: never fewer).
    series: Arc<AtomicUsize>,
}

impl Histograms {
    fn new() -> Self {
        Self {
            family: Family::new_with_constructor(histogram),
            series: Arc::default(),
        }
    }

    fn observe(&self, labels: HttpLabels, seconds: f64, exemplar: Option<ExemplarLabels>) {
        let now = exemplar.as_ref().map(|_| SystemTime::now());
        if let Some(histogram) = self.family.get(&labels) {
            return histogram.observe(seconds, exemplar, now);
        }
        let labels = self.admit(labels);
        self.family
            .get_or_create(&labels)
            .observe(seconds, exemplar, now);
    }

    /// `labels`, new to the family, or the overflow series once it is full.
    fn admit(&self, labels: HttpLabels) -> HttpLabels {
        if self.series.load(Ordering::Relaxed) >= MAX_SERIES
            || self.series.fetch_add(1, Ordering::Relaxed) >= MAX_SERIES
        {
            return HttpLabels::overflow();
        }
        labels
    }
}

/// Which side of a call a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// A request this process served.
    Server,
    /// A call this process made.
    Client,
}

/// The duration histograms (rate and errors are their `_count` by status, duration their
/// buckets) and the in-flight gauge.
#[derive(Debug, Clone)]
pub(crate) struct HttpInstruments {
    server: Histograms,
    client: Histograms,
    active: Family<MethodLabel, Gauge>,
}

fn histogram() -> Hist {
    HistogramWithExemplars::new(HTTP_DURATION_BUCKETS.into_iter())
}

impl HttpInstruments {
    /// New instruments, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> Self {
        let instruments = Self {
            server: Histograms::new(),
            client: Histograms::new(),
            active: Family::default(),
        };
        registry.register_with_unit(
            "http_server_request_duration",
            "Duration of HTTP server requests (OpenTelemetry http.server.request.duration)",
            Unit::Seconds,
            instruments.server.family.clone(),
        );
        registry.register_with_unit(
            "http_client_request_duration",
            "Duration of HTTP client requests (OpenTelemetry http.client.request.duration)",
            Unit::Seconds,
            instruments.client.family.clone(),
        );
        registry.register(
            "http_server_active_requests",
            "HTTP server requests in flight (OpenTelemetry http.server.active_requests)",
            instruments.active.clone(),
        );
        instruments
    }

    /// Records one finished request or call of `seconds`.
    pub(crate) fn observe(
        &self,
        side: Side,
        labels: HttpLabels,
        seconds: f64,
        exemplar: Option<ExemplarLabels>,
    ) {
        let histograms = match side {
            Side::Server => &self.server,
            Side::Client => &self.client,
        };
        histograms.observe(labels, seconds, exemplar);
    }

    /// One more request of `method` in flight.
    pub(crate) fn started(&self, method: &'static str) {
        self.active.get_or_create(&MethodLabel(method)).inc();
    }

    /// One request of `method` less in flight.
    pub(crate) fn finished(&self, method: &'static str) {
        self.active.get_or_create(&MethodLabel(method)).dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(route: usize) -> HttpLabels {
        HttpLabels {
            method: "GET",
            route: Some(format!("/r{route}")),
            status: Some(200),
            ..HttpLabels::default()
        }
    }

    fn encode(registry: &Registry) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        text
    }

    #[test]
    fn a_full_histogram_sends_new_label_sets_to_one_overflow_series() {
        let mut registry = Registry::default();
        let http = HttpInstruments::register(&mut registry);
        for route in 0..MAX_SERIES + 50 {
            http.observe(Side::Server, labels(route), 0.01, None);
        }
        let series = |text: &str| text.lines().filter(|l| l.contains("_count{")).count();
        let text = encode(&registry);
        assert_eq!(
            series(&text),
            MAX_SERIES + 1,
            "the limit and one overflow series"
        );
        assert!(text.contains(
            r#"http_server_request_duration_seconds_count{otel_metric_overflow="true"} 50"#
        ));
        // A label set seen before the limit still has its own series.
        http.observe(Side::Server, labels(0), 0.01, None);
        let text = encode(&registry);
        assert_eq!(series(&text), MAX_SERIES + 1);
        assert!(text.contains(r#"http_route="/r0",http_response_status_code="200"} 2"#));
    }
}

//! [`Metrics`]: the registry of one process, cheap to clone, shared by the layer that records
//! and the endpoint that answers scrapes.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::metrics::Meter;
use prometheus_client::registry::Registry;

use super::exemplar::ExemplarLabels;
use super::format::Format;
use super::health::PipelineHealth;
use super::instruments::{HttpInstruments, Side};
use super::labels::HttpLabels;
use super::layer::MetricsLayer;
use super::otel::OtelInstruments;

/// Encoding the registry failed (a metric wrote an invalid value).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The text encoder refused a metric.
    #[error("cannot encode the metrics")]
    Text(#[source] fmt::Error),
}

/// The metrics of one process: HTTP RED histograms with exemplars, requests in flight, and the
/// telemetry pipeline's own counts. Clones share one registry.
///
/// ```
/// use ordertrail::metrics::{Format, Metrics};
///
/// let metrics = Metrics::new();
/// let openmetrics = metrics.encode(Format::OpenMetrics).unwrap();
/// assert!(openmetrics.ends_with("# EOF\n"));
/// let classic = metrics.encode(Format::Prometheus).unwrap();
/// assert!(!classic.contains("# EOF"));
/// ```
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    http: HttpInstruments,
    health: Arc<PipelineHealth>,
    otel: OnceLock<OtelInstruments>,
}

impl Metrics {
    /// An empty registry with the HTTP instruments and the pipeline's counts registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http = HttpInstruments::register(&mut registry);
        let health = Arc::new(PipelineHealth::default());
        registry.register_collector(Box::new(Arc::clone(&health)));
        Self {
            inner: Arc::new(Inner {
                registry,
                http,
                health,
                otel: OnceLock::new(),
            }),
        }
    }

    /// The tracing layer that records every server and client span into this registry.
    /// [`telemetry::init`](crate::telemetry::init) adds it when the config has metrics.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer::new(self.clone())
    }

    /// Also records into instruments on `meter` (an OpenTelemetry meter, for OTLP export).
    /// The first meter wins; [`telemetry::init`](crate::telemetry::init) attaches one when a
    /// metrics endpoint is set.
    pub fn record_to(&self, meter: &Meter) {
        let _ = self.inner.otel.set(OtelInstruments::new(meter));
    }

    /// The registry as text in `format`.
    pub fn encode(&self, format: Format) -> Result<String, EncodeError> {
        let mut text = String::new();
        let registry = &self.inner.registry;
        match format {
            Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut text, registry),
            Format::Prometheus => {
                prometheus_client::encoding::prometheus_text::encode(&mut text, registry)
            }
        }
        .map_err(EncodeError::Text)?;
        Ok(text)
    }

    pub(crate) fn health(&self) -> &PipelineHealth {
        &self.inner.health
    }

    pub(crate) fn observe(
        &self,
        side: Side,
        labels: HttpLabels,
        seconds: f64,
        exemplar: Option<ExemplarLabels>,
    ) {
        if let Some(otel) = self.inner.otel.get() {
            otel.observe(side, &labels, seconds);
        }
        self.inner.http.observe(side, labels, seconds, exemplar);
    }

    pub(crate) fn started(&self, method: &'static str) {
        if let Some(otel) = self.inner.otel.get() {
            otel.started(method);
        }
        self.inner.http.started(method);
    }

    pub(crate) fn finished(&self, method: &'static str) {
        if let Some(otel) = self.inner.otel.get() {
            otel.finished(method);
        }
        self.inner.http.finished(method);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("otlp", &self.inner.otel.get().is_some())
            .finish_non_exhaustive()
    }
}

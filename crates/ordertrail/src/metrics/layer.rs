//! [`MetricsLayer`]: RED metrics from the spans the instrumentation already makes, with no code
//! in handlers.
//!
//! A span is an HTTP span when it has `otel.kind` `server` or `client` and an
//! `http.request.method` — the request span of
//! [`CorrelationLayer`](crate::correlation::CorrelationLayer) and the client span of the
//! outgoing middleware, or a span of your own with the same fields. The layer reads the
//! OpenTelemetry semantic-convention fields of the span (`http.route`,
//! `http.response.status_code`, `error.type`, `server.address`, `server.port`, `request.id`)
//! and observes the duration from the span's creation:
//! - when `http.response.status_code` is recorded — the response head is ready (a server
//!   span outlives its response while child spans of background work run, so its close is not
//!   the end of the request);
//! - or when the span closes without one (a failed call, a dropped connection).
//!
//! The exemplar is the span's own OpenTelemetry trace and span id, read when the span is first
//! entered (after any remote parent is set), and the request id — the server span's, or, for a
//! call, the one of the request it is made for. Unsampled spans get no exemplar: their trace
//! is nowhere to be found.
//!
//! # Layer order
//! Put it after the `tracing-opentelemetry` layer, so the span's context is active when this
//! layer sees it entered; [`telemetry::layers`](crate::telemetry::layers) does.

use std::time::Instant;

use opentelemetry::trace::{SpanContext, TraceContextExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::exemplar::ExemplarLabels;
use super::instruments::Side;
use super::labels::{HttpLabels, bounded, normalize_method, status_code};
use super::registry::Metrics;

/// Records `http_server_request_duration_seconds`, `http_client_request_duration_seconds` and
/// `http_server_active_requests` from HTTP spans. Made by [`Metrics::layer`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Metrics,
}

impl MetricsLayer {
    pub(crate) fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }

    /// Whether spans of `metadata` can be HTTP spans: the filter to put on this layer, so it
    /// enables nothing else.
    pub fn wants(metadata: &Metadata<'_>) -> bool {
        metadata.is_span() && metadata.fields().field("otel.kind").is_some()
    }

    fn finish(&self, done: Finished) {
        if done.side == Side::Server {
            self.metrics.finished(done.labels.method);
        }
        self.metrics
            .observe(done.side, done.labels, done.seconds, done.exemplar);
    }
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !Self::wants(attrs.metadata()) {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(side) = fields.side.filter(|_| !fields.method.is_empty()) else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        if side == Side::Client && fields.request_id.is_none() {
            fields.request_id = span
                .scope()
                .skip(1)
                .find_map(|s| s.extensions().get::<HttpSpan>()?.fields.request_id.clone());
        }
        if side == Side::Server {
            self.metrics.started(fields.method);
        }
        span.extensions_mut().insert(HttpSpan::new(side, fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let finished = {
            let mut extensions = span.extensions_mut();
            let Some(http) = extensions.get_mut::<HttpSpan>() else {
                return;
            };
            values.record(&mut http.fields);
            http.fields.status.and_then(|_| http.finish())
        };
        if let Some(done) = finished {
            self.finish(done);
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(http) = extensions.get_mut::<HttpSpan>()
            && http.trace.is_none()
        {
            http.trace = Some(
                opentelemetry::Context::current()
                    .span()
                    .span_context()
                    .clone(),
            );
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let finished = span
            .extensions_mut()
            .get_mut::<HttpSpan>()
            .and_then(HttpSpan::finish);
        if let Some(done) = finished {
            self.finish(done);
        }
    }
}

/// What the layer keeps in an HTTP span's extensions.
struct HttpSpan {
    side: Side,
    fields: Fields,
    start: Instant,
    trace: Option<SpanContext>,
    done: bool,
}

/// One observation, taken out of the span before it is recorded (no span lock is held while
/// the instruments record).
struct Finished {
    side: Side,
    labels: HttpLabels,
    seconds: f64,
    exemplar: Option<ExemplarLabels>,
}

impl HttpSpan {
    fn new(side: Side, fields: Fields) -> Self {
        Self {
            side,
            fields,
            start: Instant::now(),
            trace: None,
            done: false,
        }
    }

    /// The observation, once.
    fn finish(&mut self) -> Option<Finished> {
        if std::mem::replace(&mut self.done, true) {
            return None;
        }
        Some(Finished {
            side: self.side,
            labels: self.labels(),
            seconds: self.start.elapsed().as_secs_f64(),
            exemplar: self.exemplar(),
        })
    }

    fn labels(&mut self) -> HttpLabels {
        let f = &mut self.fields;
        let failed_status = match self.side {
            Side::Server => f.status.filter(|s| *s >= 500),
            Side::Client => f.status.filter(|s| *s >= 400),
        };
        let error_type = f
            .error_type
            .take()
            .or_else(|| failed_status.map(|s| s.to_string()));
        // A server span's address and port come from the caller's `Host` header: not a label.
        let client = self.side == Side::Client;
        HttpLabels {
            method: f.method,
            route: f.route.take(),
            status: f.status,
            error_type,
            server_address: f.server_address.take().filter(|_| client),
            server_port: f.server_port.filter(|_| client),
            overflow: false,
        }
    }

    fn exemplar(&self) -> Option<ExemplarLabels> {
        let trace = self
            .trace
            .as_ref()
            .filter(|t| t.is_valid() && t.is_sampled())?;
        let mut trace_id = [0; 32];
        crate::hex::write(&mut trace_id, &trace.trace_id().to_bytes());
        let mut span_id = [0; 16];
        crate::hex::write(&mut span_id, &trace.span_id().to_bytes());
        Some(ExemplarLabels::new(
            crate::hex::as_str(&trace_id),
            crate::hex::as_str(&span_id),
            self.fields.request_id.as_deref(),
        ))
    }
}

/// The fields of an HTTP span this layer reads.
#[derive(Debug, Default)]
struct Fields {
    side: Option<Side>,
    method: &'static str,
    route: Option<String>,
    status: Option<u16>,
    error_type: Option<String>,
    server_address: Option<String>,
    server_port: Option<u16>,
    request_id: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "otel.kind" => {
                self.side = match value {
                    "server" => Some(Side::Server),
                    "client" => Some(Side::Client),
                    _ => None,
                }
            }
            "http.request.method" => self.method = normalize_method(value),
            "http.route" => self.route = Some(bounded(value)),
            "error.type" => self.error_type = Some(bounded(value)),
            "server.address" => self.server_address = Some(bounded(value)),
            "request.id" | "request_id" => self.request_id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "http.response.status_code" => self.status = status_code(value),
            "server.port" => self.server_port = u16::try_from(value).ok(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record_i64(field, i64::try_from(value).unwrap_or(-1));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "otel.kind" || field.name() == "http.request.method" {
            self.record_str(field, format!("{value:?}").trim_matches('"'));
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing::{field, info_span};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::filter_fn;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::metrics::Format;

    /// What `spans` recorded into a fresh registry, in the classic text format.
    fn recorded(spans: impl FnOnce()) -> String {
        crate::propagation::tests::enable_every_callsite();
        let metrics = Metrics::new();
        let layer = metrics.layer().with_filter(filter_fn(MetricsLayer::wants));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), spans);
        metrics.encode(Format::Prometheus).unwrap()
    }

    #[test]
    fn a_server_5xx_has_its_error_type_and_the_callers_host_is_no_label() {
        let text = recorded(|| {
            let span = info_span!(
                "request",
                otel.kind = "server",
                http.request.method = "BREW",
                http.route = "/pots/{id}",
                server.address = "attacker.example",
                server.port = 8080_i64,
                http.response.status_code = field::Empty,
            );
            span.record("http.response.status_code", 503_i64);
        });
        let series = r#"http_server_request_duration_seconds_count{http_request_method="_OTHER",http_route="/pots/{id}",http_response_status_code="503",error_type="503"} 1"#;
        assert!(text.contains(series), "{text}");
        assert!(!text.contains("attacker.example"), "{text}");
        let idle = r#"http_server_active_requests{http_request_method="_OTHER"} 0"#;
        assert!(text.contains(idle), "{text}");
    }

    #[test]
    fn a_call_without_an_answer_is_observed_when_its_span_closes() {
        let text = recorded(|| {
            let span = info_span!(
                "http.client",
                otel.kind = "client",
                http.request.method = "POST",
                server.address = "payments",
                server.port = 8083_i64,
                error.type = field::Empty,
            );
            span.record("error.type", "timeout");
        });
        let series = r#"http_client_request_duration_seconds_count{http_request_method="POST",error_type="timeout",server_address="payments",server_port="8083"} 1"#;
        assert!(text.contains(series), "{text}");
    }

    #[test]
    fn a_client_4xx_is_an_error_of_the_call() {
        let text = recorded(|| {
            let span = info_span!(
                "http.client",
                otel.kind = "client",
                http.request.method = "POST",
                http.response.status_code = field::Empty,
            );
            span.record("http.response.status_code", 402_i64);
        });
        let series = r#"http_client_request_duration_seconds_count{http_request_method="POST",http_response_status_code="402",error_type="402"} 1"#;
        assert!(text.contains(series), "{text}");
    }

    #[test]
    fn spans_without_a_method_are_not_http_spans() {
        let text = recorded(|| {
            let _statement = info_span!("INSERT orders", otel.kind = "client").entered();
        });
        assert!(!text.contains("_count{"), "{text}");
    }
}

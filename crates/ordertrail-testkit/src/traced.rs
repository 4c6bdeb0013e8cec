//! [`Traced`]: a global subscriber that writes JSON lines (with `trace_id` and `span_id`) into
//! a buffer and keeps every ended span, for tests of one trace across services in-process.
//!
//! It replaces [`logs::install`](crate::logs::install) in a test binary that needs spans: use
//! one or the other per binary, as each installs the global subscriber once.

use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, Span, SpanData, SpanProcessor};
use ordertrail::logging::JsonLayer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::logs::{Line, parse_lines};

/// The lines written and the spans ended in this test binary.
#[derive(Debug, Clone, Default)]
pub struct Traced {
    lines: Buffer,
    spans: Ended,
}

impl Traced {
    /// Installs, once per test binary, the JSON layer and an OpenTelemetry layer collecting
    /// ended spans, with the W3C propagators.
    pub fn install() -> &'static Self {
        static TRACED: OnceLock<(Traced, SdkTracerProvider)> = OnceLock::new();
        let (traced, _provider) = TRACED.get_or_init(|| {
            let traced = Traced::default();
            ordertrail::propagation::install_propagators();
            let provider = SdkTracerProvider::builder()
                .with_span_processor(traced.spans.clone())
                .build();
            let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
            let json = JsonLayer::new("test", traced.lines.clone());
            tracing_subscriber::registry()
                .with(otel.with_filter(EnvFilter::new("info")))
                .with(json.with_filter(EnvFilter::new("info")))
                .init();
            (traced, provider)
        });
        traced
    }

    /// Every line written so far, parsed.
    pub fn lines(&self) -> Vec<Line> {
        let raw = self.lines.0.lock().unwrap_or_else(PoisonError::into_inner);
        parse_lines(&raw)
    }

    /// How many times `needle` occurs in the lines written so far: a cheap check to poll
    /// before parsing tens of thousands of lines once.
    pub fn count(&self, needle: &str) -> usize {
        let raw = self.lines.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&raw).matches(needle).count()
    }

    /// Every span ended so far.
    pub fn spans(&self) -> Vec<SpanData> {
        let spans = self.spans.0.lock().unwrap_or_else(PoisonError::into_inner);
        spans.clone()
    }
}

#[derive(Debug, Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        all.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[derive(Debug, Clone, Default)]
struct Ended(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Ended {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        spans.push(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

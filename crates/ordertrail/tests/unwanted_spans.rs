//! A span or event that no layer of [`telemetry::layers`] wants is never made: the HTTP
//! crates' `DEBUG` and `TRACE` detail costs a cached check, not a span in the registry and a
//! dispatch to every layer that then turns it away.
//!
//! One test in its own process: whether a callsite is enabled depends on every subscriber the
//! process holds, and other tests hold subscribers of their own.

use ordertrail::telemetry::{self, TelemetryConfig};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn only_what_a_layer_wants_is_made() {
    let (layers, _guard) = telemetry::layers(&TelemetryConfig::new("t", "1")).expect("layers");
    let subscriber = tracing_subscriber::registry().with(layers);
    tracing::subscriber::with_default(subscriber, || {
        // Lines take INFO; the flight recorder DEBUG, but not the HTTP crates' own.
        assert!(tracing::debug_span!(target: "h2::proto", "poll").is_disabled());
        assert!(!tracing::enabled!(target: "hyper::proto", Level::DEBUG));
        assert!(!tracing::enabled!(target: "app", Level::TRACE));

        assert!(!tracing::info_span!(target: "app", "request").is_disabled());
        assert!(tracing::enabled!(target: "app", Level::INFO));
        assert!(!tracing::debug_span!(target: "app", "detail").is_disabled());
    });
}

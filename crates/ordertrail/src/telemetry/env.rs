//! The standard OpenTelemetry environment variables, read once into [`TelemetryConfig`].
//!
//! | variable | effect |
//! |---|---|
//! | `OTEL_SDK_DISABLED` | `true`: no spans, no trace ids, no export |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL for both signals (HTTP appends `/v1/traces`, `/v1/logs`) |
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._LOGS_ENDPOINT` | per-signal URL, used as given |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` (default) or `http/protobuf` |
//! | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,...` sent with every span and log record export |
//! | `OTEL_SERVICE_NAME` | `service.name` (and `service` on log lines) |
//! | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,...` added to the resource |
//! | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | `always_on`, `always_off`, `traceidratio`, `parentbased_*` |
//! | `OTEL_BSP_SCHEDULE_DELAY` | milliseconds between batch exports (default 1000) |
//! | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | metrics URL, used as given (metrics are exported only with [`TelemetryConfig::metrics`] set) |
//! | `OTEL_METRIC_EXPORT_INTERVAL` | milliseconds between metric exports (default 60000) |
//! | `OTEL_METRICS_EXPORTER` | `none`: no OTLP metrics (when Prometheus scrapes `/metrics` instead) |
//!
//! | `RUST_LOG` | the log filter ([`TelemetryConfig::from_env`] only) |
//!
//! The flight recorder's variables (`ORDERTRAIL_RECORDER`, `ORDERTRAIL_DEBUG_SECRET`…) are
//! listed in [`RECORDER_VARIABLES`](super::RECORDER_VARIABLES).
//!
//! With no endpoint set, nothing is exported.

use std::time::Duration;

use super::config::metrics_endpoint;
use super::{OtlpProtocol, SamplerChoice, TelemetryConfig, signal_endpoints};

/// A variable has a value that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// The protocol is not one we speak.
    #[error("OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, got {0:?}")]
    Protocol(String),
    /// The sampler name is unknown.
    #[error("OTEL_TRACES_SAMPLER {0:?} is not a known sampler")]
    Sampler(String),
    /// The sampler argument is not a ratio.
    #[error("OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got {0:?}")]
    Ratio(String),
    /// A flight recorder variable has a value that cannot work.
    #[error(transparent)]
    Recorder(#[from] super::RecorderEnvError),
    /// A number of milliseconds does not parse.
    #[error("{name} must be a whole number of milliseconds, got {value:?}")]
    Millis {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

impl TelemetryConfig {
    /// The config of service `name` at `version`, with the standard variables of the process
    /// environment applied and `RUST_LOG` as the filter:
    ///
    /// | variable | effect |
    /// |---|---|
    /// | `OTEL_SDK_DISABLED` | `true`: no spans, no trace ids, no export |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL for both signals (HTTP appends `/v1/traces`, `/v1/logs`) |
    /// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `..._LOGS_ENDPOINT` | per-signal URL, used as given |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL` | `grpc` (default) or `http/protobuf` |
    /// | `OTEL_EXPORTER_OTLP_HEADERS` | `key=value,...` sent with every span and log record export |
    /// | `OTEL_SERVICE_NAME` | `service.name` (and `service` on log lines) |
    /// | `OTEL_RESOURCE_ATTRIBUTES` | `key=value,...` added to the resource |
    /// | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | `always_on`, `always_off`, `traceidratio`, `parentbased_*` |
    /// | `OTEL_BSP_SCHEDULE_DELAY` | milliseconds between batch exports (default 1000) |
    /// | `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` | metrics URL, used as given (metrics are exported only with [`TelemetryConfig::metrics`] set) |
    /// | `OTEL_METRIC_EXPORT_INTERVAL` | milliseconds between metric exports (default 60000) |
    /// | `OTEL_METRICS_EXPORTER` | `none`: no OTLP metrics (when Prometheus scrapes `/metrics` instead) |
    /// | `RUST_LOG` | the log filter |
    ///
    /// With no endpoint set, nothing is exported.
    ///
    /// ```
    /// use ordertrail::telemetry::TelemetryConfig;
    ///
    /// let config = TelemetryConfig::from_env("hello", env!("CARGO_PKG_VERSION")).unwrap();
    /// assert_eq!(config.service_version, env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn from_env(name: impl Into<String>, version: impl Into<String>) -> Result<Self, EnvError> {
        let config =
            Self::new(name, version).log_filter(std::env::var("RUST_LOG").unwrap_or_default());
        apply_env(config, |name| std::env::var(name).ok())
    }
}

/// Applies the variables `lookup` finds to `config` (testable without touching the process
/// environment: pass a closure over a map).
pub fn apply_env(
    mut config: TelemetryConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<TelemetryConfig, EnvError> {
    let get = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    config.sdk_disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    config.protocol = protocol(get("OTEL_EXPORTER_OTLP_PROTOCOL"))?;
    let base = get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|b| signal_endpoints(&b, config.protocol));
    config.traces_endpoint =
        get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| base.clone().map(|b| b.0));
    config.logs_endpoint = get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT").or_else(|| base.map(|b| b.1));
    config.metrics_endpoint = get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").or_else(|| {
        get("OTEL_EXPORTER_OTLP_ENDPOINT").map(|b| metrics_endpoint(&b, config.protocol))
    });
    if get("OTEL_METRICS_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none")) {
        config.metrics_endpoint = None;
    }
    if let Some(interval) = get("OTEL_METRIC_EXPORT_INTERVAL") {
        config.metric_export_interval = millis("OTEL_METRIC_EXPORT_INTERVAL", interval)?;
    }
    if let Some(name) = get("OTEL_SERVICE_NAME") {
        config.service = name;
    }
    config.resource_attributes = get("OTEL_RESOURCE_ATTRIBUTES")
        .map(|a| attributes(&a))
        .unwrap_or_default();
    config.otlp_headers = get("OTEL_EXPORTER_OTLP_HEADERS")
        .map(|h| attributes(&h))
        .unwrap_or_default();
    config.sampler = sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;
    config.recorder = super::recorder_env::apply(config.recorder, &get)?;
    if let Some(delay) = get("OTEL_BSP_SCHEDULE_DELAY") {
        config.batch.delay = millis("OTEL_BSP_SCHEDULE_DELAY", delay)?;
    }
    Ok(config)
}

fn protocol(value: Option<String>) -> Result<OtlpProtocol, EnvError> {
    match value.as_deref() {
        None | Some("grpc") => Ok(OtlpProtocol::Grpc),
        Some("http/protobuf") => Ok(OtlpProtocol::HttpProtobuf),
        Some(other) => Err(EnvError::Protocol(other.to_owned())),
    }
}

/// `key=value,key2=value2`, values percent-decoded; malformed pairs are skipped.
fn attributes(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), percent_decode(v.trim())))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sampler(name: Option<String>, arg: Option<String>) -> Result<SamplerChoice, EnvError> {
    let ratio = || match &arg {
        None => Ok(1.0),
        Some(text) => text
            .parse::<f64>()
            .ok()
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or_else(|| EnvError::Ratio(text.clone())),
    };
    Ok(match name.as_deref() {
        None | Some("parentbased_always_on") => SamplerChoice::ParentBasedAlwaysOn,
        Some("always_on") => SamplerChoice::AlwaysOn,
        Some("always_off") => SamplerChoice::AlwaysOff,
        Some("traceidratio") => SamplerChoice::TraceIdRatio(ratio()?),
        Some("parentbased_always_off") => SamplerChoice::ParentBasedAlwaysOff,
        Some("parentbased_traceidratio") => SamplerChoice::ParentBasedTraceIdRatio(ratio()?),
        Some(other) => return Err(EnvError::Sampler(other.to_owned())),
    })
}

fn millis(name: &'static str, value: String) -> Result<Duration, EnvError> {
    value
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| EnvError::Millis { name, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<TelemetryConfig, EnvError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        apply_env(TelemetryConfig::new("gateway", "1.0.0"), move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn no_endpoint_means_no_export() {
        let config = with(&[]).unwrap();
        assert_eq!((config.traces_endpoint, config.logs_endpoint), (None, None));
        assert_eq!(config.protocol, OtlpProtocol::Grpc);
    }

    #[test]
    fn http_base_endpoint_gets_signal_paths_and_per_signal_wins() {
        let config = with(&[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            (
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "http://loki:3100/otlp/v1/logs",
            ),
        ])
        .unwrap();
        assert_eq!(
            config.traces_endpoint.as_deref(),
            Some("http://collector:4318/v1/traces")
        );
        assert_eq!(
            config.logs_endpoint.as_deref(),
            Some("http://loki:3100/otlp/v1/logs")
        );
    }

    #[test]
    fn metrics_follow_the_base_endpoint_unless_turned_off() {
        let http = [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "2500"),
        ];
        let config = with(&http).unwrap();
        assert_eq!(
            config.metrics_endpoint.as_deref(),
            Some("http://collector:4318/v1/metrics")
        );
        assert_eq!(config.metric_export_interval, Duration::from_millis(2500));
        let off = with(&[http[0], http[1], ("OTEL_METRICS_EXPORTER", "none")]).unwrap();
        assert_eq!(off.metrics_endpoint, None);
        assert!(off.traces_endpoint.is_some(), "traces still go out");
        let bad = with(&[("OTEL_METRIC_EXPORT_INTERVAL", "soon")]);
        assert!(matches!(bad, Err(EnvError::Millis { .. })));
    }

    #[test]
    fn service_resource_and_sampler() {
        let config = with(&[
            ("OTEL_SERVICE_NAME", "edge"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.namespace=shop,deployment.environment=dev%20box",
            ),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ])
        .unwrap();
        assert_eq!(config.service, "edge");
        assert_eq!(
            config.resource_attributes,
            vec![
                ("service.namespace".to_owned(), "shop".to_owned()),
                ("deployment.environment".to_owned(), "dev box".to_owned())
            ]
        );
        assert_eq!(config.sampler, SamplerChoice::ParentBasedTraceIdRatio(0.25));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(matches!(
            with(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]),
            Err(EnvError::Protocol(_))
        ));
        assert!(matches!(
            with(&[("OTEL_TRACES_SAMPLER", "sometimes")]),
            Err(EnvError::Sampler(_))
        ));
        let bad_ratio = [
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ];
        assert!(matches!(with(&bad_ratio), Err(EnvError::Ratio(_))));
        assert!(with(&[("OTEL_SDK_DISABLED", "TRUE")]).unwrap().sdk_disabled);
    }
}

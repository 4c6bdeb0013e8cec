//! The resource: who is sending — the same attributes on every span and log record.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;

use super::TelemetryConfig;

/// The `service.namespace` of every ordertrail service (Grafana finds them all by it).
pub const NAMESPACE: &str = "ordertrail";

/// `service.name`, `service.namespace`, `service.version`, `service.instance.id`,
/// `process.pid` and `host.name`; then `OTEL_RESOURCE_ATTRIBUTES` over them; then the
/// service name again, which wins over a `service.name` in those attributes.
pub(super) fn resource(config: &TelemetryConfig) -> Resource {
    let defaults = [
        KeyValue::new("service.namespace", NAMESPACE),
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("service.instance.id", config.instance_id.clone()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("host.name", host_name()),
    ];
    let extra = config
        .resource_attributes
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
    Resource::builder_empty()
        .with_attributes(defaults)
        .with_attributes(extra)
        .with_service_name(config.service.clone())
        .build()
}

fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

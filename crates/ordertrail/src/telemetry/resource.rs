//! The resource: who is sending — the same attributes on every span and log record.

use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::TelemetryResourceDetector;

use super::TelemetryConfig;

/// `telemetry.sdk.*`, `service.name`, `service.version`, `service.namespace` (when set), `service.instance.id`,
/// `process.pid` and `host.name`; then `OTEL_RESOURCE_ATTRIBUTES` over them; then the
/// service name again, which wins over a `service.name` in those attributes.
pub(super) fn resource(config: &TelemetryConfig) -> Resource {
    let namespace = config
        .service_namespace
        .clone()
        .map(|ns| KeyValue::new("service.namespace", ns));
    let defaults = [
        KeyValue::new("service.version", config.service_version.clone()),
        KeyValue::new("service.instance.id", config.instance_id.clone()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("host.name", host_name()),
    ];
    let extra = config
        .resource_attributes
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
    Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(defaults)
        .with_attributes(namespace)
        .with_attributes(extra)
        .with_service_name(config.service.clone())
        .build()
}

fn host_name() -> String {
    gethostname::gethostname()
        .into_string()
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The instrumentation scope of every span and log record: this library, which did the
/// instrumenting (the service itself is named by the resource).
pub(super) fn scope() -> InstrumentationScope {
    InstrumentationScope::builder(env!("CARGO_PKG_NAME"))
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

#[cfg(test)]
mod tests {
    use opentelemetry::Key;

    use super::*;

    fn value(resource: &Resource, key: &'static str) -> Option<String> {
        resource
            .get(&Key::from_static_str(key))
            .map(|v| v.to_string())
    }

    #[test]
    fn the_service_is_the_users_and_the_sdk_names_itself() {
        let config = TelemetryConfig::new("checkout", "1.4.2").service_namespace("shop");
        let resource = resource(&config);
        assert_eq!(
            value(&resource, "service.name").as_deref(),
            Some("checkout")
        );
        assert_eq!(
            value(&resource, "service.version").as_deref(),
            Some("1.4.2")
        );
        assert_eq!(
            value(&resource, "service.namespace").as_deref(),
            Some("shop")
        );
        assert_eq!(
            value(&resource, "telemetry.sdk.language").as_deref(),
            Some("rust")
        );
        assert_eq!(
            value(&resource, "telemetry.sdk.name").as_deref(),
            Some("opentelemetry")
        );
        assert!(value(&resource, "telemetry.sdk.version").is_some());
    }

    #[test]
    fn no_namespace_unless_given() {
        let resource = resource(&TelemetryConfig::new("checkout", "1.4.2"));
        assert_eq!(value(&resource, "service.namespace"), None);
    }
}

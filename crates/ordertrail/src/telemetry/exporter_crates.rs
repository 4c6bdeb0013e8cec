//! The crates the OTLP export is made of, whose spans and events are never exported: exporting
//! the events of an export would export the export, forever.

/// The exporter's own crates. A target matches by prefix, as in a filter directive (`tower`
/// covers `tower_http`, `opentelemetry` the SDK and the exporter).
pub(crate) const EXPORTER_CRATES: [&str; 9] = [
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "reqwest",
    "opentelemetry",
    "opentelemetry_sdk",
    "opentelemetry_otlp",
];

/// Whether `target` is one of [`EXPORTER_CRATES`] or a module of one.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn from_the_exporter(target: &str) -> bool {
    EXPORTER_CRATES.iter().any(|name| target.starts_with(name))
}

/// Directives turning the exporter's crates off, to follow a layer's own directives.
pub(crate) fn exporter_crates_off() -> String {
    EXPORTER_CRATES.map(|name| format!("{name}=off")).join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exporters_modules_match_and_the_applications_do_not() {
        for target in [
            "h2::proto",
            "hyper",
            "tower_http::trace",
            "opentelemetry_sdk::trace",
        ] {
            assert!(from_the_exporter(target), "{target}");
        }
        for target in ["app", "ordertrail::correlation", "sqlx", "axum::routing"] {
            assert!(!from_the_exporter(target), "{target}");
        }
        assert!(exporter_crates_off().starts_with("h2=off,hyper=off,"));
    }
}

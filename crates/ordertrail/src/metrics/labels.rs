//! The label sets of the HTTP histograms, and how their values are kept few.
//!
//! Every label value comes from a bounded set, so a caller cannot mint series:
//! - `http_request_method`: the nine methods of RFC 9110 and PATCH, anything else `_OTHER` (the
//!   semantic conventions' rule);
//! - `http_route`: the route *template* (`/orders/{id}`), never the path; empty when no route
//!   matched (a 404), so unknown paths share one series;
//! - `http_response_status_code`: a number below 1000, or absent;
//! - `error_type`: the status code, `timeout`, `transport`, or `_OTHER` for anything longer than
//!   [`MAX_VALUE_CHARS`];
//! - `server_address` / `server_port` (client calls): the peers this process calls.
//!
//! On top of that each histogram holds at most [`MAX_SERIES`] label sets; observations past it go
//! to one overflow series labelled `otel_metric_overflow="true"`, as OpenTelemetry SDKs do.

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

/// Label sets one histogram keeps before the rest go to the overflow series.
pub const MAX_SERIES: usize = 2000;

/// Longest free-form label value kept (`error_type`, a route template, a server address).
pub const MAX_VALUE_CHARS: usize = 128;

/// The value used for anything outside a bounded set.
pub(crate) const OTHER: &str = "_OTHER";

/// The labels of one `http_*_request_duration_seconds` series.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct HttpLabels {
    /// `http_request_method`, normalized.
    pub(crate) method: &'static str,
    /// `http_route` (server) — the template.
    pub(crate) route: Option<String>,
    /// `http_response_status_code`.
    pub(crate) status: Option<u16>,
    /// `error_type`.
    pub(crate) error_type: Option<String>,
    /// `server_address` (client).
    pub(crate) server_address: Option<String>,
    /// `server_port` (client).
    pub(crate) server_port: Option<u16>,
    /// The overflow series: every other label is left out.
    pub(crate) overflow: bool,
}

impl HttpLabels {
    /// The one series observations go to once a histogram holds [`MAX_SERIES`].
    pub(crate) fn overflow() -> Self {
        Self {
            overflow: true,
            ..Self::default()
        }
    }
}

impl EncodeLabelSet for HttpLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        if self.overflow {
            return ("otel_metric_overflow", "true").encode(encoder.encode_label());
        }
        ("http_request_method", self.method).encode(encoder.encode_label())?;
        if let Some(route) = &self.route {
            ("http_route", route.as_str()).encode(encoder.encode_label())?;
        }
        if let Some(status) = self.status {
            ("http_response_status_code", u64::from(status)).encode(encoder.encode_label())?;
        }
        if let Some(error) = &self.error_type {
            ("error_type", error.as_str()).encode(encoder.encode_label())?;
        }
        if let Some(address) = &self.server_address {
            ("server_address", address.as_str()).encode(encoder.encode_label())?;
        }
        if let Some(port) = self.server_port {
            ("server_port", u64::from(port)).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

/// The label set of the in-flight gauge: the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct MethodLabel(pub(crate) &'static str);

impl EncodeLabelSet for MethodLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        ("http_request_method", self.0).encode(encoder.encode_label())
    }
}

/// `method` if it is a known HTTP method, else [`OTHER`].
pub(crate) fn normalize_method(method: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or(OTHER)
}

/// `value` when it is at most [`MAX_VALUE_CHARS`] long, else [`OTHER`]: a long value is not a
/// template or a peer, and cutting it would merge unrelated values.
pub(crate) fn bounded(value: &str) -> String {
    if value.chars().count() <= MAX_VALUE_CHARS {
        value.to_owned()
    } else {
        OTHER.to_owned()
    }
}

/// A status code as a label, when it is one (100..=999).
pub(crate) fn status_code(value: i64) -> Option<u16> {
    u16::try_from(value)
        .ok()
        .filter(|s| (100..1000).contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_value() {
        assert_eq!(normalize_method("GET"), "GET");
        assert_eq!(normalize_method("get"), OTHER);
        assert_eq!(normalize_method("BREW"), OTHER);
    }

    #[test]
    fn long_values_collapse_to_other() {
        assert_eq!(bounded("/orders/{id}"), "/orders/{id}");
        assert_eq!(bounded(&"a".repeat(MAX_VALUE_CHARS + 1)), OTHER);
    }

    #[test]
    fn status_codes_outside_three_digits_are_dropped() {
        assert_eq!(status_code(201), Some(201));
        assert_eq!(status_code(-1), None);
        assert_eq!(status_code(70_000), None);
    }
}

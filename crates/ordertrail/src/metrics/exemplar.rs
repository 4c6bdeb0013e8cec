//! [`ExemplarLabels`]: the trace a histogram bucket points at, within OpenMetrics' size cap.

use prometheus_client::encoding::{EncodeLabel, EncodeLabelSet, LabelSetEncoder};

/// OpenMetrics caps the label names and values of one exemplar at 128 UTF-8 characters in
/// all; a scraper refuses the whole exposition when one exceeds it.
pub const MAX_EXEMPLAR_CHARS: usize = 128;

/// The labels of one exemplar: `trace_id` and `span_id` always, `request_id` when the three
/// fit in [`MAX_EXEMPLAR_CHARS`] (the two ids take 63 characters, so an id of up to 55
/// characters fits; a longer one is left out rather than cut, so it never names another
/// request).
///
/// ```
/// use ordertrail::metrics::ExemplarLabels;
///
/// let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
/// let span = "00f067aa0ba902b7";
/// let fits = ExemplarLabels::new(trace, span, Some("0198c3a2-7d3e-7c1a-9f00-5b2e8d1c4a77"));
/// assert!(fits.request_id().is_some());
/// let long = "x".repeat(80);
/// let too_long = ExemplarLabels::new(trace, span, Some(&long));
/// assert_eq!(too_long.request_id(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExemplarLabels {
    trace_id: String,
    span_id: String,
    request_id: Option<String>,
}

impl ExemplarLabels {
    /// The labels for a request of trace `trace_id`, span `span_id` and, when it fits, id
    /// `request_id`.
    pub fn new(trace_id: &str, span_id: &str, request_id: Option<&str>) -> Self {
        let ids = chars("trace_id", trace_id) + chars("span_id", span_id);
        let request_id = request_id
            .filter(|id| ids + chars("request_id", id) <= MAX_EXEMPLAR_CHARS)
            .map(str::to_owned);
        Self {
            trace_id: trace_id.to_owned(),
            span_id: span_id.to_owned(),
            request_id,
        }
    }

    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The span id, 16 lower-case hex digits.
    pub fn span_id(&self) -> &str {
        &self.span_id
    }

    /// The request id, when it fit.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The characters the label set takes, as OpenMetrics counts them.
    pub fn len_chars(&self) -> usize {
        chars("trace_id", &self.trace_id)
            + chars("span_id", &self.span_id)
            + self
                .request_id
                .as_deref()
                .map_or(0, |id| chars("request_id", id))
    }
}

fn chars(name: &str, value: &str) -> usize {
    name.chars().count() + value.chars().count()
}

impl EncodeLabelSet for ExemplarLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        ("trace_id", self.trace_id.as_str()).encode(encoder.encode_label())?;
        ("span_id", self.span_id.as_str()).encode(encoder.encode_label())?;
        if let Some(id) = &self.request_id {
            ("request_id", id.as_str()).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN: &str = "00f067aa0ba902b7";

    #[test]
    fn a_request_id_that_fits_exactly_is_kept() {
        let id = "r".repeat(MAX_EXEMPLAR_CHARS - 63 - "request_id".len());
        let labels = ExemplarLabels::new(TRACE, SPAN, Some(&id));
        assert_eq!(labels.request_id(), Some(id.as_str()));
        assert_eq!(labels.len_chars(), MAX_EXEMPLAR_CHARS);
    }

    #[test]
    fn one_character_more_drops_the_request_id_and_keeps_the_trace() {
        let id = "r".repeat(MAX_EXEMPLAR_CHARS - 63 - "request_id".len() + 1);
        let labels = ExemplarLabels::new(TRACE, SPAN, Some(&id));
        assert_eq!(labels.request_id(), None);
        assert_eq!(labels.trace_id(), TRACE);
        assert!(labels.len_chars() <= MAX_EXEMPLAR_CHARS);
    }

    #[test]
    fn characters_are_counted_not_bytes() {
        // 55 characters of two bytes each: 110 bytes, yet it fits.
        let id = "é".repeat(55);
        let labels = ExemplarLabels::new(TRACE, SPAN, Some(&id));
        assert_eq!(labels.request_id(), Some(id.as_str()));
    }
}

//! [`Format`]: which text format a scraper asked for, from its `Accept` header.

/// The `Content-Type` of OpenMetrics text 1.0.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The `Content-Type` of the classic Prometheus text format 0.0.4.
pub const PROMETHEUS_CONTENT_TYPE: &str =
    prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// OpenMetrics text 1.0.0: histograms carry exemplars, the body ends with `# EOF`.
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4, which has no exemplars.
    Prometheus,
}

impl Format {
    /// The format an `Accept` header prefers: OpenMetrics when it weighs
    /// `application/openmetrics-text` above `text/plain` (Prometheus does when exemplar storage
    /// or OpenMetrics scraping is on), the classic format otherwise, and with no header (`curl`).
    ///
    /// ```
    /// use ordertrail::metrics::Format;
    ///
    /// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    /// assert_eq!(Format::negotiate(Some(prometheus)), Format::OpenMetrics);
    /// assert_eq!(Format::negotiate(Some("text/plain")), Format::Prometheus);
    /// assert_eq!(Format::negotiate(None), Format::Prometheus);
    /// ```
    pub fn negotiate(accept: Option<&str>) -> Self {
        let Some(accept) = accept else {
            return Self::Prometheus;
        };
        let mut openmetrics = 0.0_f32;
        let mut text = 0.0_f32;
        for range in accept.split(',') {
            let (media, weight) = media_range(range);
            if media.eq_ignore_ascii_case("application/openmetrics-text") {
                openmetrics = openmetrics.max(weight);
            } else if media.eq_ignore_ascii_case("text/plain") {
                text = text.max(weight);
            }
        }
        if openmetrics > 0.0 && openmetrics >= text {
            Self::OpenMetrics
        } else {
            Self::Prometheus
        }
    }

    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Self::Prometheus => PROMETHEUS_CONTENT_TYPE,
        }
    }
}

/// A media range's type and its `q` weight (1 when absent, 0 when malformed).
fn media_range(range: &str) -> (&str, f32) {
    let mut parts = range.split(';');
    let media = parts.next().unwrap_or("").trim();
    let weight = parts
        .filter_map(|p| p.trim().strip_prefix("q="))
        .map(|q| q.trim().parse::<f32>().unwrap_or(0.0))
        .next()
        .unwrap_or(1.0);
    (media, weight.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_decide() {
        let text_first = "text/plain;q=0.9,application/openmetrics-text;q=0.5";
        assert_eq!(Format::negotiate(Some(text_first)), Format::Prometheus);
        let om_first = "text/plain;q=0.5,application/openmetrics-text;version=1.0.0;q=0.9";
        assert_eq!(Format::negotiate(Some(om_first)), Format::OpenMetrics);
    }

    #[test]
    fn a_refused_or_malformed_openmetrics_is_not_chosen() {
        let refused = "application/openmetrics-text;q=0";
        assert_eq!(Format::negotiate(Some(refused)), Format::Prometheus);
        let malformed = "application/openmetrics-text;q=abc";
        assert_eq!(Format::negotiate(Some(malformed)), Format::Prometheus);
    }

    #[test]
    fn anything_else_gets_the_classic_format() {
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(
            Format::negotiate(Some("application/json")),
            Format::Prometheus
        );
    }
}

//! [`Limits`]: how much one export request may hold, and [`LimitError`], what is said when it
//! holds more.
//!
//! The decoded size of a request says little about the memory it takes: an empty span is two
//! bytes of protobuf (or three of JSON) and some 250 bytes once decoded, so 2 KB of gzip can
//! carry a million spans. The collector therefore counts what a request holds *before* it
//! decodes it (see `scan`), and refuses the whole request when a count is over its limit.
//!
//! # What a client sees
//! A request over a limit is refused whole, never cut: no line is written and nothing is kept.
//!
//! | refusal | OTLP/HTTP | OTLP/gRPC |
//! |---|---|---|
//! | over a size or count limit ([`LimitError`]) | `413 Payload Too Large` | `RESOURCE_EXHAUSTED` |
//! | [`max_concurrent_requests`](Limits::max_concurrent_requests) already running | `503 Service Unavailable`, `Retry-After: 1` | `UNAVAILABLE` |
//!
//! The OTLP exporters drop a batch refused with `413`/`RESOURCE_EXHAUSTED` (retrying cannot
//! help) and retry after `503`/`UNAVAILABLE`. The collector answers no partial success: keeping
//! part of a batch would write a trace with holes that looks whole.

/// The default of [`Limits::max_body_bytes`]: 16 MiB. The OpenTelemetry Collector allows
/// 4 MiB over gRPC and 20 MiB over HTTP; a batch of 512 spans with many attributes can pass
/// 4 MiB.
pub const MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// The limits on one export request. Set them with the builder methods of
/// [`CollectorConfig`](super::CollectorConfig).
///
/// The defaults fit the OpenTelemetry SDKs' batches (512 items, at most 128 attributes, events
/// and links per span) many times over, and hold the memory of one request under about 64 MiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest body, compressed and decompressed alike; gzip is inflated only up to it.
    /// Default [`MAX_MESSAGE_SIZE`].
    pub max_body_bytes: usize,
    /// Spans, log records or metric data points (and metrics, exemplars) per request, counting
    /// the resource and scope groups that hold them. Default 4096.
    pub max_items_per_request: usize,
    /// Attributes of one span, log record, event, link, resource or scope; every element of
    /// an array value and every entry of a key-value list value counts as one more. Default 128.
    pub max_attributes_per_item: usize,
    /// Attributes in the whole request, counted as above, plus one per span event and link.
    /// Default 131 072.
    pub max_attributes_per_request: usize,
    /// Events of one span. Default 128.
    pub max_events_per_span: usize,
    /// Links of one span. Default 128.
    pub max_links_per_span: usize,
    /// Bucket counts of exponential histogram data points in the whole request. Each takes
    /// 8 bytes once decoded but may take 1 byte on the wire, so they are counted before
    /// decoding like items. Default 1,048,576 (8 MiB decoded).
    pub max_buckets_per_request: usize,
    /// Nesting depth of messages; the OTLP structure down to an attribute's value takes 7, each
    /// level of array or key-value list inside a value 2 more. Default 32.
    pub max_depth: usize,
    /// Export requests decoded and written at once; more are refused, not queued. Default 8.
    pub max_concurrent_requests: usize,
    /// Longest OTLP/JSON line written to a file; a request whose line would be longer is
    /// refused. Default 64 MiB.
    pub max_line_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: MAX_MESSAGE_SIZE,
            max_items_per_request: 4096,
            max_attributes_per_item: 128,
            max_attributes_per_request: 128 * 1024,
            max_events_per_span: 128,
            max_links_per_span: 128,
            max_buckets_per_request: 1 << 20,
            max_depth: 32,
            max_concurrent_requests: 8,
            max_line_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a request was refused as too large. Every variant is answered `413` over HTTP and
/// `RESOURCE_EXHAUSTED` over gRPC.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The body, or what it inflates to, is over [`Limits::max_body_bytes`].
    #[error("the body exceeds {limit} bytes (decompressed)")]
    Body {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_items_per_request`].
    #[error("the request holds more than {limit} spans, log records and groups")]
    Items {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_attributes_per_item`].
    #[error("an item has more than {limit} attributes")]
    AttributesPerItem {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_attributes_per_request`].
    #[error("the request holds more than {limit} attributes, events and links")]
    AttributesPerRequest {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_events_per_span`].
    #[error("a span has more than {limit} events")]
    Events {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_links_per_span`].
    #[error("a span has more than {limit} links")]
    Links {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_buckets_per_request`].
    #[error("the request holds more than {limit} exponential histogram buckets")]
    Buckets {
        /// The limit.
        limit: usize,
    },
    /// Over [`Limits::max_depth`].
    #[error("the request nests deeper than {limit} levels")]
    Depth {
        /// The limit.
        limit: usize,
    },
    /// Its OTLP/JSON line would be over [`Limits::max_line_bytes`].
    #[error("the request's OTLP/JSON line would exceed {limit} bytes")]
    Line {
        /// The limit.
        limit: usize,
    },
}

//! The bucket boundaries of every HTTP duration histogram.

/// The OpenTelemetry HTTP semantic conventions' recommended boundaries for
/// `http.server.request.duration` and `http.client.request.duration`, in seconds: 5 ms to 10 s,
/// denser where web latencies sit. Prometheus adds the `+Inf` bucket.
pub const HTTP_DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundaries_are_the_semantic_conventions_ones_in_order() {
        assert_eq!(HTTP_DURATION_BUCKETS.first(), Some(&0.005));
        assert_eq!(HTTP_DURATION_BUCKETS.last(), Some(&10.0));
        assert!(HTTP_DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}

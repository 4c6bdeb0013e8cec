//! Which failed exports are sent again, and after how long: the transient failures of the
//! OTLP specification, a few times, within the export's time-out.
//!
//! Sending again costs only the send: the request is encoded once and its bytes are shared
//! between attempts. A collector that is down fails every attempt; the export gate
//! ([`crate::telemetry`]'s `gate`) then keeps the next batches from trying at all for a while.

use std::time::Duration;

use super::transport::SendError;

/// Attempts after the first.
pub(crate) const RETRIES: u32 = 3;

/// The wait before the first retry; it doubles for each next one.
const FIRST_DELAY: Duration = Duration::from_millis(100);

/// The longest wait a collector's `Retry-After` can ask for.
const LONGEST_DELAY: Duration = Duration::from_secs(5);

/// How long to wait before sending again after `err` on retry number `retry` (0 for the
/// first), or `None` when `err` is not transient.
pub(crate) fn delay(err: &SendError, retry: u32) -> Option<Duration> {
    let backoff = FIRST_DELAY * 2_u32.saturating_pow(retry);
    match err {
        // No connection, or it broke: the collector is restarting or gone.
        SendError::Request(_) => Some(backoff),
        SendError::Status {
            status: 429 | 502 | 503 | 504,
            retry_after,
        } => Some(retry_after.map_or(backoff, |asked| asked.min(LONGEST_DELAY))),
        SendError::Grpc { code, .. } if transient_grpc(code) => Some(backoff),
        _ => None,
    }
}

/// The gRPC codes OTLP calls retryable: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE,
/// UNAVAILABLE, DATA_LOSS. RESOURCE_EXHAUSTED is not retried: collectors send it for a
/// request over their limits, which would be refused again.
fn transient_grpc(code: &str) -> bool {
    matches!(code, "1" | "4" | "10" | "11" | "14" | "15")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<Duration>) -> SendError {
        SendError::Status {
            status,
            retry_after,
        }
    }

    fn grpc(code: &str) -> SendError {
        SendError::Grpc {
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn transient_answers_are_retried_with_a_doubling_delay() {
        assert_eq!(delay(&status(503, None), 0), Some(FIRST_DELAY));
        assert_eq!(delay(&status(502, None), 2), Some(FIRST_DELAY * 4));
        assert_eq!(delay(&grpc("14"), 1), Some(FIRST_DELAY * 2));
    }

    #[test]
    fn a_collectors_retry_after_is_followed_up_to_a_bound() {
        let asked = Duration::from_secs(1);
        assert_eq!(delay(&status(429, Some(asked)), 0), Some(asked));
        let too_long = Duration::from_secs(600);
        assert_eq!(delay(&status(503, Some(too_long)), 0), Some(LONGEST_DELAY));
    }

    #[test]
    fn refusals_that_would_repeat_are_not_retried() {
        for err in [
            status(400, None),
            status(413, None),
            grpc("3"),
            grpc("8"),
            grpc("missing"),
            SendError::TimedOut(Duration::from_secs(5)),
            SendError::Stopped,
        ] {
            assert_eq!(delay(&err, 0), None, "{err}");
        }
    }
}

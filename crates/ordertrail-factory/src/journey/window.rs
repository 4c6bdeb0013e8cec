//! [`TimeWindow`]: the span of time the HTTP sources search, as Jaeger and Loki want it.

use std::time::{Duration, SystemTime};

/// From `start` to `end`; Jaeger requires both, Loki defaults to the last hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// The earliest time searched.
    pub start: SystemTime,
    /// The latest time searched.
    pub end: SystemTime,
}

impl TimeWindow {
    /// The `since` before `now`, and a minute after it for clocks a little ahead.
    pub fn last(since: Duration, now: SystemTime) -> Self {
        Self {
            start: now
                .checked_sub(since)
                .unwrap_or(SystemTime::UNIX_EPOCH)
                .max(SystemTime::UNIX_EPOCH),
            end: now + Duration::from_secs(60),
        }
    }

    /// Both ends as RFC 3339 (`2026-11-24T19:14:43Z`), for Jaeger.
    pub fn rfc3339(&self) -> (String, String) {
        let format = |t| humantime::format_rfc3339_seconds(t).to_string();
        (format(self.start), format(self.end))
    }

    /// Both ends as nanoseconds since the Unix epoch, for Loki.
    pub fn unix_nanos(&self) -> (u128, u128) {
        let nanos = |t: SystemTime| {
            t.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        };
        (nanos(self.start), nanos(self.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_both_ends() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(7_200);
        let window = TimeWindow::last(Duration::from_secs(3_600), now);
        assert_eq!(
            window.rfc3339(),
            (
                "1970-01-01T01:00:00Z".to_owned(),
                "1970-01-01T02:01:00Z".to_owned()
            )
        );
        assert_eq!(window.unix_nanos().0, 3_600_000_000_000);
        let early = TimeWindow::last(Duration::from_secs(60), SystemTime::UNIX_EPOCH);
        assert_eq!(
            early.start,
            SystemTime::UNIX_EPOCH,
            "never before the epoch"
        );
    }
}

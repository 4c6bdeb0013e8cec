//! [`Trigger`]: why a request's detail is written, and the decision at completion.

use std::time::Duration;

use super::config::RecorderConfig;

/// Why a request's kept events were written out. The first that applies, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// The request asked for debug detail (a valid token at the edge, or the flag from an
    /// internal caller).
    Debug,
    /// A caller that already decided to keep this request's detail said so (baggage).
    Caller,
    /// A task of the request panicked.
    Panic,
    /// The answer was a 5xx.
    ServerError,
    /// The answer's status is one configured to replay.
    Status,
    /// An `ERROR` event was logged inside the request.
    ErrorEvent,
    /// A call to another service failed (5xx, unreachable, timed out).
    DownstreamFailed,
    /// The request took longer than the threshold.
    Slow,
}

impl Trigger {
    /// The name written on replayed lines (`replay_trigger`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Caller => "caller",
            Self::Panic => "panic",
            Self::ServerError => "server_error",
            Self::Status => "status",
            Self::ErrorEvent => "error_event",
            Self::DownstreamFailed => "downstream_failed",
            Self::Slow => "slow",
        }
    }
}

/// What the request showed while it ran.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Signals {
    pub(crate) debug: bool,
    pub(crate) caller_keeps: bool,
    pub(crate) panicked: bool,
    pub(crate) error_event: bool,
    pub(crate) downstream_failed: bool,
}

impl Signals {
    /// The trigger known before the request completes, if any: what later hops are told.
    pub(crate) fn early(&self) -> Option<Trigger> {
        [
            (self.debug, Trigger::Debug),
            (self.caller_keeps, Trigger::Caller),
            (self.panicked, Trigger::Panic),
        ]
        .into_iter()
        .chain(self.late())
        .find_map(|(hit, trigger)| hit.then_some(trigger))
    }

    fn late(&self) -> [(bool, Trigger); 2] {
        [
            (self.error_event, Trigger::ErrorEvent),
            (self.downstream_failed, Trigger::DownstreamFailed),
        ]
    }
}

/// The decision at completion: the trigger that applies to a request that showed `signals`
/// and answered `status` after `latency`, or `None` (its detail is discarded).
pub(crate) fn decide(
    signals: &Signals,
    status: u16,
    latency: Duration,
    config: &RecorderConfig,
) -> Option<Trigger> {
    let outcome = [
        (signals.debug, Trigger::Debug),
        (signals.caller_keeps, Trigger::Caller),
        (signals.panicked, Trigger::Panic),
        ((500..600).contains(&status), Trigger::ServerError),
        (config.statuses.contains(&status), Trigger::Status),
    ];
    let slow = config.slow.is_some_and(|threshold| latency > threshold);
    outcome
        .into_iter()
        .chain(signals.late())
        .chain([(slow, Trigger::Slow)])
        .find_map(|(hit, trigger)| hit.then_some(trigger))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: Duration = Duration::from_millis(5);

    fn quiet() -> Signals {
        Signals::default()
    }

    #[test]
    fn a_fast_success_is_discarded() {
        assert_eq!(
            decide(&quiet(), 201, FAST, &RecorderConfig::default()),
            None
        );
        assert_eq!(
            decide(&quiet(), 404, FAST, &RecorderConfig::default()),
            None
        );
    }

    #[test]
    fn each_signal_has_its_trigger() {
        let config = RecorderConfig::default()
            .keep_statuses([429])
            .slow_after(Some(Duration::from_millis(100)));
        let slow = Duration::from_millis(101);
        assert_eq!(
            decide(&quiet(), 503, FAST, &config),
            Some(Trigger::ServerError)
        );
        assert_eq!(decide(&quiet(), 429, FAST, &config), Some(Trigger::Status));
        assert_eq!(decide(&quiet(), 200, slow, &config), Some(Trigger::Slow));
        let cases = [
            (
                Signals {
                    debug: true,
                    ..quiet()
                },
                Trigger::Debug,
            ),
            (
                Signals {
                    caller_keeps: true,
                    ..quiet()
                },
                Trigger::Caller,
            ),
            (
                Signals {
                    panicked: true,
                    ..quiet()
                },
                Trigger::Panic,
            ),
            (
                Signals {
                    error_event: true,
                    ..quiet()
                },
                Trigger::ErrorEvent,
            ),
            (
                Signals {
                    downstream_failed: true,
                    ..quiet()
                },
                Trigger::DownstreamFailed,
            ),
        ];
        for (signals, trigger) in cases {
            assert_eq!(decide(&signals, 200, FAST, &config), Some(trigger));
            assert_eq!(signals.early(), Some(trigger));
        }
    }

    #[test]
    fn debug_wins_over_a_failure_and_latency_alone_can_be_switched_off() {
        let both = Signals {
            debug: true,
            downstream_failed: true,
            ..quiet()
        };
        let config = RecorderConfig::default().slow_after(None);
        assert_eq!(decide(&both, 502, FAST, &config), Some(Trigger::Debug));
        assert_eq!(
            decide(&quiet(), 200, Duration::from_secs(60), &config),
            None
        );
    }
}

//! The flight recorder's environment variables, read by [`apply_env`](super::apply_env).

use std::time::Duration;

use crate::recorder::RecorderConfig;

/// Every variable the flight recorder reads, and what it sets.
///
/// | variable | effect |
/// |---|---|
/// | `ORDERTRAIL_RECORDER` | `on` (default) or `off` |
/// | `ORDERTRAIL_RECORDER_SLOW_MS` | a request slower than this replays (default 1000; `0`: never for latency) |
/// | `ORDERTRAIL_RECORDER_STATUSES` | statuses that replay besides 5xx, like `404,429` |
/// | `ORDERTRAIL_RECORDER_MAX_EVENTS` | events kept per request (default 256) |
/// | `ORDERTRAIL_RECORDER_MAX_BYTES` | bytes kept per request (default 65536) |
/// | `ORDERTRAIL_RECORDER_BUDGET_BYTES` | bytes kept across all requests (default 16 MiB) |
/// | `ORDERTRAIL_RECORDER_HOLD_MS` | how long completed requests' detail is held (default 5000; `0`: not held; at most an hour) |
/// | `ORDERTRAIL_DEBUG_SECRET` | the key of debug tokens; unset: every token is refused |
pub const RECORDER_VARIABLES: [&str; 8] = [
    ON,
    SLOW_MS,
    STATUSES,
    MAX_EVENTS,
    MAX_BYTES,
    BUDGET_BYTES,
    HOLD_MS,
    DEBUG_SECRET,
];

const ON: &str = "ORDERTRAIL_RECORDER";
const SLOW_MS: &str = "ORDERTRAIL_RECORDER_SLOW_MS";
const STATUSES: &str = "ORDERTRAIL_RECORDER_STATUSES";
const MAX_EVENTS: &str = "ORDERTRAIL_RECORDER_MAX_EVENTS";
const MAX_BYTES: &str = "ORDERTRAIL_RECORDER_MAX_BYTES";
const BUDGET_BYTES: &str = "ORDERTRAIL_RECORDER_BUDGET_BYTES";
const HOLD_MS: &str = "ORDERTRAIL_RECORDER_HOLD_MS";
const DEBUG_SECRET: &str = "ORDERTRAIL_DEBUG_SECRET";

/// A flight recorder variable has a value that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderEnvError {
    /// The value does not parse as what the variable holds.
    #[error("{name} must be {expected}, got {value:?}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
}

/// `config` with the variables `get` finds applied (`get` returns trimmed, non-empty values).
pub(super) fn apply(
    mut config: RecorderConfig,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<RecorderConfig, RecorderEnvError> {
    if let Some(value) = get(ON) {
        config.enabled = switch(&value)?;
    }
    if let Some(value) = get(SLOW_MS) {
        let ms = number::<u64>(SLOW_MS, &value)?;
        config.slow = (ms > 0).then(|| Duration::from_millis(ms));
    }
    if let Some(value) = get(STATUSES) {
        config.statuses = statuses(&value)?;
    }
    set(&mut config.max_events, MAX_EVENTS, get)?;
    set(&mut config.max_bytes, MAX_BYTES, get)?;
    set(&mut config.budget_bytes, BUDGET_BYTES, get)?;
    if let Some(value) = get(HOLD_MS) {
        config.hold_for = Duration::from_millis(number(HOLD_MS, &value)?);
    }
    if let Some(secret) = get(DEBUG_SECRET) {
        config = config.debug_secret(secret.into_bytes());
    }
    Ok(config)
}

fn set(
    slot: &mut usize,
    name: &'static str,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(), RecorderEnvError> {
    if let Some(value) = get(name) {
        *slot = number(name, &value)?;
    }
    Ok(())
}

fn switch(value: &str) -> Result<bool, RecorderEnvError> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        _ => Err(invalid(ON, value, "on or off")),
    }
}

fn number<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, RecorderEnvError> {
    value
        .parse()
        .map_err(|_| invalid(name, value, "a whole number"))
}

fn statuses(value: &str) -> Result<Vec<u16>, RecorderEnvError> {
    value
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|code| (100..600).contains(code))
                .ok_or_else(|| invalid(STATUSES, value, "HTTP statuses separated by commas"))
        })
        .collect()
}

fn invalid(name: &'static str, value: &str, expected: &'static str) -> RecorderEnvError {
    RecorderEnvError::Invalid {
        name,
        value: value.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<RecorderConfig, RecorderEnvError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        apply(RecorderConfig::default(), &get)
    }

    #[test]
    fn every_variable_sets_its_field() {
        let config = with(&[
            (ON, "off"),
            (SLOW_MS, "250"),
            (STATUSES, "404, 429"),
            (MAX_EVENTS, "10"),
            (MAX_BYTES, "2048"),
            (BUDGET_BYTES, "65536"),
            (HOLD_MS, "0"),
            (DEBUG_SECRET, "s3cret"),
        ])
        .unwrap();
        assert!(!config.enabled);
        assert_eq!(config.slow, Some(Duration::from_millis(250)));
        assert_eq!(config.statuses, [404, 429]);
        assert_eq!((config.max_events, config.max_bytes), (10, 2048));
        assert_eq!(
            (config.budget_bytes, config.hold_for),
            (65536, Duration::ZERO)
        );
        assert_eq!(config.debug_secret.as_deref(), Some(&b"s3cret"[..]));
        assert_eq!(with(&[(SLOW_MS, "0")]).unwrap().slow, None);
    }

    #[test]
    fn bad_values_are_errors_that_name_the_variable() {
        for (name, value) in [
            (ON, "maybe"),
            (STATUSES, "4o4"),
            (STATUSES, "999"),
            (MAX_BYTES, "-1"),
        ] {
            let err = with(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}

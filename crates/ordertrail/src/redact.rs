//! [`Redact`]: the policy every string passes through before any output holds it.
//!
//! One policy, applied at every exit:
//! - log lines, human lines and OTLP log records are built from one flattened record, whose
//!   string values (the message, span and event fields, error chains) all pass through it once;
//! - exported spans: name, attributes, events, links and `tracestate`, rewritten by the span
//!   exporter wrapper (see [`crate::telemetry::redact_span`]);
//! - panic messages, at the panic hook, and error bodies ([`crate::web::error_response`]);
//! - what a service stores of client input (the factory's orders store calls [`redact`]).
//!
//! The default, [`CardNumbers`], masks Luhn-valid 13-19 digit card
//! numbers as `[card ••••4242]`. Add your own patterns by chaining:
//!
//! ```
//! use std::borrow::Cow;
//! use ordertrail::redact::{Both, CardNumbers, Redact};
//!
//! /// Hides bearer tokens.
//! fn tokens(text: &str) -> Cow<'_, str> {
//!     match text.find("Bearer ") {
//!         Some(at) => Cow::Owned(format!("{}Bearer [redacted]", &text[..at])),
//!         None => Cow::Borrowed(text),
//!     }
//! }
//!
//! let policy = Both(CardNumbers, tokens);
//! assert_eq!(policy.redact("card 4242 4242 4242 4242"), "card [card ••••4242]");
//! assert_eq!(policy.redact("Authorization: Bearer abc"), "Authorization: Bearer [redacted]");
//! ```
//!
//! The policy is process-wide, like OpenTelemetry's propagator: give it to
//! [`TelemetryConfig::redact`](crate::telemetry::TelemetryConfig::redact), or [`install`] it
//! before the first event. The first one installed stays.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

/// Rewrites text that may hold a secret. Borrow when nothing changes: this runs on every string
/// of every log line.
pub trait Redact: Send + Sync + 'static {
    /// `text` with every secret masked.
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str>;
}

/// The default policy: card numbers (see [`crate::card::mask_cards`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct CardNumbers;

impl Redact for CardNumbers {
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        crate::card::mask_cards(text)
    }
}

/// Two policies, the first applied first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Both<A, B>(pub A, pub B);

impl<A: Redact, B: Redact> Redact for Both<A, B> {
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.0.redact(text) {
            Cow::Borrowed(text) => self.1.redact(text),
            Cow::Owned(text) => Cow::Owned(self.1.redact(&text).into_owned()),
        }
    }
}

impl<F> Redact for F
where
    F: for<'a> Fn(&'a str) -> Cow<'a, str> + Send + Sync + 'static,
{
    fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self(text)
    }
}

static POLICY: OnceLock<Arc<dyn Redact>> = OnceLock::new();

/// Another policy was installed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a redaction policy is already installed")]
pub struct AlreadyInstalled;

/// Makes `policy` the process's policy. Fails if one was installed before (the default
/// counts only once something is installed: until then [`redact`] applies [`CardNumbers`]).
pub fn install(policy: Arc<dyn Redact>) -> Result<(), AlreadyInstalled> {
    POLICY.set(policy).map_err(|_| AlreadyInstalled)
}

/// `text` through the process's policy ([`CardNumbers`] unless another was installed).
pub fn redact(text: &str) -> Cow<'_, str> {
    match POLICY.get() {
        Some(policy) => policy.redact(text),
        None => CardNumbers.redact(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shout(text: &str) -> Cow<'_, str> {
        if text.contains("secret") {
            Cow::Owned(text.replace("secret", "[x]"))
        } else {
            Cow::Borrowed(text)
        }
    }

    #[test]
    fn both_applies_each_policy_and_borrows_when_nothing_changes() {
        let policy = Both(CardNumbers, shout);
        assert_eq!(
            policy.redact("secret 4000 0000 0000 0002"),
            "[x] [card ••••0002]"
        );
        assert!(matches!(policy.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_default_masks_card_numbers() {
        assert_eq!(
            redact("pay 4242-4242-4242-4242 now"),
            "pay [card ••••4242] now"
        );
    }
}

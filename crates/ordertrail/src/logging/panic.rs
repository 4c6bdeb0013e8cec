//! Panics as log events: a panicking handler leaves one JSON line with its request id, not
//! raw text on stderr. The message passes through the redaction policy here, at its source,
//! so a panic that formats its input (`unwrap` on a parse of a card number) leaves no secret
//! in any output, whatever subscriber or layers receive the event.

use std::panic::PanicHookInfo;

/// Replaces the process panic hook with one that logs an `ERROR` event (`panic` message and
/// `location`) through tracing. Inside a request, the event carries the request id.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(log_panic));
}

fn log_panic(info: &PanicHookInfo<'_>) {
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic payload".to_owned());
    let location = info.location().map(ToString::to_string).unwrap_or_default();
    let message = crate::redact::redact(&message);
    tracing::error!(panic = %message, location = %location, "a task panicked");
}

//! [`Event`]: what shipping needs to know about a confirmed order, and where it is sent.
//!
//! No card number, not even its last four digits: shipping has no use for them, and an event
//! is copied into a table, a stream and a dead-letter stream.

use serde::{Deserialize, Serialize};

/// The subject (and, over HTTP, the event type) of a confirmed order.
pub const SUBJECT: &str = "orders.confirmed";
/// The JetStream stream holding [`SUBJECT`].
pub const STREAM: &str = "ORDERS";
/// Where shipping puts an event it gave up on, with its headers and the reason.
pub const DEAD_LETTER_SUBJECT: &str = "orders.dead";
/// The JetStream stream holding [`DEAD_LETTER_SUBJECT`].
pub const DEAD_LETTER_STREAM: &str = "ORDERS_DEAD";
/// The header naming the message: JetStream deduplicates on it.
pub const MESSAGE_ID: &str = "Nats-Msg-Id";

/// The header numbering an HTTP delivery attempt (JetStream counts its own).
pub const ATTEMPT: &str = "Ordertrail-Attempt";

/// An order was confirmed: reserve and charge succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The order, and the message id.
    pub order_id: String,
    /// What was ordered.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// What was charged.
    pub amount_cents: u64,
    /// When orders confirmed it, RFC 3339 UTC with microseconds: shipping reports the time
    /// from order to shipped against it. Text, not a count of milliseconds: a 13-digit number
    /// can pass the Luhn check, and every exit masks what looks like a card number.
    pub confirmed_at: String,
}

impl Event {
    /// The event as the JSON payload of a message.
    pub fn to_payload(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Event {
    /// Milliseconds from `confirmed_at` to now; `None` when it does not parse.
    pub fn age_ms(&self) -> Option<f64> {
        let confirmed = humantime::parse_rfc3339(&self.confirmed_at).ok()?;
        let age = std::time::SystemTime::now()
            .duration_since(confirmed)
            .ok()?;
        Some((age.as_secs_f64() * 1e6).round() / 1e3)
    }
}

/// Now, as [`Event::confirmed_at`] holds it.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_round_trips_as_json_and_holds_no_card_field() {
        let event = Event {
            order_id: "o-1".into(),
            sku: "mug-classic".into(),
            quantity: 2,
            amount_cents: 2_400,
            confirmed_at: now_rfc3339(),
        };
        let json: serde_json::Value = serde_json::from_slice(&event.to_payload()).unwrap();
        let fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(fields.iter().all(|f| !f.contains("card")), "{fields:?}");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), event);
        assert!(
            event
                .age_ms()
                .is_some_and(|ms| (0.0..60_000.0).contains(&ms))
        );
    }
}

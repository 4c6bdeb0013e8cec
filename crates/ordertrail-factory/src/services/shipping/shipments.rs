//! [`Shipments`]: the orders shipped, keyed by order id, so an event that arrives twice ships
//! its order once.
//!
//! Kept in memory and bounded: the oldest of more than [`REMEMBERED`] are forgotten, so memory
//! stays flat under load while any duplicate within that window is still recognised.
//!
//! A duplicate comes from a relay that published an event and crashed before marking it sent:
//! it sends the event again when it restarts, after at most the orders the other relays
//! delivered meanwhile. [`REMEMBERED`] orders (about 3 MiB) cover that with room to spare;
//! with NATS, JetStream's own deduplication window on the message id covers it too.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// How many shipments are remembered.
pub const REMEMBERED: usize = 20_000;

/// One shipped order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shipment {
    /// The order.
    pub order_id: String,
    /// The shipment's own id.
    pub shipment_id: String,
    /// The request id the order was placed with.
    pub request_id: Option<String>,
    /// Which delivery attempt shipped it.
    pub attempt: u32,
    /// From the order's confirmation to this shipment, in milliseconds, when the event's
    /// confirmation time could be read.
    pub order_to_shipped_ms: Option<f64>,
}

/// The shipments of one shipping process; clones share them.
#[derive(Debug, Clone, Default)]
pub struct Shipments(Arc<Mutex<Inner>>);

#[derive(Debug, Default)]
struct Inner {
    by_order: HashMap<String, Shipment>,
    order: VecDeque<String>,
}

impl Shipments {
    /// Records `shipment` unless its order was shipped already; returns the stored one and
    /// whether it is new.
    pub fn record(&self, shipment: Shipment) -> (Shipment, bool) {
        let mut inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = inner.by_order.get(&shipment.order_id) {
            return (existing.clone(), false);
        }
        if inner.order.len() >= REMEMBERED
            && let Some(oldest) = inner.order.pop_front()
        {
            inner.by_order.remove(&oldest);
        }
        inner.order.push_back(shipment.order_id.clone());
        inner
            .by_order
            .insert(shipment.order_id.clone(), shipment.clone());
        (shipment, true)
    }

    /// The shipment of `order_id`, if remembered.
    pub fn get(&self, order_id: &str) -> Option<Shipment> {
        let inner = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        inner.by_order.get(order_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(order_id: &str, attempt: u32) -> Shipment {
        Shipment {
            order_id: order_id.into(),
            shipment_id: format!("s-{order_id}-{attempt}"),
            request_id: None,
            attempt,
            order_to_shipped_ms: None,
        }
    }

    #[test]
    fn an_order_is_shipped_once() {
        let shipments = Shipments::default();
        let (first, new) = shipments.record(shipment("o-1", 1));
        assert!(new);
        let (again, new) = shipments.record(shipment("o-1", 2));
        assert!(!new);
        assert_eq!(again, first);
        assert_eq!(shipments.get("o-1"), Some(first));
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_bound() {
        let shipments = Shipments::default();
        for i in 0..=REMEMBERED {
            shipments.record(shipment(&i.to_string(), 1));
        }
        assert_eq!(shipments.get("0"), None);
        assert!(shipments.get("1").is_some());
    }
}

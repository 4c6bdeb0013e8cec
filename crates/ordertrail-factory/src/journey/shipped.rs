//! The order's last hop: when shipping shipped it, read from shipping's `order shipped` line
//! (its `order_to_shipped_ms`, the time from the confirmation to the shipment, measured by
//! shipping against the time the event carries).

use super::tree::TraceTree;

/// The message shipping writes when it ships an order.
pub const SHIPPED_MESSAGE: &str = "order shipped";

/// The milliseconds from confirmation to shipment in `trace`, when shipping shipped it there.
pub fn order_to_shipped_ms(trace: &TraceTree) -> Option<f64> {
    trace
        .spans()
        .into_iter()
        .flat_map(|node| &node.logs)
        .find(|log| log.message == SHIPPED_MESSAGE)
        .and_then(|log| log.fields.get("order_to_shipped_ms")?.as_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::model::Evidence;
    use crate::journey::tree::Journey;
    use crate::journey::tree::tests::{log, span};

    fn journey_with(message: &str) -> Journey {
        let mut root = span("t1", "root", None, 0);
        root.request_id = Some("r".into());
        let mut shipped = log(Some("root"), 5, "r");
        shipped.message = message.into();
        shipped
            .fields
            .insert("order_to_shipped_ms".into(), serde_json::json!(12.5));
        let evidence = Evidence {
            spans: vec![root],
            logs: vec![shipped],
        };
        Journey::build("r", evidence)
    }

    #[test]
    fn the_shipped_line_gives_the_time_from_order_to_shipped() {
        let journey = journey_with(SHIPPED_MESSAGE);
        assert_eq!(order_to_shipped_ms(&journey.traces[0]), Some(12.5));
    }

    #[test]
    fn no_shipped_line_no_time() {
        let journey = journey_with("order dispatched");
        assert_eq!(order_to_shipped_ms(&journey.traces[0]), None);
    }
}

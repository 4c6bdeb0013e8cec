//! SIGTERM is a graceful stop: each service finishes, flushes what its batch processors still
//! hold, and exits 0, so no span or log record of a finished request is lost.
//!
//! The batch delay is set far beyond the test's length, so nothing is exported on schedule: what
//! the collector has after the exit was sent by the shutdown flush.

use std::time::Duration;

use ordertrail_testkit::{
    Placed, Received, SERVER, SERVICES, Stack, StackConfig, binary, place_order,
    spans_with_request_id, start_collector, wait_dispatched,
};

/// Orders placed before the stop.
const ORDERS: usize = 5;

/// Longer than the test: no scheduled export happens before the stop.
const NEVER_MS: u64 = 600_000;

/// How long the services may take to exit after SIGTERM.
const EXIT_WITHIN: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_every_span_and_log_record_before_exit() {
    let collector = start_collector().await;
    let config = StackConfig::new(collector.grpc_endpoint()).schedule_delay_ms(NEVER_MS);
    let mut stack = Stack::start(&binary!(), &config).await;
    let gateway = stack.gateway();
    let mut placed = Vec::new();
    for n in 0..ORDERS {
        let request_id = format!("shutdown-{n}-{}", uuid::Uuid::new_v4());
        placed.push(place_order(&stack.client, &gateway, Some(&request_id)).await);
    }
    for order in &placed {
        wait_dispatched(
            &stack.client,
            &gateway,
            &order.order_id,
            None,
            Duration::from_secs(15),
        )
        .await;
    }
    let received = collector.received();
    for order in &placed {
        let early = spans_with_request_id(&received.spans(), &order.request_id).len();
        assert_eq!(
            early, 0,
            "spans of {} exported before the stop: the test proves nothing",
            order.request_id
        );
    }

    for (service, status) in stack.terminate(EXIT_WITHIN).await {
        let status =
            status.unwrap_or_else(|| panic!("{service} still runs {EXIT_WITHIN:?} after SIGTERM"));
        assert!(
            status.success(),
            "{service} exited with {status}: {}",
            stack.stderr(service)
        );
    }

    // The exporters had their answers before the processes exited: no waiting here.
    for order in &placed {
        assert_spans_flushed(&received, order);
        assert_logs_flushed(&received, order);
    }
    for service in SERVICES {
        let stopped = received
            .logs()
            .iter()
            .any(|l| l.service_name() == Some(service) && l.body_str() == Some("stopped"));
        assert!(
            stopped,
            "{service}'s last log record, \"stopped\", was flushed"
        );
    }
    collector.shutdown().await.expect("collector stops");
}

/// Exactly one server span per call of the order, and its dispatch span.
fn assert_spans_flushed(received: &Received, order: &Placed) {
    let spans = received.spans();
    let id = order.request_id.as_str();
    for (service, name) in [
        ("gateway", "POST /orders"),
        ("orders", "POST /orders"),
        ("inventory", "POST /reservations/{order_id}"),
        ("payments", "POST /charges/{order_id}"),
        ("inventory", "POST /reservations/{order_id}/commit"),
    ] {
        let found = spans_with_request_id(&spans, id)
            .into_iter()
            .filter(|s| {
                s.service_name() == Some(service) && s.span.name == name && s.span.kind == SERVER
            })
            .count();
        assert_eq!(found, 1, "{service} {name} of {id}");
    }
    let dispatch = spans
        .iter()
        .filter(|s| {
            s.span.name == "dispatch"
                && s.attribute_str("order_id") == Some(order.order_id.as_str())
        })
        .count();
    assert_eq!(dispatch, 1, "the dispatch span of {id}");
}

/// Every service's completion record of the order, and the dispatch record.
fn assert_logs_flushed(received: &Received, order: &Placed) {
    let logs = received.logs();
    let id = order.request_id.as_str();
    let has = |service: &str, body: &str| {
        logs.iter().any(|l| {
            l.service_name() == Some(service)
                && l.attribute_str("request_id") == Some(id)
                && l.body_str() == Some(body)
        })
    };
    for service in SERVICES {
        assert!(
            has(service, "request completed"),
            "{service}'s completion record of {id}"
        );
    }
    assert!(
        has("orders", "order dispatched"),
        "the dispatch record of {id}"
    );
}

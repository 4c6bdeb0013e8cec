//! One order through the real binary, four processes exporting to the embedded collector, over
//! OTLP/gRPC and over OTLP/HTTP with protobuf: the order is one trace whose server spans, client
//! spans and background dispatch nest as the calls did; every span and log record carries the
//! request id and the trace; the resource says which process sent it; the response's
//! `traceresponse` and the JSON log lines name the same trace.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use ordertrail_collector::{attribute_int, attribute_str, hex_id};
use ordertrail_testkit::{
    CLIENT, EXPORT_WAIT, Placed, ReceivedLog, ReceivedSpan, SERVER, SERVICES, SpanIndex, Stack,
    StackConfig, binary, place_order, start_collector, wait_dispatched, wait_until,
};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_exported_over_grpc_is_one_trace_across_four_processes() {
    one_order_is_one_trace(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_exported_over_http_protobuf_is_one_trace_across_four_processes() {
    one_order_is_one_trace(Some("http/protobuf")).await;
}

async fn one_order_is_one_trace(protocol: Option<&'static str>) {
    let collector = start_collector().await;
    let mut config = StackConfig::new(collector.grpc_endpoint());
    if let Some(protocol) = protocol {
        config = config.protocol(protocol);
    }
    let stack = Stack::start(&binary!(), &config).await;
    let gateway = stack.gateway();
    let placed = place_order(&stack.client, &gateway, None).await;
    wait_dispatched(
        &stack.client,
        &gateway,
        &placed.order_id,
        None,
        Duration::from_secs(15),
    )
    .await;

    let received = collector.received();
    wait_until(&received, "every span of the order", EXPORT_WAIT, |r| {
        OrderSpans::find(&r.spans(), &placed).is_some()
    })
    .await;
    wait_until(&received, "log records of the order", EXPORT_WAIT, |r| {
        logs_arrived(&r.logs(), &placed.request_id)
    })
    .await;
    // Spans last. Each process exports spans in the order they end, and the spans waited for
    // end last, so every span a log record names is in this snapshot.
    let logs = received.logs();
    let spans = received.spans();
    let order = OrderSpans::find(&spans, &placed).expect("found before");

    order.assert_one_trace(&spans, &placed);
    order.assert_server_spans(&spans, &placed);
    order.assert_parents(&spans, &stack);
    order.assert_resources(&stack);
    assert_eq!(
        placed.traceresponse.trace_id,
        order.trace_id(),
        "traceresponse names the trace"
    );
    assert_eq!(
        placed.traceresponse.span_id,
        order.gateway.span_id(),
        "and the gateway's server span"
    );
    assert_eq!(placed.traceresponse.flags, "01", "sampled");
    let trace_spans = span_ids(&spans, &order.trace_id());
    assert_log_records(&logs, &placed.request_id, &order.trace_id(), &trace_spans);
    assert_json_lines(&stack, &placed.request_id, &order.trace_id(), &trace_spans).await;
    collector.shutdown().await.expect("collector stops");
}

/// The spans an approved order must produce, found by the gateway's `request.id` and then by
/// the trace: a span in another trace is not found.
struct OrderSpans<'a> {
    gateway: &'a ReceivedSpan,
    orders: &'a ReceivedSpan,
    reserve: &'a ReceivedSpan,
    charge: &'a ReceivedSpan,
    commit: &'a ReceivedSpan,
    dispatch: &'a ReceivedSpan,
}

impl<'a> OrderSpans<'a> {
    fn find(spans: &'a [ReceivedSpan], placed: &Placed) -> Option<Self> {
        let gateway = spans.iter().find(|s| {
            s.span.kind == SERVER
                && s.service_name() == Some("gateway")
                && s.attribute_str("request.id") == Some(placed.request_id.as_str())
        })?;
        let trace = gateway.trace_id();
        let server = |service: &str, name: &str| {
            spans.iter().find(|s| {
                s.span.kind == SERVER
                    && s.trace_id() == trace
                    && s.service_name() == Some(service)
                    && s.span.name == name
            })
        };
        let dispatch = spans.iter().find(|s| {
            s.trace_id() == trace
                && s.span.name == "dispatch"
                && s.attribute_str("order_id") == Some(placed.order_id.as_str())
        })?;
        Some(Self {
            gateway,
            orders: server("orders", "POST /orders")?,
            reserve: server("inventory", "POST /reservations/{order_id}")?,
            charge: server("payments", "POST /charges/{order_id}")?,
            commit: server("inventory", "POST /reservations/{order_id}/commit")?,
            dispatch,
        })
    }

    fn trace_id(&self) -> String {
        self.gateway.trace_id()
    }

    fn servers(&self) -> [&'a ReceivedSpan; 5] {
        [
            self.gateway,
            self.orders,
            self.reserve,
            self.charge,
            self.commit,
        ]
    }

    /// Every span that names the order, by request id or order id, is in this one trace.
    fn assert_one_trace(&self, spans: &[ReceivedSpan], placed: &Placed) {
        let of_order: Vec<&ReceivedSpan> = spans
            .iter()
            .filter(|s| {
                s.attribute_str("request.id") == Some(placed.request_id.as_str())
                    || s.attribute_str("order_id") == Some(placed.order_id.as_str())
            })
            .collect();
        let traces: BTreeSet<String> = of_order.iter().map(|s| s.trace_id()).collect();
        assert_eq!(
            traces,
            BTreeSet::from([self.trace_id()]),
            "one trace for the order"
        );
        let services: BTreeSet<&str> = of_order.iter().filter_map(|s| s.service_name()).collect();
        assert_eq!(
            services,
            BTreeSet::from(SERVICES),
            "spans of the order from every service"
        );
        assert_eq!(self.trace_id().len(), 32, "a 16-byte trace id");
        assert_ne!(self.trace_id(), "0".repeat(32), "a valid trace id");
    }

    /// The trace's server spans are exactly the five calls, each named `{method} {route}` and
    /// carrying the request id; status codes are integers.
    fn assert_server_spans(&self, spans: &[ReceivedSpan], placed: &Placed) {
        let in_trace: BTreeSet<(&str, &str)> = spans
            .iter()
            .filter(|s| s.trace_id() == self.trace_id() && s.span.kind == SERVER)
            .map(|s| (s.service_name().unwrap_or("?"), s.span.name.as_str()))
            .collect();
        let expected = BTreeSet::from([
            ("gateway", "POST /orders"),
            ("orders", "POST /orders"),
            ("inventory", "POST /reservations/{order_id}"),
            ("payments", "POST /charges/{order_id}"),
            ("inventory", "POST /reservations/{order_id}/commit"),
        ]);
        assert_eq!(in_trace, expected, "server spans of the trace");
        for span in self.servers() {
            assert_eq!(
                span.attribute_str("request.id"),
                Some(placed.request_id.as_str()),
                "request.id of {} {}",
                span.service_name().unwrap_or("?"),
                span.span.name
            );
        }
        assert_eq!(
            self.gateway.attribute_int("http.response.status_code"),
            Some(201)
        );
        assert_eq!(
            self.orders.attribute_int("http.response.status_code"),
            Some(201)
        );
        assert_eq!(self.gateway.attribute_str("http.route"), Some("/orders"));
        assert_eq!(
            self.gateway.attribute_str("http.request.method"),
            Some("POST")
        );
    }

    /// gateway server > gateway client > orders server > orders client > inventory and
    /// payments servers; orders server > dispatch > orders client > inventory commit.
    fn assert_parents(&self, spans: &[ReceivedSpan], stack: &Stack) {
        let index = SpanIndex::new(spans);
        assert_eq!(
            self.gateway.parent_span_id(),
            None,
            "the gateway span is the root"
        );
        let to_orders = assert_called_by(&index, self.orders, "gateway", self.gateway);
        assert_eq!(
            to_orders.attribute_str("url.full"),
            Some(format!("{}/orders", stack.child("orders").url()).as_str())
        );
        assert_eq!(to_orders.span.name, "POST");
        assert_called_by(&index, self.reserve, "orders", self.orders);
        assert_called_by(&index, self.charge, "orders", self.orders);
        assert_eq!(self.dispatch.service_name(), Some("orders"));
        assert!(
            index.descends_from(self.dispatch, self.orders),
            "dispatch descends from the orders server span"
        );
        assert_called_by(&index, self.commit, "orders", self.dispatch);
    }

    /// Each process names itself on the resource, with its own instance id and pid.
    fn assert_resources(&self, stack: &Stack) {
        let mut instances = HashSet::new();
        for span in [self.gateway, self.orders, self.reserve, self.charge] {
            let service = span.service_name().expect("service.name");
            let attr = |key| resource_attr(span, key);
            assert_eq!(
                attr("service.namespace"),
                Some(json!("ordertrail")),
                "{service}"
            );
            assert_eq!(
                attr("service.version"),
                Some(json!(env!("CARGO_PKG_VERSION"))),
                "{service}"
            );
            assert_eq!(
                attr("process.pid"),
                Some(json!(stack.child(service).pid())),
                "{service}"
            );
            let host = attr("host.name").expect("host.name");
            assert!(
                host.as_str().is_some_and(|h| !h.is_empty()),
                "{service} host.name {host}"
            );
            let instance = attr("service.instance.id").expect("service.instance.id");
            assert!(
                instance.as_str().is_some_and(|i| !i.is_empty()),
                "{service} instance {instance}"
            );
            instances.insert(instance.to_string());
        }
        assert_eq!(instances.len(), 4, "one service.instance.id per process");
    }
}

/// A resource attribute as JSON (string or integer), for comparing typed values.
fn resource_attr(span: &ReceivedSpan, key: &str) -> Option<Value> {
    attribute_str(&span.resource, key)
        .map(|s| json!(s))
        .or_else(|| attribute_int(&span.resource, key).map(|i| json!(i)))
}

/// `server`'s parent is a client span of `caller` that descends from `caller_span`; returns it.
fn assert_called_by<'a>(
    index: &SpanIndex<'a>,
    server: &ReceivedSpan,
    caller: &str,
    caller_span: &ReceivedSpan,
) -> &'a ReceivedSpan {
    let what = format!(
        "{} {}",
        server.service_name().unwrap_or("?"),
        server.span.name
    );
    let client = index.parent(server).unwrap_or_else(|| {
        panic!(
            "the parent of {what} ({:?}) was not received",
            server.parent_span_id()
        )
    });
    assert_eq!(
        client.span.kind, CLIENT,
        "the parent of {what} is a client span"
    );
    assert_eq!(
        client.service_name(),
        Some(caller),
        "the parent of {what} is in {caller}"
    );
    assert!(
        index.descends_from(client, caller_span),
        "the client span calling {what} descends from {} {}",
        caller_span.service_name().unwrap_or("?"),
        caller_span.span.name
    );
    client
}

fn span_ids(spans: &[ReceivedSpan], trace_id: &str) -> HashSet<String> {
    spans
        .iter()
        .filter(|s| s.trace_id() == trace_id)
        .map(ReceivedSpan::span_id)
        .collect()
}

fn logs_of<'a>(logs: &'a [ReceivedLog], request_id: &str) -> Vec<&'a ReceivedLog> {
    logs.iter()
        .filter(|l| l.attribute_str("request_id") == Some(request_id))
        .collect()
}

/// Every service's completion record, and the background dispatch's, have arrived.
fn logs_arrived(logs: &[ReceivedLog], request_id: &str) -> bool {
    let ours = logs_of(logs, request_id);
    let has = |service: &str, body: &str| {
        ours.iter()
            .any(|l| l.service_name() == Some(service) && l.body_str() == Some(body))
    };
    SERVICES.iter().all(|s| has(s, "request completed")) && has("orders", "order dispatched")
}

/// Every log record of the order carries the trace id and the id of a span of that trace.
fn assert_log_records(
    logs: &[ReceivedLog],
    request_id: &str,
    trace_id: &str,
    span_ids: &HashSet<String>,
) {
    let ours = logs_of(logs, request_id);
    let services: BTreeSet<&str> = ours.iter().filter_map(|l| l.service_name()).collect();
    assert_eq!(
        services,
        BTreeSet::from(SERVICES),
        "log records from every service"
    );
    for log in ours {
        let what = format!("{:?} from {:?}", log.body_str(), log.service_name());
        assert_eq!(log.record.trace_id.len(), 16, "16-byte trace id on {what}");
        assert_eq!(log.record.span_id.len(), 8, "8-byte span id on {what}");
        assert_eq!(log.trace_id().as_deref(), Some(trace_id), "trace of {what}");
        let span_id = hex_id(&log.record.span_id);
        assert!(
            span_ids.contains(&span_id),
            "{what} names span {span_id}, not one of the trace"
        );
    }
}

/// Each service's JSON lines for the request carry the trace id and a span of the trace.
async fn assert_json_lines(
    stack: &Stack,
    request_id: &str,
    trace_id: &str,
    span_ids: &HashSet<String>,
) {
    for service in SERVICES {
        let lines = json_lines_of(stack, service, request_id).await;
        for line in &lines {
            assert_eq!(line["service"], json!(service), "{line}");
            assert_eq!(line["trace_id"], json!(trace_id), "{service} line {line}");
            let span_id = line["span_id"]
                .as_str()
                .unwrap_or_else(|| panic!("no span_id: {line}"));
            assert!(is_hex(span_id, 16), "{service} span_id {span_id}");
            assert!(
                span_ids.contains(span_id),
                "{service} line names span {span_id}, not one of the trace: {line}"
            );
        }
    }
}

/// The lines `service` wrote for `request_id`, waiting up to 5 s for the first one.
async fn json_lines_of(stack: &Stack, service: &str, request_id: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<Value> = stack
            .json_lines(service)
            .into_iter()
            .filter(|l| l["request_id"] == json!(request_id))
            .collect();
        if !lines.is_empty() {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{service} wrote no line for request {request_id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

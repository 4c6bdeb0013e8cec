//! No card number leaves the real services by any exit: Luhn-valid numbers written in many
//! forms go in through every input (each JSON field, the path, the query, `User-Agent`, `Host`,
//! `baggage`, `tracestate`, `x-request-id`), to the gateway (which links inbound traces) and
//! straight to each internal service (which trusts them); then every output is scanned with the
//! testkit's scanner: each service's JSON lines and stderr, the OTLP spans and log records the
//! collector received, and the orders database with its write-ahead log.

use std::time::Duration;

use http::header::{HOST, USER_AGENT};
use ordertrail_testkit::cards::{
    assert_no_cards, find_cards, json_strings, log_strings, span_strings,
};
use ordertrail_testkit::{
    EXPORT_WAIT, Received, SERVICES, Stack, StackConfig, binary, send, start_collector, wait_until,
};
use serde_json::json;

/// Three test cards, each written with every separator, percent-encoded or glued to letters.
fn forms() -> Vec<String> {
    let separators = [
        " ", "-", ".", "_", "/", "+", ":", "\t", "\u{a0}", "%20", "%2D", "%2F", "%2E", "%3A",
    ];
    let mut forms = Vec::new();
    for card in [
        ["4242"; 4],
        ["4000", "0000", "0000", "0002"],
        ["6011", "1111", "1111", "1117"],
    ] {
        forms.push(card.concat());
        forms.push(format!("card{}", card.concat()));
        forms.extend(separators.iter().map(|sep| card.join(sep)));
    }
    forms.push("3782 822463 10005".to_owned());
    forms
}

/// `form` safe in a URL: what a URL cannot hold raw, percent-encoded.
fn in_url(form: &str) -> String {
    form.replace(' ', "%20")
        .replace('\t', "%09")
        .replace('\u{a0}', "%C2%A0")
}

/// `form` where a header value needs visible ASCII (a tab and a no-break space are not).
fn in_header(form: &str) -> String {
    in_url(form)
}

/// Sends `form` through every input of the service at `base`.
async fn send_everywhere(stack: &Stack, base: &str, form: &str) {
    let client = &stack.client;
    let url_form = in_url(form);
    let header = in_header(form);
    let bodies = [
        json!({"sku": form, "quantity": 1, "card_number": "4242 4242 4242 4242"}),
        json!({"sku": "mug-classic", "quantity": form, "card_number": form}),
        json!({"sku": "mug-classic", "quantity": 4242424242424242_u64, "card_number": form}),
    ];
    for body in bodies {
        send(client.post(format!("{base}/orders")).json(&body), None).await;
    }
    let get = client
        .get(format!("{base}/orders/{url_form}?q={url_form}"))
        .header(USER_AGENT, format!("shop/{header}"))
        .header(
            HOST,
            format!("{}.example", header.replace(['%', '/', ':', '+'], "-")),
        )
        .header("baggage", format!("k={}", header.replace(['%', ' '], "-")))
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .header(
            "tracestate",
            format!("v={}", header.replace([',', '='], "-")),
        );
    send(get, Some(&header)).await;
}

/// Waits until the collector has what every service exported, by asking for a span of each.
async fn wait_exported(received: &Received) {
    wait_until(received, "a span of each service", EXPORT_WAIT, |r| {
        let spans = r.spans();
        SERVICES
            .iter()
            .all(|s| spans.iter().any(|sp| sp.service_name() == Some(s)))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_card_number_reaches_any_output() {
    let collector = start_collector().await;
    let config = StackConfig::new(collector.grpc_endpoint()).schedule_delay_ms(100);
    let mut stack = Stack::start(&binary!(), &config).await;
    let forms = forms();
    assert!(
        forms.iter().all(|f| !find_cards(f).is_empty()),
        "the scanner sees every form"
    );
    for service in SERVICES {
        let base = stack.child(service).url();
        for form in &forms {
            send_everywhere(&stack, &base, form).await;
        }
    }
    let received = collector.received();
    wait_exported(&received).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.terminate(Duration::from_secs(10)).await;

    let db = stack
        .child("orders")
        .stdout_path()
        .with_file_name("orders.sqlite3");
    let stored = database_strings(&db);
    assert!(
        stored.iter().any(|v| v.contains("[card ••••4242]")),
        "an order with a masked sku was stored"
    );
    assert_no_cards("the orders database", stored);
    for service in SERVICES {
        let lines = stack.json_lines(service);
        let masked = lines
            .iter()
            .flat_map(json_strings)
            .filter(|s| s.contains("[card ••••"));
        assert!(masked.count() > 0, "{service} logged the masked inputs");
        assert_no_cards(
            &format!("{service}'s JSON lines"),
            lines.iter().flat_map(json_strings),
        );
        assert_no_cards(&format!("{service}'s stderr"), [stack.stderr(service)]);
    }
    let spans = received.spans();
    assert_no_cards("the OTLP spans", spans.iter().flat_map(span_strings));
    assert!(
        spans
            .iter()
            .flat_map(span_strings)
            .any(|s| s.contains("[card ••••"))
    );
    assert_no_cards(
        "the OTLP log records",
        received.logs().iter().flat_map(log_strings),
    );
}

/// Every value of every row of every table of the SQLite database at `path`, as text (read
/// through SQLite, so the WAL is included and the file's binary pages are not mistaken for
/// text).
fn database_strings(path: &std::path::Path) -> Vec<String> {
    let db = rusqlite::Connection::open(path).expect("open the orders database");
    let mut tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("list tables");
    let names: Vec<String> = tables
        .query_map([], |row| row.get(0))
        .expect("query tables")
        .map(|name| name.expect("a table name"))
        .collect();
    let mut values = Vec::new();
    for table in names {
        let mut rows = db
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .expect("select rows");
        let columns = rows.column_count();
        let mut cursor = rows.query([]).expect("query rows");
        while let Some(row) = cursor.next().expect("a row") {
            for i in 0..columns {
                let value: rusqlite::types::Value = row.get(i).expect("a value");
                values.push(match value {
                    rusqlite::types::Value::Text(text) => text,
                    other => format!("{other:?}"),
                });
            }
        }
    }
    values
}

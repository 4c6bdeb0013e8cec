//! Hostile request ids and bad bodies: each is refused cleanly, answered with a JSON error that
//! carries a safe request id, and never copied into a log line.

use std::time::Duration;

use http::{HeaderValue, StatusCode};
use ordertrail_testkit::logs::strings;
use ordertrail_testkit::{
    APPROVED_CARD, HEADER, Line, LineExt, Reply, Services, assert_uuid_v7, lines, order_body,
    raw_logs, wait_for_line,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const INVALID_ID_WARNING: &str = "replaced an invalid inbound request id";

/// A hostile inbound id, and distinctive parts of it that must never reach a log line.
struct Hostile {
    name: &'static str,
    value: Vec<u8>,
    markers: &'static [&'static [u8]],
}

/// Ids a `HeaderValue` can hold, so reqwest can send them.
fn hostile_ids() -> Vec<Hostile> {
    let long = b"Xq7long-"
        .iter()
        .copied()
        .cycle()
        .take(10 * 1024)
        .collect();
    let hostile = |name, value, markers| Hostile {
        name,
        value,
        markers,
    };
    vec![
        hostile("10 KiB", long, &[b"Xq7long-Xq7long-"]),
        hostile(
            "non-ASCII",
            b"nonascii-marker-caf\xC3\xA9".to_vec(),
            &[b"nonascii-marker", b"caf\xC3\xA9"],
        ),
        hostile(
            "quotes and backslashes",
            br#"quote-marker "}\" \\ {"#.to_vec(),
            &[b"quote-marker", br#""}\" \\ {"#],
        ),
        hostile("empty", Vec::new(), &[]),
    ]
}

#[tokio::test]
async fn hostile_ids_are_replaced_and_never_logged() {
    let services = Services::start().await;
    for hostile in hostile_ids() {
        let header = HeaderValue::from_bytes(&hostile.value).expect("a header value");
        let res = services
            .client
            .get(format!("{}/catalog", services.gateway))
            .header(HEADER, header);
        let reply = Reply::read(res.send().await.expect("GET /catalog answers")).await;
        assert_replaced(&hostile, &reply).await;
    }
    services.stop().await;
}

#[tokio::test]
async fn obs_text_bytes_sent_raw_are_replaced_and_never_logged() {
    let services = Services::start().await;
    let hostile = Hostile {
        name: "obs-text",
        value: b"obs-marker-\xff\xfe\x80\x85end".to_vec(),
        markers: &[b"obs-marker", b"\xff\xfe\x80\x85"],
    };
    let reply = raw_get(&services, "/catalog", &hostile.value).await;
    assert_replaced(&hostile, &reply).await;
    services.stop().await;
}

/// A bare CR inside a header value is refused by the HTTP parser before any of our code runs:
/// the answer is a 400, nothing of the value is logged, and the server keeps serving.
#[tokio::test]
async fn a_bare_cr_in_the_id_is_refused_by_the_parser_and_never_logged() {
    let services = Services::start().await;
    let reply = raw_get(&services, "/catalog", b"cr-marker\rSet-Cookie: evil=1").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    if let Some(id) = reply.headers.get(HEADER) {
        assert_uuid_v7(id.to_str().expect("visible ASCII"));
    }
    assert_marker_never_logged(b"cr-marker");
    assert_marker_never_logged(b"evil=1");
    let after = services.get("/healthz", Some("after-bare-cr")).await;
    assert_eq!(
        (after.status, after.request_id()),
        (StatusCode::OK, "after-bare-cr")
    );
    services.stop().await;
}

/// The answer has a fresh UUID v7, the value is nowhere in the answer's headers or in the
/// log, and one warning records only its length.
async fn assert_replaced(hostile: &Hostile, reply: &Reply) {
    let name = hostile.name;
    assert_eq!(reply.status, StatusCode::OK, "{name}");
    let fresh = reply.request_id();
    assert_uuid_v7(fresh);
    assert_ne!(fresh.as_bytes(), hostile.value.as_slice(), "{name}");
    for (header, value) in &reply.headers {
        for marker in hostile.markers {
            assert!(
                !contains(value.as_bytes(), marker),
                "{name} echoed in {header}"
            );
        }
    }
    let warning = wait_for_line(name, |l| {
        l.request_id() == Some(fresh) && l.message() == Some(INVALID_ID_WARNING)
    })
    .await;
    assert_eq!(warning.len(), 1, "{name}: {warning:#?}");
    assert_eq!(
        warning[0]["rejected_len"],
        json!(hostile.value.len()),
        "{name}"
    );
    assert_eq!(
        (warning[0].service(), warning[0].text("level")),
        (Some("gateway"), Some("WARN")),
        "{name}"
    );
    assert_fresh_id_propagated(fresh, name);
    for marker in hostile.markers {
        assert_marker_never_logged(marker);
    }
}

/// The replacement id, not the hostile one, went on to inventory.
fn assert_fresh_id_propagated(fresh: &str, name: &str) {
    let all = lines();
    let inventory = all
        .iter()
        .filter(|l| l.request_id() == Some(fresh) && l.message() == Some("request completed"))
        .filter_map(|l| l.service())
        .collect::<Vec<_>>();
    assert_eq!(
        inventory,
        ["inventory", "gateway"],
        "{name}: completions under the fresh id"
    );
}

/// `marker` is neither in the captured bytes nor, when it is text, in any parsed string (after
/// JSON unescaping).
fn assert_marker_never_logged(marker: &[u8]) {
    let shown = String::from_utf8_lossy(marker);
    assert!(!contains(&raw_logs(), marker), "{shown} in the raw log");
    let Ok(text) = std::str::from_utf8(marker) else {
        return;
    };
    for line in lines() {
        let leaked = strings(&line).into_iter().any(|s| s.contains(text));
        assert!(!leaked, "{text} in {line:?}");
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    assert!(!needle.is_empty(), "an empty marker proves nothing");
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `GET path` written byte by byte on a TCP socket, with `id` as the request id, whatever
/// bytes it holds.
async fn raw_get(services: &Services, path: &str, id: &[u8]) -> Reply {
    let addr = services.gateway.trim_start_matches("http://");
    let mut request =
        format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n{HEADER}: ")
            .into_bytes();
    request.extend_from_slice(id);
    request.extend_from_slice(b"\r\n\r\n");
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(&request).await.expect("request written");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .expect("answered within 5 s")
        .expect("answer read");
    parse_response(&answer)
}

/// Splits a raw HTTP/1.1 answer into status, headers and body.
fn parse_response(answer: &[u8]) -> Reply {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = std::str::from_utf8(&answer[..end]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("a status line");
    let code = status_line.split(' ').nth(1).expect("a status code");
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("name: value");
        let name = http::HeaderName::from_bytes(name.trim().as_bytes()).expect("header name");
        headers.append(
            name,
            HeaderValue::from_str(value.trim()).expect("header value"),
        );
    }
    Reply {
        status: StatusCode::from_bytes(code.as_bytes()).expect("status code"),
        headers,
        body: answer[end + 4..].to_vec(),
    }
}

/// A bad body, what it should be answered with, and its content type.
struct BadBody {
    name: &'static str,
    body: Vec<u8>,
    content_type: &'static str,
    status: StatusCode,
}

fn json_bytes(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("serializes")
}

fn bad_bodies() -> Vec<BadBody> {
    let json = "application/json";
    let mut unknown = order_body("sticker-pack", 1, APPROVED_CARD);
    unknown["coupon"] = json!("FREE");
    let bad = |name, body, status| BadBody {
        name,
        body,
        content_type: json,
        status,
    };
    vec![
        bad(
            "malformed",
            br#"{"sku": "sticker-pack", "quantity": "#.to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        bad(
            "wrong type",
            json_bytes(
                &json!({"sku": "sticker-pack", "quantity": "two", "card_number": APPROVED_CARD}),
            ),
            StatusCode::BAD_REQUEST,
        ),
        bad(
            "unknown field",
            json_bytes(&unknown),
            StatusCode::BAD_REQUEST,
        ),
        bad(
            "quantity 0",
            json_bytes(&order_body("sticker-pack", 0, APPROVED_CARD)),
            StatusCode::BAD_REQUEST,
        ),
        bad(
            "quantity 101",
            json_bytes(&order_body("sticker-pack", 101, APPROVED_CARD)),
            StatusCode::BAD_REQUEST,
        ),
        bad(
            "invalid Luhn",
            json_bytes(&order_body("sticker-pack", 1, "4242 4242 4242 4241")),
            StatusCode::BAD_REQUEST,
        ),
        bad(
            "70 KiB",
            json_bytes(&order_body(&"s".repeat(70 * 1024), 1, APPROVED_CARD)),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        BadBody {
            name: "not JSON",
            body: b"sku=x".to_vec(),
            content_type: "text/plain",
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        },
    ]
}

#[tokio::test]
async fn bad_bodies_get_json_errors_and_a_valid_order_still_succeeds() {
    let services = Services::start().await;
    for (n, bad) in bad_bodies().into_iter().enumerate() {
        let id = format!("bad-body-{n}");
        let req = services.client.post(format!("{}/orders", services.gateway));
        let req = req
            .header(HEADER, &id)
            .header("content-type", bad.content_type)
            .body(bad.body);
        let reply = Reply::read(req.send().await.expect("answers")).await;
        assert_eq!(reply.request_id(), id, "{}", bad.name);
        let error = reply.assert_error(bad.status);
        assert!(!error.is_empty(), "{}", bad.name);
        assert_refused_at_the_gateway(&id, bad.status, bad.name);
    }
    let reply = services
        .place(&order_body("sticker-pack", 1, APPROVED_CARD), None)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    services.stop().await;
}

/// Only the gateway logged the request, with one warning completion event.
fn assert_refused_at_the_gateway(id: &str, status: StatusCode, name: &str) {
    let all = lines();
    let with_id: Vec<&Line> = all.iter().filter(|l| l.request_id() == Some(id)).collect();
    assert!(
        with_id.iter().all(|l| l.service() == Some("gateway")),
        "{name}: went past the gateway: {with_id:#?}"
    );
    let completed: Vec<_> = with_id
        .iter()
        .filter(|l| l.message() == Some("request completed"))
        .collect();
    assert_eq!(completed.len(), 1, "{name}");
    assert_eq!(completed[0]["status"], json!(status.as_u16()), "{name}");
    assert_eq!(completed[0].text("level"), Some("WARN"), "{name}");
}

#[tokio::test]
async fn an_order_beyond_the_stock_is_a_conflict_and_takes_nothing() {
    let services = Services::start().await;
    let reply = services
        .place(&order_body("poster-limited", 4, APPROVED_CARD), None)
        .await;
    reply.assert_error(StatusCode::CONFLICT);
    assert_eq!(services.stock("poster-limited").await, 3);
    let reply = services
        .place(&order_body("poster-limited", 3, APPROVED_CARD), None)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::CREATED,
        "the whole stock can still be ordered"
    );
    services.stop().await;
}

#[tokio::test]
async fn an_unknown_route_is_a_404_that_still_carries_the_id() {
    let services = Services::start().await;
    let reply = services
        .get("/no/such/route", Some("unknown-route-1"))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.request_id(), "unknown-route-1");
    let fresh = services.get("/no/such/route", None).await;
    assert_eq!(fresh.status, StatusCode::NOT_FOUND);
    assert_uuid_v7(fresh.request_id());
    services.stop().await;
}

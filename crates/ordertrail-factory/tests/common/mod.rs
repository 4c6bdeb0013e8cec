//! What the integration tests share: one log-capturing subscriber per test binary, the four
//! services on loopback, and readers for the captured JSON lines.
//!
//! Tests of one binary run in parallel and write to the same buffer, so every assertion first
//! picks its own lines, by request id or order id.

// Each test binary uses its own part of the harness.
#![allow(dead_code, unused_imports)]

pub mod logs;

use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use serde_json::{Value, json};

pub use logs::{Line, LineExt, LogCursor, lines, raw_logs, wait_for_line};

/// The header the request id travels in.
pub const HEADER: &str = "x-request-id";

/// The approved test card, as a client would type it.
pub const APPROVED_CARD: &str = "4242 4242 4242 4242";

/// The declined test card.
pub const DECLINED_CARD: &str = "4000 0000 0000 0002";

/// The four services of one test, and a client for them.
pub struct Services {
    factory: Factory,
    /// Base URL of the gateway.
    pub gateway: String,
    /// A pooled client; it sends no request id unless told to.
    pub client: reqwest::Client,
}

/// Starts the four services (in-memory SQLite) with the capturing subscriber installed.
pub async fn start() -> Services {
    logs::install();
    let factory = Factory::start(ServiceOptions::default())
        .await
        .expect("services start");
    let gateway = factory.url(ServiceName::Gateway);
    Services {
        factory,
        gateway,
        client: client(),
    }
}

/// A client with a short overall timeout, so a hung server fails the test instead of hanging it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client builds")
}

/// An order for one sticker pack with `card`.
pub fn order_body(sku: &str, quantity: u32, card: &str) -> Value {
    json!({ "sku": sku, "quantity": quantity, "card_number": card })
}

/// One answer, read in full.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// Reads `res` to the end.
    pub async fn read(res: reqwest::Response) -> Self {
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.expect("body reads").to_vec();
        Self {
            status,
            headers,
            body,
        }
    }

    /// The echoed request id; fails the test when there is none or it is not text.
    pub fn request_id(&self) -> &str {
        let value = self.headers.get(HEADER).expect("response has x-request-id");
        value.to_str().expect("x-request-id is visible ASCII")
    }

    /// The body as JSON; fails the test when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error answer: `status`, and a body that is exactly `{"error": <text>,
    /// "request_id": <the echoed id>}`. Returns the error text.
    pub fn assert_error(&self, status: StatusCode) -> String {
        assert_eq!(
            self.status,
            status,
            "body: {:?}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        let object = body.as_object().expect("error body is an object");
        assert_eq!(
            object.len(),
            2,
            "error body has exactly error and request_id: {body}"
        );
        assert_eq!(
            body["request_id"],
            json!(self.request_id()),
            "body id equals header id"
        );
        body["error"].as_str().expect("error is text").to_owned()
    }
}

impl Services {
    /// `POST /orders` at the gateway, with `request_id` in the header when given.
    pub async fn place(&self, body: &Value, request_id: Option<&str>) -> Reply {
        let mut req = self
            .client
            .post(format!("{}/orders", self.gateway))
            .json(body);
        if let Some(id) = request_id {
            req = req.header(HEADER, id);
        }
        Reply::read(req.send().await.expect("POST /orders answers")).await
    }

    /// `GET {gateway}{path}`, with `request_id` in the header when given.
    pub async fn get(&self, path: &str, request_id: Option<&str>) -> Reply {
        let mut req = self.client.get(format!("{}{path}", self.gateway));
        if let Some(id) = request_id {
            req = req.header(HEADER, id);
        }
        Reply::read(req.send().await.expect("GET answers")).await
    }

    /// The stock of `sku` according to `GET /catalog`.
    pub async fn stock(&self, sku: &str) -> u64 {
        let catalog = self.get("/catalog", None).await.json();
        let items = catalog.as_array().expect("catalog is an array");
        let item = items
            .iter()
            .find(|i| i["sku"] == json!(sku))
            .expect("sku in catalog");
        item["stock"].as_u64().expect("stock is a number")
    }

    /// Polls `GET /orders/{order_id}` (quoting `request_id`) until the order is dispatched, at
    /// most 5 s, then waits for the dispatch log line, which is written just after.
    pub async fn wait_dispatched(&self, order_id: &str, request_id: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut status = Value::Null;
        for _ in 0..500 {
            status = self
                .get(&format!("/orders/{order_id}"), Some(request_id))
                .await
                .json()["status"]
                .clone();
            if status == json!("dispatched") || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            status,
            json!("dispatched"),
            "order {order_id} was not dispatched in 5 s"
        );
        wait_for_line("the dispatch line", |l| {
            l.message() == Some("order dispatched") && l.text("order_id") == Some(order_id)
        })
        .await;
    }

    /// Stops the services gracefully.
    pub async fn stop(self) {
        self.factory.stop().await;
    }
}

/// Asserts that `text` is a UUID v7 in its hyphenated form.
pub fn assert_uuid_v7(text: &str) {
    let uuid =
        uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{text:?} is not a UUID: {e}"));
    assert_eq!(uuid.get_version_num(), 7, "{text} is not a v7 UUID");
    assert_eq!(
        uuid.hyphenated().to_string(),
        text,
        "{text} is not in hyphenated lower case"
    );
}

/// A router served on `127.0.0.1:0` until [`stop`](Self::stop).
pub struct Served {
    /// Its base URL.
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `router` with [`ordertrail::web::serve`], the capturing subscriber installed.
/// `GET url` with `x-request-id: id`, read in full.
pub async fn get_with_id(client: &reqwest::Client, url: String, id: &str) -> Reply {
    Reply::read(
        client
            .get(url)
            .header(HEADER, id)
            .send()
            .await
            .expect("answers"),
    )
    .await
}

pub async fn serve(router: axum::Router) -> Served {
    logs::install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("has an address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(ordertrail::web::serve(listener, router, shutdown));
    Served { url, stop, task }
}

impl Served {
    /// Shuts down gracefully and checks the server ended without error.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        ended
            .expect("stops within 5 s")
            .expect("task ends")
            .expect("serve ends cleanly");
    }
}

//! The services in-process: the four factory services on loopback with the capturing
//! subscriber installed ([`Services`]), or any router served the same way ([`Served`]).

use std::time::Duration;

use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use serde_json::{Value, json};

use crate::logs::{self, LineExt, wait_for_line};
use crate::{Reply, client_builder, post_order, send};

/// How long one request to the in-process services may take: longer than
/// [`REQUEST_TIMEOUT`](crate::REQUEST_TIMEOUT), as tests keep hundreds in flight on two cores.
const SERVICES_TIMEOUT: Duration = Duration::from_secs(20);

/// The four services of one test, and a client for them.
#[derive(Debug)]
pub struct Services {
    factory: Factory,
    /// Base URL of the gateway.
    pub gateway: String,
    /// A pooled client; it sends no request id unless told to.
    pub client: reqwest::Client,
}

impl Services {
    /// Starts the four services (in-memory SQLite) with the capturing subscriber installed.
    pub async fn start() -> Self {
        logs::install();
        let factory = Factory::start(ServiceOptions::default())
            .await
            .expect("services start");
        let gateway = factory.url(ServiceName::Gateway);
        let client = client_builder(SERVICES_TIMEOUT)
            .build()
            .expect("client builds");
        Self {
            factory,
            gateway,
            client,
        }
    }

    /// `POST /orders` at the gateway, with `request_id` in the header when given.
    pub async fn place(&self, body: &Value, request_id: Option<&str>) -> Reply {
        post_order(&self.client, &self.gateway, body, request_id).await
    }

    /// `GET {gateway}{path}`, with `request_id` in the header when given.
    pub async fn get(&self, path: &str, request_id: Option<&str>) -> Reply {
        send(
            self.client.get(format!("{}{path}", self.gateway)),
            request_id,
        )
        .await
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
        let timeout = Duration::from_secs(5);
        let (client, gateway) = (&self.client, self.gateway.as_str());
        crate::wait_dispatched(client, gateway, order_id, Some(request_id), timeout).await;
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

/// A router served on `127.0.0.1:0` until [`stop`](Self::stop).
#[derive(Debug)]
pub struct Served {
    /// Its base URL.
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Serves `router` with [`ordertrail::web::serve`], the capturing subscriber installed.
    pub async fn start(router: axum::Router) -> Self {
        logs::install();
        let listener = tokio::net::TcpListener::bind(crate::loopback(0))
            .await
            .expect("binds");
        let url = format!("http://{}", listener.local_addr().expect("has an address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(ordertrail::web::serve(listener, router, shutdown));
        Self { url, stop, task }
    }

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

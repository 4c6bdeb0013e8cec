//! With the collector down, the services still answer every request; once a collector comes up
//! on the configured address, export resumes without restarting them: telemetry is never on the
//! request path and never needs a restart.

use std::time::Duration;

use ordertrail_testkit::{
    Collector, CollectorConfig, EXPORT_WAIT, Received, Stack, StackConfig, binary, free_port,
    get_with_id, loopback, server_span, wait_until,
};

/// Requests sent while nothing listens on the OTLP port.
const WHILE_DOWN: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_export_resumes_when_the_collector_comes_up() {
    export_resumes(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_export_resumes_when_the_collector_comes_up() {
    export_resumes(Some("http/protobuf")).await;
}

async fn export_resumes(protocol: Option<&'static str>) {
    let port = free_port();
    let mut config = StackConfig::new(format!("http://{}", loopback(port)));
    if let Some(protocol) = protocol {
        config = config.protocol(protocol);
    }
    let stack = Stack::start(&binary!(), &config).await;
    let catalog = format!("{}/catalog", stack.gateway());

    for n in 0..WHILE_DOWN {
        let reply = get_with_id(&stack.client, &catalog, &format!("while-down-{n}"), &[]).await;
        assert!(
            reply.status.is_success(),
            "request {n} while the collector is down: {}",
            reply.status
        );
    }
    // Not a wait for a condition: lets several scheduled exports (every 200 ms) fail first.
    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let collector = collector_on(port).await;
    let received = collector.received();
    let request_id = format!("after-start-{}", uuid::Uuid::new_v4());
    let arrived = |r: &Received| {
        let spans = r.spans();
        let logs = r.logs();
        let logged = |service: &str| {
            logs.iter().any(|l| {
                l.service_name() == Some(service)
                    && l.attribute_str("request_id") == Some(request_id.as_str())
            })
        };
        server_span(&spans, "gateway", &request_id, "GET /catalog").is_some()
            && server_span(&spans, "inventory", &request_id, "GET /catalog").is_some()
            && logged("gateway")
            && logged("inventory")
    };
    // Keep sending: the batch in flight when the collector came up may still have failed.
    let keep_sending = async {
        loop {
            let reply = get_with_id(&stack.client, &catalog, &request_id, &[]).await;
            assert!(
                reply.status.is_success(),
                "after the collector came up: {}",
                reply.status
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    tokio::select! {
        () = wait_until(&received, "spans and log records sent after the collector came up", EXPORT_WAIT, arrived) => {}
        () = keep_sending => {}
    }
    collector.shutdown().await.expect("collector stops");
}

/// A collector on `127.0.0.1:port`, retrying the bind for up to 5 s.
async fn collector_on(port: u16) -> Collector {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let listener = loop {
        match tokio::net::TcpListener::bind(loopback(port)).await {
            Ok(listener) => break listener,
            Err(err) if tokio::time::Instant::now() >= deadline => {
                panic!("cannot bind the collector on port {port}: {err}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    Collector::start(listener, CollectorConfig::in_memory())
        .await
        .expect("start the collector")
}

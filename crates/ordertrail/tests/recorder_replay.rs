//! The flight recorder over real HTTP: an edge and an internal service on `127.0.0.1:0`, one
//! subscriber with a JSON output at `info` and the recorder replaying into it. Each test picks
//! its own lines by request id.

use std::io;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ordertrail::correlation::{self, CorrelationLayer};
use ordertrail::logging::JsonLayer;
use ordertrail::outgoing::ClientConfig;
use ordertrail::propagation::InboundTrace;
use ordertrail::recorder::{
    DEBUG_HEADER, DebugKey, REPLAY_HEADER, Recorder, RecorderConfig, RecorderHandle,
};
use ordertrail::web::{instrument, serve};
use reqwest_middleware::ClientWithMiddleware;
use serde_json::Value;
use tracing::{debug, error};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const SECRET: &[u8] = b"recorder test secret";
const SLOW: Duration = Duration::from_millis(300);

/// Everything the JSON output wrote.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

struct Installed {
    capture: Capture,
    recorder: RecorderHandle,
}

/// The process's subscriber: JSON at `info`, and the recorder replaying into the same output.
fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let capture = Capture::default();
        let json = JsonLayer::new("test", capture.clone());
        let config = RecorderConfig::default()
            .slow_after(Some(SLOW))
            .keep_statuses([418])
            .debug_secret(SECRET.to_vec());
        let recorder = Recorder::new(config, vec![Arc::new(json.replay_sink())]);
        let handle = recorder.handle();
        let filter = recorder.filter("info");
        tracing_subscriber::registry()
            .with(json.with_filter(EnvFilter::new("info")))
            .with(recorder.with_filter(filter))
            .init();
        install_panic_hook_keeping_default();
        Installed {
            capture,
            recorder: handle,
        }
    })
}

/// Our panic hook (a panic becomes an `ERROR` event in its request), then the default one, so
/// a failing assertion still prints its message.
fn install_panic_hook_keeping_default() {
    let default = std::panic::take_hook();
    ordertrail::logging::install_panic_hook();
    let ours = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        ours(info);
        default(info);
    }));
}

/// The lines of `request_id`, in the order written.
fn lines_of(request_id: &str) -> Vec<Value> {
    let bytes = installed().capture.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["request_id"] == request_id)
        .collect()
}

fn messages(lines: &[Value], level: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["level"] == level)
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Two `DEBUG` steps, then `status`.
async fn steps(status: StatusCode) -> StatusCode {
    debug!(step = 1, "step one");
    debug!(step = 2, "step two");
    status
}

async fn internal_ok() -> StatusCode {
    debug!("internal detail");
    StatusCode::OK
}

async fn internal_fail() -> StatusCode {
    debug!("internal failure detail");
    StatusCode::SERVICE_UNAVAILABLE
}

/// Calls the internal service: `/ok`, `/fail`, then `/ok` again.
async fn chain(State(internal): State<Internal>) -> StatusCode {
    debug!("edge calls internal");
    for path in ["/ok", "/fail", "/ok"] {
        let _ = internal
            .client
            .get(format!("{}{path}", internal.url))
            .send()
            .await;
    }
    StatusCode::OK
}

#[derive(Clone)]
struct Internal {
    url: String,
    client: ClientWithMiddleware,
}

async fn start(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, router, std::future::pending()));
    url
}

/// An internal service (trusts baggage) and the edge in front of it (links); the edge's URL.
async fn services() -> String {
    installed();
    let internal = Router::new()
        .route("/ok", get(internal_ok))
        .route("/fail", get(internal_fail));
    let correlation = CorrelationLayer::new()
        .service("internal")
        .inbound_trace(InboundTrace::Trust);
    let internal = Internal {
        url: start(instrument(internal, correlation)).await,
        client: ClientConfig::default().build().unwrap(),
    };
    let edge = Router::new()
        .route("/ok", get(|| steps(StatusCode::OK)))
        .route("/fail", get(|| steps(StatusCode::SERVICE_UNAVAILABLE)))
        .route("/teapot", get(|| steps(StatusCode::IM_A_TEAPOT)))
        .route("/slow", get(slow))
        .route("/error-event", get(error_event))
        .route("/spawned", get(spawned))
        .route("/panic", get(panics))
        .route("/chain", get(chain))
        .with_state(internal);
    let correlation = CorrelationLayer::new()
        .service("edge")
        .inbound_trace(InboundTrace::Link);
    start(instrument(edge, correlation)).await
}

async fn slow() -> StatusCode {
    debug!("before the wait");
    tokio::time::sleep(SLOW + Duration::from_millis(100)).await;
    StatusCode::OK
}

async fn error_event() -> StatusCode {
    debug!("before the error");
    error!("something broke");
    StatusCode::OK
}

async fn panics() -> StatusCode {
    debug!("about to panic");
    panic!("a handler bug");
}

async fn spawned() -> StatusCode {
    correlation::spawn(async { debug!("inside a spawned task") })
        .await
        .unwrap();
    StatusCode::INTERNAL_SERVER_ERROR
}

/// GET `url` as request `id` with extra headers; the replay header of the answer.
async fn get_as(url: &str, id: &str, headers: &[(&str, &str)]) -> Option<String> {
    let mut request = reqwest::Client::new().get(url).header("x-request-id", id);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let res = request.send().await.unwrap();
    res.headers()
        .get(REPLAY_HEADER)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Asserts the `DEBUG` lines of `id` are `expected`, replayed for `trigger`, before the
/// completion line and no later than it.
fn assert_replayed(id: &str, expected: &[&str], trigger: &str) {
    let lines = lines_of(id);
    assert_eq!(messages(&lines, "DEBUG"), expected, "{lines:#?}");
    let completed = lines
        .iter()
        .position(|l| l["message"] == "request completed")
        .expect("a completion line");
    let mut last = String::new();
    for (i, line) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l["level"] == "DEBUG")
    {
        assert_eq!(line["replayed"], true, "{line}");
        assert_eq!(line["replay_trigger"], trigger, "{line}");
        assert!(
            i < completed,
            "replayed after the completion line: {lines:#?}"
        );
        let stamp = line["timestamp"].as_str().unwrap().to_owned();
        assert!(stamp >= last, "out of order: {lines:#?}");
        last = stamp;
    }
    assert!(last.as_str() <= lines[completed]["timestamp"].as_str().unwrap());
}

#[tokio::test]
async fn a_failed_request_replays_its_debug_lines_in_order_before_the_completion_line() {
    let edge = services().await;
    let replay = get_as(&format!("{edge}/fail"), "fail-1", &[]).await;
    assert_eq!(replay.as_deref(), Some("server_error"));
    assert_replayed("fail-1", &["step one", "step two"], "server_error");
    let step = lines_of("fail-1")
        .into_iter()
        .find(|l| l["message"] == "step two");
    assert_eq!(step.unwrap()["step"], 2, "fields are kept");
}

#[tokio::test]
async fn a_successful_request_leaves_no_debug_line() {
    let edge = services().await;
    assert_eq!(get_as(&format!("{edge}/ok"), "ok-1", &[]).await, None);
    let lines = lines_of("ok-1");
    assert_eq!(messages(&lines, "INFO"), ["request completed"]);
    assert!(messages(&lines, "DEBUG").is_empty(), "{lines:#?}");
}

#[tokio::test]
async fn slow_error_event_status_and_spawned_work_each_replay() {
    let edge = services().await;
    let cases = [
        ("/slow", "slow-1", vec!["before the wait"], "slow"),
        (
            "/error-event",
            "error-1",
            vec!["before the error"],
            "error_event",
        ),
        (
            "/teapot",
            "teapot-1",
            vec!["step one", "step two"],
            "status",
        ),
        ("/panic", "panic-1", vec!["about to panic"], "panic"),
        (
            "/spawned",
            "spawned-1",
            vec!["inside a spawned task"],
            "server_error",
        ),
    ];
    for (path, id, expected, trigger) in cases {
        let replay = get_as(&format!("{edge}{path}"), id, &[]).await;
        assert_eq!(replay.as_deref(), Some(trigger), "{path}");
        assert_replayed(id, &expected, trigger);
    }
}

#[tokio::test]
async fn a_valid_debug_token_replays_that_request_and_an_invalid_one_nothing() {
    let edge = services().await;
    let token = DebugKey::new(SECRET.to_vec()).token_for("debug-1");
    let refused_before = installed().recorder.stats().snapshot().debug_refused;
    let replay = get_as(&format!("{edge}/ok"), "debug-1", &[(DEBUG_HEADER, &token)]).await;
    assert_eq!(replay.as_deref(), Some("debug"));
    assert_replayed("debug-1", &["step one", "step two"], "debug");

    let forged = DebugKey::new(b"another secret".to_vec()).token_for("debug-2");
    for (id, value) in [
        ("debug-2", forged.as_str()),
        ("debug-3", token.as_str()),
        ("debug-4", "zz"),
    ] {
        let replay = get_as(&format!("{edge}/ok"), id, &[(DEBUG_HEADER, value)]).await;
        assert_eq!(replay, None, "{id}");
        assert!(messages(&lines_of(id), "DEBUG").is_empty(), "{id}");
    }
    let refused = installed().recorder.stats().snapshot().debug_refused - refused_before;
    assert!(refused >= 3, "{refused}");
}

#[tokio::test]
async fn the_edge_ignores_a_debug_flag_in_baggage_and_counts_it() {
    let edge = services().await;
    let stripped_before = installed().recorder.stats().snapshot().flags_stripped;
    let baggage = [("baggage", "ordertrail.debug=1,ordertrail.keep=1")];
    assert_eq!(
        get_as(&format!("{edge}/ok"), "forged-1", &baggage).await,
        None
    );
    assert!(messages(&lines_of("forged-1"), "DEBUG").is_empty());
    let stripped = installed().recorder.stats().snapshot().flags_stripped - stripped_before;
    assert!(stripped >= 1);
}

#[tokio::test]
async fn a_debug_request_carries_its_flag_to_the_internal_service() {
    let edge = services().await;
    let token = DebugKey::new(SECRET.to_vec()).token_for("debug-chain-1");
    let replay = get_as(
        &format!("{edge}/chain"),
        "debug-chain-1",
        &[(DEBUG_HEADER, &token)],
    )
    .await;
    assert_eq!(replay.as_deref(), Some("debug"));
    let lines = lines_of("debug-chain-1");
    let internal: Vec<_> = lines
        .iter()
        .filter(|l| l["service"] == "internal" && l["level"] == "DEBUG")
        .collect();
    assert_eq!(internal.len(), 3, "{lines:#?}");
    assert!(
        internal.iter().all(|l| l["replay_trigger"] == "debug"),
        "{internal:#?}"
    );
}

#[tokio::test]
async fn a_failed_call_makes_later_calls_keep_and_the_callee_replays_what_it_held() {
    let edge = services().await;
    let replay = get_as(&format!("{edge}/chain"), "chain-1", &[]).await;
    assert_eq!(replay.as_deref(), Some("downstream_failed"));
    let lines = lines_of("chain-1");
    let internal: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["service"] == "internal" && l["level"] == "DEBUG")
        .map(|l| {
            let text = |key: &str| l[key].as_str().unwrap_or_default().to_owned();
            (text("message"), text("replay_trigger"))
        })
        .collect();
    // The first /ok was held, then replayed with the next replay of the same id in this
    // process (the /fail); the third call arrived with the keep flag and replayed too.
    let expected = [
        ("internal detail", "server_error"),
        ("internal failure detail", "server_error"),
        ("internal detail", "caller"),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(m, t)| ((*m).into(), (*t).into()))
        .collect();
    assert_eq!(internal, expected, "{lines:#?}");
}

//! The flight recorder's bounds under load: 2,000 requests in flight at once on a real server,
//! each logging more `DEBUG` detail than the global budget can hold for all of them. The
//! budget is never exceeded, every event is either kept or counted as dropped, the kept ones
//! are discarded (and counted) when the requests succeed, and the budget is empty afterwards.
//! A request past its own bounds loses its oldest events and its replay says how many.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ordertrail::correlation::CorrelationLayer;
use ordertrail::logging::JsonLayer;
use ordertrail::recorder::{Recorder, RecorderConfig, RecorderHandle};
use ordertrail::web::{ServeConfig, instrument, serve_with};
use tokio::sync::watch;
use tracing::debug;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Layer};

const REQUESTS: usize = 2_000;
const EVENTS_PER_REQUEST: usize = 16;
const BUDGET: usize = 512 * 1024;
const MAX_EVENTS: usize = 64;
/// The longest the gate waits for every request to arrive.
const GATE: Duration = Duration::from_secs(20);

#[derive(Clone)]
struct Gate {
    arrived: Arc<AtomicUsize>,
    all_in: watch::Sender<bool>,
}

/// Logs its detail, then waits until every request has arrived (at most [`GATE`]).
async fn busy(State(gate): State<Gate>) -> StatusCode {
    for step in 0..EVENTS_PER_REQUEST {
        debug!(
            step,
            note = "some detail of this step, long enough to weigh",
            "working"
        );
    }
    if gate.arrived.fetch_add(1, Ordering::SeqCst) + 1 >= REQUESTS {
        let _ = gate.all_in.send(true);
    }
    let mut all_in = gate.all_in.subscribe();
    let _ = tokio::time::timeout(GATE, all_in.wait_for(|all| *all)).await;
    StatusCode::OK
}

/// Logs more events than a request may keep, then fails.
async fn chatty() -> StatusCode {
    for step in 0..MAX_EVENTS + 10 {
        debug!(step, "chatty");
    }
    StatusCode::INTERNAL_SERVER_ERROR
}

fn subscriber(recorder: &Recorder) -> impl tracing::Subscriber + Send + Sync {
    let json = JsonLayer::new("budget", std::io::sink);
    let filter = recorder.filter("info");
    tracing_subscriber::registry()
        .with(json.with_filter(EnvFilter::new("info")))
        .with(recorder.clone().with_filter(filter))
}

async fn start(gate: Gate) -> String {
    let routes = Router::new()
        .route("/busy", get(busy))
        .route("/chatty", get(chatty))
        .with_state(gate);
    let router = instrument(routes, CorrelationLayer::new().service("budget"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let config = ServeConfig::default().max_connections(REQUESTS * 2);
    tokio::spawn(serve_with(listener, router, std::future::pending(), config));
    url
}

async fn load(url: &str) -> usize {
    let client = reqwest::Client::builder()
        .timeout(GATE + Duration::from_secs(10))
        .build()
        .unwrap();
    let calls = (0..REQUESTS).map(|i| {
        let request = client
            .get(format!("{url}/busy"))
            .header("x-request-id", format!("busy-{i}"));
        tokio::spawn(async move { request.send().await.map(|r| r.status()) })
    });
    let mut ok = 0;
    for call in calls.collect::<Vec<_>>() {
        if call.await.unwrap().is_ok_and(|s| s.is_success()) {
            ok += 1;
        }
    }
    ok
}

/// Both ends of 2,000 connections live in this process: raises the soft descriptor limit
/// toward the hard one when it is too low (as a shell's `ulimit -n` would), and says so
/// plainly when even the hard limit cannot hold them, rather than failing with "too many open
/// files" half-way.
fn assert_enough_descriptors() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let needed = u64::try_from(REQUESTS * 2 + 200).expect("fits u64");
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    if soft < needed {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, needed.min(hard), hard);
    }
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    assert!(
        soft >= needed,
        "open files: soft limit {soft}, hard limit {hard}; this test needs {needed}"
    );
}

/// Installs the process's subscriber: a JSON output (to nowhere) at `info` and the recorder,
/// replaying into a capture of the replayed lines.
fn install() -> (RecorderHandle, Capture) {
    let config = RecorderConfig::default()
        .budget_bytes(BUDGET)
        .per_request(MAX_EVENTS, 64 * 1024)
        .hold(Duration::ZERO, 0)
        .slow_after(None);
    let capture = Capture::default();
    let replayed = JsonLayer::new("budget", capture.clone()).replay_sink();
    let recorder = Recorder::new(config, vec![Arc::new(replayed)]);
    let handle = recorder.handle();
    tracing::subscriber::set_global_default(subscriber(&recorder)).unwrap();
    (handle, capture)
}

/// The replayed lines.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_requests_in_flight_stay_within_the_budget() {
    assert_enough_descriptors();
    let (handle, capture) = install();
    let (all_in, _) = watch::channel(false);
    let gate = Gate {
        arrived: Arc::default(),
        all_in,
    };
    let url = start(gate.clone()).await;
    assert_eq!(load(&url).await, REQUESTS, "every request answered");
    assert_eq!(
        gate.arrived.load(Ordering::SeqCst),
        REQUESTS,
        "all were in flight together"
    );
    let stats = handle.stats().snapshot();
    let budget = handle.budget();
    assert!(
        budget.peak() <= BUDGET,
        "peak {} over {BUDGET}",
        budget.peak()
    );
    assert!(stats.dropped_budget > 0, "the budget was tested: {stats:?}");
    let events = (REQUESTS * EVENTS_PER_REQUEST) as u64;
    assert_eq!(
        stats.kept + stats.dropped_budget + stats.dropped_per_request,
        events,
        "{stats:?}"
    );
    assert_eq!(stats.discarded_events, stats.kept, "{stats:?}");
    assert_eq!(stats.replayed_events, 0, "{stats:?}");
    assert_eq!(budget.in_use(), 0, "every byte given back");

    // One request past its own bounds: the oldest go, and its replay says how many.
    let res = reqwest::get(format!("{url}/chatty")).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), MAX_EVENTS);
    assert_eq!(lines[0]["step"], 10, "the oldest ten were dropped");
    assert!(
        lines.iter().all(|l| l["replay_dropped"] == 10),
        "{}",
        lines[0]
    );
}

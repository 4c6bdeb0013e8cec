//! A full disk: the collector refuses what it cannot write as retryable, counts it, leaves no
//! torn line behind, and writes again once space returns.
//!
//! The body runs on a real, small tmpfs (256 KiB) mounted in a private mount namespace, so the
//! host's disks are never filled. The outer test re-runs this binary under `unshare`, which
//! mounts the tmpfs and runs the ignored inner test in it:
//!
//! ```text
//! unshare --mount sh -c 'mount -t tmpfs -o size=256k tmpfs DIR && exec <this binary> --exact <inner> --ignored'
//! ```
//!
//! Where no namespace can be made (no `unshare`, no privileges), the test says why on stderr
//! and passes, except under `CI=true`, where it fails.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use ordertrail_collector::{Collector, CollectorConfig, TRACES_FILE, TRACES_PATH};
use prost::Message as _;

/// Where the outer test tells the inner one the tmpfs is mounted.
const TMPFS_ENV: &str = "ORDERTRAIL_TEST_TMPFS";
/// The inner test, run only inside the namespace.
const INNER: &str = "full_disk_inside_tmpfs";
/// Exit code of the mount script when `mount` itself failed.
const MOUNT_FAILED: i32 = 77;
/// An attribute big enough that a line never fits in the slack of the file's last page.
const PADDING: usize = 16 * 1024;

#[test]
fn full_disk_is_refused_as_retryable_and_leaves_whole_lines() {
    let dir = std::env::temp_dir().join(format!("ordertrail-tmpfs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let outcome = run_in_tmpfs(&dir);
    let _ = std::fs::remove_dir(&dir);
    match outcome {
        Ok(()) => {}
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI must run the disk-full test, but it could not mount a tmpfs: {why}")
        }
        Err(why) => eprintln!("skipping the disk-full test: cannot mount a tmpfs: {why}"),
    }
}

/// Runs [`INNER`] with a tmpfs at `dir`, trying a plain mount namespace (root) and then one
/// with a user namespace. `Err` says why no namespace could be made; a failing inner test
/// panics here.
fn run_in_tmpfs(dir: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs \"$1\" || exit {MOUNT_FAILED}; \
         exec \"$2\" --exact {INNER} --ignored --nocapture --test-threads 1"
    );
    let mut reasons = Vec::new();
    for flags in [&["--mount"][..], &["--mount", "--map-root-user"][..]] {
        let status = Command::new("unshare")
            .args(flags)
            .args(["sh", "-c", &script, "sh"])
            .arg(dir)
            .arg(&exe)
            .env(TMPFS_ENV, dir)
            .status();
        match status {
            Ok(status) if status.success() => return Ok(()),
            // libtest exits 101 when a test failed: the namespace worked, the behaviour did not.
            Ok(status) if status.code() == Some(101) => panic!("the disk-full test failed"),
            Ok(status) => reasons.push(format!("unshare {flags:?}: {status}")),
            Err(error) => reasons.push(format!("unshare {flags:?}: {error}")),
        }
    }
    Err(reasons.join("; "))
}

#[tokio::test]
#[ignore = "runs inside a tmpfs, started by full_disk_is_refused_as_retryable_and_leaves_whole_lines"]
async fn full_disk_inside_tmpfs() {
    let tmpfs = PathBuf::from(std::env::var_os(TMPFS_ENV).expect("run by the outer test"));
    let out = tmpfs.join("out");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = CollectorConfig::in_memory().out_dir(&out);
    let collector = Collector::start(listener, config).await.unwrap();

    assert_eq!(post(&collector, "before").await, reqwest::StatusCode::OK);
    let filler = fill(&tmpfs.join("filler"));

    let refused = post_response(&collector, "while-full-http").await;
    assert_eq!(refused.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    let grpc = export_grpc(&collector, "while-full-grpc").await;
    assert_eq!(grpc.unwrap_err().code(), tonic::Code::Unavailable);
    assert_eq!(collector.received().counts().write_failures, 2);
    assert_eq!(span_names(&out), ["before"], "no torn line is left");

    std::fs::remove_file(filler).unwrap();
    assert_eq!(post(&collector, "after").await, reqwest::StatusCode::OK);
    export_grpc(&collector, "after-grpc").await.unwrap();
    assert_eq!(span_names(&out), ["before", "after", "after-grpc"]);
    collector.shutdown().await.unwrap();
}

/// Writes `path` until the file system is full; returns it for freeing space later.
fn fill(path: &Path) -> PathBuf {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![b'x'; 4096];
    while file.write_all(&chunk).is_ok() {}
    path.to_owned()
}

/// One span named `name`, with a large attribute so that its line spills over a page.
fn request(name: &str) -> ExportTraceServiceRequest {
    let padding = KeyValue {
        key: "padding".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("p".repeat(PADDING))),
        }),
        ..KeyValue::default()
    };
    let span = Span {
        name: name.into(),
        attributes: vec![padding],
        ..Span::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span],
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

async fn post_response(collector: &Collector, name: &str) -> reqwest::Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    client
        .post(collector.http_endpoint(TRACES_PATH))
        .header("content-type", "application/x-protobuf")
        .body(request(name).encode_to_vec())
        .send()
        .await
        .unwrap()
}

async fn post(collector: &Collector, name: &str) -> reqwest::StatusCode {
    post_response(collector, name).await.status()
}

async fn export_grpc(collector: &Collector, name: &str) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(collector.grpc_endpoint())
        .await
        .unwrap();
    client.export(request(name)).await.map(drop)
}

/// The span names in the traces file, in order; every line must be one whole JSON request.
fn span_names(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join(TRACES_FILE)).unwrap();
    assert!(text.ends_with('\n'), "the file ends in a whole line");
    let parse = |line: &str| -> ExportTraceServiceRequest {
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON request ({e}): {line:.80}"))
    };
    let names = text.lines().map(parse).map(|request| {
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        spans[0].name.clone()
    });
    names.collect()
}

//! `ordertrail up`: the five services as child processes of one command, and the embedded
//! OTLP collector in this process.
//!
//! Each child is `ordertrail serve <service>` with human-readable stdout and JSON lines
//! appended to `<log-dir>/<service>.jsonl`. This command prefixes and merges their output,
//! waits until all five answer `/healthz`, and on Ctrl-C or SIGTERM stops them gracefully
//! (SIGTERM, then SIGKILL after [`STOP_GRACE`]). If one child dies, the others are stopped too.
//!
//! The children run in process groups of their own: Ctrl-C at the terminal reaches `up` alone,
//! and each child is stopped by the one SIGTERM `up` sends, never by a second signal.
//!
//! With `--workers N`, gateway, orders and payments each run as a master with N workers
//! (`serve --workers N`); inventory and shipping stay one process, as their state lives in
//! their memory.

use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::future::select_all;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ordertrail::web::shutdown_signal;
use ordertrail_collector::Collector;
use ordertrail_factory::journey::OTLP_DIR;
use ordertrail_factory::services::{DEFAULT_BASE_PORT, ServiceName};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use super::nats_server::NatsServer;
use crate::cli::{BrokerArg, CollectArgs, UpArgs};
use crate::config::env;

/// How long a child may take to stop after SIGTERM: longer than a master lets its workers
/// drain ([`super::master::STOP_TIMEOUT`]), so a master is not killed while they flush.
const STOP_GRACE: Duration = Duration::from_secs(super::master::STOP_TIMEOUT.as_secs() + 5);

/// How long the five services may take to answer `/healthz`.
const READY_WITHIN: Duration = Duration::from_secs(20);

pub(crate) fn run(args: &UpArgs) -> anyhow::Result<ExitCode> {
    check_ports_free(args)?;
    std::fs::create_dir_all(&args.log_dir)
        .with_context(|| format!("cannot create {}", args.log_dir.display()))?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(supervise(args))
}

/// A busy port is reported before anything starts.
fn check_ports_free(args: &UpArgs) -> anyhow::Result<()> {
    let services =
        ServiceName::ALL.map(|name| (name.as_str(), name.port(args.base_port), "--base-port"));
    let collector =
        external_otlp()
            .is_none()
            .then_some(("the OTLP collector", args.otlp_port, "--otlp-port"));
    if let Some((_, port, _)) = collector
        && let Some((what, ..)) = services.iter().find(|(_, p, _)| *p == port)
    {
        bail!(
            "--otlp-port {port} is {what}'s port (--base-port {} and the next {}); pick another",
            args.base_port,
            ServiceName::ALL.len() - 1
        );
    }
    for (what, port, flag) in services.into_iter().chain(collector) {
        if let Err(err) = std::net::TcpListener::bind(SocketAddr::new(args.host, port)) {
            bail!(
                "port {port} for {what} is not free on {}: {err}. Is another `ordertrail up` \
                 running? Stop it, or move this one with {flag} (e.g. `{} up --base-port 9080 \
                 --otlp-port 5317`).",
                args.host,
                super::invocation()
            );
        }
    }
    Ok(())
}

/// An OTLP endpoint the user set; then no embedded collector is started.
fn external_otlp() -> Option<String> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

struct Service {
    name: ServiceName,
    child: Child,
}

async fn supervise(args: &UpArgs) -> anyhow::Result<ExitCode> {
    let collector = match external_otlp() {
        Some(_) => None,
        None => Some(start_collector(args).await?),
    };
    let otlp =
        external_otlp().unwrap_or_else(|| format!("http://{}:{}", args.host, args.otlp_port));
    let (broker, nats) = broker(args).await?;
    let mut services = Vec::new();
    for name in ServiceName::ALL {
        services.push(start(name, args, &otlp, &broker)?);
    }
    let code = tokio::select! {
        ready = wait_ready(args.host, args.base_port) => match ready {
            Ok(()) => {
                banner(args);
                watch(&mut services).await
            }
            Err(err) => {
                eprintln!("ordertrail: {err:#}");
                ExitCode::FAILURE
            }
        },
        code = first_exit(&mut services) => code,
    };
    stop_all(services).await;
    if let Some(nats) = nats {
        nats.stop().await;
    }
    if let Some(collector) = collector
        && let Err(err) = collector.shutdown().await
    {
        eprintln!("ordertrail: {err}");
    }
    Ok(code)
}

async fn start_collector(args: &UpArgs) -> anyhow::Result<Collector> {
    let collect = CollectArgs {
        listen: SocketAddr::new(args.host, args.otlp_port),
        out: args.log_dir.join(OTLP_DIR),
    };
    super::collect::start(&collect).await
}

/// Runs until Ctrl-C/SIGTERM (success) or until a child exits on its own (failure).
async fn watch(services: &mut [Service]) -> ExitCode {
    tokio::select! {
        () = shutdown_signal() => {
            println!("ordertrail: stopping the services");
            ExitCode::SUCCESS
        }
        code = first_exit(services) => code,
    }
}

/// The `--broker` and `--nats-url` flags for the children, and the NATS server started for
/// them (`--broker nats` without `--nats-url`).
async fn broker(args: &UpArgs) -> anyhow::Result<(Vec<String>, Option<NatsServer>)> {
    let flags =
        |broker: &str, url: &str| vec![format!("--broker={broker}"), format!("--nats-url={url}")];
    match (&args.nats_url, args.broker) {
        (Some(url), _) => Ok((flags("nats", &crate::config::nats_url(url)?), None)),
        (None, BrokerArg::Nats) => {
            let server = NatsServer::start(args.host, &args.data_dir).await?;
            Ok((flags("nats", &server.url.clone()), Some(server)))
        }
        (None, BrokerArg::Http) => Ok((vec!["--broker=http".to_owned()], None)),
        (None, BrokerArg::Off) => Ok((vec!["--broker=off".to_owned()], None)),
    }
}

fn start(
    name: ServiceName,
    args: &UpArgs,
    otlp: &str,
    broker: &[String],
) -> anyhow::Result<Service> {
    let exe = std::env::current_exe().context("cannot find the ordertrail binary")?;
    let url = |peer: ServiceName| format!("http://{}:{}", args.host, peer.port(args.base_port));
    let log_file = args.log_dir.join(format!("{name}.jsonl"));
    let mut command = Command::new(exe);
    // Each child leads its own process group, so Ctrl-C at the terminal (SIGINT to the
    // foreground group) reaches this process only, and each child gets exactly one stop
    // signal: the SIGTERM `stop_all` sends. In the terminal's group, a master got SIGINT and
    // SIGTERM, took the second as "kill the workers now", and their spans were lost. A child
    // still dies with `up`, as it asks for SIGTERM when its parent dies (`serve`).
    command
        .arg("serve")
        .arg(name.as_str())
        .arg("--listen")
        .arg(SocketAddr::new(args.host, name.port(args.base_port)).to_string())
        .args(["--log-format", "pretty"])
        .arg("--log-file")
        .arg(&log_file)
        .arg("--db")
        .arg(args.data_dir.join("orders.sqlite3"))
        .args(["--orders-url", &url(ServiceName::Orders)])
        .args(["--inventory-url", &url(ServiceName::Inventory)])
        .args(["--payments-url", &url(ServiceName::Payments)])
        .args(["--shipping-url", &url(ServiceName::Shipping)])
        .args(broker)
        .args([
            "--shipping-fail-rate",
            &args.shipping.shipping_fail_rate.to_string(),
        ])
        .args([
            "--shipping-latency-ms",
            &args.shipping.shipping_latency_ms.to_string(),
        ])
        .args(["--fail-rate", &args.faults.fail_rate.to_string()])
        .args(["--latency-ms", &args.faults.latency_ms.to_string()])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env(env::PARENT_PID, std::process::id().to_string())
        .args(workers_flag(name, args.workers))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {name}"))?;
    if let Some(out) = child.stdout.take() {
        tokio::spawn(relay(name, out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(relay(name, err));
    }
    Ok(Service { name, child })
}

/// `--workers N` for the services that can run as workers: inventory keeps its stock in
/// process memory, and shipping the orders it shipped (what makes a duplicate delivery
/// harmless), so both stay one process.
fn workers_flag(name: ServiceName, workers: Option<u16>) -> Vec<String> {
    match workers {
        Some(n) if !matches!(name, ServiceName::Inventory | ServiceName::Shipping) => {
            vec!["--workers".into(), n.to_string()]
        }
        _ => Vec::new(),
    }
}

/// Copies a child's output to ours, each line prefixed with the service name.
async fn relay(name: ServiceName, stream: impl AsyncRead + Unpin) {
    let prefix = prefix(name);
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    while matches!(reader.read_until(b'\n', &mut line).await, Ok(n) if n > 0) {
        let text = String::from_utf8_lossy(&line);
        println!("{prefix} {}", text.trim_end());
        line.clear();
    }
}

fn prefix(name: ServiceName) -> String {
    let label = format!("{:>9} |", name.as_str());
    if !std::io::stdout().is_terminal() {
        return label;
    }
    let colour = match name {
        ServiceName::Gateway => 36,
        ServiceName::Orders => 33,
        ServiceName::Inventory => 32,
        ServiceName::Payments => 35,
        ServiceName::Shipping => 34,
    };
    format!("\x1b[{colour}m{label}\x1b[0m")
}

async fn wait_ready(host: IpAddr, base_port: u16) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()?;
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    for name in ServiceName::ALL {
        let url = format!("http://{host}:{}/healthz", name.port(base_port));
        loop {
            if matches!(client.get(&url).send().await, Ok(res) if res.status().is_success()) {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{name} did not answer {url} within {READY_WITHIN:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

fn banner(args: &UpArgs) {
    let gateway = format!("http://{}:{}", args.host, args.base_port);
    let logs = args.log_dir.display();
    let me = super::invocation();
    let order = if args.base_port == DEFAULT_BASE_PORT {
        format!("{me} order")
    } else {
        format!("{me} order --gateway {gateway}")
    };
    println!("ordertrail: all five services are up; the gateway is {gateway}");
    println!("ordertrail: in another terminal, place an order with `{order}`,");
    println!(
        "ordertrail: then `{me} follow <request-id>` or `grep -h <request-id> {logs}/*.jsonl`. Ctrl-C stops everything."
    );
    if external_otlp().is_none() {
        let otlp = args.log_dir.join(OTLP_DIR);
        println!(
            "ordertrail: spans and OTLP log records: {}/traces.jsonl, {}/otlp-logs.jsonl",
            otlp.display(),
            otlp.display()
        );
    }
}

/// Waits until any child exits and reports it.
async fn first_exit(services: &mut [Service]) -> ExitCode {
    if services.is_empty() {
        return std::future::pending().await;
    }
    let waits = services
        .iter_mut()
        .map(|s| Box::pin(async move { (s.name, s.child.wait().await) }));
    let ((name, status), _, _) = select_all(waits).await;
    match status {
        Ok(status) => eprintln!("ordertrail: {name} exited ({status}); stopping the others"),
        Err(err) => eprintln!("ordertrail: lost track of {name}: {err}; stopping the others"),
    }
    ExitCode::FAILURE
}

/// SIGTERM to every child, then SIGKILL to those still running after [`STOP_GRACE`].
async fn stop_all(services: Vec<Service>) {
    for service in &services {
        if let Some(pid) = service.child.id().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
    }
    for mut service in services {
        match tokio::time::timeout(STOP_GRACE, service.child.wait()).await {
            Ok(_) => {}
            Err(_) => {
                eprintln!(
                    "ordertrail: {} did not stop within {STOP_GRACE:?}; killing it",
                    service.name
                );
                let _ = service.child.kill().await;
            }
        }
    }
}

//! [`Prometheus`]: Debian's `prometheus` binary on a free loopback port, with exemplar storage,
//! scraping the given targets every second, its config and data in a fresh temporary directory;
//! killed by its pid (and the directory removed) when dropped.
//!
//! A test needing it calls [`Prometheus::start`]. Without `prometheus` on PATH it fails when
//! `CI=true` (CI installs the package: a missing server there is a broken setup, never a pass),
//! and elsewhere returns `None` after saying on stderr, uncaptured, why the test did not run.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use crate::{client, free_port, poll_async};

/// How long Prometheus may take to be ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running `prometheus --enable-feature=exemplar-storage`.
#[derive(Debug)]
pub struct Prometheus {
    process: std::process::Child,
    dir: PathBuf,
    /// Its `http://127.0.0.1:<port>` URL.
    pub url: String,
    client: reqwest::Client,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (job name, `host:port`) every second, or `None`
    /// when `prometheus` is missing outside CI; `test` names the test in that message.
    pub async fn start(test: &str, targets: &[(&str, String)]) -> Option<Self> {
        if !on_path("prometheus") {
            let why =
                format!("{test}: needs `prometheus` on PATH (apt-get install prometheus); not run");
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            // Straight to the stderr stream: libtest captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr().lock(), "{why}");
            return None;
        }
        for _ in 0..3 {
            if let Some(server) = Self::try_start(targets).await {
                return Some(server);
            }
        }
        panic!("prometheus did not start in 3 attempts");
    }

    async fn try_start(targets: &[(&str, String)]) -> Option<Self> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ordertrail-prom-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("creates the Prometheus directory");
        std::fs::write(dir.join("prometheus.yml"), scrape_config(targets))
            .expect("writes the scrape config");
        let process = spawn(&dir, port);
        let server = Self {
            process,
            dir,
            url: format!("http://127.0.0.1:{port}"),
            client: client(),
        };
        let ready = format!("{}/-/ready", server.url);
        let client = server.client.clone();
        let answered = poll_async(READY_WITHIN, Duration::from_millis(100), || {
            let (client, ready) = (client.clone(), ready.clone());
            async move {
                let reply = client.get(&ready).send().await.ok()?;
                reply.status().is_success().then_some(())
            }
        });
        answered.await.map(|()| server)
    }

    /// `GET /api/v1/query?query=<promql>`: the `data.result` array.
    pub async fn query(&self, promql: &str) -> Value {
        self.api("/api/v1/query", &[("query", promql.to_owned())])
            .await
    }

    /// `GET /api/v1/query_exemplars` over the last `window`: the `data` array (one entry per
    /// series, each with its `exemplars`).
    pub async fn query_exemplars(&self, promql: &str, window: Duration) -> Value {
        let now = unix_seconds();
        let params = [
            ("query", promql.to_owned()),
            ("start", format!("{:.3}", now - window.as_secs_f64())),
            ("end", format!("{:.3}", now + 1.0)),
        ];
        self.api("/api/v1/query_exemplars", &params).await
    }

    /// The `data` (or `data.result`) of an API call, asserting `status: success`.
    async fn api(&self, path: &str, params: &[(&str, String)]) -> Value {
        let base = format!("{}{path}", self.url);
        let url = reqwest::Url::parse_with_params(&base, params).expect("a valid API URL");
        let reply = self.client.get(url).send().await;
        let body: Value = reply
            .expect("Prometheus answers")
            .json()
            .await
            .expect("a JSON answer");
        assert_eq!(body["status"], "success", "{path} {params:?}: {body}");
        let data = body["data"].clone();
        match data.get("result") {
            Some(result) => result.clone(),
            None => data,
        }
    }

    /// Waits (at most `within`) until `promql` has a non-empty result; that result.
    pub async fn wait_for(&self, promql: &str, within: Duration) -> Value {
        let found = poll_async(within, Duration::from_millis(200), || async {
            let result = self.query(promql).await;
            result
                .as_array()
                .is_some_and(|r| !r.is_empty())
                .then_some(result)
        });
        found
            .await
            .unwrap_or_else(|| panic!("no {promql} within {within:?}: {}", self.log()))
    }

    /// The last lines Prometheus logged (its stderr), for a failing test's message.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.process.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A config scraping each target as its own job, every second.
fn scrape_config(targets: &[(&str, String)]) -> String {
    let mut yaml =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
    for (job, target) in targets {
        yaml.push_str(&format!(
            "  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        ));
    }
    yaml
}

fn spawn(dir: &Path, port: u16) -> std::process::Child {
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("creates the log file");
    Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--enable-feature=exemplar-storage")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus starts")
}

fn on_path(binary: &str) -> bool {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths).any(|dir| dir.join(binary).is_file())
}

fn unix_seconds() -> f64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    since.map(|d| d.as_secs_f64()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_is_a_job() {
        let yaml = scrape_config(&[
            ("gateway", "127.0.0.1:1".into()),
            ("orders", "127.0.0.1:2".into()),
        ]);
        assert!(yaml.contains(
            "  - job_name: gateway\n    static_configs:\n      - targets: ['127.0.0.1:1']\n"
        ));
        assert!(yaml.contains("job_name: orders"));
    }
}

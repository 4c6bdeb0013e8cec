//! `ordertrail health <url>`: one `GET` for container healthchecks, where the runtime image has
//! no curl or wget.
//!
//! Prints one line and exits 0 when the answer is 2xx within [`TIMEOUT`], 1 otherwise
//! (refused, timed out, or any other status), which is what Docker's `HEALTHCHECK` expects.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::cli::HealthArgs;

/// How long the whole request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) fn run(args: &HealthArgs) -> anyhow::Result<ExitCode> {
    let healthy = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(probe(&args.url));
    Ok(match healthy {
        Ok(line) => {
            println!("healthy: {line}");
            ExitCode::SUCCESS
        }
        Err(line) => {
            println!("unhealthy: {line}");
            ExitCode::FAILURE
        }
    })
}

/// `Ok` with the status line on 2xx, `Err` with what went wrong otherwise.
async fn probe(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|err| describe(url, &err))?;
    let res = client
        .get(url)
        .send()
        .await
        .map_err(|err| describe(url, &err))?;
    let line = format!("{url}: {}", res.status());
    if res.status().is_success() {
        Ok(line)
    } else {
        Err(line)
    }
}

/// `url: error: cause: cause`, on one line (reqwest's own message hides the causes).
fn describe(url: &str, err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = format!("{url}: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        line.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line.replace(['\n', '\r'], " ")
}

//! Orders that got no answer: the [`Outcome`] of a failed request, and [`NoAnswer`], the error
//! of a run in which no order got one.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use super::stats::Outcome;

/// The outcome of a request that got no answer, with the innermost cause of `err`.
pub(crate) fn failed(err: &reqwest::Error, started: Instant) -> Outcome {
    let failure = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "transport"
    };
    Outcome {
        request_id: None,
        status: None,
        failure: Some(failure),
        cause: Some(innermost(err)),
        latency: started.elapsed(),
        replay: None,
    }
}

/// The last error of `err`'s source chain, as written: `Connection refused (os error 111)`.
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(source) = last.source() {
        last = source;
    }
    last.to_string()
}

/// No order of the run got an HTTP answer: the gateway is down, unreachable or too slow.
///
/// It is an error, not a rate: refused connections fail in microseconds, and their "orders
/// per second" would measure nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct NoAnswer {
    /// The gateway's base URL.
    pub gateway: String,
    /// Orders placed.
    pub orders: u64,
    /// Counts by failure: `connect`, `timeout`, `transport`.
    pub failures: BTreeMap<String, u64>,
    /// The innermost error of one failed order, like `Connection refused (os error 111)`.
    pub cause: Option<String>,
}

impl NoAnswer {
    /// What a person can do about it.
    fn hint(&self) -> &'static str {
        match self.failures.keys().next().map(String::as_str) {
            Some("connect") if self.failures.len() == 1 => {
                "is `ordertrail up` running, and is --gateway its address?"
            }
            Some("timeout") if self.failures.len() == 1 => {
                "the gateway did not answer within --timeout"
            }
            _ => "is the gateway up and reachable?",
        }
    }
}

impl fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failures: Vec<String> = self
            .failures
            .iter()
            .map(|(key, n)| format!("{n} {}", describe(key)))
            .collect();
        write!(
            f,
            "no order got an answer from the gateway at {}: of {} orders, {}",
            self.gateway,
            self.orders,
            failures.join(", ")
        )?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        write!(f, "; {}", self.hint())
    }
}

fn describe(failure: &str) -> &str {
    match failure {
        "connect" => "could not connect",
        "timeout" => "timed out",
        "transport" => "lost the connection",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_answer(failures: &[(&str, u64)], cause: Option<&str>) -> NoAnswer {
        NoAnswer {
            gateway: "http://127.0.0.1:9".into(),
            orders: failures.iter().map(|(_, n)| n).sum(),
            failures: failures.iter().map(|(k, n)| ((*k).into(), *n)).collect(),
            cause: cause.map(Into::into),
        }
    }

    #[test]
    fn refused_connections_name_the_gateway_and_the_cause() {
        let err = no_answer(&[("connect", 5)], Some("Connection refused (os error 111)"));
        assert_eq!(
            err.to_string(),
            "no order got an answer from the gateway at http://127.0.0.1:9: of 5 orders, 5 \
             could not connect (Connection refused (os error 111)); is `ordertrail up` \
             running, and is --gateway its address?"
        );
    }

    #[test]
    fn mixed_failures_are_each_counted() {
        let err = no_answer(&[("connect", 2), ("timeout", 3)], None);
        assert_eq!(
            err.to_string(),
            "no order got an answer from the gateway at http://127.0.0.1:9: of 5 orders, 2 \
             could not connect, 3 timed out; is the gateway up and reachable?"
        );
    }

    #[tokio::test]
    async fn a_refused_request_keeps_its_innermost_cause() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let started = Instant::now();
        let err = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .expect_err("nothing listens");
        let outcome = failed(&err, started);
        assert_eq!(outcome.failure, Some("connect"));
        let cause = outcome.cause.expect("a cause");
        assert!(cause.contains("refused"), "{cause}");
    }
}

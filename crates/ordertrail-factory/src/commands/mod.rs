//! One module per subcommand.
//!
//! - `serve`: one service on a bound listener until Ctrl-C or SIGTERM.
//! - `master`, `worker`: `serve --workers N`, a master process and its worker processes.
//! - `up`: the five services as child processes, one merged log stream.
//! - `nats_server`: the `nats-server` that `up --broker nats` starts when given no URL.
//! - `order`: place one order and say how to find it.
//! - `collect`: the embedded OTLP collector.
//! - `follow`: one request id's journey: span waterfall with its log lines.
//! - `load`: the load generator and its summary.
//! - `health`: one GET for container healthchecks.

pub(crate) mod collect;
pub(crate) mod follow;
pub(crate) mod health;
pub(crate) mod load;
pub(crate) mod master;
pub(crate) mod nats_server;
pub(crate) mod order;
pub(crate) mod serve;
pub(crate) mod up;
pub(crate) mod worker;

/// How the user ran this binary (`ordertrail`, `target/release/ordertrail`…), for the
/// commands it suggests: they then run as printed, installed or not. Quoted for a POSIX shell
/// when it holds anything but letters, digits and `/._-+`.
pub(crate) fn invocation() -> String {
    let program = std::env::args_os().next().map_or_else(
        || "ordertrail".to_owned(),
        |arg| arg.to_string_lossy().into_owned(),
    );
    let plain = !program.is_empty()
        && program
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b));
    if plain {
        program
    } else {
        format!("'{}'", program.replace('\'', r"'\''"))
    }
}

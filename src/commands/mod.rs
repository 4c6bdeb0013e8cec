//! One module per subcommand.
//!
//! - `serve`: one service on a bound listener until Ctrl-C or SIGTERM.
//! - `up`: the four services as child processes, one merged log stream.
//! - `order`: place one order and say how to find it.
//! - `collect`: the embedded OTLP collector.

pub(crate) mod collect;
pub(crate) mod order;
pub(crate) mod serve;
pub(crate) mod up;

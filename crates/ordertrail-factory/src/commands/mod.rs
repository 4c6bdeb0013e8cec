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

use std::path::Path;

/// How the user ran this binary (`ordertrail`, `target/release/ordertrail`…), for the
/// commands it suggests: they then run as printed, installed or not. A path under the current
/// directory is shown relative to it: `cargo run` runs the binary by its absolute path, and
/// `target/release/ordertrail` is what the user can type here. Quoted for a POSIX shell when
/// it holds anything but letters, digits and `/._-+`.
pub(crate) fn invocation() -> String {
    let program = std::env::args_os().next().map_or_else(
        || "ordertrail".to_owned(),
        |arg| arg.to_string_lossy().into_owned(),
    );
    let here = std::env::current_dir().ok();
    shell_word(&relative_to(&program, here.as_deref()))
}

/// `program` relative to `dir` when it is an absolute path under it (with `./` when it is
/// right in it, so a shell does not look it up in `PATH`); as it is otherwise.
fn relative_to(program: &str, dir: Option<&Path>) -> String {
    let path = Path::new(program);
    let Some(rest) = dir
        .filter(|_| path.is_absolute())
        .and_then(|dir| path.strip_prefix(dir).ok())
    else {
        return program.to_owned();
    };
    let rest = rest.to_string_lossy();
    if rest.contains('/') {
        rest.into_owned()
    } else {
        format!("./{rest}")
    }
}

/// `word` as one word for a POSIX shell: as it is when plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_under_the_current_directory_is_shown_relative_to_it() {
        let here = Path::new("/home/me/ordertrail");
        let cargo_run = "/home/me/ordertrail/target/release/ordertrail";
        assert_eq!(
            relative_to(cargo_run, Some(here)),
            "target/release/ordertrail"
        );
        assert_eq!(
            relative_to("/home/me/ordertrail/ordertrail", Some(here)),
            "./ordertrail"
        );
    }

    #[test]
    fn other_binaries_are_shown_as_they_were_run() {
        let here = Path::new("/home/me/ordertrail");
        for program in [
            "/usr/local/bin/ordertrail",
            "ordertrail",
            "../bin/ordertrail",
        ] {
            assert_eq!(relative_to(program, Some(here)), program);
        }
        assert_eq!(relative_to("/opt/ordertrail", None), "/opt/ordertrail");
    }

    #[test]
    fn an_unusual_path_is_quoted_for_the_shell() {
        assert_eq!(
            shell_word("target/release/ordertrail"),
            "target/release/ordertrail"
        );
        assert_eq!(shell_word("/my dir/it's"), r"'/my dir/it'\''s'");
    }
}

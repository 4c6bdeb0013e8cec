//! [`Binary`]: the real `ordertrail` command, run with none of the test's own settings, and a
//! fresh scratch directory per run.
//!
//! Cargo tells only the factory's own tests and benchmarks where the binary is, so they build
//! the value with [`binary!`](crate::binary):
//!
//! ```no_run
//! # async fn example() {
//! use ordertrail_testkit::Binary;
//!
//! // What `ordertrail_testkit::binary!()` builds in a factory test.
//! let ordertrail = Binary::new("target/debug/ordertrail", "target/tmp");
//! let output = ordertrail.output(vec!["--help".to_owned()]).await;
//! assert!(output.status.success());
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `ordertrail` binary of the tests being built, and their scratch directory.
///
/// Expands to [`Binary::new`] with `CARGO_BIN_EXE_ordertrail` and `CARGO_TARGET_TMPDIR`, which
/// cargo sets for the factory's integration tests and benchmarks only.
#[macro_export]
macro_rules! binary {
    () => {
        $crate::Binary::new(
            env!("CARGO_BIN_EXE_ordertrail"),
            env!("CARGO_TARGET_TMPDIR"),
        )
    };
}

/// The path of the `ordertrail` binary, and where its runs keep their files.
#[derive(Debug, Clone)]
pub struct Binary {
    exe: PathBuf,
    scratch: PathBuf,
}

impl Binary {
    /// The binary at `exe`, whose runs get directories under `scratch`.
    pub fn new(exe: impl Into<PathBuf>, scratch: impl Into<PathBuf>) -> Self {
        Self {
            exe: exe.into(),
            scratch: scratch.into(),
        }
    }

    /// Where the binary is.
    pub fn path(&self) -> &Path {
        &self.exe
    }

    /// A command running the binary, with none of the test's `OTEL_*`, `ORDERTRAIL_*` or
    /// `RUST_LOG` settings, so the test's own environment cannot change what it tests.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.exe);
        for (name, _) in std::env::vars_os() {
            let text = name.to_string_lossy();
            if text.starts_with("OTEL_") || text.starts_with("ORDERTRAIL_") || text == "RUST_LOG" {
                command.env_remove(&name);
            }
        }
        command.env("NO_COLOR", "1");
        command
    }

    /// Runs the binary with `args` off the async runtime and returns what it did.
    pub async fn output(&self, args: Vec<String>) -> Output {
        let mut command = self.command();
        command.args(args).stdin(Stdio::null());
        tokio::task::spawn_blocking(move || command.output().expect("run ordertrail"))
            .await
            .expect("the command's thread")
    }

    /// A new empty directory `<prefix>-<uuid>` under the scratch directory.
    pub fn fresh_dir(&self, prefix: &str) -> PathBuf {
        let dir = self
            .scratch
            .join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        dir
    }
}

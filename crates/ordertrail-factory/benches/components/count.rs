//! [`run`]: one driver run under callgrind, and [`Counted`], what it counted per function.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ordertrail_testkit::bench::callgrind::Profile;

use crate::stacks::Stack;

/// How long one driver run under valgrind may take.
const PATIENCE: Duration = Duration::from_secs(180);

/// The functions of one driver run, with the number of items it drove.
#[derive(Debug)]
pub(crate) struct Counted {
    stack: Stack,
    profile: Profile,
    items: u64,
}

impl Counted {
    /// Instructions in `function` and what it called, per item.
    pub(crate) fn per_item(&self, function: &str) -> f64 {
        self.inclusive(function) as f64 / self.items as f64
    }

    /// Instructions in `function` and what it called, over the whole run; panics, naming
    /// the function and the names that come close, when it never ran.
    pub(crate) fn inclusive(&self, function: &str) -> u64 {
        self.profile.inclusive(function).unwrap_or_else(|| {
            panic!(
                "the {} run has no function {function:?}: renamed, inlined or no longer \
                 called? functions that ran nearby: {:#?}",
                self.stack.name(),
                self.near(function)
            )
        })
    }

    /// Functions of the same module as `function`, or else with the same last name.
    fn near(&self, function: &str) -> Vec<&str> {
        let (module, last) = function.rsplit_once("::").unwrap_or(("", function));
        let mut near = self.profile.names_containing(&format!("{module}::"));
        if module.is_empty() || near.is_empty() {
            near = self.profile.names_containing(last);
        }
        near.truncate(20);
        near
    }

    /// How many times `function` was called.
    pub(crate) fn calls(&self, function: &str) -> u64 {
        self.profile.calls(function)
    }
}

/// Runs this benchmark's driver for `stack` under callgrind, `items` items exporting to
/// `endpoint` as `service`, its output in `dir`, and reads the profile.
pub(crate) fn run(dir: &Path, stack: Stack, items: u64, endpoint: &str, service: &str) -> Counted {
    let out = dir.join(format!("callgrind-{}.out", stack.name()));
    let log = std::fs::File::create(dir.join(format!("{}.log", stack.name()))).expect("log");
    let mut driver = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-systime=no"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(std::env::current_exe().expect("exe"))
        .args([
            "--drive",
            stack.name(),
            &items.to_string(),
            endpoint,
            service,
        ])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("valgrind: install it (apt-get install valgrind)");
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = driver.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = driver.kill();
            panic!("the {} driver ran longer than {PATIENCE:?}", stack.name());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "the {} driver under callgrind: {status}; see {}",
        stack.name(),
        dir.join(format!("{}.log", stack.name())).display()
    );
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    Counted {
        stack,
        profile: Profile::parse(&text),
        items,
    }
}

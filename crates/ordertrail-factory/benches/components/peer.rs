//! [`Peer`]: the real OTLP peer every driver exports to.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ordertrail_testkit::bench::{Proc, collector};

/// `ordertrail collect` on a free port (pinned to core 1 where `taskset` exists), writing
/// into a scratch directory that is removed on drop unless kept.
pub(crate) struct Peer {
    /// The scratch directory: the collector's files, callgrind's outputs, the drivers' logs.
    pub(crate) dir: PathBuf,
    /// The collector's OTLP/gRPC endpoint.
    pub(crate) endpoint: String,
    keep: bool,
    _collector: Proc,
}

impl Peer {
    /// Starts the collector and waits until it listens.
    pub(crate) fn start(keep: bool) -> Self {
        let dir =
            std::env::temp_dir().join(format!("ordertrail-components-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("bench dir");
        let (collector, endpoint) = collector(Path::new(env!("CARGO_BIN_EXE_ordertrail")), &dir);
        wait_listening(endpoint.trim_start_matches("http://"));
        Self {
            dir,
            endpoint,
            keep,
            _collector: collector,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn wait_listening(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the collector never listened on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

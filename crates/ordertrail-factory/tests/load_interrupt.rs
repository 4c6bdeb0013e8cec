//! Ctrl-C during `ordertrail load` (the real binary): the run stops, the summary is printed and
//! the exit code is 130; on a terminal the progress bar is cleared first, so no frozen bar is
//! left above the summary.
//!
//! The terminal is a pseudo-terminal from util-linux `script`, 80 columns wide; Ctrl-C is the
//! byte 0x03 typed into it, so the terminal itself sends SIGINT and echoes `^C`, as it does
//! for a person. [`Screen`] replays what the terminal received to see what a person would.

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use ordertrail_factory::services::{Factory, ServiceName, ServiceOptions};
use ordertrail_testkit::binary;

/// The longest any step of these tests waits.
const WAIT: Duration = Duration::from_secs(15);

/// A run that would go on for a minute unless interrupted.
fn long_run(gateway: &str) -> Vec<String> {
    let run = [
        "load",
        "--duration",
        "60s",
        "--rate",
        "20",
        "--gateway",
        gateway,
    ];
    run.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_prints_the_summary_and_exits_130() {
    let factory = Factory::start(ServiceOptions::default())
        .await
        .expect("the services start");
    let mut command = binary!().command();
    command
        .args(long_run(&factory.url(ServiceName::Gateway)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start ordertrail load");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    kill(pid, Signal::SIGINT).expect("send SIGINT");
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_bounded(&mut child);
        (status, child.wait_with_output().expect("its output"))
    })
    .await
    .expect("the waiting thread");
    factory.stop().await;
    let (status, output) = status;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(status.code(), Some(130), "{stdout}");
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("orders    "), "{stdout}");
    assert!(first.ends_with(" answered, interrupted)"), "{stdout}");
    assert!(stdout.contains("latency   p50 "), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_terminal_clears_the_bar_before_the_summary() {
    let factory = Factory::start(ServiceOptions::default())
        .await
        .expect("the services start");
    let exe = binary!().path().display().to_string();
    let load = long_run(&factory.url(ServiceName::Gateway)).join(" ");
    let inner = format!("stty cols 80 rows 24; exec {exe} {load}");
    let mut script = Command::new("script");
    script
        .args(["-qefc", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // The binary's own environment: none of the test's settings.
    for (name, value) in binary!().command().get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    let (status, tty) = tokio::task::spawn_blocking(move || interrupt_on_a_terminal(script))
        .await
        .expect("the terminal's thread");
    factory.stop().await;
    let text = String::from_utf8_lossy(&tty).into_owned();
    assert_eq!(status.code(), Some(130), "{text:?}");
    assert_one_decimal_rates(&text);
    let rows = Screen::replay(&text, 80).rows;
    let summary = rows
        .iter()
        .position(|r| r.starts_with("orders    "))
        .unwrap_or_else(|| panic!("a summary on the screen: {rows:#?}"));
    let above: Vec<&String> = rows[..summary].iter().filter(|r| !r.is_empty()).collect();
    assert!(above.is_empty(), "left above the summary: {above:#?}");
    assert!(
        rows[summary].ends_with(" answered, interrupted)"),
        "{rows:#?}"
    );
}

/// Starts `script`, waits for the bar to show a rate, types Ctrl-C, and returns the exit
/// status and everything the terminal received.
fn interrupt_on_a_terminal(mut script: Command) -> (ExitStatus, Vec<u8>) {
    let mut child = script.spawn().expect("start script (util-linux)");
    let received = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().expect("script's stdout");
    let sink = Arc::clone(&received);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            sink.lock()
                .expect("the buffer")
                .extend_from_slice(&buf[..n]);
        }
    });
    let deadline = Instant::now() + WAIT;
    while !String::from_utf8_lossy(&received.lock().expect("the buffer")).contains("orders/s") {
        assert!(Instant::now() < deadline, "no progress bar within {WAIT:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let a few orders through, then type Ctrl-C.
    std::thread::sleep(Duration::from_millis(500));
    let mut stdin = child.stdin.take().expect("script's stdin");
    stdin.write_all(b"\x03").expect("type Ctrl-C");
    stdin.flush().expect("flush Ctrl-C");
    let status = wait_bounded(&mut child);
    drop(stdin);
    reader.join().expect("the reader");
    let tty = received.lock().expect("the buffer").clone();
    (status, tty)
}

/// Waits for `child` at most [`WAIT`], killing it after that.
fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("still running after {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every rate the terminal showed has one decimal: `20.8 orders/s`, never `20.7556/s`.
fn assert_one_decimal_rates(text: &str) {
    let mut rates = 0;
    for (at, _) in text.match_indices(" orders/s") {
        let number = text[..at].rsplit(' ').next().unwrap_or_default();
        let decimals = number.split_once('.').map(|(_, d)| d.len());
        assert_eq!(decimals, Some(1), "{number:?} in {text:?}");
        rates += 1;
    }
    assert!(rates >= 2, "a rate on the bar and in the summary: {text:?}");
}

/// What a terminal `width` columns wide shows after receiving some text: printable characters
/// wrap at the right edge, and the few control sequences the bar uses move and clear.
#[derive(Debug, Default)]
struct Screen {
    rows: Vec<String>,
}

impl Screen {
    fn replay(text: &str, width: usize) -> Self {
        let mut grid: Vec<Vec<char>> = vec![Vec::new()];
        let (mut row, mut col) = (0usize, 0usize);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => col = 0,
                '\n' => row += 1,
                '\x1b' => control(&mut chars, &mut grid, &mut row, &mut col),
                c if c.is_control() => {}
                c => {
                    if col >= width {
                        (row, col) = (row + 1, 0);
                    }
                    put(&mut grid, row, col, c);
                    col += 1;
                }
            }
            grid.resize_with(grid.len().max(row + 1), Vec::new);
        }
        let rows = grid
            .into_iter()
            .map(|r| r.into_iter().collect::<String>().trim_end().to_owned())
            .collect();
        Self { rows }
    }
}

fn put(grid: &mut Vec<Vec<char>>, row: usize, col: usize, c: char) {
    grid.resize_with(grid.len().max(row + 1), Vec::new);
    let line = &mut grid[row];
    line.resize(line.len().max(col + 1), ' ');
    line[col] = c;
}

/// Applies one escape sequence: cursor up (`A`) and down (`B`), clear line (`K`) and clear
/// below (`J`); others (colours, cursor visibility) change nothing a test looks at.
fn control(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    grid: &mut [Vec<char>],
    row: &mut usize,
    col: &mut usize,
) {
    if chars.next() != Some('[') {
        return;
    }
    let mut params = String::new();
    let Some(op) = chars.find(|c| {
        let done = c.is_ascii_alphabetic() || *c == '~';
        if !done {
            params.push(*c);
        }
        done
    }) else {
        return;
    };
    let n: usize = params.parse().unwrap_or(1).max(1);
    match op {
        'A' => *row = row.saturating_sub(n),
        'B' => *row += n,
        'K' if params == "2" => clear(grid, *row, 0),
        'K' => clear(grid, *row, *col),
        'J' => {
            clear(grid, *row, *col);
            grid.iter_mut().skip(*row + 1).for_each(Vec::clear);
        }
        _ => {}
    }
}

fn clear(grid: &mut [Vec<char>], row: usize, from: usize) {
    if let Some(line) = grid.get_mut(row) {
        line.truncate(from);
    }
}

#[test]
fn the_screen_wraps_and_clears_like_a_terminal() {
    let bar = format!("{}^C\r\x1b[2Korders    3", "=".repeat(80));
    assert_eq!(
        Screen::replay(&bar, 80).rows,
        ["=".repeat(80), "orders    3".into()]
    );
    let cleared = format!("{}^C\r\x1b[2Korders    3", "=".repeat(78));
    assert_eq!(Screen::replay(&cleared, 80).rows, ["orders    3"]);
    let moved = "a\r\nb\x1b[1A\r\x1b[2Kc";
    assert_eq!(Screen::replay(moved, 80).rows, ["c", "b"]);
}

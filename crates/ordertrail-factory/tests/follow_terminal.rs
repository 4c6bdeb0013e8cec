//! `ordertrail follow` as a user runs it, on a real local run: right after the order (the
//! spans still on their way) it waits and shows every service; in a terminal of 80 or 120
//! columns no line is wider than the terminal, with colour and block bars; piped, it writes
//! no escape codes and no block characters, and no line is wider than 100 columns.
//!
//! Without spans (only the services' log files) it says so, counts offsets from the first line
//! and names each line's service; on a terminal a spinner says whose spans it waits for, and
//! is cleared before the journey; spans written while it waits are in what it prints, the
//! dispatch marked as running after the response.
//!
//! The terminal is a pseudo-terminal from `script` (util-linux, in Debian's essential
//! `bsdutils`), sized with `stty cols`.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use ordertrail_testkit::{LocalRun, SERVICES, binary, place_order};

/// Longest a `follow` may take here: its own wait (5 s by default) and some.
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// What `follow` fits into when stdout is not a terminal.
const PIPED_WIDTH: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_right_after_an_order_waits_and_fits_the_terminal() {
    let run = LocalRun::start(&binary!()).await;
    place_order(&run.client, &run.gateway(), Some("terminal-1")).await;

    let piped = follow_piped(&run.dir, "terminal-1", &[]).await;
    let text = String::from_utf8(piped.stdout).expect("UTF-8");
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    assert!(
        !text.contains("no spans found"),
        "it waited for the spans:\n{text}"
    );
    for service in SERVICES {
        let row = format!("  {service} ");
        assert!(
            text.lines().any(|l| l.starts_with(&row)),
            "{service}:\n{text}"
        );
    }
    assert!(
        !text.contains('\x1b'),
        "no escape codes when piped:\n{text}"
    );
    assert!(!text.contains('█'), "ASCII bars when piped:\n{text}");
    assert_fits(&text, PIPED_WIDTH);

    for width in [80, 120] {
        let shown = follow_in_terminal(&run.dir, "terminal-1", width, "--wait 0").await;
        assert!(shown.contains('\x1b'), "colour on a terminal:\n{shown}");
        assert!(shown.contains('█'), "block bars on a terminal:\n{shown}");
        let visible = strip_escapes(&shown);
        assert!(visible.contains("POST /orders"), "{visible}");
        assert_fits(&visible, width);
        if width > PIPED_WIDTH {
            let widest = visible.lines().map(|l| l.chars().count()).max();
            assert!(
                widest > Some(PIPED_WIDTH),
                "wider terminal, wider lines:\n{visible}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_spans_it_shows_the_lines_then_waits_for_the_spans() {
    let run = LocalRun::start(&binary!()).await;
    run.place_dispatched("terminal-2").await;
    let settled = follow_piped(&run.dir, "terminal-2", &[]).await;
    assert!(
        settled.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&settled.stderr)
    );

    let logs_only = binary!().fresh_dir("logs-only");
    for service in SERVICES {
        let file = format!("{service}.jsonl");
        std::fs::copy(run.dir.join(&file), logs_only.join(&file)).expect("copy a log file");
    }
    let now = follow_piped(&logs_only, "terminal-2", &["--wait", "0"]).await;
    let text = String::from_utf8(now.stdout).expect("UTF-8");
    assert!(now.status.success(), "log lines are something");
    assert!(
        text.starts_with("request terminal-2: no spans found, only log lines\n"),
        "{text}"
    );
    for line in text.lines().skip(1) {
        let offset = line.split_whitespace().next().expect("an offset");
        assert!(
            offset_seconds(offset) < 60.0,
            "an offset from the first line: {line}"
        );
        assert!(
            SERVICES.contains(&line.split_whitespace().nth(1).unwrap_or("")),
            "{line}"
        );
    }
    let hint = String::from_utf8_lossy(&now.stderr);
    assert!(
        hint.contains("had not arrived") && hint.contains("--wait"),
        "{hint}"
    );
    assert!(
        !hint.contains("waiting for spans"),
        "no spinner when stderr is not a terminal: {hint}"
    );

    let shown = follow_in_terminal(&logs_only, "terminal-2", 100, "--wait 1s").await;
    assert!(
        shown.contains("waiting for spans of "),
        "a spinner on a terminal while it waits:\n{shown}"
    );
    let (_, after) = shown
        .rsplit_once("\x1b[2K")
        .expect("the spinner's line is cleared");
    let after = strip_escapes(after);
    assert!(
        !after.contains("waiting for spans")
            && after
                .lines()
                .any(|l| l.starts_with("request terminal-2: no spans found")),
        "then the journey, on clean lines:\n{after}"
    );

    let started = Instant::now();
    let waiting = follow_piped(&logs_only, "terminal-2", &["--wait", "20s"]);
    let spans_arrive = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let partial = logs_only.join("traces.jsonl.part");
        std::fs::copy(run.dir.join("traces.jsonl"), &partial).expect("copy the spans");
        std::fs::rename(&partial, logs_only.join("traces.jsonl")).expect("move the spans in");
    };
    let (later, ()) = tokio::join!(waiting, spans_arrive);
    let text = String::from_utf8(later.stdout).expect("UTF-8");
    assert!(
        later.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&later.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it stopped once settled"
    );
    for service in SERVICES {
        let row = format!("  {service} ");
        assert!(
            text.lines().any(|l| l.starts_with(&row)),
            "{service}:\n{text}"
        );
    }
    let dispatch = text.lines().find(|l| l.contains(" dispatch "));
    assert!(
        dispatch.is_some_and(|l| l.contains("dispatch  (after response)")),
        "the dispatch outlives orders' answer:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&logs_only);
}

/// `+12.3ms` or `+1.20s` in seconds.
fn offset_seconds(offset: &str) -> f64 {
    let number = offset.trim_start_matches(['+', '-']);
    match number.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().expect("milliseconds") / 1000.0,
        None => number.trim_end_matches('s').parse().expect("seconds"),
    }
}

/// Every line is at most `width` characters.
fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        let shown = line.chars().count();
        assert!(
            shown <= width,
            "{shown} > {width} columns: {line:?}\n{text}"
        );
    }
}

/// `follow` with stdout and stderr piped, and colour not turned off by the environment.
async fn follow_piped(dir: &Path, request_id: &str, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::from(binary!().command());
    command
        .args(["follow", request_id, "--log-dir"])
        .arg(dir)
        .args(args);
    command.env_remove("NO_COLOR").kill_on_drop(true);
    command.stdin(std::process::Stdio::null());
    finish(command).await
}

/// What `follow … flags` writes, stdout and stderr, to a terminal `width` columns wide
/// (every byte the terminal got).
async fn follow_in_terminal(dir: &Path, request_id: &str, width: usize, flags: &str) -> String {
    let exe = binary!().path().display().to_string();
    let shell = format!(
        "stty cols {width} rows 50; exec '{exe}' follow {request_id} {flags} --log-dir '{}'",
        dir.display()
    );
    let mut command = tokio::process::Command::new("script");
    command.args(["-qefc", &shell, "/dev/null"]);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("ORDERTRAIL_") || text == "NO_COLOR" || text == "COLUMNS" {
            command.env_remove(&name);
        }
    }
    command
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = finish(command).await;
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text.replace("\r\n", "\n")
}

async fn finish(mut command: tokio::process::Command) -> Output {
    let output = tokio::time::timeout(RUN_LIMIT, command.output()).await;
    output
        .expect("follow finished in time")
        .expect("run the command")
}

/// The text without ANSI colour codes (`ESC [ … m`).
fn strip_escapes(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

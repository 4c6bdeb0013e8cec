//! `ordertrail order` (the real binary) against the in-process services: a gateway flag that is
//! not an http URL is refused before anything is sent, and an id the gateway refuses is named
//! with the reason and the id it made instead.

use ordertrail_testkit::{Services, binary};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn a_gateway_without_a_scheme_is_refused_with_the_flag_named() {
    let output = binary!()
        .output(args(&["order", "--gateway", "localhost:8080"]))
        .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--gateway must be an http:// or https:// URL, got \"localhost:8080\""),
        "{stderr}"
    );
}

/// Runs `ordertrail order --request-id id` against in-process services; what it printed.
async fn order_with_id(id: &str) -> String {
    let services = Services::start().await;
    let gateway = services.gateway.clone();
    let output = binary!()
        .output(args(&["order", "--gateway", &gateway, "--request-id", id]))
        .await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    stdout
}

#[tokio::test]
async fn a_refused_request_id_is_reported_with_the_one_the_gateway_made() {
    let stdout = order_with_id("my order#1").await;
    let made = stdout
        .lines()
        .find_map(|l| l.strip_prefix("request  "))
        .expect("a request line");
    assert_ne!(made, "my order#1");
    let note = stdout
        .lines()
        .find_map(|l| l.strip_prefix("note     "))
        .expect("a note about the refused id");
    assert!(note.contains("\"my order#1\""), "{note}");
    assert!(note.contains("outside the safe set at offset 2"), "{note}");
    assert!(note.contains(made), "{note}");
}

#[tokio::test]
async fn a_kept_request_id_gets_no_note() {
    let stdout = order_with_id("kept-1").await;
    assert!(stdout.contains("request  kept-1\n"), "{stdout}");
    assert!(!stdout.contains("note"), "{stdout}");
}

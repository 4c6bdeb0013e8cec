//! [`counts`]: what `ordertrail collect` wrote for one service, spans in `traces.jsonl` and log
//! records in `otlp-logs.jsonl` (one OTLP/JSON export request per line), so a benchmark can
//! check that everything it made reached the collector before dividing by it.

use std::path::Path;

use serde_json::Value;

/// Spans and log records `service` exported, as `ordertrail collect --out dir` wrote them
/// (nothing when the files do not exist).
pub fn counts(dir: &Path, service: &str) -> (u64, u64) {
    let spans = count(
        &dir.join("traces.jsonl"),
        service,
        "resourceSpans",
        "scopeSpans",
        "spans",
    );
    let records = count(
        &dir.join("otlp-logs.jsonl"),
        service,
        "resourceLogs",
        "scopeLogs",
        "logRecords",
    );
    (spans, records)
}

/// Items under `resources[].scopes[].items` whose resource's `service.name` is `service`.
fn count(file: &Path, service: &str, resources: &str, scopes: &str, items: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let requests = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok());
    let of_service = |r: &&Value| service_name(r) == Some(service);
    requests
        .flat_map(|request| array(&request[resources]).to_vec())
        .filter(|r| of_service(&r))
        .flat_map(|r| array(&r[scopes]).to_vec())
        .map(|scope| array(&scope[items]).len() as u64)
        .sum()
}

fn service_name(resource: &Value) -> Option<&str> {
    array(&resource["resource"]["attributes"])
        .iter()
        .find(|kv| kv["key"] == "service.name")
        .and_then(|kv| kv["value"]["stringValue"].as_str())
}

fn array(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_items_of_one_service_only() {
        let dir = std::env::temp_dir().join(format!("testkit-exported-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let resource = |name: &str, spans: usize| {
            serde_json::json!({
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": name}}]},
                "scopeSpans": [{"spans": vec![serde_json::json!({}); spans]}],
            })
        };
        let line = serde_json::json!({"resourceSpans": [resource("a", 2), resource("b", 5)]});
        std::fs::write(dir.join("traces.jsonl"), format!("{line}\n{line}\n")).expect("write");
        assert_eq!(counts(&dir, "a"), (4, 0));
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}

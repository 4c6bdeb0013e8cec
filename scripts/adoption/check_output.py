#!/usr/bin/env python3
"""Checks what a fresh crate run by scripts/check-adoption.sh wrote, failing on the first problem.

    check_output.py LINES OTLP_DIR [--stderr FILE] [--secret TEXT]

LINES is its stdout (JSON lines), OTLP_DIR the `ordertrail collect` output (traces.jsonl,
otlp-logs.jsonl). Always: the completion line of request adopter-2 carries request_id, trace_id
and span_id at top level, and every span batch names the crate's service (hello) and version
(3.1.4). With --stderr: the team's own layer wrote the handler's warning there. With --secret:
the secret is in no line, span or log record, the redaction policy's mark is, on the line, the
span and the log record of the event in the handler's `lookup` span.
"""

import argparse
import json
import sys
from pathlib import Path

SERVICE, VERSION = "hello", "3.1.4"
REDACTED = "[key]"


def fail(message):
    print(f"check-adoption: FAIL {message}", file=sys.stderr)
    sys.exit(1)


def attributes(items):
    """OTLP-JSON attributes as a dict of their string (or int) values."""
    out = {}
    for item in items or []:
        value = item.get("value", {})
        out[item["key"]] = value.get("stringValue", value.get("intValue"))
    return out


def otlp(path, resource_key, scope_key, item_key):
    """(resource attributes, item) of every span or log record in an OTLP-JSON lines file."""
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        for resource in json.loads(line).get(resource_key, []):
            attrs = attributes(resource["resource"]["attributes"])
            for scope in resource.get(scope_key, []):
                found.extend((attrs, item) for item in scope.get(item_key, []))
    return found


def read_lines(path):
    """The JSON lines a service wrote on stdout."""
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def check_lines(lines):
    done = [l for l in lines if l.get("message") == "request completed" and l.get("request_id") == "adopter-2"]
    if not done:
        fail(f"no completion line for adopter-2 in {len(lines)} lines")
    for key in ("request_id", "trace_id", "span_id"):
        if not all(key in l for l in done):
            fail(f"{key} missing at top level: {done[0]}")
    return f"{len(done)} completion line(s) with request_id, trace_id, span_id"


def check_spans(spans):
    if not spans:
        fail("no spans reached the collector")
    for resource, _span in spans:
        if (resource.get("service.name"), resource.get("service.version")) != (SERVICE, VERSION):
            fail(f"a span from another service: {resource}")
    return f"{len(spans)} span(s) from service {SERVICE} {VERSION}"


def check_secret(secret, lines, out_dir, texts, spans, records):
    for name, text in texts.items():
        if secret in text:
            fail(f"the secret reached {name}")
    for path in out_dir.glob("*"):
        if secret in path.read_text():
            fail(f"the secret reached {path.name}")
    checked = [l for l in lines if l.get("message") == "key checked" and l.get("request_id") == "adopter-2"]
    if not checked or checked[0].get("auth") != REDACTED:
        fail(f"no line of the lookup span with auth {REDACTED}: {checked}")
    lookups = [attributes(s.get("attributes")) for _, s in spans if s.get("name") == "lookup"]
    if not any(a.get("auth") == REDACTED for a in lookups):
        fail(f"no exported lookup span with auth {REDACTED}: {lookups}")
    kept = [attributes(r.get("attributes")) for _, r in records]
    if not any(a.get("request_id") == "adopter-2" and a.get("auth") == REDACTED for a in kept):
        fail(f"no log record of adopter-2 with auth {REDACTED} in {len(records)} records")
    return f"the secret in no output, {REDACTED} on the line, the span and the log record"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("lines", type=Path)
    parser.add_argument("otlp_dir", type=Path)
    parser.add_argument("--stderr", type=Path)
    parser.add_argument("--secret")
    args = parser.parse_args()

    text = args.lines.read_text()
    lines = read_lines(args.lines)
    spans = otlp(args.otlp_dir / "traces.jsonl", "resourceSpans", "scopeSpans", "spans")
    records = otlp(args.otlp_dir / "otlp-logs.jsonl", "resourceLogs", "scopeLogs", "logRecords")
    report = [check_lines(lines), check_spans(spans)]
    texts = {"stdout": text}
    if args.stderr:
        texts["stderr"] = args.stderr.read_text()
        if "served from the slow path" not in texts["stderr"]:
            fail("the team's own layer wrote nothing on stderr")
        report.append("the team's layer wrote on stderr")
    if args.secret:
        report.append(check_secret(args.secret, lines, args.otlp_dir, texts, spans, records))
    print("; ".join(report))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks a run of the two_services example by scripts/check-adoption.sh: one request to front's
/greet is one trace across both services.

    check_two_services.py LINES OTLP_DIR REQUEST_ID

The completion lines of REQUEST_ID from front and from back carry the same request_id and
trace_id; the exported spans chain front's server span -> front's client span -> back's server
span, all in that trace.
"""

import sys
from pathlib import Path

from check_output import attributes, fail, otlp, read_lines

SERVER, CLIENT = 2, 3


def check_lines(lines, request_id):
    done = {
        l.get("service"): l
        for l in lines
        if l.get("message") == "request completed" and l.get("request_id") == request_id
    }
    if set(done) != {"front", "back"}:
        fail(f"expected completion lines of front and back for {request_id}, got {sorted(done, key=str)}")
    traces = {l.get("trace_id") for l in done.values()}
    if len(traces) != 1 or None in traces:
        fail(f"front and back logged different traces: {traces}")
    return traces.pop()


def server_span(spans, service):
    found = [s for s in spans if s.get("kind") == SERVER and attributes(s.get("attributes")).get("service") == service]
    if len(found) != 1:
        fail(f"expected one server span of {service} in the trace, got {len(found)}")
    return found[0]


def check_spans(spans, trace_id):
    spans = [s for _, s in spans if s.get("traceId") == trace_id]
    front, back = server_span(spans, "front"), server_span(spans, "back")
    calls = [s for s in spans if s.get("kind") == CLIENT and s.get("parentSpanId") == front["spanId"]]
    if len(calls) != 1:
        fail(f"expected one client span under front's server span, got {len(calls)}")
    if back.get("parentSpanId") != calls[0]["spanId"]:
        fail("back's server span is not a child of front's client span")
    return f"front -> call -> back in trace {trace_id}"


def main():
    lines_path, otlp_dir, request_id = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    trace_id = check_lines(read_lines(lines_path), request_id)
    spans = otlp(otlp_dir / "traces.jsonl", "resourceSpans", "scopeSpans", "spans")
    print(f"front and back logged {request_id} in one trace; " + check_spans(spans, trace_id))


if __name__ == "__main__":
    main()

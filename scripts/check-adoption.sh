#!/usr/bin/env bash
# Adoption check: a fresh crate outside the workspace, depending on crates/ordertrail by path,
# builds the README's example as its main.rs and runs it as a service author would.
#
#   scripts/check-adoption.sh            # the check (.ci/run calls it)
#   scripts/check-adoption.sh --measure  # also: dependencies and cold release build time of the
#                                        # same hello on ordertrail and on the usual stack
#
# Checks, failing on the first problem:
# 1. the example's dependency tree holds none of rusqlite, clap, indicatif, hdrhistogram, nix,
#    nor a tonic server;
# 2. it builds; run with OTEL_EXPORTER_OTLP_ENDPOINT pointing at `ordertrail collect`, one
#    request gives a JSON line with top-level request_id, trace_id and span_id;
# 3. the spans the collector received carry the fresh crate's service.name and service.version;
# 4. a team with its own subscriber (scripts/adoption/own_subscriber.rs): `telemetry::layers()`
#    composed next to the team's stderr layer, the team's redaction policy, and the guard only
#    dropped, with a 60 s batch delay, so only the flush on drop can export: its lines carry the
#    ids, its stderr layer writes too, the spans arrive with its service, and its secret reaches
#    no line, span or log record;
# 5. examples/two_services: one request to front is one trace, front's server span -> its client
#    span -> back's server span, and both services log the request id and that trace id.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
die() { printf 'check-adoption: FAIL %s\n' "$*" >&2; exit 1; }
step() { printf '== %s\n' "$*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The README's example: the first ```rust block after the `adoption-example` marker.
readme_example() {
  awk '/<!-- adoption-example -->/{on=1} on&&/^```rust/{code=1; next} code&&/^```/{exit} code{print}' README.md |
    grep -v '^# '
}

# A fresh crate named hello-adopter, version 3.1.4, with $1 as main.rs and $2 as extra deps.
fresh_crate() {
  local dir=$1 main=$2 deps=$3
  mkdir -p "$dir/src"
  cp "$main" "$dir/src/main.rs"
  cat >"$dir/Cargo.toml" <<TOML
[package]
name = "hello-adopter"
version = "3.1.4"
edition = "2024"
publish = false

[workspace]

[dependencies]
$deps

# Small debug builds: the check links a binary, it does not debug one.
[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false
TOML
  # The workspace's lock file pins the same versions the workspace was tested with.
  cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
}

ORDERTRAIL_DEPS="ordertrail = { path = \"$ROOT/crates/ordertrail\" }
axum = \"0.8\"
tokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\"] }
tracing = \"0.1\""

step "the README's example in a fresh crate"
readme_example >"$WORK/main.rs"
[ -s "$WORK/main.rs" ] || die "no example after <!-- adoption-example --> in README.md"
fresh_crate "$WORK/hello" "$WORK/main.rs" "$ORDERTRAIL_DEPS"

step "dependency tree"
tree=$(cd "$WORK/hello" && cargo tree -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
for banned in rusqlite clap indicatif hdrhistogram nix; do
  if grep -qx "$banned" <<<"$tree"; then die "the example pulls in $banned"; fi
done
if (cd "$WORK/hello" && cargo tree -e features -i tonic 2>/dev/null | grep -q 'tonic feature "server"'); then
  die "the example pulls in a tonic server"
fi
echo "$(wc -l <<<"$tree") packages, none of rusqlite, clap, indicatif, hdrhistogram, nix, tonic server"

step "build"
export CARGO_TARGET_DIR=$ROOT/target/adoption
(cd "$WORK/hello" && cargo build --quiet)
# The binary as `cargo test` builds it (the workspace's features): after the suite this is a no-op,
# where a `-p` build would compile the factory again with other features.
(cd "$ROOT" && CARGO_TARGET_DIR=$ROOT/target cargo test --workspace --no-run --quiet)

# Runs the binary $1 against `ordertrail collect`, listening on the address in variable $3, with
# the extra environment in $5..., sends two requests to path $4 (adopter-1 until it answers,
# then adopter-2) and stops it like Ctrl-C. Its stdout goes to $WORK/$2.jsonl, its stderr to
# $WORK/$2.err, the collector's files to $WORK/otlp-$2/.
run_against_collector() {
  local binary=$1 name=$2 addr_var=$3 path=$4 otlp app pid collector
  shift 4
  otlp=$(free_port)
  app=$(free_port)
  "$ROOT/target/debug/ordertrail" collect --listen "127.0.0.1:$otlp" --out "$WORK/otlp-$name" \
    >"$WORK/collect-$name.log" 2>&1 &
  collector=$!
  PIDS+=("$collector")
  env "$addr_var=127.0.0.1:$app" OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$otlp" "$@" \
    "$binary" >"$WORK/$name.jsonl" 2>"$WORK/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$app$path" -H 'x-request-id: adopter-1' 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$app$path" -H 'x-request-id: adopter-2' >/dev/null || die "$name does not answer"
  kill -TERM "$pid"
  wait "$pid" || true
  for _ in $(seq 1 50); do [ -s "$WORK/otlp-$name/traces.jsonl" ] && break; sleep 0.1; done
  # The collector writes what it receives before answering: the exporter's flush is on disk.
  kill -TERM "$collector" 2>/dev/null || true
  wait "$collector" 2>/dev/null || true
}

step "run against ordertrail collect"
run_against_collector "$CARGO_TARGET_DIR/debug/hello-adopter" hello HELLO_ADDR /hello OTEL_BSP_SCHEDULE_DELAY=100
python3 "$ROOT/scripts/adoption/check_output.py" "$WORK/hello.jsonl" "$WORK/otlp-hello"

step "a team's own subscriber: layers(), its redaction policy, the guard dropped"
fresh_crate "$WORK/own" "$ROOT/scripts/adoption/own_subscriber.rs" "$ORDERTRAIL_DEPS
tracing-subscriber = { version = \"0.3\", default-features = false, features = [\"fmt\"] }"
(cd "$WORK/own" && cargo build --quiet)
run_against_collector "$CARGO_TARGET_DIR/debug/hello-adopter" own HELLO_ADDR /hello OTEL_BSP_SCHEDULE_DELAY=60000
python3 "$ROOT/scripts/adoption/check_output.py" "$WORK/own.jsonl" "$WORK/otlp-own" \
  --stderr "$WORK/own.err" --secret SECRET123

step "examples/two_services: one request, one trace across front and back"
# `cargo test --no-run` above built the examples too.
run_against_collector "$ROOT/target/debug/examples/two_services" two FRONT_ADDR /greet \
  BACK_ADDR="127.0.0.1:$(free_port)" OTEL_BSP_SCHEDULE_DELAY=100
python3 "$ROOT/scripts/adoption/check_two_services.py" "$WORK/two.jsonl" "$WORK/otlp-two" adopter-2

[ "${1:-}" = --measure ] || { echo "check-adoption: ok"; exit 0; }

step "measure: the same hello on the usual stack"
# Wall time moves with whatever else runs on the machine; the CPU time (user + system of cargo
# and every rustc) is the steadier number.
fresh_crate "$WORK/usual" "$ROOT/scripts/adoption/usual.rs" "$(cat "$ROOT/scripts/adoption/usual-deps.toml")"
printf '%-6s %9s %16s %15s %14s\n' crate packages "cold build wall" "cold build CPU" "main.rs lines"
for crate in hello usual; do
  count=$(cd "$WORK/$crate" && cargo tree -e normal --prefix none --format '{p}' | awk '{print $1" "$2}' | sort -u | wc -l)
  rm -rf "$WORK/target-$crate"
  (cd "$WORK/$crate" && CARGO_TARGET_DIR=$WORK/target-$crate \
    /usr/bin/time -f '%e %U %S' -o "$WORK/time-$crate" cargo build --release --quiet)
  read -r wall user sys <"$WORK/time-$crate"
  lines=$(grep -cv '^\s*\(//.*\)\?$' "$WORK/$crate/src/main.rs")
  printf '%-6s %9d %14.0f s %13.0f s %14d\n' "$crate" "$count" "$wall" "$(echo "$user + $sys" | bc)" "$lines"
done

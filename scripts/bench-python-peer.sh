#!/usr/bin/env bash
# ordertrail `up` against the Python reference stack (FastAPI + uvicorn --workers 2 +
# asgi-correlation-id + OpenTelemetry, OTLP gRPC to a live receiver), in the same run:
#
#   scripts/bench-python-peer.sh PEER_DIR [compare.py options: --rounds 3 --duration 10 ...]
#
# PEER_DIR holds the Python stack (app.py, requirements.txt, post_order.lua); it is only read.
# This script installs the stack's exact requirements into a venv (PEER_VENV, default
# target/python-peer-venv, rebuilt when requirements.txt changes), builds the release binary,
# and runs scripts/python_peer/compare.py: both stacks on free loopback ports, interleaved
# bounded wrk rounds against each gateway's POST /orders, server CPU per order from /proc,
# everything stopped by PID, a Markdown table at the end. Needs python3 (3.11, as the peer
# pins), wrk (`apt-get install -y wrk`) and network access to PyPI for the first venv.
set -euo pipefail
if [ $# -lt 1 ] || [ ! -f "$1/app.py" ] || [ ! -f "$1/requirements.txt" ]; then
  echo "usage: $0 PEER_DIR [--rounds N --duration S ...]  (PEER_DIR: the Python stack, with app.py)" >&2
  exit 2
fi
peer="$(cd "$1" && pwd)"
shift
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

venv="${PEER_VENV:-target/python-peer-venv}"
stamp="$venv/requirements.sha256"
want="$(sha256sum "$peer/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== venv $venv: $(python3 --version), pip install -r $peer/requirements.txt"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$peer/requirements.txt"
  echo "$want" >"$stamp"
fi
echo "== Python stack: $("$venv/bin/python" --version), $("$venv/bin/pip" freeze | grep -iE '^(fastapi|uvicorn|opentelemetry-sdk|grpcio)==' | tr '\n' ' ')"

echo "== cargo build --release -p ordertrail-factory"
cargo build --release -p ordertrail-factory
echo "== ordertrail at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (with uncommitted changes)')"

exec python3 scripts/python_peer/compare.py --peer "$peer" --venv "$venv" \
  --ordertrail target/release/ordertrail "$@"

#!/usr/bin/env bash
# Smoke test of the compose stack, for a machine with Docker (Compose v2), curl and GNU date:
# start it, place one order with a known request id, then find that order in Jaeger (HTTP API v3,
# by the request.id attribute) and in Loki (query_range by the request_id structured metadata,
# through Grafana's data source proxy since Loki is not published), and in the gateway's stdout.
#
#   scripts/smoke.sh            # leaves the stack running
#   scripts/smoke.sh --down     # stops it and removes its volumes afterwards (CI)
#
# Fails loudly (exit 1, with the collector's last log lines) when anything is missing after
# SMOKE_TIMEOUT seconds (default 120).
set -euo pipefail
cd "$(dirname "$0")/.."

GATEWAY=${GATEWAY:-http://localhost:8080}
JAEGER=${JAEGER:-http://localhost:16686}
GRAFANA=${GRAFANA:-http://localhost:3000}
LOKI_PROXY=$GRAFANA/api/datasources/proxy/uid/ordertrail-loki
TIMEOUT=${SMOKE_TIMEOUT:-120}
SERVICES=(gateway orders inventory payments)
WORK=$(mktemp -d)

down=false
if [ "${1:-}" = "--down" ]; then down=true; fi
cleanup() {
  rm -rf "$WORK"
  if $down; then docker compose down --volumes --remove-orphans >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

say() { printf '== %s\n' "$*"; }
fail() {
  printf 'smoke: FAIL %s\n' "$*" >&2
  docker compose ps >&2 || true
  docker compose logs --tail 30 otel-collector >&2 || true
  exit 1
}

# Retries `check` (a function returning 0 when satisfied) until it passes or TIMEOUT runs out.
eventually() {
  local what=$1 check=$2 deadline=$((SECONDS + TIMEOUT))
  until "$check"; do
    if [ "$SECONDS" -ge "$deadline" ]; then fail "$what: not found within ${TIMEOUT}s"; fi
    sleep 3
  done
  say "$what: found"
}

say "docker compose up -d --build --wait"
docker compose up -d --build --wait || fail "the stack did not become healthy"

REQUEST_ID="smoke-$(date +%s)-$RANDOM"
say "placing an order with x-request-id $REQUEST_ID"
status=$(curl -sS -o "$WORK/order.json" -D "$WORK/headers" -w '%{http_code}' "$GATEWAY/orders" \
  -H 'content-type: application/json' -H "x-request-id: $REQUEST_ID" \
  -d '{"sku":"mug-classic","quantity":1,"card_number":"4242 4242 4242 4242"}') \
  || fail "the gateway at $GATEWAY does not answer"
[ "$status" = 201 ] || fail "the order was answered $status: $(cat "$WORK/order.json")"
grep -qi "^x-request-id: $REQUEST_ID" "$WORK/headers" || fail "the answer does not echo x-request-id"
say "order placed: $(cat "$WORK/order.json")"

START_RFC3339=$(date -u -d '-10 min' +%Y-%m-%dT%H:%M:%SZ)
END_RFC3339=$(date -u -d '+5 min' +%Y-%m-%dT%H:%M:%SZ)
START_NS="$(date -u -d '-10 min' +%s)000000000"
END_NS="$(date -u -d '+5 min' +%s)000000000"

# Every service's span is in the trace found by the gateway's request.id attribute.
trace_in_jaeger() {
  local code
  code=$(curl -sS -o "$WORK/trace.json" -w '%{http_code}' -G "$JAEGER/api/v3/traces" \
    --data-urlencode 'query.service_name=gateway' \
    --data-urlencode "query.attributes={\"request.id\":\"$REQUEST_ID\"}" \
    --data-urlencode "query.start_time_min=$START_RFC3339" \
    --data-urlencode "query.start_time_max=$END_RFC3339") || return 1
  [ "$code" = 200 ] || return 1
  grep -q "$REQUEST_ID" "$WORK/trace.json" || return 1
  local svc
  for svc in "${SERVICES[@]}"; do
    grep -Eq "\"stringValue\": ?\"$svc\"" "$WORK/trace.json" || return 1
  done
}

# Every service wrote log records with the order's request_id.
logs_in_loki() {
  local code
  code=$(curl -sS -o "$WORK/logs.json" -w '%{http_code}' -G "$LOKI_PROXY/loki/api/v1/query_range" \
    --data-urlencode "query={service_namespace=\"ordertrail\"} | request_id=\"$REQUEST_ID\"" \
    --data-urlencode "start=$START_NS" --data-urlencode "end=$END_NS" \
    --data-urlencode 'limit=1000' --data-urlencode 'direction=forward') || return 1
  [ "$code" = 200 ] || return 1
  grep -q 'request completed' "$WORK/logs.json" || return 1
  local svc
  for svc in "${SERVICES[@]}"; do
    grep -Eq "\"service_name\": ?\"$svc\"" "$WORK/logs.json" || return 1
  done
}

in_gateway_stdout() {
  docker compose logs --no-log-prefix gateway 2>/dev/null | grep -q "\"request_id\":\"$REQUEST_ID\""
}

datasources_healthy() {
  local uid
  for uid in ordertrail-jaeger ordertrail-loki; do
    curl -sSf -o /dev/null "$GRAFANA/api/datasources/uid/$uid/health" || return 1
  done
}

eventually "trace in Jaeger (request.id=$REQUEST_ID, spans of ${SERVICES[*]})" trace_in_jaeger
eventually "log records in Loki (request_id=$REQUEST_ID, from ${SERVICES[*]})" logs_in_loki
eventually "JSON line in \`docker compose logs gateway\`" in_gateway_stdout
eventually "Grafana data sources ordertrail-jaeger and ordertrail-loki healthy" datasources_healthy

say "ok: order $REQUEST_ID found in Jaeger, Loki and stdout"
say "Grafana: $GRAFANA/d/ordertrail-follow-order/follow-an-order?var-request_id=$REQUEST_ID"

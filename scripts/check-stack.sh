#!/usr/bin/env bash
# Static checks of the compose stack (docker-compose.yml, Dockerfile, deploy/, grafana/,
# dashboards/), for machines with no Docker engine. Called by .ci/run; fails on the first problem.
#
#   scripts/check-stack.sh
#
# 1. every YAML and JSON config parses;
# 2. docker-compose.yml validates against the compose-spec JSON schema (check-jsonschema);
# 3. Debian's docker-compose 1.29 accepts it (`config`, on a copy without the keys it predates);
# 4. cross-references (scripts/check_stack.py): mounts, ports, variables, subcommands and flags the
#    binary reads, data source uids, pipelines, the Dockerfile's binary;
# 5. every LogQL query parses with Grafana's grammar (scripts/check_logql.mjs, @grafana/lezer-logql);
# 6. the Prometheus config and every PromQL query parse with promtool (Debian's prometheus);
# 7. shellcheck on scripts/*.sh.
#
# Installs what it needs (pip into a venv, apt-get, npm into a cache directory) when missing;
# needs root for apt-get on a fresh machine. ORDERTRAIL_CHECK_CACHE moves the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${ORDERTRAIL_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ordertrail-check-stack}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS

step() { printf '== %s\n' "$*"; }
die() { printf 'check-stack: FAIL %s\n' "$*" >&2; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "missing $*; install it (apt-get install $*) or run as root"
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

install_tools() {
  step "tools (cache: $CACHE)"
  mkdir -p "$CACHE"
  local missing=()
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  command -v python3 >/dev/null || missing+=(python3)
  command -v promtool >/dev/null || missing+=(prometheus)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

  if [ ! -x "$CACHE/venv/bin/check-jsonschema" ]; then
    rm -rf "$CACHE/venv"
    # Debian's python3 refuses a root-wide pip install (PEP 668): use a venv.
    python3 -m venv "$CACHE/venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$CACHE/venv"; }
    "$CACHE/venv/bin/pip" install -q --disable-pip-version-check check-jsonschema pyyaml 'tomli; python_version < "3.11"' \
      || die "pip install check-jsonschema pyyaml failed"
  fi
  if [ ! -f "$CACHE/npm/node_modules/@grafana/lezer-logql/package.json" ]; then
    mkdir -p "$CACHE/npm"
    (cd "$CACHE/npm" && npm install --silent --no-audit --no-fund --no-save @grafana/lezer-logql >/dev/null) \
      || die "npm install @grafana/lezer-logql failed"
  fi
  PY=$CACHE/venv/bin/python
  printf '   docker-compose %s, check-jsonschema %s, @grafana/lezer-logql %s, node %s\n' \
    "$(docker-compose version --short 2>/dev/null)" \
    "$("$CACHE/venv/bin/check-jsonschema" --version | awk '{print $NF}')" \
    "$(node -p "require('$CACHE/npm/node_modules/@grafana/lezer-logql/package.json').version")" \
    "$(node --version)"
}

parse_configs() {
  step "every config parses"
  "$PY" - <<'EOF' || die "a config file does not parse"
import json, pathlib, sys, yaml
bad = 0
# deploy/kubernetes holds multi-document manifests: scripts/check-kubernetes.sh checks them.
files = [pathlib.Path("docker-compose.yml"),
         *sorted(p for p in pathlib.Path("deploy").rglob("*.y*ml") if "kubernetes" not in p.parts),
         *sorted(pathlib.Path("grafana").rglob("*.y*ml"))]
for path in files:
    try:
        if not isinstance(yaml.safe_load(path.read_text()), dict):
            raise ValueError("not a mapping")
        print(f"   yaml {path}")
    except Exception as err:
        print(f"FAIL {path}: {err}"); bad += 1
for path in sorted(pathlib.Path("dashboards").glob("*.json")):
    try:
        dash = json.loads(path.read_text())
        for key in ("uid", "title", "panels", "schemaVersion"):
            if key not in dash:
                raise ValueError(f"no {key}")
        print(f"   json {path}: {dash['title']!r}, {len(dash['panels'])} panels")
    except Exception as err:
        print(f"FAIL {path}: {err}"); bad += 1
sys.exit(1 if bad else 0)
EOF
}

compose_schema() {
  step "docker-compose.yml against the compose-spec schema"
  "$CACHE/venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml \
    || die "docker-compose.yml does not match the compose-spec schema"
}

compose_v1() {
  step "docker-compose 1.29 config (copy without top-level name and start_interval)"
  "$PY" - "$WORK/compose-1.29.yml" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open("docker-compose.yml"))
doc.pop("name", None)
for svc in doc["services"].values():
    (svc.get("healthcheck") or {}).pop("start_interval", None)
yaml.safe_dump(doc, open(sys.argv[1], "w"), sort_keys=False)
EOF
  docker-compose --project-directory "$ROOT" -f "$WORK/compose-1.29.yml" config -q \
    || die "docker-compose 1.29 rejects docker-compose.yml"
  printf '   services: %s\n' "$(docker-compose --project-directory "$ROOT" -f "$WORK/compose-1.29.yml" config --services | sort | tr '\n' ' ')"
}

cross_references() {
  step "cross-references (scripts/check_stack.py)"
  "$PY" scripts/check_stack.py --logql-out "$WORK/logql.json" --promql-out "$WORK/promql-rules.yml" \
    || die "cross-reference problems above"
}

logql() {
  step "LogQL with Grafana's grammar (scripts/check_logql.mjs)"
  NODE_PATH="$CACHE/npm/node_modules" node scripts/check_logql.mjs "$WORK/logql.json" \
    || die "LogQL queries above do not parse"
}

promql() {
  step "Prometheus config and PromQL with promtool"
  promtool check config deploy/prometheus/prometheus.yml >/dev/null \
    || die "deploy/prometheus/prometheus.yml does not pass promtool check config"
  promtool check rules "$WORK/promql-rules.yml" \
    || die "PromQL queries in dashboards/ do not parse (rules in $WORK/promql-rules.yml)"
}

shell_scripts() {
  step "shellcheck scripts/*.sh"
  shellcheck scripts/*.sh || die "shellcheck"
}

install_tools
parse_configs
compose_schema
compose_v1
cross_references
logql
promql
shell_scripts
step "stack checks passed in $((SECONDS - started)) s"

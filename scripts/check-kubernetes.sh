#!/usr/bin/env bash
# Static checks of the Kubernetes manifests (deploy/kubernetes/), for machines with no cluster.
# Called by .ci/run; fails on the first problem.
#
#   scripts/check-kubernetes.sh
#
# 1. `kubectl kustomize` renders every overlay (kubectl 1.32, kustomize 5.5);
# 2. every rendered object validates against the Kubernetes 1.32 OpenAPI schemas, strictly
#    (unknown fields fail), with kubernetes-validate and the schemas it ships: no network;
# 3. cross-references, the binary's services, ports and variables, the Collector configs against
#    the pinned contrib release's components, tail sampling against the flight recorder
#    (scripts/check_kubernetes.py);
# 4. the same check on deliberately broken copies must fail, once per kind of reference
#    (scripts/check_kubernetes_mutations.py).
#
# Installs kubernetes-validate into a venv when missing. kubectl must be on PATH.
# ORDERTRAIL_CHECK_CACHE moves the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${ORDERTRAIL_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ordertrail-check-kubernetes}
KUBERNETES_VERSION=1.32.0
VALIDATE_VERSION=1.32.0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS

step() { printf '== %s\n' "$*"; }
die() { printf 'check-kubernetes: FAIL %s\n' "$*" >&2; exit 1; }

install_tools() {
  step "tools (cache: $CACHE)"
  command -v kubectl >/dev/null \
    || die "kubectl is not on PATH: install kubectl 1.32 (it carries kustomize 5.5), e.g. from https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl"
  command -v python3 >/dev/null || die "python3 is not on PATH"
  local venv=$CACHE/venv-$VALIDATE_VERSION
  if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    rm -rf "$venv"
    mkdir -p "$CACHE"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$VALIDATE_VERSION" pyyaml \
      'tomli; python_version < "3.11"' || die "pip install kubernetes-validate==$VALIDATE_VERSION failed"
  fi
  PY=$venv/bin/python
  VALIDATE=$venv/bin/kubernetes-validate
  printf '   %s, kubernetes-validate %s (schemas for Kubernetes %s)\n' \
    "$(kubectl version --client 2>/dev/null | tr '\n' ' ')" "$VALIDATE_VERSION" "$KUBERNETES_VERSION"
}

render() {
  step "kubectl kustomize renders every overlay"
  RENDERED=()
  local dir name
  for dir in deploy/kubernetes/overlays/*/; do
    name=$(basename "$dir")
    kubectl kustomize "$dir" > "$WORK/$name.yaml" || die "kubectl kustomize $dir"
    printf '   %s: %s objects\n' "$name" "$(grep -c '^kind:' "$WORK/$name.yaml")"
    RENDERED+=("$name=$WORK/$name.yaml")
  done
  [ "${#RENDERED[@]}" -ge 2 ] || die "expected the overlays dev and production"
}

schemas() {
  step "OpenAPI schemas of Kubernetes $KUBERNETES_VERSION (kubernetes-validate --strict)"
  local item
  for item in "${RENDERED[@]}"; do
    "$VALIDATE" --kubernetes-version "$KUBERNETES_VERSION" --strict --quiet "${item#*=}" \
      || die "${item%%=*} does not validate against the Kubernetes $KUBERNETES_VERSION schemas"
    printf '   %s: valid\n' "${item%%=*}"
  done
}

cross_references() {
  step "cross-references (scripts/check_kubernetes.py)"
  "$PY" scripts/check_kubernetes.py "${RENDERED[@]}" || die "cross-reference problems above"
}

mutations() {
  step "broken copies must fail (scripts/check_kubernetes_mutations.py)"
  "$PY" scripts/check_kubernetes_mutations.py "$WORK/production.yaml" \
    || die "a broken reference went unnoticed"
}

install_tools
render
schemas
cross_references
mutations
step "kubernetes checks passed in $((SECONDS - started)) s"

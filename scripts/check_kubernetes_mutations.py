#!/usr/bin/env python3
"""Proof that scripts/check_kubernetes.py can fail: breaks one reference at a time.

Run by scripts/check-kubernetes.sh after the real check passed:

    python3 scripts/check_kubernetes_mutations.py RENDERED.yaml

Each entry of MUTATIONS changes one thing in a copy of a rendered overlay (a port, a host, a
ConfigMap key, a selector, a policy, a threshold, a component, a variable) and names a piece of the
problem line the check must print. Exits 1 if any change goes unnoticed: a check that cannot fail
proves nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_kubernetes import WORKLOADS, Overlay, check, containers, inputs  # noqa: E402


def configmap_text(docs: list, key: str, old: str, new: str) -> None:
    """Replace text in the first ConfigMap value under `key` that holds it."""
    for doc in docs:
        if doc["kind"] == "ConfigMap" and old in (doc.get("data") or {}).get(key, ""):
            doc["data"][key] = doc["data"][key].replace(old, new)
            return
    raise AssertionError(f"no ConfigMap {key} holds {old!r}")


def named(docs: list, kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def first_env(docs: list, workload: str, var: str) -> dict:
    for kind in WORKLOADS:
        for d in docs:
            if d["kind"] == kind and d["metadata"]["name"] == workload:
                return next(e for c in containers(d) for e in c.get("env") or [] if e["name"] == var)
    raise AssertionError(workload)


# (what is broken, how, a piece of the problem line that must appear)
MUTATIONS = [
    ("the agent's port in the services' endpoint",
     lambda d: configmap_text(d, "OTEL_EXPORTER_OTLP_ENDPOINT", "otel-agent:4317", "otel-agent:4319"),
     "has no port 4319"),
    ("a peer URL's host",
     lambda d: configmap_text(d, "ORDERTRAIL_PAYMENTS_URL", "payments:", "payment:"),
     "names 'payment'"),
    ("a ConfigMap key a variable reads",
     lambda d: first_env(d, "otel-gateway", "TAIL_SAMPLING_PERCENTAGE")["valueFrom"]["configMapKeyRef"].update(key="PERCENT"),
     "key 'PERCENT'"),
    ("a Service selector",
     lambda d: named(d, "Service", "orders")["spec"]["selector"].update({"app.kubernetes.io/name": "order"}),
     "Service/orders: selector"),
    ("a NetworkPolicy selector",
     lambda d: named(d, "NetworkPolicy", "nats-from-orders-and-shipping")["spec"]["podSelector"]["matchLabels"].update({"app.kubernetes.io/name": "nat"}),
     "podSelector matches no pod template"),
    ("an internal service opened to anyone",
     lambda d: named(d, "NetworkPolicy", "services-from-services-and-prometheus")["spec"]["ingress"][0].pop("from"),
     "only the gateway may be reached"),
    ("the gateway's sampling threshold against the recorder's",
     lambda d: configmap_text(d, "config.yaml", "> 1000000000", "> 2000000000"),
     "is not the flight recorder's"),
    ("a component the contrib release no longer builds",
     lambda d: configmap_text(d, "config.yaml", "extensions:\n  health_check:\n",
                              "extensions:\n  kafkatopics_observer:\n  health_check:\n"),
     "is not in otelcol-contrib 0.159.0"),
    ("a component type the check cannot trace to a module",
     lambda d: configmap_text(d, "config.yaml", "exporters:\n  loadbalancing:\n",
                              "exporters:\n  kafka:\n    brokers: [kafka:9092]\n  loadbalancing:\n"),
     "'kafka' is not one this check knows"),
    ("a variable the binary does not read",
     lambda d: named(d, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "ORDERTRAIL_LISTN", "value": "x"}),
     "sets ORDERTRAIL_LISTN"),
    ("a dependent variable defined too late",
     lambda d: named(d, "Deployment", "payments")["spec"]["template"]["spec"]["containers"][0]["env"].reverse(),
     "which is not defined before it"),
    ("a probe on a port the container lacks",
     lambda d: named(d, "Deployment", "jaeger")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"].update(port="healthz"),
     "readinessProbe port healthz"),
]


def mutations(path: Path) -> int:
    facts, modules, pins = inputs()
    text = path.read_text()
    missed = 0
    for what, mutate, expect in MUTATIONS:
        docs = [d for d in yaml.safe_load_all(text) if d]
        mutate(docs)
        overlay = Overlay("mutated", docs)
        check(overlay, facts, modules, pins)
        caught = [p for p in overlay.problems if expect in p]
        print(f"   {'caught' if caught else 'MISSED'}: {what}" + (f" ({caught[0]})" if caught else ""))
        missed += not caught
    return 1 if missed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1])
        sys.exit(2)
    sys.exit(mutations(Path(sys.argv[1])))

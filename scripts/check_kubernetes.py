#!/usr/bin/env python3
"""Cross-references of the rendered Kubernetes manifests, checked without a cluster.

Run by scripts/check-kubernetes.sh (which renders each overlay with `kubectl kustomize` and
validates the objects against the Kubernetes OpenAPI schemas first):

    python3 scripts/check_kubernetes.py OVERLAY=RENDERED.yaml [OVERLAY=RENDERED.yaml ...]

For every rendered overlay, checks that what the objects say about each other is true:
- every ConfigMap, Secret, key, volume, claim, ServiceAccount, Role and governing Service a pod or
  binding names exists, and every `$(VAR)` an env value expands is defined before it;
- every Service, NetworkPolicy, PodDisruptionBudget selector matches pods, every named or
  numbered port it targets is a container port of those pods, every HPA targets a workload;
- every URL or address in env values and in the Collector, Jaeger, Loki and Prometheus configs
  names a Service and one of its ports;
- the services run `ordertrail serve <name>` for each of the binary's services, on its port, with
  only variables the binary reads (or that another variable expands), and probes on /healthz;
- every pod is non-root with a read-only root filesystem and has requests and a memory limit;
  every image is pinned, and the backends' tags are those docker-compose.yml pins;
- only the gateway accepts ingress from anywhere, behind a default deny;
- every Collector config names only components of the pinned contrib release
  (scripts/otelcol-contrib-0.159.0-modules.txt), its pipelines use what it defines, start with
  memory_limiter and batch, and its `${env:X}` are set; the agent routes traces by trace id to a
  headless Service of collectors that tail-sample; tail sampling keeps errors, SERVER spans
  over the flight recorder's slow threshold, its statuses, and a share;
- Jaeger stores on a volume a claim backs (Badger) or in memory; Prometheus keeps exemplars and
  scrapes pods that exist.

Prints one line per problem (prefixed with the overlay) and exits 1 if there is any.
scripts/check_kubernetes_mutations.py proves each kind of check can fail.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_stack import binary_facts  # noqa: E402  (same directory)

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "scripts/otelcol-contrib-0.159.0-modules.txt"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
SERVICE_COMPONENT = "order-service"
COLLECTOR_IMAGE = "otel/opentelemetry-collector-contrib"
# Component type -> the module it is built from (its metadata.yaml `type`).
COMPONENT_MODULES = {
    "receivers": {
        "otlp": "core/receiver/otlpreceiver",
        "prometheus": "contrib/receiver/prometheusreceiver",
        "filelog": "contrib/receiver/filelogreceiver",
        "hostmetrics": "contrib/receiver/hostmetricsreceiver",
        "kubeletstats": "contrib/receiver/kubeletstatsreceiver",
    },
    "processors": {
        "batch": "core/processor/batchprocessor",
        "memory_limiter": "core/processor/memorylimiterprocessor",
        "k8sattributes": "contrib/processor/k8sattributesprocessor",
        "tail_sampling": "contrib/processor/tailsamplingprocessor",
        "resource": "contrib/processor/resourceprocessor",
        "attributes": "contrib/processor/attributesprocessor",
        "filter": "contrib/processor/filterprocessor",
        "transform": "contrib/processor/transformprocessor",
        "probabilistic_sampler": "contrib/processor/probabilisticsamplerprocessor",
    },
    "exporters": {
        "otlp_grpc": "core/exporter/otlpexporter",
        "otlp": "core/exporter/otlpexporter",
        "otlp_http": "core/exporter/otlphttpexporter",
        "otlphttp": "core/exporter/otlphttpexporter",
        "loadbalancing": "contrib/exporter/loadbalancingexporter",
        "debug": "core/exporter/debugexporter",
        "nop": "core/exporter/nopexporter",
        "prometheusremotewrite": "contrib/exporter/prometheusremotewriteexporter",
    },
    "extensions": {
        "health_check": "contrib/extension/healthcheckextension",
        "pprof": "contrib/extension/pprofextension",
        "zpages": "core/extension/zpagesextension",
        "file_storage": "contrib/extension/storage/filestorage",
        # Dropped from the contrib distribution before 0.159.0: known, so the check can say so.
        "kafkatopics_observer": "contrib/extension/observer/kafkatopicsobserver",
    },
    "connectors": {
        "forward": "core/connector/forwardconnector",
        "spanmetrics": "contrib/connector/spanmetricsconnector",
        "routing": "contrib/connector/routingconnector",
    },
}


class Overlay:
    """One rendered overlay: its objects, indexed, and the problems found in it."""

    def __init__(self, name: str, docs: list[dict]):
        self.name = name
        self.docs = [d for d in docs if d]
        self.by_kind: dict[str, dict[str, dict]] = {}
        for doc in self.docs:
            self.by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        namespaces = list(self.by_kind.get("Namespace", {}))
        self.namespace = namespaces[0] if len(namespaces) == 1 else None
        # (workload kind, workload name, container name) -> the variables the container gets.
        self.env: dict[tuple[str, str, str], dict[str, str]] = {}
        self.problems: list[str] = []

    @classmethod
    def load(cls, name: str, path: Path) -> "Overlay":
        return cls(name, list(yaml.safe_load_all(path.read_text())))

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.name}: {text}")

    def get(self, kind: str, name: str) -> dict | None:
        return self.by_kind.get(kind, {}).get(name)

    def workloads(self):
        for kind in WORKLOADS:
            yield from self.by_kind.get(kind, {}).values()

    def pods_matching(self, selector: dict) -> list[dict]:
        """Workloads whose pod template labels satisfy a label selector."""
        return [w for w in self.workloads() if matches(selector, pod_labels(w))]

    def env_of(self, workload: dict, container: dict) -> dict[str, str]:
        return self.env.get((workload["kind"], workload["metadata"]["name"], container["name"]), {})

    def config_map_with(self, key: str) -> dict:
        """The first ConfigMap holding `key`, or an empty one."""
        return next((cm for cm in self.by_kind.get("ConfigMap", {}).values()
                     if key in (cm.get("data") or {})), {})


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"].get("metadata", {}).get("labels") or {}


def containers(workload: dict) -> list[dict]:
    spec = pod_spec(workload)
    return (spec.get("initContainers") or []) + spec["containers"]


def matches(selector: dict | None, labels: dict) -> bool:
    """A LabelSelector, or a Service's plain label map, against labels; {} matches all."""
    if not selector:
        return True
    if "matchLabels" in selector or "matchExpressions" in selector:
        plain, expressions = selector.get("matchLabels") or {}, selector.get("matchExpressions") or []
    else:
        plain, expressions = selector, []
    if any(labels.get(k) != v for k, v in plain.items()):
        return False
    for expr in expressions:
        key, values = expr["key"], expr.get("values") or []
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[expr["operator"]]
        if not ok:
            return False
    return True


def container_ports(workload: dict) -> dict:
    """name -> number and number -> number of every container port of a workload."""
    ports = {}
    for c in containers(workload):
        for p in c.get("ports") or []:
            ports[p["containerPort"]] = p["containerPort"]
            if p.get("name"):
                ports[p["name"]] = p["containerPort"]
    return ports


def service_host(overlay: Overlay, host: str) -> str | None:
    """The Service a DNS name inside the cluster names, if any (`svc`, `svc.ns`, `svc.ns.svc...`)."""
    parts = host.rstrip(".").split(".")
    if len(parts) > 1 and parts[1] != overlay.namespace:
        return None
    return parts[0] if overlay.get("Service", parts[0]) else None


def check_address(overlay: Overlay, where: str, address: str) -> None:
    """`scheme://host:port/...` or `host:port` names a Service exposing that port."""
    address = re.sub(r"^dns\+", "", address)
    url = urlparse(address if "://" in address else f"//{address}")
    host, port = url.hostname, url.port
    if host is None:
        overlay.problem(f"{where}: {address!r} is not an address")
        return
    if host in ("0.0.0.0", "localhost", "127.0.0.1"):
        return
    svc_name = service_host(overlay, host)
    if svc_name is None:
        overlay.problem(f"{where}: {address} names {host!r}, which is not a Service in the namespace")
        return
    ports = [p["port"] for p in overlay.get("Service", svc_name)["spec"].get("ports") or []]
    if port is None:
        port = {"http": 80, "https": 443}.get(url.scheme)
    if port not in ports:
        overlay.problem(f"{where}: {address}: Service {svc_name} has no port {port} (ports {ports})")


# ------------------------------------------------------------------ generic references


def env_sources(overlay: Overlay, c: dict, where: str) -> dict[str, str]:
    """Every variable the container gets (name -> literal value or ''), checking each reference."""
    env: dict[str, str] = {}
    for src in c.get("envFrom") or []:
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in src:
                obj = overlay.get(kind, src[key]["name"])
                if obj is None:
                    if not src[key].get("optional"):
                        overlay.problem(f"{where}: envFrom {kind} {src[key]['name']} does not exist")
                    continue
                for k, v in (obj.get("data") or {}).items():
                    env[k] = str(v)
    for var in c.get("env") or []:
        name, value = var["name"], var.get("value")
        if value is not None:
            for ref in re.findall(r"\$\((\w+)\)", value):
                if ref not in env:
                    overlay.problem(f"{where}: {name} expands $({ref}), which is not defined before it")
            env[name] = value
            continue
        ref = var.get("valueFrom") or {}
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key in ref:
                obj = overlay.get(kind, ref[key]["name"])
                data = (obj or {}).get("data") or {}
                if obj is None or ref[key]["key"] not in data:
                    if not ref[key].get("optional"):
                        overlay.problem(f"{where}: {name} reads {kind} {ref[key]['name']} key "
                                        f"{ref[key]['key']!r}, which does not exist")
                env[name] = str(data.get(ref[key]["key"], ""))
        env.setdefault(name, "")
    return env


def check_workload(overlay: Overlay, w: dict) -> None:
    kind, name = w["kind"], w["metadata"]["name"]
    where = f"{kind}/{name}"
    spec = pod_spec(w)
    if w["kind"] != "Job" and not matches(w["spec"]["selector"], pod_labels(w)):
        overlay.problem(f"{where}: selector does not match its own pod template labels")
    sa = spec.get("serviceAccountName")
    if sa and not overlay.get("ServiceAccount", sa):
        overlay.problem(f"{where}: serviceAccountName {sa} does not exist")
    if kind == "StatefulSet" and not overlay.get("Service", w["spec"].get("serviceName", "")):
        overlay.problem(f"{where}: serviceName {w['spec'].get('serviceName')} is not a Service")
    security = spec.get("securityContext") or {}
    if not security.get("runAsNonRoot"):
        overlay.problem(f"{where}: pod securityContext.runAsNonRoot is not true")
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    claims = {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates") or []}
    for vol in volumes.values():
        if "configMap" in vol:
            check_keyed(overlay, where, "ConfigMap", vol["configMap"])
        if "secret" in vol:
            check_keyed(overlay, where, "Secret", {**vol["secret"], "name": vol["secret"]["secretName"]})
        if "persistentVolumeClaim" in vol and not overlay.get(
                "PersistentVolumeClaim", vol["persistentVolumeClaim"]["claimName"]):
            overlay.problem(f"{where}: volume {vol['name']} claims "
                            f"{vol['persistentVolumeClaim']['claimName']}, which does not exist")
    for c in containers(w):
        cwhere = f"{where} container {c['name']}"
        image = c.get("image", "")
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if not tag or tag == "latest":
            overlay.problem(f"{cwhere}: image {image!r} is not pinned to a tag")
        res = c.get("resources") or {}
        for need in ("requests.cpu", "requests.memory", "limits.memory"):
            group, key = need.split(".")
            if key not in (res.get(group) or {}):
                overlay.problem(f"{cwhere}: no resources.{need}")
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
            overlay.problem(f"{cwhere}: needs readOnlyRootFilesystem: true and allowPrivilegeEscalation: false")
        for mount in c.get("volumeMounts") or []:
            if mount["name"] not in volumes and mount["name"] not in claims:
                overlay.problem(f"{cwhere}: mounts {mount['name']}, which is not a volume")
        ports = container_ports(w)
        for probe in ("readinessProbe", "livenessProbe"):
            http = (c.get(probe) or {}).get("httpGet")
            if http and http["port"] not in ports:
                overlay.problem(f"{cwhere}: {probe} port {http['port']} is not a container port")
            if kind != "Job" and c.get("ports") and not c.get(probe):
                overlay.problem(f"{cwhere}: no {probe}")
        overlay.env[(kind, name, c["name"])] = env_sources(overlay, c, cwhere)


def check_keyed(overlay: Overlay, where: str, kind: str, ref: dict) -> None:
    obj = overlay.get(kind, ref["name"])
    if obj is None:
        if not ref.get("optional"):
            overlay.problem(f"{where}: {kind} {ref['name']} does not exist")
        return
    for item in ref.get("items") or []:
        if item["key"] not in (obj.get("data") or {}):
            overlay.problem(f"{where}: {kind} {ref['name']} has no key {item['key']!r}")


def check_services(overlay: Overlay) -> None:
    for name, svc in overlay.by_kind.get("Service", {}).items():
        pods = overlay.pods_matching(svc["spec"].get("selector") or {"_": "no selector"})
        if not pods:
            overlay.problem(f"Service/{name}: selector {svc['spec'].get('selector')} matches no pod template")
            continue
        for port in svc["spec"].get("ports") or []:
            target = port.get("targetPort", port["port"])
            for w in pods:
                if target not in container_ports(w):
                    overlay.problem(f"Service/{name}: targetPort {target} is not a port of {w['kind']}/{w['metadata']['name']}")


def check_selectors(overlay: Overlay) -> None:
    for name, pdb in overlay.by_kind.get("PodDisruptionBudget", {}).items():
        if not overlay.pods_matching(pdb["spec"]["selector"]):
            overlay.problem(f"PodDisruptionBudget/{name}: selector matches no pod template")
    for name, hpa in overlay.by_kind.get("HorizontalPodAutoscaler", {}).items():
        ref = hpa["spec"]["scaleTargetRef"]
        target = overlay.get(ref["kind"], ref["name"])
        if target is None:
            overlay.problem(f"HorizontalPodAutoscaler/{name}: scales {ref['kind']}/{ref['name']}, which does not exist")
            continue
        if any("cpu" not in ((c.get("resources") or {}).get("requests") or {}) for c in containers(target)):
            overlay.problem(f"HorizontalPodAutoscaler/{name}: {ref['name']} has a container without a CPU request")
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        for name, binding in overlay.by_kind.get(kind, {}).items():
            role = binding["roleRef"]
            if not overlay.get(role["kind"], role["name"]):
                overlay.problem(f"{kind}/{name}: roleRef {role['kind']}/{role['name']} does not exist")
            for subject in binding.get("subjects") or []:
                if subject["kind"] == "ServiceAccount" and (
                        not overlay.get("ServiceAccount", subject["name"])
                        or subject.get("namespace") != overlay.namespace):
                    overlay.problem(f"{kind}/{name}: subject ServiceAccount {subject['name']} "
                                    f"(namespace {subject.get('namespace')}) does not exist")


def check_network_policies(overlay: Overlay) -> None:
    policies = overlay.by_kind.get("NetworkPolicy", {})
    if not any(p["spec"]["podSelector"] == {} and "Ingress" in p["spec"].get("policyTypes", [])
               and not p["spec"].get("ingress") for p in policies.values()):
        overlay.problem("no default-deny ingress NetworkPolicy (podSelector {} with no rules)")
    for name, pol in policies.items():
        where = f"NetworkPolicy/{name}"
        selected = overlay.pods_matching(pol["spec"]["podSelector"])
        if not selected:
            overlay.problem(f"{where}: podSelector matches no pod template")
        for rule in pol["spec"].get("ingress") or []:
            peers = rule.get("from")
            if not peers:
                names = {pod_labels(w).get("app.kubernetes.io/name") for w in selected}
                if names != {"gateway"}:
                    overlay.problem(f"{where}: admits traffic from anywhere to {sorted(map(str, names))}; only the gateway may be reached from outside")
            for peer in peers or []:
                if "podSelector" in peer and not overlay.pods_matching(peer["podSelector"]):
                    overlay.problem(f"{where}: from podSelector {peer['podSelector']} matches no pod template")
                if "namespaceSelector" in peer or "ipBlock" in peer:
                    overlay.problem(f"{where}: admits traffic from outside the namespace")
            for port in rule.get("ports") or []:
                for w in selected:
                    if port["port"] not in container_ports(w):
                        overlay.problem(f"{where}: port {port['port']} is not a port of {w['kind']}/{w['metadata']['name']}")


# ------------------------------------------------------------------ the order factory


def check_order_services(overlay: Overlay, facts: dict, compose_images: dict) -> None:
    seen = {}
    for w in overlay.workloads():
        if pod_labels(w).get("app.kubernetes.io/component") != SERVICE_COMPONENT:
            continue
        c = pod_spec(w)["containers"][0]
        where = f"{w['kind']}/{w['metadata']['name']}"
        args = c.get("args") or []
        if args[:1] != ["serve"] or len(args) != 2 or args[1] not in facts["ports"]:
            overlay.problem(f"{where}: args {args} are not `serve <one of {sorted(facts['ports'])}>`")
            continue
        service = args[1]
        seen[service] = w
        if w["metadata"]["name"] != service:
            overlay.problem(f"{where}: runs `serve {service}` under another name (peer URLs use the names)")
        env = overlay.env_of(w, c)
        port = facts["ports"][service]
        if env.get("ORDERTRAIL_LISTEN") != f"0.0.0.0:{port}" or container_ports(w).get("http") != port:
            overlay.problem(f"{where}: must listen on 0.0.0.0:{port} with a container port named http")
        if env.get("OTEL_SERVICE_NAME") != service:
            overlay.problem(f"{where}: OTEL_SERVICE_NAME is {env.get('OTEL_SERVICE_NAME')!r}, not {service}")
        if env.get("OTEL_METRICS_EXPORTER") != "none":
            overlay.problem(f"{where}: OTEL_METRICS_EXPORTER is not none: the agents have no metrics "
                            "pipeline, Prometheus scrapes /metrics")
        if "--workers" in args or "ORDERTRAIL_WORKERS" in env:
            overlay.problem(f"{where}: one process per pod: no --workers")
        expanded = {ref for v in env.values() for ref in re.findall(r"\$\((\w+)\)", v)}
        for key in env:
            if key not in facts["env"] and key not in expanded:
                overlay.problem(f"{where}: sets {key}, which the binary never reads and no variable expands")
        attrs = env.get("OTEL_RESOURCE_ATTRIBUTES", "")
        for attr in ("k8s.pod.name", "k8s.namespace.name", "k8s.node.name"):
            if f"{attr}=$(" not in attrs:
                overlay.problem(f"{where}: OTEL_RESOURCE_ATTRIBUTES does not take {attr} from the downward API")
        for var, value in env.items():
            for url in re.findall(r"(?:https?|nats)://[^\s,]+", value):
                check_address(overlay, f"{where} {var}", url)
        for probe in ("readinessProbe", "livenessProbe"):
            if ((c.get(probe) or {}).get("httpGet") or {}).get("path") != "/healthz":
                overlay.problem(f"{where}: {probe} is not GET /healthz")
        mounts = {m["mountPath"] for m in c.get("volumeMounts") or []}
        db = env.get("ORDERTRAIL_DB")
        if service == "orders" and (w["kind"] != "StatefulSet" or w["spec"].get("replicas", 1) != 1
                                    or not db or str(Path(db).parent) not in mounts):
            overlay.problem(f"{where}: orders (SQLite) must be a one-replica StatefulSet with its database on a mounted volume")
    for service in facts["ports"]:
        if service not in seen:
            overlay.problem(f"no workload runs `ordertrail serve {service}`")
    for w in overlay.workloads():
        for c in containers(w):
            repo, _, tag = c.get("image", "").rpartition(":")
            if repo in compose_images and compose_images[repo] != tag:
                overlay.problem(f"{w['kind']}/{w['metadata']['name']}: {repo}:{tag}, but docker-compose.yml pins {compose_images[repo]}")


# ------------------------------------------------------------------ configs in ConfigMaps


def mounted_configs(overlay: Overlay, image_repo: str):
    """(workload, container, parsed file) for each config file a container of `image_repo` mounts."""
    for w in overlay.workloads():
        volumes = {v["name"]: v for v in pod_spec(w).get("volumes") or []}
        for c in containers(w):
            if c.get("image", "").rpartition(":")[0] != image_repo:
                continue
            for mount in c.get("volumeMounts") or []:
                cm = (volumes.get(mount["name"]) or {}).get("configMap")
                obj = overlay.get("ConfigMap", cm["name"]) if cm else None
                for key, text in ((obj or {}).get("data") or {}).items():
                    yield w, c, key, yaml.safe_load(text)


def load_modules() -> set[str]:
    lines = MODULES.read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def check_collectors(overlay: Overlay, modules: set[str]) -> None:
    configs = list(mounted_configs(overlay, COLLECTOR_IMAGE))
    if len(configs) < 2:
        overlay.problem(f"expected an agent and a gateway Collector config, found {len(configs)}")
    tail_sampling_pods = []
    for w, c, key, config in configs:
        where = f"{w['kind']}/{w['metadata']['name']} {key}"
        check_collector_config(overlay, where, config, modules, overlay.env_of(w, c))
        if "tail_sampling" in (config.get("processors") or {}):
            tail_sampling_pods.append(w)
            check_tail_sampling(overlay, where, config["processors"]["tail_sampling"])
        if "k8sattributes" in (config.get("processors") or {}):
            check_rbac_reads_pods(overlay, where, pod_spec(w).get("serviceAccountName"))
    agents = [(w, cfg) for w, _, _, cfg in configs if "loadbalancing" in (cfg.get("exporters") or {})]
    if not agents:
        overlay.problem("no Collector exports traces through the loadbalancing exporter")
    for w, cfg in agents:
        where = f"{w['kind']}/{w['metadata']['name']}"
        lb = cfg["exporters"]["loadbalancing"]
        if w["kind"] != "DaemonSet":
            overlay.problem(f"{where}: the agent tier is not a DaemonSet")
        if lb.get("routing_key") != "traceID":
            overlay.problem(f"{where}: loadbalancing routing_key is {lb.get('routing_key')!r}, not traceID")
        dns = (lb.get("resolver") or {}).get("dns") or {}
        svc_name = service_host(overlay, dns.get("hostname", ""))
        svc = overlay.get("Service", svc_name or "")
        if svc is None or svc["spec"].get("clusterIP") != "None":
            overlay.problem(f"{where}: loadbalancing resolves {dns.get('hostname')!r}, which is not a headless Service")
            continue
        check_address(overlay, f"{where} loadbalancing", f"{dns['hostname']}:{dns.get('port')}")
        behind = overlay.pods_matching(svc["spec"]["selector"])
        if not behind or any(b not in tail_sampling_pods for b in behind):
            overlay.problem(f"{where}: {svc_name} leads to pods that do not tail-sample")


def check_collector_config(overlay: Overlay, where: str, config: dict, modules: set[str], env: dict) -> None:
    for kind, known in COMPONENT_MODULES.items():
        for comp in config.get(kind) or {}:
            ctype = comp.split("/")[0]
            module = known.get(ctype)
            if module is None:
                overlay.problem(f"{where}: {kind[:-1]} type {ctype!r} is not one this check knows; add its module to COMPONENT_MODULES")
            elif module not in modules:
                overlay.problem(f"{where}: {kind[:-1]} {ctype!r} ({module}) is not in otelcol-contrib 0.159.0")
    service = config.get("service") or {}
    for ext in service.get("extensions") or []:
        if ext not in (config.get("extensions") or {}):
            overlay.problem(f"{where}: extension {ext} is enabled but not configured")
    for name, pipeline in (service.get("pipelines") or {}).items():
        for kind in ("receivers", "processors", "exporters"):
            for comp in pipeline.get(kind) or []:
                if comp not in (config.get(kind) or {}) and comp not in (config.get("connectors") or {}):
                    overlay.problem(f"{where}: pipeline {name} uses {kind[:-1]} {comp}, which is not defined")
        procs = pipeline.get("processors") or []
        if procs[:1] != ["memory_limiter"] or "batch" not in procs:
            overlay.problem(f"{where}: pipeline {name} must start with memory_limiter and include batch")
    for var in re.findall(r"\$\{env:(\w+)", yaml.safe_dump(config)):
        if var not in env:
            overlay.problem(f"{where}: uses ${{env:{var}}}, which the container does not set")
    for name, exporter in (config.get("exporters") or {}).items():
        endpoint = (exporter or {}).get("endpoint")
        if endpoint:
            check_address(overlay, f"{where} exporter {name}", endpoint)


def check_tail_sampling(overlay: Overlay, where: str, ts: dict) -> None:
    policies = {p.get("type"): p for p in ts.get("policies") or []}
    errors = (policies.get("status_code") or {}).get("status_code", {}).get("status_codes") or []
    if "ERROR" not in errors:
        overlay.problem(f"{where}: tail_sampling keeps no trace with an ERROR status")
    if "probabilistic" not in policies:
        overlay.problem(f"{where}: tail_sampling has no probabilistic share of the rest")
    data = overlay.config_map_with("ORDERTRAIL_RECORDER_SLOW_MS").get("data") or {}
    slow = data.get("ORDERTRAIL_RECORDER_SLOW_MS")
    threshold = slow_server_span_ms(ts.get("policies") or [])
    if slow is None or slow == "0" or threshold is None or threshold != int(slow):
        overlay.problem(f"{where}: the slow-request threshold {threshold} ms is not the flight recorder's "
                        f"ORDERTRAIL_RECORDER_SLOW_MS {slow}: a replayed slow request's trace could be dropped")
    kept = [(p["numeric_attribute"].get("min_value"), p["numeric_attribute"].get("max_value"))
            for p in ts.get("policies") or [] if p.get("type") == "numeric_attribute"
            and p["numeric_attribute"].get("key") == "http.response.status_code"]
    for status in filter(None, (data.get("ORDERTRAIL_RECORDER_STATUSES") or "").replace(" ", "").split(",")):
        if not any(lo <= int(status) <= hi for lo, hi in kept):
            overlay.problem(f"{where}: the recorder replays status {status} but no numeric_attribute policy keeps it")


SLOW_CONDITION = re.compile(
    r"^kind == SPAN_KIND_SERVER and end_time_unix_nano - start_time_unix_nano > (\d+)$")


def slow_server_span_ms(policies: list[dict]) -> int | None:
    """The threshold (ms) of the ottl_condition policy keeping traces with a slow SERVER span."""
    for policy in policies:
        for condition in (policy.get("ottl_condition") or {}).get("span") or []:
            found = SLOW_CONDITION.match(condition.strip())
            if found and int(found.group(1)) % 1_000_000 == 0:
                return int(found.group(1)) // 1_000_000
    return None


def check_rbac_reads_pods(overlay: Overlay, where: str, sa: str | None) -> None:
    for binding in overlay.by_kind.get("ClusterRoleBinding", {}).values():
        if any(s["kind"] == "ServiceAccount" and s["name"] == sa for s in binding.get("subjects") or []):
            role = overlay.get("ClusterRole", binding["roleRef"]["name"]) or {}
            for rule in role.get("rules") or []:
                if "pods" in rule.get("resources", []) and {"watch", "list"} <= set(rule.get("verbs", [])):
                    return
    overlay.problem(f"{where}: k8sattributes runs as {sa!r}, which no ClusterRole lets list and watch pods")


def check_jaeger(overlay: Overlay) -> None:
    for w, c, key, config in mounted_configs(overlay, "jaegertracing/jaeger"):
        where = f"{w['kind']}/{w['metadata']['name']} {key}"
        backends = config["extensions"]["jaeger_storage"]["backends"]
        store = config["extensions"]["jaeger_query"]["storage"]["traces"]
        if store not in backends or config["exporters"]["jaeger_storage_exporter"]["trace_storage"] not in backends:
            overlay.problem(f"{where}: jaeger_query or the exporter names a storage jaeger_storage does not define")
            continue
        badger = backends[store].get("badger")
        if badger:
            volumes = {v["name"]: v for v in pod_spec(w).get("volumes") or []}
            claimed = {m["mountPath"] for m in c.get("volumeMounts") or []
                       if "persistentVolumeClaim" in volumes.get(m["name"], {})}
            for d in badger["directories"].values():
                if not any(d == p or d.startswith(p.rstrip("/") + "/") for p in claimed):
                    overlay.problem(f"{where}: Badger directory {d} is not on a PersistentVolumeClaim")
        elif "memory" not in backends[store]:
            overlay.problem(f"{where}: storage {store} is neither Badger nor memory; the check knows no more")


def check_loki(overlay: Overlay) -> None:
    for w, c, key, config in mounted_configs(overlay, "grafana/loki"):
        where = f"{w['kind']}/{w['metadata']['name']} {key}"
        for var in re.findall(r"\$\{(\w+)", yaml.safe_dump(config)):
            if var not in overlay.env_of(w, c):
                overlay.problem(f"{where}: expands ${{{var}}}, which the container does not set")
        schema = config["schema_config"]["configs"][-1]
        if (schema.get("store"), schema.get("schema")) != ("tsdb", "v13"):
            overlay.problem(f"{where}: the newest schema is not tsdb + v13 (OTLP ingestion needs v13)")
        addresses = [config["common"].get("compactor_address"),
                     config["storage_config"]["tsdb_shipper"]["index_gateway_client"]["server_address"],
                     config["frontend"]["scheduler_address"], config["frontend_worker"]["scheduler_address"],
                     *config["memberlist"]["join_members"]]
        for address in addresses:
            check_address(overlay, where, address)
        if not any(a.startswith("-target=") for a in c.get("args") or []):
            overlay.problem(f"{where}: no -target (simple scalable: write, read or backend)")
        check_address(overlay, f"{where} S3_ENDPOINT", overlay.env_of(w, c).get("S3_ENDPOINT", ""))


def check_prometheus(overlay: Overlay) -> None:
    found = False
    for w, c, key, config in mounted_configs(overlay, "prom/prometheus"):
        found = True
        where = f"{w['kind']}/{w['metadata']['name']} {key}"
        if "--enable-feature=exemplar-storage" not in (c.get("args") or []):
            overlay.problem(f"{where}: exemplar storage is not enabled")
        for job in config.get("scrape_configs") or []:
            if (job.get("scrape_protocols") or ["OpenMetricsText1.0.0"])[0] != "OpenMetricsText1.0.0":
                overlay.problem(f"{where}: job {job['job_name']} does not ask for OpenMetrics first (exemplars)")
            keep = {}
            for rule in job.get("relabel_configs") or []:
                if rule.get("action") == "keep":
                    keep[rule["source_labels"][0]] = rule["regex"]
            label = keep.get("__meta_kubernetes_pod_label_app_kubernetes_io_component")
            port = keep.get("__meta_kubernetes_pod_container_port_name")
            pods = [p for p in overlay.workloads() if pod_labels(p).get("app.kubernetes.io/component") == label]
            if not pods or any(port not in container_ports(p) for p in pods):
                overlay.problem(f"{where}: job {job['job_name']} keeps pods {label!r} on port {port!r}, which match no pod's port")
    if not found:
        overlay.problem("no Prometheus config mounted")


def compose_images() -> dict:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    pins = {}
    for svc in compose["services"].values():
        repo, _, tag = svc.get("image", "").rpartition(":")
        if repo and not repo.startswith("ordertrail"):
            pins[repo] = tag
    return pins


def recorder_variables() -> set[str]:
    text = (ROOT / "crates/ordertrail/src/telemetry/recorder_env.rs").read_text()
    return set(re.findall(r'const \w+: &str = "(ORDERTRAIL_[A-Z0-9_]+)"', text))


def inputs() -> tuple[dict, set[str], dict]:
    """What the overlays are checked against: the binary's facts, the contrib modules, compose's pins."""
    facts = binary_facts()
    facts["env"] |= recorder_variables()
    return facts, load_modules(), compose_images()


def check(overlay: Overlay, facts: dict, modules: set[str], pins: dict) -> None:
    if overlay.namespace is None:
        overlay.problem(f"expected one Namespace, found {list(overlay.by_kind.get('Namespace', {}))}")
    for doc in overlay.docs:
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding") \
                and doc["metadata"].get("namespace") != overlay.namespace:
            overlay.problem(f"{doc['kind']}/{doc['metadata']['name']} is outside namespace {overlay.namespace}")
    for w in overlay.workloads():
        check_workload(overlay, w)
    check_services(overlay)
    check_selectors(overlay)
    check_network_policies(overlay)
    check_order_services(overlay, facts, pins)
    check_collectors(overlay, modules)
    check_jaeger(overlay)
    check_loki(overlay)
    check_prometheus(overlay)


def main(argv: list[str]) -> int:
    if not argv or any("=" not in a for a in argv):
        print(__doc__.split("\n\n")[1])
        return 2
    facts, modules, pins = inputs()
    problems = []
    for arg in argv:
        name, path = arg.split("=", 1)
        overlay = Overlay.load(name, Path(path))
        check(overlay, facts, modules, pins)
        problems += overlay.problems
        kinds = {k: len(v) for k, v in sorted(overlay.by_kind.items())}
        print(f"   {name}: {len(overlay.docs)} objects {kinds}")
    for line in dict.fromkeys(problems):
        print(f"FAIL {line}")
    if problems:
        return 1
    print(f"ok: {len(argv)} overlays, services {sorted(facts['ports'])}, {len(modules)} contrib modules")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Cross-references of the compose stack, checked without a Docker engine.

Run by scripts/check-stack.sh (which parses the files and validates the schema first):

    python3 scripts/check_stack.py --logql-out FILE [--promql-out RULES]

Checks that what docker-compose.yml, the Dockerfile, the collector / Jaeger / Loki configs and the
Grafana provisioning say about each other is true, and that the binary reads the variables, ports,
subcommands and flags the stack hands it (read from the factory's src/config.rs, src/cli.rs,
src/services/mod.rs and Cargo.toml, and the library's telemetry/env.rs). Writes every LogQL query found to FILE (JSON) for the grammar
check, and every PromQL query to RULES as a Prometheus rule file for `promtool check rules`.
Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import yaml

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
OURS = ("gateway", "orders", "inventory", "payments", "shipping")
PROBLEMS: list[str] = []


def problem(text: str) -> None:
    PROBLEMS.append(text)


def load_yaml(rel: str):
    return yaml.safe_load((ROOT / rel).read_text())


# ------------------------------------------------------------------ what the binary reads


def binary_facts() -> dict:
    factory = ROOT / "crates/ordertrail-factory"
    config_rs = (factory / "src/config.rs").read_text()
    otel_rs = (ROOT / "crates/ordertrail/src/telemetry/env.rs").read_text()
    cli_rs = (factory / "src/cli.rs").read_text()
    services_rs = (factory / "src/services/mod.rs").read_text()
    cargo = tomllib.loads((factory / "Cargo.toml").read_text())
    ordertrail_env = set(re.findall(r'"(ORDERTRAIL_[A-Z0-9_]+)"', config_rs))
    otel_env = set(re.findall(r'"(OTEL_[A-Z0-9_]+)"', otel_rs))
    other_env = set(re.findall(r'const RUST_LOG: &str = "(RUST_LOG)"', config_rs))
    base = re.search(r"pub const DEFAULT_BASE_PORT: u16 = (\d+);", services_rs)
    port_fn = re.search(r"pub const fn port\(self, base: u16\).*?\n    \}", services_rs, re.S)
    ports = {
        name.lower(): int(base.group(1)) + int(offset)
        for name, offset in re.findall(r"Self::(\w+) => (\d+),", port_fn.group(0) if port_fn else "")
    } if base else {}
    enum = re.search(r"pub\(crate\) enum Command \{(.*?)\n\}", cli_rs, re.S)
    commands = {}
    for variant, args in re.findall(r"^\s+(\w+)\((\w+)\),", enum.group(1) if enum else "", re.M):
        kebab = re.sub(r"(?<!^)([A-Z])", r"-\1", variant).lower()
        body = re.search(rf"struct {args} \{{(.*?)\n\}}", cli_rs, re.S)
        fields = re.findall(r"pub\(crate\) (\w+):", body.group(1)) if body else []
        flattened = re.findall(r"#\[command\(flatten\)\]\s*pub\(crate\) \w+: (\w+),", body.group(1)) if body else []
        for inner in flattened:
            inner_body = re.search(rf"struct {inner} \{{(.*?)\n\}}", cli_rs, re.S)
            if inner_body:
                fields += re.findall(r"pub\(crate\) (\w+):", inner_body.group(1))
        commands[kebab] = {"--" + f.replace("_", "-") for f in fields}
    bins = [b["name"] for b in cargo.get("bin", [])] or [cargo["package"]["name"]]
    return {
        "env": ordertrail_env | otel_env | other_env,
        "ports": ports,
        "commands": commands,
        "bins": bins,
        "binary": bins[0],
    }


# ------------------------------------------------------------------ compose


def env_of(svc: dict) -> dict:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def mounts_of(svc: dict) -> list[tuple[str, str, bool]]:
    """(host path, container path, read-only) of every bind mount."""
    out = []
    for vol in svc.get("volumes") or []:
        if isinstance(vol, dict):
            if vol.get("type") == "bind":
                out.append((vol["source"], vol["target"], bool(vol.get("read_only"))))
            continue
        parts = vol.split(":")
        if parts[0].startswith((".", "/")):
            out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def container_path(services: dict, service: str, inside: str) -> Path | None:
    """The host file a path inside `service` comes from, through its bind mounts."""
    for host, target, _ in mounts_of(services[service]):
        target_p = PurePosixPath(target)
        inside_p = PurePosixPath(inside)
        if inside_p == target_p or target_p in inside_p.parents:
            return (ROOT / host / inside_p.relative_to(target_p)).resolve()
    return None


def check_compose(compose: dict, facts: dict) -> None:
    services = compose["services"]
    for name, svc in services.items():
        where = f"docker-compose.yml: services.{name}"
        image = svc.get("image", "")
        if ":" not in image or image.endswith(":latest"):
            problem(f"{where}: image {image!r} is not pinned to a tag")
        if svc.get("restart") != "unless-stopped":
            problem(f"{where}: restart is {svc.get('restart')!r}, want unless-stopped")
        memory = (((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
        if not memory:
            problem(f"{where}: no deploy.resources.limits.memory")
        for dep, cond in (svc.get("depends_on") or {}).items():
            if dep not in services:
                problem(f"{where}: depends_on {dep!r}, which is not a service")
                continue
            condition = cond.get("condition") if isinstance(cond, dict) else "service_started"
            if condition == "service_healthy" and "healthcheck" not in services[dep]:
                problem(f"{where}: waits for {dep} to be healthy, but {dep} has no healthcheck")
        for host, target, read_only in mounts_of(svc):
            path = ROOT / host
            if not path.exists():
                problem(f"{where}: mounts {host}, which does not exist")
            if not read_only:
                problem(f"{where}: bind mount {host}:{target} is not read-only")
        for key, value in env_of(svc).items():
            for url in re.findall(r"https?://[^\s,]+", value):
                host = urlparse(url).hostname
                if host not in services and host not in ("localhost", "127.0.0.1", "0.0.0.0"):
                    problem(f"{where}: {key} points at {host!r}, which is not a service")
        check_probe(where, image, (svc.get("healthcheck") or {}).get("test"))
        if image.startswith("ordertrail") or "build" in svc:
            check_ordertrail_service(name, svc, services, facts)


# What each image can run as a healthcheck (from each image's Dockerfile): None = nothing.
PROBES = {
    "otel/opentelemetry-collector-contrib": None,  # FROM scratch
    "grafana/loki": "/usr/bin/loki",  # distroless: its own -health flag
    "jaegertracing/jaeger": "wget",  # alpine: busybox wget
    "nats": "wget",  # the -alpine tags: busybox wget (the default tag is FROM scratch)
    "prom/prometheus": "wget",  # busybox-based
    "ordertrail": "/usr/local/bin/ordertrail",  # distroless: `ordertrail health <url>`
}


def check_probe(where: str, image: str, test) -> None:
    repo = image.rsplit(":", 1)[0]
    if repo not in PROBES or test is None:
        return
    if PROBES[repo] is None:
        problem(f"{where}: {repo} has nothing to run a healthcheck with")
    elif test[0] != "CMD" or test[1] != PROBES[repo]:
        problem(f"{where}: healthcheck {test} cannot run in {repo} (use [\"CMD\", \"{PROBES[repo]}\", ...])")


def check_ordertrail_service(name: str, svc: dict, services: dict, facts: dict) -> None:
    where = f"docker-compose.yml: services.{name}"
    command = svc.get("command") or []
    if isinstance(command, str):
        command = command.split()
    if not command or command[0] not in facts["commands"]:
        problem(f"{where}: command {command!r} is not an ordertrail subcommand {sorted(facts['commands'])}")
        return
    for flag in (a.split("=", 1)[0] for a in command[1:] if a.startswith("--")):
        if flag not in facts["commands"][command[0]]:
            problem(f"{where}: `ordertrail {command[0]}` has no flag {flag}")
    for url in (a for a in command if a.startswith("http")):
        check_peer_url(where, url, services, facts)
    health = (svc.get("healthcheck") or {}).get("test") or []
    env = env_of(svc)
    for key in env:
        if key not in facts["env"]:
            problem(f"{where}: sets {key}, which the binary never reads")
    if health[1:3] != ["/usr/local/bin/ordertrail", "health"] and command[0] == "serve":
        problem(f"{where}: healthcheck is not `ordertrail health <url>`: {health}")
    if command[0] != "serve":
        return
    service = command[1] if len(command) > 1 else env.get("ORDERTRAIL_SERVICE", "")
    if service not in facts["ports"]:
        problem(f"{where}: serves {service!r}, not one of {sorted(facts['ports'])}")
        return
    if service != name:
        problem(f"{where}: runs `serve {service}` under another name (peer URLs use service names)")
    port = facts["ports"][service]
    listen = env.get("ORDERTRAIL_LISTEN", "")
    if listen != f"0.0.0.0:{port}":
        problem(f"{where}: ORDERTRAIL_LISTEN={listen!r}, want 0.0.0.0:{port} (reachable from other containers)")
    if len(health) < 4 or urlparse(health[3]).port != port:
        problem(f"{where}: healthcheck probes {health[3:]} but the service listens on {port}")
    for published in svc.get("ports") or []:
        target = str(published).rsplit(":", 1)[-1]
        if target != str(port):
            problem(f"{where}: publishes container port {target}, the service listens on {port}")
    if env.get("OTEL_SERVICE_NAME") != service:
        problem(f"{where}: OTEL_SERVICE_NAME={env.get('OTEL_SERVICE_NAME')!r}, want {service!r}")
    attrs = dict(
        pair.split("=", 1) for pair in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",") if "=" in pair
    )
    if attrs.get("service.namespace") != "ordertrail":
        problem(f"{where}: OTEL_RESOURCE_ATTRIBUTES lacks service.namespace=ordertrail (Grafana's queries need it)")
    for key, value in env.items():
        if key.endswith("_URL") and key.startswith("ORDERTRAIL_"):
            if value.startswith("nats://"):
                check_nats_url(f"{where}: {key}", value, services)
            else:
                check_peer_url(f"{where}: {key}", value, services, facts)
    if env.get("ORDERTRAIL_BROKER") == "nats" and not env.get("ORDERTRAIL_NATS_URL"):
        problem(f"{where}: ORDERTRAIL_BROKER=nats without ORDERTRAIL_NATS_URL")
    endpoint = urlparse(env.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    collector = load_yaml("deploy/otel-collector/config.yaml")
    grpc = collector["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    if endpoint.hostname not in services or str(endpoint.port) != grpc.rsplit(":", 1)[-1]:
        problem(f"{where}: OTEL_EXPORTER_OTLP_ENDPOINT {endpoint.geturl()!r} is not the collector's gRPC receiver {grpc}")
    if env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc") != "grpc":
        problem(f"{where}: the collector endpoint is the gRPC port but the protocol is not grpc")
    if service == "orders" and not any(t == str(PurePosixPath(env.get("ORDERTRAIL_DB", "")).parent)
                                       for t in (v.split(":")[1] for v in svc.get("volumes") or [] if isinstance(v, str))):
        problem(f"{where}: ORDERTRAIL_DB ({env.get('ORDERTRAIL_DB', 'unset')}) is not on a volume")


def check_nats_url(where: str, url: str, services: dict) -> None:
    """A nats:// URL names the NATS service on its client port, with JetStream on."""
    parsed = urlparse(url)
    svc = services.get(parsed.hostname)
    if svc is None or not str(svc.get("image", "")).startswith("nats:"):
        problem(f"{where}: {url} names {parsed.hostname!r}, which is not a NATS service")
        return
    command = svc.get("command") or []
    if "--jetstream" not in command and "-js" not in command:
        problem(f"{where}: {parsed.hostname} runs without JetStream (--jetstream)")
    if (parsed.port or 4222) != 4222:
        problem(f"{where}: {url} uses port {parsed.port}, NATS listens on 4222")


def check_peer_url(where: str, url: str, services: dict, facts: dict) -> None:
    parsed = urlparse(url)
    peer = parsed.hostname
    if peer not in services:
        problem(f"{where}: {url} names {peer!r}, which is not a service")
        return
    served = (services[peer].get("command") or [None, None])[1:2]
    want = facts["ports"].get(served[0] if served else "")
    if want is None or parsed.port != want:
        problem(f"{where}: {url} uses port {parsed.port}, {peer} listens on {want}")


# ------------------------------------------------------------------ Dockerfile


def check_dockerfile(compose: dict, facts: dict) -> None:
    text = (ROOT / "Dockerfile").read_text()
    where = "Dockerfile"
    binary = facts["binary"]
    build = re.search(r"^RUN cargo build ([^\n\\&]*)", text, re.M)
    if not build or f"--bin {binary}" not in build.group(1) or "--release" not in build.group(1) \
            or "--locked" not in build.group(1):
        problem(f"{where}: no `cargo build --release --locked --bin {binary}`")
    if re.search(r"cargo build[^\n]*--(no-default-)?features", text):
        problem(f"{where}: builds other features than `cargo build --release`")
    if "cargo chef cook --release --locked" not in text:
        problem(f"{where}: the cargo-chef cook step is not --release --locked (its cache would not be used)")
    copied = re.search(rf"COPY --from=\w+ \S*{binary} (\S+)", text)
    entry = re.search(r'ENTRYPOINT \["([^"]+)"', text)
    if not copied or not entry or copied.group(1) != entry.group(1):
        problem(f"{where}: ENTRYPOINT {entry and entry.group(1)} is not where the binary is copied ({copied and copied.group(1)})")
    for name in OURS:
        test = (compose["services"][name].get("healthcheck") or {}).get("test") or []
        if entry and test[1:2] != [entry.group(1)]:
            problem(f"docker-compose.yml: services.{name}: healthcheck runs {test[1:2]}, the binary is {entry.group(1)}")
    if not re.search(r"^USER (65532|nonroot)", text, re.M):
        problem(f"{where}: the runtime stage does not run as the non-root user")
    for image in re.findall(r"^ARG \w+_IMAGE=(\S+)", text, re.M):
        if ":" not in image or image.endswith(":latest"):
            problem(f"{where}: base image {image} is not pinned")
    ignore = (ROOT / ".dockerignore").read_text().split()
    if "target/" not in ignore and "target" not in ignore:
        problem(".dockerignore: target/ is not ignored (the build context would carry gigabytes)")


# ------------------------------------------------------------------ collector, Jaeger, Loki


def check_pipelines(rel: str, config: dict, services: dict) -> None:
    service = config.get("service", {})
    for ext in service.get("extensions", []):
        if ext not in (config.get("extensions") or {}):
            problem(f"{rel}: extension {ext} is enabled but not configured")
    for name, pipeline in (service.get("pipelines") or {}).items():
        for kind in ("receivers", "processors", "exporters"):
            for comp in pipeline.get(kind, []):
                if comp not in (config.get(kind) or {}):
                    problem(f"{rel}: pipeline {name} uses {kind[:-1]} {comp}, which is not defined")
    for name, exporter in (config.get("exporters") or {}).items():
        endpoint = (exporter or {}).get("endpoint")
        if endpoint:
            host = urlparse(endpoint if "://" in endpoint else f"//{endpoint}").hostname
            if host not in services:
                problem(f"{rel}: exporter {name} sends to {host!r}, which is not a compose service")


def check_backends(compose: dict) -> None:
    services = compose["services"]
    rel = "deploy/otel-collector/config.yaml"
    otel = load_yaml(rel)
    check_pipelines(rel, otel, services)
    for name, pipeline in otel["service"]["pipelines"].items():
        procs = pipeline.get("processors", [])
        if not procs or procs[0] != "memory_limiter" or "batch" not in procs:
            problem(f"{rel}: pipeline {name} must start with memory_limiter and include batch")
    if not str(otel["extensions"]["health_check"].get("endpoint", "")).startswith("0.0.0.0:"):
        problem(f"{rel}: health_check listens on localhost only")
    exporters = otel["exporters"]
    jaeger_exp = [v for k, v in exporters.items() if k.split("/")[0] == "otlp_grpc"]
    loki_exp = [v for k, v in exporters.items() if k.split("/")[0] == "otlp_http"]
    if not jaeger_exp or jaeger_exp[0]["endpoint"] != "jaeger:4317":
        problem(f"{rel}: traces do not go to jaeger:4317 over otlp_grpc")
    if not loki_exp or loki_exp[0]["endpoint"].rstrip("/") != "http://loki:3100/otlp":
        problem(f"{rel}: logs do not go to http://loki:3100/otlp over otlp_http")
    coll_cmd = " ".join(services["otel-collector"].get("command") or [])
    cfg = re.search(r"--config=(\S+)", coll_cmd)
    if not cfg or container_path(services, "otel-collector", cfg.group(1)) != (ROOT / rel).resolve():
        problem(f"docker-compose.yml: the collector's --config is not {rel}")

    rel = "deploy/jaeger/config.yaml"
    jaeger = load_yaml(rel)
    check_pipelines(rel, jaeger, services)
    backends = jaeger["extensions"]["jaeger_storage"]["backends"]
    if jaeger["extensions"]["jaeger_query"]["storage"]["traces"] not in backends:
        problem(f"{rel}: jaeger_query reads a storage jaeger_storage does not define")
    if jaeger["exporters"]["jaeger_storage_exporter"]["trace_storage"] not in backends:
        problem(f"{rel}: the exporter writes to a storage jaeger_storage does not define")
    cmd = services["jaeger"].get("command") or []
    if "--config" not in cmd or container_path(services, "jaeger", cmd[cmd.index("--config") + 1]) != (ROOT / rel).resolve():
        problem(f"docker-compose.yml: jaeger's --config is not {rel}")

    rel = "deploy/loki/config.yaml"
    loki = load_yaml(rel)
    schema = loki["schema_config"]["configs"][-1]
    if schema.get("store") != "tsdb" or schema.get("schema") != "v13":
        problem(f"{rel}: the newest schema is not tsdb + v13 (OTLP ingestion needs v13)")
    if loki.get("limits_config", {}).get("allow_structured_metadata") is False:
        problem(f"{rel}: structured metadata is disabled (OTLP ingestion needs it)")
    if loki["server"]["http_listen_port"] != 3100:
        problem(f"{rel}: Loki does not listen on 3100, which the collector and Grafana use")
    cmd = " ".join(services["loki"].get("command") or [])
    cfg = re.search(r"-config\.file=(\S+)", cmd)
    if not cfg or container_path(services, "loki", cfg.group(1)) != (ROOT / rel).resolve():
        problem(f"docker-compose.yml: loki's -config.file is not {rel}")


# ------------------------------------------------------------------ Prometheus


def check_prometheus(compose: dict, facts: dict) -> None:
    """Prometheus reads the mounted config, keeps exemplars, and scrapes every service of ours on
    the port it listens on, one job per service."""
    services = compose["services"]
    rel = "deploy/prometheus/prometheus.yml"
    where = "docker-compose.yml: services.prometheus"
    svc = services.get("prometheus")
    if svc is None:
        problem("docker-compose.yml: no prometheus service")
        return
    command = svc.get("command") or []
    config = next((a.split("=", 1)[1] for a in command if a.startswith("--config.file=")), "")
    if container_path(services, "prometheus", config) != (ROOT / rel).resolve():
        problem(f"{where}: --config.file is not {rel}")
    if "--enable-feature=exemplar-storage" not in command:
        problem(f"{where}: no --enable-feature=exemplar-storage: scraped exemplars would be dropped")
    scraped = {}
    for job in load_yaml(rel).get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for target in static.get("targets", []):
                host, _, port = target.rpartition(":")
                scraped[host] = (job.get("job_name"), port)
    for name in OURS:
        if name not in scraped:
            problem(f"{rel}: {name} is not scraped")
            continue
        job, port = scraped[name]
        if job != name:
            problem(f"{rel}: {name} is scraped as job {job!r}; the dashboards group by job = service")
        if port != str(facts["ports"].get(name)):
            problem(f"{rel}: scrapes {name}:{port}, but {name} listens on {facts['ports'].get(name)}")
    for host in scraped:
        if host not in services:
            problem(f"{rel}: scrapes {host!r}, which is not a compose service")


# Grafana's interval variables, replaced by a fixed range so promtool can parse the query.
GRAFANA_RANGES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h", "$__auto": "1m"}


def promql_rules(queries: list[dict]) -> str:
    """A Prometheus rule file holding each query as a recording rule, for `promtool check rules`."""
    rules = []
    for i, query in enumerate(queries):
        expr = query["expr"]
        for variable, value in GRAFANA_RANGES.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    return yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, sort_keys=False)


# ------------------------------------------------------------------ Grafana


def walk(node, visit):
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            walk(value, visit)


def check_grafana(compose: dict, promql: list[dict] | None = None) -> list[dict]:
    """Checks the provisioning and dashboards; returns the LogQL queries and appends the PromQL
    ones to `promql`."""
    services = compose["services"]
    queries: list[dict] = []
    promql = [] if promql is None else promql
    ds_files = sorted((ROOT / "grafana/provisioning/datasources").glob("*.y*ml"))
    datasources = {}
    for path in ds_files:
        for ds in yaml.safe_load(path.read_text()).get("datasources", []):
            if not ds.get("uid"):
                problem(f"{path.relative_to(ROOT)}: data source {ds.get('name')} has no fixed uid")
            datasources[ds.get("uid")] = ds
    for uid, ds in datasources.items():
        where = f"grafana/provisioning/datasources: {uid}"
        url = urlparse(ds.get("url", ""))
        want = {"jaeger": ("jaeger", 16686), "loki": ("loki", 3100),
                "prometheus": ("prometheus", 9090)}.get(ds["type"])
        if want and (url.hostname, url.port) != want:
            problem(f"{where}: url {ds.get('url')} is not http://{want[0]}:{want[1]}")
        if url.hostname not in services:
            problem(f"{where}: url host {url.hostname!r} is not a compose service")
        json_data = ds.get("jsonData") or {}
        t2l = json_data.get("tracesToLogsV2")
        if t2l:
            if datasources.get(t2l.get("datasourceUid"), {}).get("type") != "loki":
                problem(f"{where}: tracesToLogsV2 points at {t2l.get('datasourceUid')!r}, not a provisioned Loki")
            if not t2l.get("customQuery") or "service_namespace" not in t2l.get("query", "") \
                    or "trace_id" not in t2l.get("query", ""):
                problem(f"{where}: tracesToLogsV2 needs a custom query on service_namespace and trace_id")
            queries.append({"where": f"{where}: tracesToLogsV2.query", "expr": t2l.get("query", "")})
        for dest in json_data.get("exemplarTraceIdDestinations") or []:
            if datasources.get(dest.get("datasourceUid"), {}).get("type") != "jaeger":
                problem(f"{where}: exemplar destination {dest.get('name')} points at {dest.get('datasourceUid')!r}, not a provisioned Jaeger")
            if dest.get("name") != "trace_id":
                problem(f"{where}: exemplar destination reads label {dest.get('name')!r}; the services' exemplars carry trace_id")
        for field in json_data.get("derivedFields") or []:
            if field.get("datasourceUid") not in datasources:
                problem(f"{where}: derived field {field.get('name')} links to {field.get('datasourceUid')!r}, not provisioned")
            if field.get("matcherType") != "label" or field.get("matcherRegex") != "^trace_id$":
                problem(f"{where}: derived field {field.get('name')} must read the trace_id label (matcherType label, ^trace_id$)")
            if field.get("url") != "$${__value.raw}":
                problem(f"{where}: derived field url must be $${{__value.raw}} (a literal $ is $$ in provisioning)")

    for path in sorted((ROOT / "grafana/provisioning/dashboards").glob("*.y*ml")):
        for provider in yaml.safe_load(path.read_text()).get("providers", []):
            folder = provider["options"]["path"]
            host = container_path(services, "grafana", folder)
            if host is None or not host.is_dir() or not list(host.glob("*.json")):
                problem(f"{path.relative_to(ROOT)}: provider path {folder} is not a mounted directory of dashboards")
    home = env_of(services["grafana"]).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        host = container_path(services, "grafana", home)
        if host is None or not host.is_file():
            problem(f"docker-compose.yml: grafana's home dashboard {home} is not a mounted file")
    for rel in ("datasources", "dashboards"):
        if container_path(services, "grafana", f"/etc/grafana/provisioning/{rel}/x") is None:
            problem(f"docker-compose.yml: grafana/provisioning/{rel} is not mounted")

    uids = {}
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        rel = str(path.relative_to(ROOT))
        dash = json.loads(path.read_text())
        uids[dash.get("uid")] = rel
        variables = {v["name"] for v in dash.get("templating", {}).get("list", [])}

        def visit(node, rel=rel, variables=variables):
            ds = node.get("datasource")
            if isinstance(ds, dict) and ds.get("uid") and not ds["uid"].startswith("$"):
                if ds["uid"] not in datasources:
                    problem(f"{rel}: names data source uid {ds['uid']!r}, which is not provisioned")
                elif ds.get("type") and ds["type"] != datasources[ds["uid"]]["type"]:
                    problem(f"{rel}: data source {ds['uid']} has type {datasources[ds['uid']]['type']}, not {ds['type']}")
            if "expr" in node and isinstance(node["expr"], str):
                query = {"where": f"{rel}: refId {node.get('refId')}", "expr": node["expr"]}
                uid = ds.get("uid") if isinstance(ds, dict) else None
                is_prometheus = datasources.get(uid, {}).get("type") == "prometheus"
                (promql if is_prometheus else queries).append(query)
            for text in (node.get("expr"), node.get("tags"), node.get("url")):
                for var in re.findall(r"\$\{?(\w+)", text or ""):
                    if not var.startswith("__") and var not in variables:
                        problem(f"{rel}: uses ${var}, which is not a dashboard variable")

        walk(dash.get("panels", []), visit)
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        for link in re.findall(r'"/d/([\w-]+)/', path.read_text()):
            if link not in uids:
                problem(f"{path.relative_to(ROOT)}: links to dashboard uid {link}, which is not provisioned")
    return queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logql-out", required=True, type=Path)
    parser.add_argument("--promql-out", type=Path)
    args = parser.parse_args()
    compose = load_yaml("docker-compose.yml")
    facts = binary_facts()
    for name in OURS:
        if name not in compose["services"]:
            problem(f"docker-compose.yml: no service {name}")
    check_compose(compose, facts)
    check_dockerfile(compose, facts)
    check_backends(compose)
    check_prometheus(compose, facts)
    promql: list[dict] = []
    queries = check_grafana(compose, promql)
    if args.promql_out:
        args.promql_out.write_text(promql_rules(promql))
    if not queries:
        problem("no LogQL query found in dashboards/ or the provisioning")
    args.logql_out.write_text(json.dumps(queries, indent=1))
    for line in dict.fromkeys(PROBLEMS):
        print(f"FAIL {line}")
    if PROBLEMS:
        return 1
    print(
        f"ok: {len(compose['services'])} services, {len(facts['env'])} variables the binary reads, "
        f"{len(queries)} LogQL and {len(promql)} PromQL queries collected"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

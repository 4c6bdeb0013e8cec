#!/usr/bin/env python3
"""ordertrail `up` against the Python reference stack, both exporting, in the same run.

Run by scripts/bench-python-peer.sh, which prepares the venv and the release binary:

    python3 scripts/python_peer/compare.py --peer DIR --venv VENV --ordertrail BIN [--rounds 3]

Starts, on free loopback ports, one after the other:
  * the Python stack from DIR (FastAPI + uvicorn --workers N, gateway / inventory / payments),
    started with the command line of the peer's run.sh, exporting OTLP gRPC to a live
    `ordertrail collect`;
  * `ordertrail up` (five services, its embedded collector live).
Then runs ROUNDS interleaved rounds (the order alternates each round) of wrk against each
gateway's POST /orders (the peer's post_order.lua, and post_order_ordertrail.lua next to this
file: the same order in ordertrail's body shape), each a warm-up then DURATION seconds measured.
Server CPU comes from /proc/<pid>/stat (utime + stime) of every process of each stack, read
before and after each measured run. A run during which other processes used more than
--max-foreign % of the machine is redone (at most twice). At the end it reads each collector's
`GET /metrics` for the spans and log records received, stops every process it started, by PID,
and prints a Markdown table of medians over the rounds and the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
HOST = "127.0.0.1"
PY_SERVICES = ("gateway", "inventory", "payments")
OT_SERVICES = 5  # gateway, orders, inventory, payments, shipping on --base-port and the next four


# --------------------------------------------------------------------------- processes


@dataclass
class Stack:
    """One stack: the processes it was started as, and where its gateway and collector listen."""

    name: str
    orders_url: str
    lua: Path
    metrics_url: str
    services: list[subprocess.Popen] = field(default_factory=list)
    collector: subprocess.Popen | None = None  # a process of its own (None: embedded in a service root)
    gateway_log: Path | None = None  # JSON lines with one "order placed" per order
    seen: set[tuple[int, int]] = field(default_factory=set)  # (pid, start time) ever counted

    def roots(self) -> list[subprocess.Popen]:
        return self.services + ([self.collector] if self.collector else [])


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 onwards), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (f := proc_stat(int(entry.name))):
            kids.setdefault(int(f[1]), []).append(int(entry.name))
    return kids


def tree(root: int, kids: dict[int, list[int]]) -> list[int]:
    """`root` and all its descendants."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def jiffies(pids: list[int], seen: set[tuple[int, int]]) -> int:
    """utime + stime of `pids` (all threads), remembering each (pid, start time) in `seen`."""
    total = 0
    for pid in pids:
        if f := proc_stat(pid):
            total += int(f[11]) + int(f[12])
            seen.add((pid, int(f[19])))
    return total


def stack_cpu(stack: Stack, kids: dict[int, list[int]]) -> tuple[int, int]:
    """(services, collector) jiffies. `up`'s own process holds its collector: counted there."""
    services = [p for s in stack.services for p in tree(s.pid, kids)]
    collector = tree(stack.collector.pid, kids) if stack.collector else []
    if stack.collector is None:  # ordertrail: the root `up` is the collector, its children the services
        collector = [s.pid for s in stack.services]
        services = [p for p in services if p not in collector]
    return jiffies(services, stack.seen), jiffies(collector, stack.seen)


def start(cmd: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    """Starts `cmd` in a session of its own (like run.sh's setsid), output to `log`."""
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd, start_new_session=True)


def clean_env() -> dict[str, str]:
    """This environment without any OTEL_* setting, so each stack gets only what we give it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}


def stop(stacks: list[Stack], grace: float = 25.0) -> None:
    """SIGTERM to every root; after `grace`, SIGKILL to any process we started or counted that is
    still the same process (same PID and start time). Never by name."""
    kids = children_map()
    for stack in stacks:
        stack_cpu(stack, kids)  # records every live process of the stack in `seen`
    for stack in stacks:
        for proc in stack.roots():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for stack in stacks:
        for proc in stack.roots():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    time.sleep(0.5)  # let supervisors reap their workers
    for stack in stacks:
        for pid, started in stack.seen:
            f = proc_stat(pid)
            if f and int(f[19]) == started and f[0] != "Z":
                print(f"stop: SIGKILL {pid} ({stack.name})", file=sys.stderr)
                os.kill(pid, signal.SIGKILL)
        for proc in stack.roots():
            if proc.poll() is None:
                proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- ports and HTTP


def free_block(n: int, taken: set[int]) -> int:
    """A port p such that p .. p+n-1 are all free on the loopback and not in `taken`."""
    for base in range(20000, 60000, 10):
        ports = range(base, base + n)
        if taken.intersection(ports):
            continue
        socks = []
        try:
            for p in ports:
                s = socket.socket()
                socks.append(s)
                s.bind((HOST, p))
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        taken.update(ports)
        return base
    raise SystemExit("no free block of loopback ports")


def http(url: str, body: bytes | None = None, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def wait_ready(urls: list[str], procs: list[subprocess.Popen], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    for url in urls:
        while True:
            try:
                if http(url, timeout=1.0)[0] == 200:
                    break
            except OSError:
                pass
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a process exited before {url} answered")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {within:.0f} s")
            time.sleep(0.2)


def one_order(stack: Stack) -> None:
    """Places one order with the body wrk sends; fails unless it is accepted."""
    body = re.search(r"wrk\.body\s*=\s*'([^']*)'", stack.lua.read_text()).group(1).encode()
    status, headers, _ = http(stack.orders_url, body)
    rid = {k.lower(): v for k, v in headers.items()}.get("x-request-id", "-")
    print(f"{stack.name}: one order -> HTTP {status}, x-request-id {rid}")
    if not 200 <= status < 300:
        raise RuntimeError(f"{stack.name} refused the benchmark's order (HTTP {status})")


def orders_placed(stack: Stack) -> int:
    """Orders the gateway placed over the whole session (wrk leaves some in flight uncounted)."""
    with open(stack.gateway_log, errors="replace") as lines:
        return sum(1 for line in lines if "order placed" in line)


def received(stack: Stack) -> dict[str, int]:
    """Spans and log records the stack's collector has received (its GET /metrics)."""
    text = http(stack.metrics_url)[2].decode()
    counts = re.findall(r'^ordertrail_collector_items(?:_total)?\{signal="(\w+)"\} (\d+)', text, re.M)
    return {signal: int(n) for signal, n in counts}


# --------------------------------------------------------------------------- wrk and CPU


def machine() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]
    return busy, busy + f[3] + f[4]


def wait_quiet(limit: float, within: float) -> float:
    """Waits (at most `within` s) until the machine is under `limit` % busy; returns the last %."""
    deadline = time.monotonic() + within
    while True:
        b0, t0 = machine()
        time.sleep(2)
        b1, t1 = machine()
        pct = 100.0 * (b1 - b0) / max(1, t1 - t0)
        if pct < limit or time.monotonic() > deadline:
            return pct


def to_ms(value: str) -> float:
    """wrk's latency text in milliseconds.

    >>> to_ms("820.12ms"), to_ms("1.26s"), to_ms("950.00us")
    (820.12, 1260.0, 0.95)
    """
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if not m:
        return float("nan")
    return round(float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[m.group(2)], 6)


def parse_wrk(out: str) -> dict[str, float]:
    """Requests, req/s, p50/p99 (ms), non-2xx and socket errors from `wrk --latency` output.

    >>> r = parse_wrk('''  Latency Distribution
    ...      50%  412.00ms
    ...      99%    1.26s
    ...   1420 requests in 10.01s, 300.00KB read
    ...   Socket errors: connect 0, read 0, write 0, timeout 7
    ...   Non-2xx or 3xx responses: 3
    ... Requests/sec:    141.86''')
    >>> (r["requests"], r["rps"], r["p50"], r["p99"], r["errors"], r["non2xx"])
    (1420, 141.86, 412.0, 1260.0, 7, 3)
    """
    def num(pattern: str, conv=float, default=0):
        m = re.search(pattern, out, re.M)
        return conv(m.group(1)) if m else default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": num(r"^\s+(\d+) requests in", int),
        "rps": num(r"Requests/sec:\s+([\d.]+)"),
        "p50": to_ms(num(r"^\s+50%\s+(\S+)", str, "")),
        "p99": to_ms(num(r"^\s+99%\s+(\S+)", str, "")),
        "errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "non2xx": num(r"Non-2xx or 3xx responses: (\d+)", int),
    }


def wrk(args: argparse.Namespace, stack: Stack, duration: str, latency: bool) -> str:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.conns}", f"-d{duration}", "-s", str(stack.lua),
           *(["--latency"] if latency else []), stack.orders_url]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout


def measured_run(args: argparse.Namespace, stack: Stack, other: Stack) -> dict[str, float]:
    """One warm-up and one measured wrk run against `stack`, with every process's CPU."""
    if args.warmup > 0:
        wrk(args, stack, f"{args.warmup}s", latency=False)
    kids = children_map()
    s0, c0, o0 = *stack_cpu(stack, kids), sum(stack_cpu(other, kids))
    b0, t0 = machine()
    ru0 = os.times()
    out = wrk(args, stack, f"{args.duration}s", latency=True)
    ru1 = os.times()
    b1, t1 = machine()
    s1, c1, o1 = *stack_cpu(stack, kids), sum(stack_cpu(other, kids))
    r = parse_wrk(out)
    svc, col, idle = s1 - s0, c1 - c0, o1 - o0
    wrk_j = (ru1.children_user + ru1.children_system - ru0.children_user - ru0.children_system) * HZ
    scale = 100.0 * NCPU / max(1, t1 - t0)
    n = max(1, r["requests"])
    r.update(
        svc_ms=1000.0 * svc / HZ / n,
        all_ms=1000.0 * (svc + col) / HZ / n,
        stack_pct=(svc + col) * scale,
        wrk_pct=wrk_j * scale,
        idle_pct=idle * scale,
        foreign_pct=max(0.0, (b1 - b0) - svc - col - idle - wrk_j) * scale,
    )
    return r


def run_rounds(args: argparse.Namespace, py: Stack, ot: Stack) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {py.name: [], ot.name: []}
    for rnd in range(1, args.rounds + 1):
        order = (py, ot) if rnd % 2 else (ot, py)
        for stack in order:
            other = ot if stack is py else py
            for attempt in range(1, 4):
                busy = wait_quiet(args.quiet_below, args.quiet_wait)
                r = measured_run(args, stack, other)
                print(f"round {rnd} {stack.name} (try {attempt}, machine {busy:.0f}% busy before): "
                      f"{r['rps']:.0f} orders/s, p99 {r['p99']:.1f} ms, {r['svc_ms']:.2f} CPU-ms/order "
                      f"services, {r['all_ms']:.2f} with collector; CPU % of {NCPU * 100}: stack "
                      f"{r['stack_pct']:.0f}, wrk {r['wrk_pct']:.0f}, other stack {r['idle_pct']:.0f}, "
                      f"foreign {r['foreign_pct']:.0f}; non-2xx {r['non2xx']}, socket errors {r['errors']}",
                      flush=True)
                if r["foreign_pct"] <= args.max_foreign or attempt == 3:
                    r["tries"] = attempt
                    results[stack.name].append(r)
                    break
    return results


# --------------------------------------------------------------------------- report


def table(results: dict[str, list[dict]], py: Stack, ot: Stack, counts: dict[str, dict],
          placed: dict[str, int]) -> str:
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
           for name, runs in results.items()}
    rows = [
        "| stack | orders/s (median; each round) | p50 ms | p99 ms | CPU-ms/order, services "
        "| CPU-ms/order, with collector | spans/order | log records/order | non-2xx | socket errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for stack in (py, ot):
        m, runs, c = med[stack.name], results[stack.name], counts[stack.name]
        each = " / ".join(f"{r['rps']:.0f}" for r in runs)
        per = lambda k: f"{c.get(k, 0) / max(1, placed[stack.name]):.1f}"  # noqa: E731
        rows.append(f"| {stack.name} | {m['rps']:,.0f} ({each}) | {m['p50']:.1f} | {m['p99']:.1f} "
                    f"| {m['svc_ms']:.2f} | {m['all_ms']:.2f} | {per('traces')} | {per('logs')} "
                    f"| {sum(r['non2xx'] for r in runs)} | {sum(r['errors'] for r in runs)} |")
    p, o = med[py.name], med[ot.name]
    rows.append("")
    rows.append(f"ordertrail / Python: **{o['rps'] / p['rps']:.1f}× the orders/s**, "
                f"**{p['svc_ms'] / o['svc_ms']:.1f}× less** service CPU per order "
                f"({p['all_ms'] / o['all_ms']:.1f}× less with the collectors), "
                f"p99 {p['p99'] / o['p99']:.1f}× lower.")
    pairs = list(zip(results[py.name], results[ot.name]))
    rows.append("Round by round (orders/s, service CPU per order): " + ", ".join(
        f"{o['rps'] / p['rps']:.1f}× / {p['svc_ms'] / o['svc_ms']:.1f}×" for p, o in pairs) + ".")
    return "\n".join(rows)


# --------------------------------------------------------------------------- main


def start_python(args: argparse.Namespace, wd: Path, taken: set[int]) -> Stack:
    base, rx = free_block(len(PY_SERVICES), taken), free_block(1, taken)
    ports = dict(zip(PY_SERVICES, range(base, base + len(PY_SERVICES))))
    stack = Stack(f"Python (FastAPI, uvicorn --workers {args.workers}, OTLP gRPC)",
                  f"http://{HOST}:{ports['gateway']}/orders", args.peer / "post_order.lua",
                  f"http://{HOST}:{rx}/metrics", gateway_log=wd / "python-gateway.log")
    stack.collector = start([str(args.ordertrail), "collect", "--listen", f"{HOST}:{rx}",
                             "--out", str(wd / "python-otlp")], wd / "python-collector.log",
                            clean_env(), wd)
    wait_ready([stack.metrics_url], [stack.collector])
    env = clean_env() | {
        "INVENTORY_URL": f"http://{HOST}:{ports['inventory']}",
        "PAYMENTS_URL": f"http://{HOST}:{ports['payments']}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{HOST}:{rx}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name, port in ports.items():  # run.sh's command line, on our ports
        cmd = [str(args.venv / "bin" / "uvicorn"), "app:app", "--app-dir", str(args.peer), "--host", HOST,
               "--port", str(port), "--workers", str(args.workers), "--no-access-log"]
        stack.services.append(start(cmd, wd / f"python-{name}.log", env | {"SERVICE": name}, args.peer))
    wait_ready([f"http://{HOST}:{p}/hello" for p in ports.values()], stack.roots())
    print(f"{stack.name}: gateway {base}, inventory {base + 1}, payments {base + 2}, collector {rx}")
    return stack


def start_ordertrail(args: argparse.Namespace, wd: Path, taken: set[int]) -> Stack:
    base, otlp = free_block(OT_SERVICES, taken), free_block(1, taken)
    stack = Stack("ordertrail up (embedded collector)", f"http://{HOST}:{base}/orders",
                  HERE / "post_order_ordertrail.lua", f"http://{HOST}:{otlp}/metrics",
                  gateway_log=wd / "ordertrail-logs" / "gateway.jsonl")
    cmd = [str(args.ordertrail), "up", "--base-port", str(base), "--otlp-port", str(otlp),
           "--log-dir", str(wd / "ordertrail-logs"), "--data-dir", str(wd / "ordertrail-data")]
    stack.services.append(start(cmd, wd / "ordertrail-up.log", clean_env(), wd))
    urls = [f"http://{HOST}:{p}/healthz" for p in range(base, base + OT_SERVICES)]
    wait_ready([stack.metrics_url, *urls], stack.roots())
    print(f"{stack.name}: services {base}-{base + OT_SERVICES - 1}, collector {otlp}")
    return stack


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", type=Path, required=True, help="the Python stack's directory (app.py, post_order.lua)")
    ap.add_argument("--venv", type=Path, required=True, help="a venv with the peer's requirements.txt")
    ap.add_argument("--ordertrail", type=Path, required=True, help="the release ordertrail binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds measured per run")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of load before each measured run")
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2, help="uvicorn --workers of the Python stack")
    ap.add_argument("--quiet-below", type=float, default=20.0, help="%% busy under which a run starts")
    ap.add_argument("--quiet-wait", type=float, default=60.0, help="longest wait for that, seconds")
    ap.add_argument("--max-foreign", type=float, default=15.0,
                    help="redo a run (twice at most) when other processes used more %% of the machine")
    ap.add_argument("--keep", action="store_true", help="keep the logs and OTLP files")
    args = ap.parse_args()
    args.peer, args.venv, args.ordertrail = args.peer.resolve(), args.venv.resolve(), args.ordertrail.resolve()
    if not 1 <= args.rounds <= 10 or not 1 <= args.duration <= 120 or not 0 <= args.warmup <= 30:
        ap.error("bounded runs only: 1-10 rounds, 1-120 s each, warm-up 0-30 s")
    return args


def main() -> int:
    args = parse_args()
    wd = Path(tempfile.mkdtemp(prefix="ordertrail-vs-python."))
    stacks: list[Stack] = []
    taken: set[int] = set()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stacks.append(start_python(args, wd, taken))
        stacks.append(start_ordertrail(args, wd, taken))
        py, ot = stacks
        for stack in stacks:
            one_order(stack)
        print(f"date {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, {NCPU} cores, wrk -t{args.threads} "
              f"-c{args.conns} -d{args.duration}s (+{args.warmup}s warm-up), {args.rounds} interleaved rounds",
              flush=True)
        results = run_rounds(args, py, ot)
        time.sleep(8)  # batch processors export what they hold (Python: every 5 s)
        counts = {s.name: received(s) for s in stacks}
        placed = {s.name: orders_placed(s) for s in stacks}
        print("\n## ordertrail up against the Python stack, both exporting (medians over the rounds)\n")
        print(table(results, py, ot, counts, placed))
        print(f"\nSpans and log records: received by each stack's collector over the session, per order "
              f"placed (Python {placed[py.name]:,}, ordertrail {placed[ot.name]:,}, warm-ups included).")
        return 0
    finally:
        stop(stacks)
        if args.keep:
            print(f"logs and OTLP files kept in {wd}")
        else:
            shutil.rmtree(wd, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs the README's runnable shell blocks, in order, against a real `ordertrail up`.

    python3 scripts/check_readme.py          # .ci/run calls it after `cargo test`

A block is runnable when the line before its opening fence is `<!-- run -->`. In it, a line
starting with `$ ` is a command and the lines after it, up to the next command, the output the
README shows; a block without `$ ` is all commands (comments and `\\`-continued lines are
understood). Each command runs with `bash -o pipefail` in a scratch directory, with a 120 s
limit, after two substitutions that keep it the same command: `cargo run --release --` and
`target/release/ordertrail` become `ordertrail`, which is the debug binary that `cargo test`
built (a release build would add minutes and test nothing more). A command passes when it exits
0 and, for shown output, every shown line matches one of its output lines: the same words, where
a word holding a digit (an id, a time, a count) matches any word that holds one too.

Fails on the first problem, printing the command, what it printed and why. The services run on
their default ports, as the README's commands expect: a busy port is an error, not a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "debug" / "ordertrail"
MARKER = "<!-- run -->"
LIMIT_S = 120


def fail(message: str) -> None:
    print(f"check-readme: FAIL {message}", file=sys.stderr)
    sys.exit(1)


def runnable_blocks(text: str) -> list[list[str]]:
    """The lines of every fenced block right after a `<!-- run -->` line."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == MARKER and i + 1 < len(lines) and lines[i + 1].startswith("```"):
            end = next((j for j in range(i + 2, len(lines)) if lines[j].startswith("```")), None)
            if end is None:
                fail(f"unclosed block after line {i + 1}")
            blocks.append(lines[i + 2 : end])
            i = end
        i += 1
    return blocks


def commands(block: list[str]) -> list[tuple[str, list[str]]]:
    """(command, shown output) pairs of one block."""
    prompted = any(line.startswith("$ ") for line in block)
    result: list[tuple[str, list[str]]] = []
    pending = ""
    for line in block:
        if prompted and not line.startswith("$ ") and not pending:
            if result:
                result[-1][1].append(line)
            continue
        text = line[2:] if line.startswith("$ ") else line
        if not prompted and (not text.strip() or text.lstrip().startswith("#")):
            continue
        pending += text.rstrip("\\").rstrip() + " " if text.endswith("\\") else text
        if not text.endswith("\\"):
            result.append((pending.strip(), []))
            pending = ""
    return result


def as_run_here(command: str) -> str:
    command = command.replace("cargo run --release --", "ordertrail")
    return command.replace("target/release/ordertrail", "ordertrail")


def variable(word: str) -> bool:
    """A word that changes from run to run: it holds a digit."""
    return any(c.isdigit() for c in word)


def same_line(shown: str, printed: str) -> bool:
    """`printed` says what `shown` says, ids, times and counts aside."""
    a, b = shown.split(), printed.split()
    return len(a) == len(b) and all(x == y or (variable(x) and variable(y)) for x, y in zip(a, b))


def check_output(command: str, output: str, shown: list[str]) -> None:
    lines = output.splitlines()
    for expected in shown:
        if not expected.strip():
            continue
        wanted = as_run_here(expected)
        if not any(same_line(wanted, line) for line in lines):
            fail(f"`{command}` printed no line like {wanted!r} (the README shows "
                 f"{expected!r}); it printed:\n{output}")


def run(command: str, workdir: Path, env: dict[str, str], shown: list[str]) -> None:
    here = as_run_here(command)
    print(f"$ {command}", flush=True)
    try:
        done = subprocess.run(["bash", "-o", "pipefail", "-c", here], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=LIMIT_S)
    except subprocess.TimeoutExpired:
        fail(f"`{command}` ran for more than {LIMIT_S} s")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        fail(f"`{command}` exited {done.returncode}:\n{output}")
    check_output(command, done.stdout, shown)
    print("\n".join("  " + line for line in output.splitlines()[:6]), flush=True)


def wait_for_gateway(up: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if up.poll() is not None:
            fail(f"`ordertrail up` exited {up.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen("http://127.0.0.1:8080/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    fail(f"the gateway did not answer within 60 s:\n{log.read_text()}")


def main() -> None:
    if not BINARY.exists():
        fail(f"{BINARY} is missing: run `cargo test` (or `cargo build -p ordertrail-factory`) first")
    if shutil.which("jq") is None:
        fail("jq is missing (the README pipes into it): apt-get install jq")
    blocks = runnable_blocks((ROOT / "README.md").read_text())
    if not blocks:
        fail("no block in README.md is marked <!-- run -->")
    work = Path(tempfile.mkdtemp(prefix="ordertrail-readme-"))
    bindir = work / "bin"
    bindir.mkdir()
    (bindir / "ordertrail").symlink_to(BINARY)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", NO_COLOR="1")
    log = work / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen([str(BINARY), "up"], cwd=work, env=env, stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_gateway(up, log)
        ran = 0
        for block in blocks:
            for command, shown in commands(block):
                run(command, work, env, shown)
                ran += 1
        print(f"check-readme: ok, {ran} commands from {len(blocks)} blocks")
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        try:
            up.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

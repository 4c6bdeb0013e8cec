#!/usr/bin/env python3
"""Every file of this repository that the stack's configs name exists.

    python3 scripts/check_citations.py      # .ci/run calls it

Reads docker-compose.yml and every file under deploy/, grafana/ and dashboards/, comments
included, and takes each word ending in a file extension (`.yaml`, `.md`, `.sh`…) as a file
name. Absolute paths (inside a container) and URLs are left alone. A name passes when it exists
relative to the file that names it or to the repository's root; a bare name (no `/`) passes
when a file of that name is anywhere in the repository. A name that does not exist passes only
when its comment paragraph (the run of comment lines it is in) names an upstream repository
before it, as `owner/name path`: that is a file of the other project, cited as it is there.

Prints one line per missing file (where, and the name) and exits 1 if there is any.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("docker-compose.yml", "deploy", "grafana", "dashboards")
EXTENSIONS = "yaml|yml|json|md|sh|py|rs|toml|env|txt|mjs|conf"
# A word that names a file: path segments, then a known extension.
FILE_NAME = re.compile(rf"(?<![\w.@$-])(?:\.{{1,2}}/)*[\w-][\w.-]*(?:/[\w.-]+)*\.(?:{EXTENSIONS})\b")
# `owner/name some/path`: a file of another repository.
UPSTREAM = re.compile(r"(?:^|[\s(])[a-z0-9][\w.-]*/[\w.-]+\s+\S")
# Characters that end a word before a file name: URLs, absolute paths and `a:b` mounts split here.
SPLIT = re.compile(r"[\s\"'`()\[\],;=<>{}|]+|:(?=/)|:(?=\w)")


def repository_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def scanned(files: list[Path]) -> list[Path]:
    roots = [ROOT / name for name in SCANNED]
    return [f for f in files if any(f == r or r in f.parents for r in roots)]


def names_in(word: str) -> list[str]:
    """File names in one word; none when it is absolute or a URL."""
    if word.startswith("/") or "//" in word:
        return []
    return FILE_NAME.findall(word)


def exists(name: str, where: Path, basenames: set[str]) -> bool:
    if "/" not in name.lstrip("./"):
        return Path(name).name in basenames
    return (where.parent / name).exists() or (ROOT / name).exists()


def comment(line: str) -> str | None:
    """The comment text of a `#` comment line, or None."""
    stripped = line.lstrip()
    return stripped[1:] if stripped.startswith("#") else None


def problems_in(path: Path, basenames: set[str]) -> list[str]:
    found, paragraph = [], ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = comment(line)
        paragraph = paragraph + " " + text if text is not None and text.strip() else ""
        for word in SPLIT.split(line):
            for name in names_in(word):
                if exists(name, path, basenames):
                    continue
                cited = paragraph[: paragraph.rfind(name) + len(name)] if text is not None else ""
                if UPSTREAM.search(cited):
                    continue
                found.append(f"{path.relative_to(ROOT)}:{number}: names {name}, which is not in the repository")
    return found


def main() -> None:
    files = repository_files()
    basenames = {f.name for f in files}
    problems = [p for f in scanned(files) for p in problems_in(f, basenames)]
    for line in problems:
        print(f"check-citations: {line}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check-citations: ok, every file named in {', '.join(SCANNED)} exists")


if __name__ == "__main__":
    main()

"""Add the canary's runtime requirements to an API's own dependency files, as compatible ranges.

Chalice ships what `requirements.txt` lists, so that file always gets the ranges. A Pipenv or
pyproject project regenerates `requirements.txt` from its own file, so that file gets them too, or
the next `pipenv requirements > requirements.txt` would drop them. Every edit is textual (the
user's formatting and comments stay) and is checked by parsing the result; an edit that cannot be
made safely becomes a line telling the user exactly what to add.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["runtime_requirements", "dependency_edits"]

_DATA = Path(__file__).resolve().parent.parent / "data" / "runtime-requirements.txt"


def runtime_requirements() -> list[tuple[str, str]]:
    """The (name, version range) pairs the canary needs in the Lambda zip: the one list, read from package data."""
    from canary.errors import CanaryError

    try:
        text = _DATA.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CanaryError(f"{_DATA}: missing from the installed package (its package-data must include "
                          "data/*.txt); reinstall the CLI") from None
    out: list[tuple[str, str]] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$", line)
        if m:
            out.append((m.group(1), m.group(2).replace(" ", "")))
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _req_name(line: str) -> str | None:
    line = line.split("#", 1)[0].strip()
    if not line or line.startswith("-"):
        return None
    m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return _norm(m.group(1)) if m else None


def pin_conflicts(text: str, reqs: list[tuple[str, str]], where: str) -> list[str]:
    """Lines naming an exact pin in `text` that falls outside the canary's range (the user must choose)."""
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # pragma: no cover - packaging comes with pip/setuptools
        return []
    ranges = {_norm(n): (n, s) for n, s in reqs}
    out = []
    for line in text.splitlines():
        name = _req_name(line)
        m = re.search(r"==\s*([0-9][^\s;,#]*)", line.split("#", 1)[0])
        if name in ranges and m and not SpecifierSet(ranges[name][1]).contains(m.group(1), prereleases=True):
            out.append(f"{where}: {line.strip()} is outside the canary's range {ranges[name][0]}{ranges[name][1]}; "
                       "move the pin into that range")
    return out


# The S3 PutObject probe sends `IfMatch`, which botocore learned in 1.35.69. A zip that ships its own
# older botocore (the API pins it) shadows the runtime's, and that probe then fails before it is sent.
MIN_BOTOCORE = "1.35.69"
_SDK_PINS = {"boto3": MIN_BOTOCORE, "botocore": MIN_BOTOCORE}


def sdk_pins(text: str, where: str) -> list[str]:
    """Lines naming a boto3/botocore the API ships that is too old for the canary's S3 probes."""
    from packaging.version import InvalidVersion, Version

    out = []
    for line in text.splitlines():
        name = _req_name(line)
        m = re.search(r"(==|~=)\s*([0-9][^\s;,#]*)", line.split("#", 1)[0])
        if name in _SDK_PINS and m:
            try:
                old = Version(m.group(2)) < Version(_SDK_PINS[name])
            except InvalidVersion:
                continue
            if old:
                out.append(f"{where}: {line.strip()} ships a botocore older than {MIN_BOTOCORE} in your zip; the "
                           "canary's s3:PutObject probe sends IfMatch, which it does not know, so that probe would "
                           f"always be an ERROR: raise the pin to {name}>={MIN_BOTOCORE} or leave s3:PutObject "
                           "probes out of the config")
    return out


def _requirements_txt(text: str, reqs: list[tuple[str, str]]) -> str:
    have = {_req_name(line) for line in text.splitlines()}
    missing = [f"{n}{spec}" for n, spec in reqs if _norm(n) not in have]
    if not missing:
        return text
    body = text if not text or text.endswith("\n") else text + "\n"
    return body + "# permission canary (runtime)\n" + "".join(f"{m}\n" for m in missing)


_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def _table_span(lines: list[str], name: str) -> tuple[int, int] | None:
    """(header index, index after the table's last non-blank line) of TOML table `name`."""
    start = None
    for i, line in enumerate(lines):
        m = _TABLE.match(line)
        if m is None:
            if line.lstrip().startswith("[["):
                if start is not None:
                    return _trim(lines, start, i)
            continue
        if start is not None:
            return _trim(lines, start, i)
        if m.group(1).strip() == name:
            start = i
    return None if start is None else _trim(lines, start, len(lines))


def _trim(lines: list[str], start: int, end: int) -> tuple[int, int]:
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def _toml_table(text: str, table: str, reqs: list[tuple[str, str]], present: set[str]) -> str:
    """Add `name = "range"` lines to `[table]` (appending the table when it is absent)."""
    missing = [(n, s) for n, s in reqs if _norm(n) not in present]
    if not missing:
        return text
    new = [f'{n} = "{s}"' for n, s in missing]
    lines = text.splitlines()
    span = _table_span(lines, table)
    if span is None:
        body = text if not text or text.endswith("\n") else text + "\n"
        return body + f"\n[{table}]\n" + "\n".join(new) + "\n"
    _, end = span
    return "\n".join(lines[:end] + new + lines[end:]) + "\n"


def _pep621(text: str, reqs: list[tuple[str, str]], present: set[str]) -> str | None:
    """Insert the ranges into `[project].dependencies = [...]`; None when the array is not plain enough."""
    missing = [f'"{n}{s}"' for n, s in reqs if _norm(n) not in present]
    if not missing:
        return text
    lines = text.splitlines()
    span = _table_span(lines, "project")
    if span is None:
        return None
    start, end = span
    for i in range(start + 1, end):
        if re.match(r"^\s*dependencies\s*=\s*\[", lines[i]):
            # find the closing bracket of this array (strings in dependency lists hold no brackets)
            for j in range(i, end):
                code = lines[j].split("#", 1)[0]
                if "]" in code[(code.index("[") + 1) if j == i else 0:]:
                    break
            else:
                return None
            if j == i:  # one line: dependencies = ["a", "b"]
                head, _, tail = lines[i].rpartition("]")
                inner = head[head.index("[") + 1:].strip().rstrip(",")
                items = ([inner] if inner else []) + missing
                lines[i] = head[: head.index("[") + 1] + ", ".join(items) + "]" + tail
            else:
                indent = re.match(r"^(\s*)", lines[i + 1] if i + 1 < j else "    ").group(1) or "    "  # type: ignore[union-attr]
                prev = j - 1
                while prev > i and not lines[prev].split("#", 1)[0].strip():
                    prev -= 1
                if prev > i:
                    code, sep, comment = lines[prev].partition("#")
                    if not code.rstrip().endswith(","):
                        lines[prev] = code.rstrip() + "," + (("  " + sep + comment) if sep else "")
                lines[j:j] = [f"{indent}{m}," for m in missing]
            return "\n".join(lines) + "\n"
    return None


def _names_in(table: Any) -> set[str]:
    return {_norm(str(k)) for k in (table or {})} if isinstance(table, dict) else set()


def dependency_edits(root: Path, reqs: list[tuple[str, str]]) -> tuple[dict[Path, str], list[str]]:
    """The new text of each dependency file to change, and the lines to tell the user (edits not made)."""
    edits: dict[Path, str] = {}
    notes: list[str] = []
    spec_lines = ", ".join(f"{n}{s}" for n, s in reqs)

    pipfile = root / "Pipfile"
    if pipfile.is_file():
        text = pipfile.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
            new = _toml_table(text, "packages", reqs, _names_in(data.get("packages")))
            ok = all(_norm(n) in _names_in(tomllib.loads(new).get("packages")) for n, _ in reqs)
        except (tomllib.TOMLDecodeError, ValueError):
            ok = False
        if ok:
            pinned = [f"{k}{v}" for k, v in (data.get("packages") or {}).items()
                      if isinstance(v, str) and v.startswith("==")]
            notes.extend(pin_conflicts("\n".join(pinned), reqs, "Pipfile [packages]"))
            if new != text:
                edits[pipfile] = new
                notes.append("Pipfile changed: run `pipenv lock` (and regenerate requirements.txt if you generate it)")
        else:
            notes.append(f"Pipfile: could not edit safely; add to [packages]: "
                         + ", ".join(f'{n} = "{s}"' for n, s in reqs))

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            data = None
        poetry = ((data or {}).get("tool") or {}).get("poetry") or {}
        new: str | None = None
        if data is not None and isinstance(poetry, dict) and "dependencies" in poetry:
            new = _toml_table(text, "tool.poetry.dependencies", reqs, _names_in(poetry.get("dependencies")))
            check = lambda d: _names_in(d["tool"]["poetry"]["dependencies"])  # noqa: E731
        elif data is not None and isinstance(data.get("project"), dict):
            deps = data["project"].get("dependencies") or []
            new = _pep621(text, reqs, {_req_name(str(d)) or "" for d in deps})
            check = lambda d: {_req_name(str(x)) for x in d["project"]["dependencies"]}  # noqa: E731
        if new is not None:
            try:
                if not all(_norm(n) in check(tomllib.loads(new)) for n, _ in reqs):
                    new = None
            except (tomllib.TOMLDecodeError, KeyError, TypeError):
                new = None
        if data is None:
            notes.append(f"pyproject.toml: does not parse as TOML; left alone (add to its dependencies: {spec_lines})")
        elif new is None and (poetry or "project" in data):
            notes.append(f"pyproject.toml: could not edit safely; add to its dependencies: {spec_lines}")
        elif new is not None and new != text:
            edits[pyproject] = new

    req = root / "requirements.txt"
    if req.is_file():
        text = req.read_text(encoding="utf-8")
        notes.extend(pin_conflicts(text, reqs, "requirements.txt"))
        notes.extend(sdk_pins(text, "requirements.txt"))
        new_req = _requirements_txt(text, reqs)
        if new_req != text:
            edits[req] = new_req
    else:
        # chalice ships only what requirements.txt lists: without one, the canary would ship without
        # pydantic and fail on every run. Create it even when a Pipfile/pyproject is the source of truth.
        edits[req] = _requirements_txt("", reqs)
        if pipfile.is_file() or pyproject.is_file():
            notes.append(f"requirements.txt created with {spec_lines}: chalice ships only what it lists. If your "
                         "build generates it from your dependency tool, that tool's file has the range too")
    return edits, notes

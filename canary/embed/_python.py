"""Read which Python an API targets, so that `init` never embeds the canary where it cannot import.

The canary needs Python 3.11+. Embedded in an API whose Lambda runtime is older, `import app` would fail
and take every function of the API down with it, so `init` refuses. Chalice picks the Lambda runtime
from the Python that runs `chalice deploy`; teams write that version down in a Pipfile, a pyproject, a
`.python-version` or `runtime.txt`. The first one found is the answer; none found means unknown.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

__all__ = ["target_python"]

_VERSION = re.compile(r"(?<![\d.])(3)\.(\d{1,2})(?!\d)")


def _first(text: str) -> tuple[int, int] | None:
    m = _VERSION.search(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


def target_python(root: Path) -> tuple[tuple[int, int], str] | None:
    """((major, minor), where it is written) of the lowest Python the project says it runs on; None if unsaid."""
    pipfile = root / "Pipfile"
    if pipfile.is_file():
        try:
            req = tomllib.loads(pipfile.read_text(encoding="utf-8")).get("requires") or {}
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            req = {}
        for key in ("python_version", "python_full_version"):
            v = _first(str(req.get(key, "")))
            if v:
                return v, f"Pipfile [requires] {key}"
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
            data = {}
        spec = ((data.get("project") or {}).get("requires-python")
                or (((data.get("tool") or {}).get("poetry") or {}).get("dependencies") or {}).get("python"))
        v = _first(str(spec or ""))
        if v:
            return v, "pyproject.toml's Python requirement"
    for name in (".python-version", "runtime.txt"):
        path = root / name
        if path.is_file():
            try:
                v = _first(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                v = None
            if v:
                return v, name
    return None

"""The parts of an API project `init` changes besides its dependencies: vendor/, app.py, pytest, stage keys.

Each function reads the project and returns the new text of a file (or None: nothing to change),
plus lines to tell the user; none of them writes. `canary.embed.plan_init` assembles them.
"""

from __future__ import annotations

import ast
import configparser
import filecmp
import json
import re
import tomllib
from pathlib import Path
from typing import Any

__all__ = ["vendor_changes", "app_edit", "pytest_edit", "stage_edit", "BLUEPRINT_LINES", "VENDOR_EXCLUDE"]

# Never copied into the API's vendor/: caches. (Everything else ships: the whole package is ~0.6 MB
# unzipped, and leaving modules out would break a lazy import the Lambda path might make.)
VENDOR_EXCLUDE = ("__pycache__", "*.pyc", "*.pyo")
IMPORT_LINE = "from canary.blueprint import canary_blueprint"
BLUEPRINT_LINES = (IMPORT_LINE, "{app}.register_blueprint(canary_blueprint)")


def _source_files(source: Path) -> dict[str, Path]:
    import fnmatch

    out: dict[str, Path] = {}
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(fnmatch.fnmatch(part, pat) for part in rel.parts for pat in VENDOR_EXCLUDE):
            continue
        if path.is_file():
            out[rel.as_posix()] = path
    return out


def vendor_changes(root: Path, source: Path) -> tuple[dict[str, list[str]], int, list[str]]:
    """Which files of `source` (the canary package) vendor/canary lacks, has different, or has extra."""
    dest = root / "vendor" / "canary"
    notes: list[str] = []
    if dest.is_symlink() or (dest.exists() and dest.resolve() == source.resolve()):
        notes.append(f"vendor/canary is a link to {dest.resolve()}; kept as it is")
        return {"added": [], "changed": [], "removed": []}, 0, notes
    files = _source_files(source)
    have = _source_files(dest) if dest.is_dir() else {}
    added = [r for r in files if r not in have]
    changed = [r for r in files if r in have and not filecmp.cmp(files[r], have[r], shallow=False)]
    removed = [r for r in have if r not in files]
    size = sum(p.stat().st_size for p in files.values())
    return {"added": added, "changed": changed, "removed": removed}, size, notes


def _chalice_app_name(tree: ast.Module) -> tuple[str, ast.stmt] | None:
    """The one module-level `NAME = Chalice(...)` statement, if there is exactly one."""
    found = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call)):
            fn = node.value.func
            name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if name == "Chalice":
                found.append((node.targets[0].id, node))
    return found[0] if len(found) == 1 else None


def app_edit(root: Path) -> tuple[str | None, list[str]]:
    """app.py with the two blueprint lines, when adding them is trivially safe; else the lines to add by hand."""
    path = root / "app.py"
    text = path.read_text(encoding="utf-8")
    if "canary_blueprint" in text:
        return None, []
    manual = [f"add to app.py: {IMPORT_LINE}", "             and, after the app is created: "
              + BLUEPRINT_LINES[1].format(app="app")]
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None, manual
    found = _chalice_app_name(tree)
    if found is None:
        return None, manual
    name, stmt = found
    lines = text.splitlines(keepends=True)
    end = stmt.end_lineno or stmt.lineno
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and n.lineno < stmt.lineno]
    after_import = max((n.end_lineno or n.lineno) for n in imports) if imports else 0
    register = BLUEPRINT_LINES[1].format(app=name) + "\n"
    out = lines[:after_import] + [IMPORT_LINE + "\n"] + lines[after_import:end]
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"
    out += [register] + lines[end:]
    new = "".join(out)
    try:
        ast.parse(new)
    except SyntaxError:
        return None, manual
    return new, []


_INI_FILES = (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))


def _ini_section_has(path: Path, section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return False
    return parser.has_section(section)


def _ini_pythonpath(path: Path, section: str) -> list[str] | None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    value = parser.get(section, "pythonpath", fallback=None)
    return None if value is None else value.split()


def _edit_ini(text: str, section: str) -> str | None:
    """Add `vendor` to `pythonpath` in [section] (adding the key when absent); None if not plain enough."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    for i in range(start + 1, end):
        m = re.match(r"^(pythonpath\s*[=:]\s*)(.*?)\s*$", lines[i])
        if m:
            if i + 1 < end and lines[i + 1][:1] in (" ", "\t") and lines[i + 1].strip():
                return None  # a multi-line value: tell the user instead
            lines[i] = f"{m.group(1)}{m.group(2)} vendor".replace("=  vendor", "= vendor")
            return "\n".join(lines) + "\n"
    insert = start + 1
    while insert < end and lines[insert].strip():
        insert += 1
    lines[insert:insert] = ["pythonpath = vendor"]
    return "\n".join(lines) + "\n"


def pytest_edit(root: Path) -> tuple[Path | None, str | None, list[str]]:
    """Put vendor/ on pytest's sys.path through the API's own pytest config (pytest >= 7 `pythonpath`).

    Without it the API's tests fail with `ModuleNotFoundError: canary` as soon as app.py registers
    the blueprint: chalice ships vendor/'s contents at the top of the zip, pytest does not know it.
    """
    manual = ["add vendor/ to pytest's path: `pythonpath = vendor` in your pytest config (pytest >= 7)"]
    for name, section in _INI_FILES:
        path = root / name
        if path.is_file() and _ini_section_has(path, section):
            if "vendor" in (_ini_pythonpath(path, section) or []):
                return None, None, []
            new = _edit_ini(path.read_text(encoding="utf-8"), section)
            if new is None:
                return None, None, manual
            tmp = configparser.ConfigParser(interpolation=None)
            tmp.read_string(new)
            if "vendor" not in tmp.get(section, "pythonpath", fallback="").split():
                return None, None, manual
            return path, new, []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None, None, manual
        opts = ((data.get("tool") or {}).get("pytest") or {}).get("ini_options")
        if opts is None:
            new = text + ("" if text.endswith("\n") else "\n") + '\n[tool.pytest.ini_options]\npythonpath = ["vendor"]\n'
        else:
            current = opts.get("pythonpath", [])
            current = current.split() if isinstance(current, str) else list(current)
            if "vendor" in current:
                return None, None, []
            if "pythonpath" in opts:
                m = re.search(r"^(\s*pythonpath\s*=\s*\[)([^\]\n]*)\]", text, re.M)
                if m is None:
                    return None, None, manual
                inner = m.group(2).strip().rstrip(",")
                new = text[:m.start()] + m.group(1) + (inner + ", " if inner else "") + '"vendor"]' + text[m.end():]
            else:
                m = re.search(r"^\[tool\.pytest\.ini_options\][^\n]*\n", text, re.M)
                if m is None:
                    return None, None, manual
                new = text[:m.end()] + 'pythonpath = ["vendor"]\n' + text[m.end():]
        try:
            got = ((tomllib.loads(new).get("tool") or {}).get("pytest") or {}).get("ini_options") or {}
        except tomllib.TOMLDecodeError:
            return None, None, manual
        if "vendor" not in (got.get("pythonpath") or []):
            return None, None, manual
        return pyproject, new, []
    text = ("[pytest]\n# vendor/ holds the embedded permission canary: chalice ships it at the top of the zip,\n"
            "# so the app imports `canary`; pytest needs it on the path too.\npythonpath = vendor\n")
    return root / "pytest.ini", text, []


def _indent_of(text: str) -> int:
    m = re.search(r"^( +)\S", text, re.M)
    return len(m.group(1)) if m else 2


def stage_edit(root: Path, stage: str, config_rel: str) -> tuple[str | None, dict[str, Any]]:
    """.chalice/config.json with the canary's stage keys added (never changing a key the user set)."""
    from canary.deployconfig import CANARY_FUNCTIONS, SLACK_FUNCTION, _env, _layer, slack_settings

    path = root / ".chalice" / "config.json"
    text = path.read_text(encoding="utf-8")
    cfg = json.loads(text)
    st = cfg["stages"][stage]
    effective = _env(cfg, stage, "permission_canary")
    env = st.setdefault("environment_variables", {})
    if "CANARY_STAGE" not in effective:
        env["CANARY_STAGE"] = stage
    if "CANARY_CONFIG" not in effective:
        env["CANARY_CONFIG"] = config_rel
    functions = st.setdefault("lambda_functions", {})
    for fn in CANARY_FUNCTIONS:
        own = functions.setdefault(fn, {})
        if "lambda_memory_size" not in own:
            own["lambda_memory_size"] = 256  # boto3 + pydantic; more memory is also more CPU at cold start
        timeout = _layer(cfg, stage, fn, "lambda_timeout")
        if timeout is not None and int(timeout) < 60:
            own["lambda_timeout"] = 60
    if SLACK_FUNCTION not in functions:  # one the user set up is theirs (check_stage says if it is wrong)
        functions[SLACK_FUNCTION] = slack_settings(str(cfg.get("app_name") or "app"), stage)
    new = json.dumps(cfg, indent=_indent_of(text)) + "\n"
    return (None if json.loads(new) == json.loads(text) else new), cfg

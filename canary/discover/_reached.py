"""Which project modules the Lambda loads: app.py and what it imports, directly or through others.

Chalice's Lambda imports `app` and nothing else; a module in chalicelib/ that no chain of imports
from app.py reaches (a leftover after a rewrite, a script) never runs there, so its calls are
listed apart ("not in this stage"), never checked as gaps. Importing `chalicelib.x` also runs the
packages above it (`chalicelib/__init__.py`). Imports inside functions count. A project that loads
modules by a computed name (`importlib.import_module`, `__import__`) could reach any of them, so
nothing is marked there.
"""

from __future__ import annotations

import ast

from canary.discover._parse import Module, by_import_name

__all__ = ["unreached"]

_DYNAMIC = frozenset({"import_module", "__import__", "run_module", "run_path", "load_module", "exec_module"})


def unreached(modules: list[Module]) -> dict[str, str]:
    """rel path -> why the Lambda never runs it, for each module app.py does not reach."""
    by_name = by_import_name(modules)
    app = by_name.get("app")
    if app is None or app.rel != "app.py":
        return {}
    for m in modules:
        for node in ast.walk(m.tree):
            name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
            if name in _DYNAMIC:
                return {}
    seen = {app.name}
    todo = [app]
    while todo:
        mod = todo.pop()
        wanted = list(mod.imports)
        parts = mod.name.split(".")
        wanted += [".".join(parts[:i]) for i in range(1, len(parts))]  # the packages above it run first
        for name in wanted:
            dep = by_name.get(name)
            if dep is not None and dep.name not in seen:
                seen.add(dep.name)
                todo.append(dep)
    return {m.rel: f"in {m.rel}, which app.py never imports (the Lambda never loads it)"
            for m in modules if m.name not in seen}

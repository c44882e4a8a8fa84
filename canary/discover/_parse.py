"""Pass 1, parse: find the project's files, parse each once, and record which names each scope binds.

Nothing here evaluates anything. The result is the list of `Module`s (each with its syntax tree and
the modules it imports) and, per function and class, a `Scope` whose `locals` follow Python's rule
for what a block binds, so that the interpreter's lookups resolve a name the way Python would.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

__all__ = ["Module", "Scope", "Func", "Klass", "project_files", "bound_names", "statements", "dependency_order",
           "absolute_module", "arg_names", "decorator_names",
           "by_import_name"]


@dataclass(eq=False)
class Scope:
    kind: str  # "module" | "function" | "class"
    module: "Module"
    parent: "Scope | None"
    locals: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    fid: int | None = None
    cid: int | None = None


@dataclass(eq=False)
class Module:
    name: str
    path: Path
    rel: str
    tree: ast.Module
    is_package: bool
    scope: Scope = field(init=False)
    imports: tuple[str, ...] = ()  # every module name it imports (project or not), sorted

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(eq=False)
class Func:
    fid: int
    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: Scope
    params: list[str]
    kwonly: list[str]
    method_of: int | None  # class id when the first parameter is self
    static: bool
    rewrites: list[Any] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)  # the parameters that have a default
    classmethod: bool = False  # its first parameter is the class, whoever calls it
    simple: list[Any] | None = None  # the statements `_inline` evaluates per call, when it is that simple  # what its decorators do to its arguments (_wrappers)


@dataclass(eq=False)
class Klass:
    cid: int
    node: ast.ClassDef
    scope: Scope
    bases: set[int] = field(default_factory=set)
    fields: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------
# Finding the project's files

def _module_name(rel: Path) -> tuple[str, bool]:
    parts = list(rel.with_suffix("").parts)
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    return ".".join(parts), is_pkg


def _candidates(root: Path, name: str) -> Iterator[Path]:
    base = root.joinpath(*name.split("."))
    yield base.with_suffix(".py")
    yield base / "__init__.py"


def _imported_names(tree: ast.Module, package: str) -> Iterator[str]:
    for node in statements(tree.body, into_defs=True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                for i in range(1, len(parts) + 1):
                    yield ".".join(parts[:i])
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(node.module, node.level, package)
            if base is None:
                continue
            parts = base.split(".") if base else []
            for i in range(1, len(parts) + 1):
                yield ".".join(parts[:i])
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}" if base else alias.name


def absolute_module(module: str | None, level: int, package: str) -> str | None:
    if not level:
        return module
    pkg_parts = package.split(".") if package else []
    if level - 1 > len(pkg_parts):
        return None
    base = pkg_parts[: len(pkg_parts) - (level - 1)]
    if module:
        base += module.split(".")
    return ".".join(base)


def _package_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*.py")
                  if not {"__pycache__", "tests", "test"} & set(p.relative_to(directory).parts[:-1]))


def by_import_name(modules: "list[Module]") -> "dict[str, Module]":
    """Each module by its name, and a module of chalicelib/ also by its name inside it (`sys.path` style)."""
    out = {m.name: m for m in modules}
    for m in modules:
        short = m.name.partition("chalicelib.")[2] if m.name.startswith("chalicelib.") else ""
        if short:
            out.setdefault(short, m)
    return out


def project_files(root: Path) -> list[Module]:
    """Parse app.py, chalicelib/ and every project module they import (each file once).

    A project package that is imported is read whole, as chalicelib/ is: its modules may be
    loaded by name at run time (`importlib.import_module(f"checks.{name}")`). Those only found that
    way are skipped, not fatal, when they do not parse.
    """
    start = [root / "app.py"]
    lib = root / "chalicelib"
    if lib.is_dir():
        start += _package_files(lib)
    seen: dict[Path, Module] = {}
    queue = [(p, False) for p in start if p.is_file()]
    packages: set[Path] = {lib}
    while queue:
        path, optional = queue.pop()
        resolved = path.resolve()
        if resolved in seen:
            continue
        rel = path.relative_to(root)
        name, is_pkg = _module_name(rel)
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source, filename=str(rel))
        except SyntaxError as exc:
            if optional:
                continue
            from canary.errors import CanaryError

            raise CanaryError(f"{rel}:{exc.lineno}: cannot parse: {exc.msg}") from None
        except (RecursionError, MemoryError):
            if optional:
                continue
            from canary.errors import CanaryError

            raise CanaryError(f"{rel}: cannot parse: nested too deeply for Python's parser") from None
        mod = Module(name=name, path=path, rel=rel.as_posix(), tree=tree, is_package=is_pkg)
        seen[resolved] = mod
        mod.imports = tuple(sorted(set(_imported_names(tree, mod.package))))
        for imported in mod.imports:
            # apps that put chalicelib/ on sys.path import its modules by their own names
            for cand in itertools.chain(_candidates(root, imported), _candidates(root / "chalicelib", imported)):
                if cand.is_file() and cand.resolve() not in seen:
                    queue.append((cand, False))
                    break
        top = root / rel.parts[0]
        if len(rel.parts) > 1 and top not in packages and (top / "__init__.py").is_file():
            packages.add(top)
            queue = [(p, True) for p in _package_files(top) if p.resolve() not in seen][::-1] + queue
    return sorted(seen.values(), key=lambda m: m.rel)


# ---------------------------------------------------------------------------------------------------
# Scopes: which names each function binds (so lookups follow Python's rules)

_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def bound_names(body: Iterable[ast.AST], scope: Scope) -> list[_Def]:
    """Record the names a block binds (Python's rule for what is local); return the defs directly in it."""
    defs: list[_Def] = []
    for node in statements(body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.locals.add(node.name)
            defs.append(node)
            continue
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    scope.locals.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            scope.nonlocals.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.locals.add(node.name)
        for t in targets:
            scope.locals.update(target_names(t))
    scope.locals -= scope.globals | scope.nonlocals
    return defs


def target_names(target: ast.AST) -> Iterator[str]:
    """The names an assignment target binds: `a`, `a, *b`, never the `obj` of `obj.x = ...` or `obj[k] = ...`."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from target_names(target.value)


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(body: Iterable[ast.AST], into_defs: bool = False) -> Iterator[ast.AST]:
    """The statements of a block and of its nested blocks, not descending into expressions (nor defs)."""
    stack = list(body)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if not into_defs and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for attr in _BODIES:
            block = getattr(node, attr, None)
            if block:
                stack.extend(block[::-1])


def dependency_order(modules: "list[Module]") -> "list[Module]":
    """Modules with what they import first, so that most facts flow forward within one pass."""
    by_name = by_import_name(modules)
    order: list[Module] = []
    state: dict[str, int] = {}

    def visit(m: Module) -> None:
        stack = [(m, iter(m.imports))]
        state[m.name] = 1
        while stack:
            mod, deps = stack[-1]
            for dep in deps:
                d = by_name.get(dep)
                if d is not None and dep not in state:
                    state[dep] = 1
                    stack.append((d, iter(d.imports)))
                    break
            else:
                stack.pop()
                order.append(mod)

    for m in modules:
        if m.name not in state:
            visit(m)
    return order


def arg_names(args: ast.arguments) -> tuple[list[str], list[str]]:
    pos = [a.arg for a in args.posonlyargs + args.args]
    kw = [a.arg for a in args.kwonlyargs]
    return pos, kw


def decorator_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    out = set()
    for d in node.decorator_list:
        if isinstance(d, ast.Name):
            out.add(d.id)
        elif isinstance(d, ast.Attribute):
            out.add(d.attr)
    return out


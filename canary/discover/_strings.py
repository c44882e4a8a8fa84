"""String operations on partly known strings: `str.format`, `%`, `sep.join`, case and strip methods.

Each returns the alternatives a call can produce, or None when the template itself is not a plain
literal (the caller then keeps the whole expression as one unknown part). A field whose argument is
not a string we track becomes a hole, so `"{}-{}".format(STAGE, obj.name)` is `${STAGE}-?`.
"""

from __future__ import annotations

import ast
import itertools
import re
import string
from typing import TYPE_CHECKING, Callable, Mapping

from canary.discover._stage import UNKNOWN, concrete
from canary.discover._values import BoundStrV, ConstV, DictV, StrV, Unknown, Value

if TYPE_CHECKING:
    from canary.discover._parse import Scope

Vals = frozenset[Value]
EMPTY: Vals = frozenset()

__all__ = ["Strings", "combine", "format_", "percent", "join", "literal_method", "STR_METHODS"]

_CAP = 4  # alternatives per argument (a hole says how many more)
_PERCENT = re.compile(r"%(?:\((\w+)\))?([-#0 +]*\d*(?:\.\d+)?)([sdifrx%])")
STR_METHODS: dict[str, Callable[[str], str]] = {
    "lower": str.lower, "upper": str.upper, "strip": str.strip, "lstrip": str.lstrip, "rstrip": str.rstrip,
    "title": str.title, "capitalize": str.capitalize, "casefold": str.casefold,
}


def _choices(values: list[StrV], hole: str) -> list[StrV]:
    from canary.discover._calls import capped

    return capped(values, _CAP, hole) if values else [StrV.unknown(hole)]


def combine(pieces: list[list[StrV]], limit: int = 12) -> list[StrV]:
    """Every combination of the pieces' alternatives; past `limit`, the widest pieces become holes."""
    pieces = [list(p) for p in pieces]
    while True:
        total = 1
        for p in pieces:
            total *= len(p)
        if total <= limit:
            break
        widest = max(range(len(pieces)), key=lambda i: len(pieces[i]))
        n = len(pieces[widest])
        pieces[widest] = [StrV.unknown(f"one of {n} values")]
    return [StrV.join(list(combo)) for combo in itertools.product(*pieces)]


def format_(template: str, args: list[list[StrV]], kwargs: dict[str, list[StrV]], source: str) -> list[StrV] | None:
    """`template.format(*args, **kwargs)`."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    pieces: list[list[StrV]] = []
    auto = 0
    for text, field, spec, conv in parsed:
        if text:
            pieces.append([StrV.lit(text)])
        if field is None:
            continue
        plain = not spec and conv in (None, "s")
        if field == "":
            values = args[auto] if auto < len(args) else []
            auto += 1
        elif field.isdigit():
            values = args[int(field)] if int(field) < len(args) else []
        elif field.isidentifier():
            values = kwargs.get(field, [])
        else:  # `{0.name}`, `{cfg[table]}`
            values = []
        pieces.append(_choices(values, f"{source}: {{{field}}}") if plain else [StrV.unknown(f"{source}: {{{field}}}")])
    return combine(pieces)


def percent(template: str, args: list[list[StrV]], kwargs: dict[str, list[StrV]], source: str) -> list[StrV] | None:
    """`template % args` (a tuple) or `template % {"name": ...}`."""
    pieces: list[list[StrV]] = []
    pos, i = 0, 0
    for m in _PERCENT.finditer(template):
        if m.start() > pos:
            pieces.append([StrV.lit(template[pos:m.start()])])
        pos = m.end()
        name, flags, conv = m.groups()
        if conv == "%":
            pieces.append([StrV.lit("%")])
            continue
        if name is not None:
            values = kwargs.get(name, [])
        else:
            values = args[i] if i < len(args) else []
            i += 1
        hole = f"{source}: %{conv}"
        pieces.append(_choices(values, hole) if conv == "s" and not flags else [StrV.unknown(hole)])
    if pos < len(template):
        pieces.append([StrV.lit(template[pos:])])
    return combine(pieces)


def join(sep: str, items: list[list[StrV]], source: str) -> list[StrV]:
    """`sep.join([a, b, c])` with the items written out."""
    pieces: list[list[StrV]] = []
    for n, values in enumerate(items):
        if n:
            pieces.append([StrV.lit(sep)])
        pieces.append(_choices(values, f"{source}: item {n}"))
    return combine(pieces)


def literal_method(value: StrV, name: str, source: str) -> StrV:
    """`value.lower()` and the like: exact on literal parts, a hole where a part is not literal."""
    fn = STR_METHODS[name]
    if value.literal is not None:
        return StrV.lit(fn(value.literal))
    return StrV((Unknown(source),))


class Strings:
    """String methods, `%` and dict lookups on the values the interpreter tracks (mixed into `Analyzer`)."""

    def _lookup_dict(self, d: DictV, keys: Vals, default: Vals | None) -> set[Value]:
        """`d[key]` (default None) or `d.get(key, default)`: the entry when the key is known, else any entry."""
        out: set[Value] = set()
        known = {k for k, _ in d.entries}
        for key in keys or (StrV.unknown("key"),):
            name = concrete(key, self.env, self.staged, [], self.env_written) if isinstance(key, (StrV, ConstV)) else UNKNOWN
            if name is UNKNOWN:
                out |= {v for _, v in d.entries}
                if default is not None:
                    out |= default
            elif name in known:
                out |= {v for k, v in d.entries if k == name}
            elif default is not None:
                out |= default
        return out

    def _percent(self, node: ast.BinOp, scope: Scope) -> Vals:
        left = self.eval(node.left, scope)
        right = node.right
        items = right.elts if isinstance(right, ast.Tuple) else [right]
        args = [self._strs(e, scope) for e in items]
        kwargs: dict[str, list[StrV]] = {}
        for d in (self.eval(right, scope) if isinstance(right, (ast.Dict, ast.Name, ast.Attribute)) else EMPTY):
            if isinstance(d, DictV):
                for k, v in d.entries:
                    if isinstance(v, StrV):
                        kwargs.setdefault(k, []).append(v)
        out: set[Value] = set()
        for t in left:
            if isinstance(t, StrV) and t.literal is not None:
                made = percent(t.literal, args, kwargs, self.source(node))
                out |= set(made) if made is not None else {StrV.unknown(self.source(node))}
        return frozenset(out)

    def _strs(self, node: ast.expr, scope: Scope) -> list[StrV]:
        return sorted((v for v in self.eval(node, scope) if isinstance(v, StrV)), key=repr)

    def _string_method(self, f: BoundStrV, args: list[Vals], kwargs: dict[str, Vals], node: ast.Call,
                       scope: Scope) -> Vals:
        source = self.source(node)
        template = f.value.literal
        if f.name in STR_METHODS:
            return frozenset({literal_method(f.value, f.name, source)})
        if template is None:
            return frozenset({StrV.unknown(source)})
        if f.name == "format":
            if not self.admit_empty(scope) and any(not a for a in args):
                return self._defer()
            made = format_(template, [self._only_strs(a) for a in args],
                                   {k: self._only_strs(v) for k, v in kwargs.items()}, source)
        else:  # join: the items written out in a list or tuple
            arg = node.args[0] if node.args else None
            if not isinstance(arg, (ast.List, ast.Tuple)) or any(isinstance(e, ast.Starred) for e in arg.elts):
                return frozenset({StrV.unknown(source)})
            made = join(template, [self._only_strs(self.eval(e, scope)) for e in arg.elts], source)
        return frozenset(made) if made is not None else frozenset({StrV.unknown(source)})

    @staticmethod
    def _only_strs(values: Vals) -> list[StrV]:
        return sorted((v for v in values if isinstance(v, StrV)), key=repr)

    if TYPE_CHECKING:
        env: Mapping[str, str]
        staged: bool
        env_written: set[str] | None
        lenient: int

        def eval(self, node: ast.expr, scope: "Scope") -> Vals: ...
        def source(self, node: ast.AST) -> str: ...
        def _defer(self) -> Vals: ...
        def admit_empty(self, scope: "Scope | None") -> bool: ...

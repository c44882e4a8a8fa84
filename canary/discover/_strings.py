"""String operations on partly known strings: `str.format`, `%`, `sep.join`, case and strip methods.

Each returns the alternatives a call can produce, or None when the template itself is not a plain
literal (the caller then keeps the whole expression as one unknown part). A field whose argument is
not a string we track becomes a hole, so `"{}-{}".format(STAGE, obj.name)` is `${STAGE}-?`.
"""

from __future__ import annotations

import itertools
import re
import string
from typing import Callable

from canary.discover._values import StrV, Unknown

__all__ = ["format_", "percent", "join", "literal_method", "STR_METHODS"]

_CAP = 4  # alternatives per argument (a hole says how many more)
_PERCENT = re.compile(r"%(?:\((\w+)\))?([-#0 +]*\d*(?:\.\d+)?)([sdifrx%])")
STR_METHODS: dict[str, Callable[[str], str]] = {
    "lower": str.lower, "upper": str.upper, "strip": str.strip, "lstrip": str.lstrip, "rstrip": str.rstrip,
    "title": str.title, "capitalize": str.capitalize, "casefold": str.casefold,
}


def _choices(values: list[StrV], hole: str) -> list[StrV]:
    from canary.discover._calls import capped

    return capped(values, _CAP, hole) if values else [StrV.unknown(hole)]


def _combine(pieces: list[list[StrV]]) -> list[StrV]:
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
    return _combine(pieces)


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
    return _combine(pieces)


def join(sep: str, items: list[list[StrV]], source: str) -> list[StrV]:
    """`sep.join([a, b, c])` with the items written out."""
    pieces: list[list[StrV]] = []
    for n, values in enumerate(items):
        if n:
            pieces.append([StrV.lit(sep)])
        pieces.append(_choices(values, f"{source}: item {n}"))
    return _combine(pieces)


def literal_method(value: StrV, name: str, source: str) -> StrV:
    """`value.lower()` and the like: exact on literal parts, a hole where a part is not literal."""
    fn = STR_METHODS[name]
    if value.literal is not None:
        return StrV.lit(fn(value.literal))
    return StrV((Unknown(source),))

"""The facts the passes grow, and the memo that lets a pass replay a body whose reads have not grown.

A fact is the set of abstract values one name (or parameter, attribute, return) can hold, keyed by
(id of its scope, name). Facts only grow, so a set's size is its version: a walk records the size of
every fact it read, and a later pass replays the walk's calls instead of walking again when none of
those sizes changed. Values bound on a branch the stage never takes are kept under their own key,
seen only from such branches.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from canary.discover._calls import EMPTY, MAX_VALUES, RawCall, Vals
from canary.discover._values import StrV, Value

if TYPE_CHECKING:
    from canary.discover._parse import Klass, Scope

__all__ = ["Facts", "Memo", "DEAD"]

DEAD = "\x00not-in-stage"


@dataclass(eq=False)
class Memo:
    """What one walk of a function body read (fact -> its size then) and the calls it recorded."""

    lenient: int
    deferred: bool = False  # a strict walk left something for the lenient passes
    reads: dict[Any, int] = field(default_factory=dict)
    calls: dict[tuple[Any, ...], RawCall] = field(default_factory=dict)

    def merge(self, inner: "Memo") -> None:
        for key, size in inner.reads.items():
            if size < self.reads.get(key, size + 1):
                self.reads[key] = size
        self.calls.update(inner.calls)
        self.deferred = self.deferred or inner.deferred


class Facts:
    """Facts and memos (mixed into `Analyzer`)."""

    # -- facts ----------------------------------------------------------------------------------

    def _add(self, key: tuple[int, str], values: Iterable[Value]) -> None:
        if self.dead is not None:  # what a branch the stage never takes binds is seen only there
            key = (key[0], key[1] + DEAD)
        cur = self.facts.setdefault(key, set())
        if len(cur) >= MAX_VALUES:
            return
        new = [v for v in values if v not in cur]
        if len(cur) + len(new) > MAX_VALUES:  # keep the same ones whatever the hash seed; say some were cut
            new = sorted(new, key=repr)[:MAX_VALUES - len(cur) - 1] + [StrV.unknown(f"{key[1]} (+more values)")]
        if new:
            cur.update(new)
            self.changed = True

    def _add_return(self, fid: int, values: Vals) -> None:
        self._add((-fid, "<return>"), values)

    # Every read of a fact goes through these two, so that a function body whose reads have not grown
    # since the last pass can be skipped (facts only grow: a set's size is its version).

    def _get(self, key: tuple[int, str]) -> set[Value] | tuple[()]:
        vals = self.facts.get(key, ())
        if self.frames:
            self.frames[-1].reads.setdefault(key, len(vals))  # the first (smallest) size this walk saw
        if self.dead is not None:
            dead_key = (key[0], key[1] + DEAD)
            extra = self.facts.get(dead_key, ())
            if self.frames:
                self.frames[-1].reads.setdefault(dead_key, len(extra))
            if extra:
                return set(vals) | extra
        return vals

    def _bases(self, cid: int) -> set[int]:
        bases = self.classes[cid].bases
        if self.frames:
            self.frames[-1].reads.setdefault(("<bases>", cid), len(bases))
        return bases

    def _defer(self) -> Vals:
        self.waiting = True
        if self.frames:
            self.frames[-1].deferred = True
        return EMPTY

    def _fresh(self, memo: "Memo") -> bool:
        if memo.lenient != self.lenient and memo.deferred:
            return False
        for key, size in memo.reads.items():
            if isinstance(key[0], str):
                if len(self.classes[key[1]].bases) != size:
                    return False
            elif len(self.facts.get(key, ())) != size:
                return False
        return True

    def _walk_unit(self, node: ast.AST, body: list[ast.stmt], scope: Scope) -> None:
        """Walk a module's or a function's body, or replay it when nothing it read has grown since."""
        memo = self.memos.get(id(node))
        if memo is not None and self._fresh(memo):
            self.waiting = self.waiting or memo.deferred
            for key, call in memo.calls.items():
                self.calls.setdefault(key, call)
            if self.frames:
                self.frames[-1].merge(memo)
            return
        frame = Memo(self.lenient)
        self.frames.append(frame)
        self.unit_fids.append(scope.fid if scope.kind == "function" else None)
        try:
            self.block(body, scope)
        finally:
            self.frames.pop()
            self.unit_fids.pop()
        self.memos[id(node)] = frame
        if self.frames:
            self.frames[-1].merge(frame)

    if TYPE_CHECKING:
        unit_fids: list[int | None]
        facts: dict[tuple[int, str], set[Value]]
        memos: dict[int, Memo]
        frames: list[Memo]
        classes: dict[int, Klass]
        calls: dict[tuple[Any, ...], RawCall]
        dead: str | None
        lenient: int
        changed: bool
        waiting: bool

        def block(self, body: Iterable[ast.stmt], scope: Scope) -> None: ...

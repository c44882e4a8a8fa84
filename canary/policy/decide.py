"""Decide what a policy grants on resources the source names only in part: one procedure for every check.

`check-policy` (probe ARNs, all known) and `discover --check` (resources read from source, some parts
unknown) both call `decide`. A candidate is a `Pattern`: literal text and holes. The verdict is

- GRANTED only when an unconditional Allow covers EVERY value every candidate can take, and no Deny
  can match any of them;
- NOT_GRANTED when no Allow can match ANY value of a candidate (the known part already rules
  every statement out: a known bucket against a grant on another bucket). Candidates are alternatives
  (an if/else, two callers of one helper), each on a path the stage may run, so one candidate that
  cannot be granted is a gap even when another is granted; EXPLICITLY_DENIED when a Deny matches every
  value of every candidate;
- UNRESOLVED otherwise, naming the statements that cover some values; CONDITIONAL, as in
  `evaluate`, when a Condition would decide.

Coverage and overlap of an IAM glob (`*`, `?`, ARN segment rules) with a pattern are decided exactly
on the resource segment (a small automaton each way) and segment by segment before it. A region or
account the source does not tell is written `*` and, as in `evaluate`, assumed to be the policy's.
Fully known candidates go through `Statement.matches_resource`, the very test `evaluate` uses, so
`check-policy`'s verdicts on probes are unchanged.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence, Union

from canary.policy.evaluate import (CONDITIONAL, EXPLICITLY_DENIED, GRANTED, NOT_GRANTED, CompiledPolicy, Decision,
                                    Statement, _compiled, _glob_rx, _keys)
from canary.policy.pattern import AnyOf, Hole, Pattern, free_holes, literal

__all__ = ["decide", "covers", "overlaps", "UNRESOLVED", "GRANTED", "NOT_GRANTED", "EXPLICITLY_DENIED",
           "CONDITIONAL", "DECIDE_VERDICTS"]

UNRESOLVED = "UNRESOLVED"
DECIDE_VERDICTS = (GRANTED, NOT_GRANTED, EXPLICITLY_DENIED, CONDITIONAL, UNRESOLVED)
Candidate = Union[Pattern, AnyOf]

_ALL, _SOME, _NONE = 2, 1, 0
_STAR, _ONE, _HOLE = object(), object(), object()
_OTHER = "\uffff"  # a character no glob names, standing for "any other character"


# --- glob vs pattern, on text where `*` crosses colons ---------------------------------------------


def _glob_tokens(text: str) -> tuple[object, ...]:
    out: list[object] = []
    for ch in text:
        if ch == "*":
            if not out or out[-1] is not _STAR:
                out.append(_STAR)
        elif ch == "?":
            out.append(_ONE)
        elif ch == "\x00":
            out.append("*")
        elif ch == "\x01":
            out.append("?")
        else:
            out.append(ch)
    return tuple(out)


def _pattern_tokens(pattern: Pattern) -> tuple[object, ...]:
    out: list[object] = []
    for part in pattern:
        if isinstance(part, Hole) and part.length is not None:
            out.extend([_ONE] * part.length)
        elif isinstance(part, Hole):
            if not out or out[-1] is not _HOLE:
                out.append(_HOLE)
        else:
            out.extend(part)
    return tuple(out)


def _closure(glob: tuple[object, ...], states: frozenset[int]) -> frozenset[int]:
    out = set(states)
    for i in sorted(states):
        while i < len(glob) and glob[i] is _STAR:
            i += 1
            out.add(i)
    return frozenset(out)


def _step(glob: tuple[object, ...], states: frozenset[int], ch: str) -> frozenset[int]:
    nxt: set[int] = set()
    for i in states:
        if i >= len(glob):
            continue
        tok = glob[i]
        if tok is _STAR:
            nxt.add(i)
        elif tok is _ONE or tok == ch:
            nxt.add(i + 1)
    return _closure(glob, frozenset(nxt))


@functools.lru_cache(maxsize=4096)
def _tokens_overlap(glob: tuple[object, ...], pat: tuple[object, ...]) -> bool:
    """Some string matches both the glob and the pattern (reachability in their product)."""
    n, m = len(glob), len(pat)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        g = glob[i] if i < n else None
        p = pat[j] if j < m else None
        if i == n and j == m:
            return True
        if g is _STAR:
            todo.append((i + 1, j))        # the star matches nothing more
        if p is _HOLE:
            todo.append((i, j + 1))        # the hole is empty (from here on)
        if g is None or p is None:
            continue
        # both consume one character
        g_any = g is _STAR or g is _ONE
        p_any = p is _HOLE or p is _ONE
        if g_any or p_any or g == p:
            todo.append((i if g is _STAR else i + 1, j if p is _HOLE else j + 1))
    return False


@functools.lru_cache(maxsize=4096)
def _tokens_cover(glob: tuple[object, ...], pat: tuple[object, ...]) -> bool:
    """Every string the pattern can take matches the glob (the glob's automaton, determinised on the fly)."""
    alphabet = sorted({t for t in glob if isinstance(t, str)}) + [_OTHER]

    @functools.lru_cache(maxsize=None)
    def reach(states: frozenset[int]) -> tuple[frozenset[int], ...]:
        found = {states}
        todo = [states]
        while todo:
            cur = todo.pop()
            for ch in alphabet:
                nxt = _step(glob, cur, ch)
                if nxt not in found:
                    found.add(nxt)
                    todo.append(nxt)
        return tuple(found)

    @functools.lru_cache(maxsize=None)
    def ok(states: frozenset[int], j: int) -> bool:
        if not states:
            return False
        if j == len(pat):
            return len(glob) in states
        tok = pat[j]
        if tok is _HOLE:
            return all(ok(s, j + 1) for s in reach(states))
        if tok is _ONE:
            return all(ok(_step(glob, states, ch), j + 1) for ch in alphabet)
        return ok(_step(glob, states, str(tok)), j + 1)

    return ok(_closure(glob, frozenset({0})), 0)


# --- ARN segments ------------------------------------------------------------------------------------


def _split(pattern: Pattern) -> tuple[list[str], Pattern] | None:
    """The pattern's first five ARN segments (known text) and its resource part; None if a hole comes first."""
    head = ""
    for k, part in enumerate(pattern):
        if isinstance(part, Hole):
            return None
        head += part
        if head.count(":") >= 5:
            # the fifth colon is in this part: split there
            idx = -1
            for _ in range(5):
                idx = head.index(":", idx + 1)
            segs = head[:idx].split(":")
            rest_text = head[idx + 1:]
            return segs, ((rest_text,) if rest_text else ()) + tuple(pattern[k + 1:])
    return None


def _names_object(rest: Pattern) -> bool:
    """True if the resource part names an S3 object: a known bucket, then `/`, then the key."""
    head = rest[0] if rest and isinstance(rest[0], str) else ""
    return "/" in head and bool(head.partition("/")[0])


def _segment_ok(glob_seg: str, seg: str, index: int) -> bool:
    if index in (3, 4) and seg == "*":  # unknown region/account: assumed to be the policy's (as evaluate)
        return glob_seg != ""
    return re.fullmatch(_glob_rx(glob_seg, cross_colons=False), seg, re.DOTALL) is not None


def _relation(glob: str, pattern: Pattern) -> int:
    """_ALL if the glob covers every value of the pattern, _SOME if it matches some, else _NONE."""
    if glob == "*":
        return _ALL
    split = _split(pattern)
    if split is None:
        # A hole before the resource part: the segments are unknown; overlap is judged on the whole
        # text (an over-approximation), coverage only by `*`.
        return _SOME if _tokens_overlap(_glob_tokens(glob), _pattern_tokens(pattern)) else _NONE
    segs, rest = split
    parts = glob.split(":", 5)
    if len(parts) < 6:
        if not parts[-1].endswith("*"):
            return _NONE
        head, tail = parts[:-1], parts[-1]
        for i, g in enumerate(head):
            if not _segment_ok(g, segs[i], i):
                return _NONE
        remainder: list[str | Hole] = []
        for i in range(len(head), 5):
            remainder.append(Hole("unknown region/account") if i in (3, 4) and segs[i] == "*" else segs[i])
            remainder.append(":")
        remainder.extend(rest)
        g_tok, p_tok = _glob_tokens(tail), _pattern_tokens(tuple(remainder))
    else:
        for i in range(5):
            if not _segment_ok(parts[i], segs[i], i):
                return _NONE
        g_tok, p_tok = _glob_tokens(parts[5]), _pattern_tokens(rest)
    if _tokens_cover(g_tok, p_tok):
        return _ALL
    if not _tokens_overlap(g_tok, p_tok):
        return _NONE
    if segs[2] == "s3" and len(parts) == 6 and "/" not in parts[5] and _names_object(rest):
        # A bucket ARN (`arn:aws:s3:::team-*-dev`) reaches an object whose key is unknown only if the key
        # happens to end like a bucket name: the statement names buckets, not objects (S3 resource types).
        return _NONE
    # Only holes AWS fixed once (a secret's suffix) are open: assumed to be the value the policy names.
    return _SOME if free_holes(pattern) else _ALL


def covers(glob: str, pattern: Pattern) -> bool:
    """True if the IAM Resource entry `glob` matches every value `pattern` can take."""
    text = literal(pattern)
    if text is not None:
        return _literal_hit(glob, text)
    return _relation(glob, pattern) == _ALL


def overlaps(glob: str, pattern: Pattern) -> bool:
    """True if the IAM Resource entry `glob` matches some value `pattern` can take."""
    text = literal(pattern)
    if text is not None:
        return _literal_hit(glob, text)
    return _relation(glob, pattern) != _NONE


def _literal_hit(glob: str, text: str) -> bool:
    from canary.policy.evaluate import _compile_statement

    st = _compile_statement({"Effect": "Allow", "Action": "x:y", "Resource": glob}, "probe", True)
    return st.matches_resource(text)


def _reach(st: Statement, pattern: Pattern) -> int:
    text = literal(pattern)
    if text is not None:
        return _ALL if st.matches_resource(text) else _NONE
    rels = [_relation(g, pattern) for g in st.resource_globs]
    if st.not_resource:  # matches the values that no listed entry matches
        if any(r == _ALL for r in rels):
            return _NONE
        return _SOME if any(r == _SOME for r in rels) else _ALL
    if any(r == _ALL for r in rels):
        return _ALL
    return _SOME if any(r == _SOME for r in rels) else _NONE


# --- verdicts ----------------------------------------------------------------------------------------


def _show(pattern: Pattern) -> str:
    """`?` for a part the source does not tell; `*` for a suffix AWS appends (a secret's), as discover shows it."""
    return "".join(p if isinstance(p, str) else "*" if p.length else "?" for p in pattern)


def _where(st: Statement) -> str:
    where = ", ".join(st.resource_texts)
    return f"everything except {where}" if st.not_resource else where


def _one(statements: list[Statement], action: str, pattern: Pattern) -> Decision:
    """The verdict for one candidate."""
    shown = _show(pattern)
    reach = [(st, _reach(st, pattern)) for st in statements]
    deny_all = [st for st, r in reach if not st.allow and not st.conditional and r == _ALL]
    if deny_all:
        st = deny_all[0]
        return Decision(EXPLICITLY_DENIED, st.label, (),
                        f"statement {st.label} explicitly denies {action} on {shown}; no Allow can override "
                        "an explicit Deny")
    allow_hit = [(st, r) for st, r in reach if st.allow and r != _NONE]
    if not allow_hit:
        near = [st for st, r in reach if st.allow]
        if near:
            return Decision(NOT_GRANTED, None, (),
                            f"no statement allows {action} on {shown}; statement {near[0].label} allows it only "
                            f"on {_where(near[0])}")
        return Decision(NOT_GRANTED, None, (), f"no statement allows {action} on {shown}")
    deny_some = [st for st, r in reach if not st.allow and not st.conditional and r == _SOME]
    cond_deny = [st for st, r in reach if not st.allow and st.conditional and r != _NONE]
    allow_all = [st for st, r in allow_hit if not st.conditional and r == _ALL]
    cond_all = [st for st, r in allow_hit if st.conditional and r == _ALL]
    if deny_some:
        return Decision(UNRESOLVED, deny_some[0].label, (),
                        f"{action} on {shown}: Deny statement {deny_some[0].label} ({_where(deny_some[0])}) "
                        "matches some of its values and not others", covering=_labels(allow_hit))
    if allow_all and not cond_deny:
        st = allow_all[0]
        return Decision(GRANTED, st.label, (), f"statement {st.label} allows {action} on {shown}")
    if allow_all:
        keys = _keys(cond_deny)
        return Decision(CONDITIONAL, cond_deny[0].label, keys,
                        f"statement {allow_all[0].label} allows {action} on {shown}, but Deny statement "
                        f"{', '.join(s.label for s in cond_deny)} applies when its Condition holds "
                        f"({', '.join(keys)}); conditions are not evaluated offline")
    if cond_all:
        keys = _keys(cond_all + cond_deny)
        return Decision(CONDITIONAL, cond_all[0].label, keys,
                        f"statement {', '.join(s.label for s in cond_all)} allows {action} on {shown} only when "
                        f"its Condition or policy variables hold ({', '.join(keys)}); conditions are not "
                        "evaluated offline")
    names = "; ".join(f"{st.label} ({_where(st)})" for st, _ in allow_hit)
    return Decision(UNRESOLVED, allow_hit[0][0].label, (),
                    f"{action} on {shown}: the source does not tell the whole name; statements covering some "
                    f"of its values: {names}", covering=_labels(allow_hit))


def _labels(hits: Sequence[tuple[Statement, int]]) -> tuple[str, ...]:
    out: list[str] = []
    for st, _ in hits:
        if st.label not in out:
            out.append(st.label)
    return tuple(out)


_RANK = {GRANTED: 0, CONDITIONAL: 1, UNRESOLVED: 2, NOT_GRANTED: 3, EXPLICITLY_DENIED: 4}


def _any_of(statements: list[Statement], action: str, group: AnyOf) -> Decision:
    got = [_one(statements, action, p) for p in group.patterns] or [_one(statements, action, ("*",))]
    denied = [d for d in got if d.verdict == EXPLICITLY_DENIED]
    if denied:
        return denied[0]
    return min(got, key=lambda d: _RANK[d.verdict])


def decide(policy: object, action: str, candidates: Sequence[Candidate]) -> Decision:
    """The verdict for `action` on every candidate (each a Pattern, or an AnyOf of equivalent resources).

    No candidates means an action without resource-level permissions (authorized on `*`).
    """
    cp: CompiledPolicy = _compiled(policy)
    statements = cp.matching(action.lower())
    if not candidates:
        candidates = (("*",),)
    per: list[tuple[str, Decision]] = []
    for c in candidates:
        if isinstance(c, AnyOf):
            per.append((" or ".join(_show(p) for p in c.patterns), _any_of(statements, action, c)))
        else:
            per.append((_show(c), _one(statements, action, c)))
    verdicts = {d.verdict for _, d in per}
    table = tuple((shown, d.verdict) for shown, d in per)
    if len(per) == 1:
        d = per[0][1]
        return Decision(d.verdict, d.statement, d.condition_keys, d.reason, covering=d.covering, candidates=table)
    covering: list[str] = []
    for _, d in per:
        covering += [c for c in d.covering if c not in covering]
        if d.verdict in (GRANTED, CONDITIONAL) and d.statement and d.statement not in covering:
            covering.append(d.statement)
    tally = ", ".join(f"{sum(d.verdict == v for _, d in per)} {v}" for v in DECIDE_VERDICTS
                      if any(d.verdict == v for _, d in per))
    if verdicts == {GRANTED}:
        verdict = GRANTED
    elif verdicts <= {GRANTED, CONDITIONAL}:
        verdict = CONDITIONAL
    elif verdicts == {EXPLICITLY_DENIED}:
        verdict = EXPLICITLY_DENIED
    elif verdicts & {NOT_GRANTED, EXPLICITLY_DENIED}:
        # Each candidate is a value the call takes on some path the stage may run (branches the stage
        # never takes were set apart by discover): a candidate no statement can grant fails on its path.
        verdict = NOT_GRANTED
    else:
        verdict = UNRESOLVED
    first = next((d for _, d in per if d.verdict == verdict), per[0][1])
    keys = _keys_of([d for _, d in per])
    some = f"; statements granting some of them: {', '.join(covering)}" if covering and verdict == UNRESOLVED else ""
    return Decision(verdict, first.statement, keys,
                    f"{action} may touch any of {len(per)} resources ({tally}){some}",
                    covering=tuple(covering) if verdict == UNRESOLVED else (), candidates=table)


def _keys_of(decisions: list[Decision]) -> tuple[str, ...]:
    out: list[str] = []
    for d in decisions:
        out += [k for k in d.condition_keys if k not in out]
    return tuple(out)

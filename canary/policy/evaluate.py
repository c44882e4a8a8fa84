"""Decide offline whether an identity policy grants an action on a resource, as IAM would.

Pure (no boto calls) so that `check-policy` and `discover --check` run from files alone. It follows
AWS's documented evaluation logic for identity-based policies: an explicit Deny beats any Allow,
otherwise an Allow grants, otherwise the request is implicitly denied. Conditions are not evaluated
(there is no request context offline): a statement whose Condition would decide makes the verdict
CONDITIONAL and names the keys. Each statement compiles once into one regex for its actions and one
for its resources, and compiled policies are cached, because the benchmark evaluates 500 probes
against a 200-statement policy.

Probe ARNs built without a known account or region carry `*` in that segment; such a segment is read
as "whichever real value it turns out to be", i.e. it matches any non-empty segment the policy names.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

__all__ = ["Decision", "CompiledPolicy", "Statement", "compile_policy", "evaluate", "statement_label",
           "GRANTED", "NOT_GRANTED", "EXPLICITLY_DENIED", "CONDITIONAL", "VERDICTS"]

GRANTED = "GRANTED"
NOT_GRANTED = "NOT_GRANTED"
EXPLICITLY_DENIED = "EXPLICITLY_DENIED"
CONDITIONAL = "CONDITIONAL"
VERDICTS = (GRANTED, NOT_GRANTED, EXPLICITLY_DENIED, CONDITIONAL)

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# `${*}`, `${?}` and `${$}` are IAM's escapes for a literal *, ? and $.
_ESCAPES = {"*": "\x00", "?": "\x01", "$": "$"}
# A probe ARN built without --region/--account carries `*` there (segments 3 and 4).
_UNKNOWN_OK = (3, 4)
# Stand-ins for an unknown region/account that no policy names, to tell whether a match relied on one.
_CONCRETE = {3: "zz-unknown-0", 4: "000000000000"}


@dataclass(frozen=True)
class Decision:
    """The verdict for one action on one probe's resources, and the statement that decided it."""

    verdict: str            # "GRANTED" | "NOT_GRANTED" | "EXPLICITLY_DENIED" | "CONDITIONAL"
    statement: str | None   # Sid, or "Statement[3]" (index) of the deciding statement
    condition_keys: tuple[str, ...] = ()
    reason: str = ""        # one readable sentence
    covering: tuple[str, ...] = ()  # UNRESOLVED: statements that cover some of the values
    candidates: tuple[tuple[str, str], ...] = ()  # (candidate as shown, its own verdict), from `decide`


# --- patterns ------------------------------------------------------------------------------------


def _glob_rx(pattern: str, cross_colons: bool) -> str:
    """Translate an IAM glob (`*` any run, `?` one character) into a regex body."""
    star, one = (".*", ".") if cross_colons else ("[^:]*", "[^:]")
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(one)
        elif ch == "\x00":
            out.append(re.escape("*"))
        elif ch == "\x01":
            out.append(re.escape("?"))
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _substitute_variables(pattern: str, keys: list[str]) -> str:
    """Replace policy variables with `*` (their value is request context) and record their names."""

    def repl(m: re.Match[str]) -> str:
        inner = m.group(1).strip()
        if inner in _ESCAPES:
            return _ESCAPES[inner]
        name = inner.split(",")[0].strip()  # `${aws:username, 'default'}`
        keys.append(name)
        return "*"

    return _VARIABLE.sub(repl, pattern)


@functools.lru_cache(maxsize=8192)
def _arn_rx(text: str) -> str | None:
    """Regex body for one Resource entry, segment by segment; None if it can match nothing.

    Six segments: `*`/`?` stay within their segment, except in the resource part, which may itself
    hold colons. Fewer segments are allowed when the last ends in `*`, which then expands beyond the
    colons (IAM's documented exception). A probe's `*` region/account matches any non-empty pattern.
    """
    if text == "*":
        return ".*"
    parts = text.split(":", 5)
    if parts[0] != "arn" and "*" not in parts[0] and "?" not in parts[0]:
        return None
    tail = len(parts) < 6
    if tail and not parts[-1].endswith("*"):
        return None
    out = []
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        rx = _glob_rx(seg, cross_colons=(i == 5) or (tail and last))
        if i in _UNKNOWN_OK:
            if tail and last:
                rx = rf"(?:\*(?::.*)?|{rx})"
            elif seg:
                rx = rf"(?:\*|{rx})"
        out.append(rx)
    return ":".join(out)


@functools.lru_cache(maxsize=4096)
def _concrete(arn: str) -> str | None:
    """The probe ARN with its unknown (`*`) region/account replaced by values no policy names."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or not any(parts[i] == "*" for i in _UNKNOWN_OK):
        return None
    return ":".join(_CONCRETE[i] if i in _UNKNOWN_OK and p == "*" else p for i, p in enumerate(parts))


def _literal_keys(text: str) -> tuple[str, ...] | None:
    """For a wildcard-free six-segment ARN: the probe ARNs it matches exactly, unknown segments included.

    `arn:aws:dynamodb:us-east-1:123:table/t` also matches a probe built with `*` for the region and/or
    the account (a set lookup instead of a regex: most Resource entries are literal ARNs).
    """
    if "*" in text or "?" in text:
        return None
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return ()
    keys = {text}
    for swap in ((3,), (4,), (3, 4)):
        if all(parts[i] for i in swap):
            keys.add(":".join("*" if i in swap else p for i, p in enumerate(parts)))
    return tuple(keys)


@functools.lru_cache(maxsize=8192)
def _compiled_rx(body: str) -> re.Pattern[str]:
    return re.compile(body, re.DOTALL)


# --- statements ----------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


@dataclass(frozen=True)
class Statement:
    """One compiled statement. `usable` is False for statements IAM would reject or that grant nothing."""

    label: str
    allow: bool
    usable: bool
    not_action: bool
    action_names: frozenset[str]          # literal names, lower case
    action_rx: re.Pattern[str] | None     # the wildcarded ones, as one case-insensitive regex
    action_texts: tuple[str, ...]
    not_resource: bool
    resource_literals: frozenset[str]      # exact probe ARNs matched without a regex
    resource_rxs: tuple[re.Pattern[str], ...]
    resource_texts: tuple[str, ...]
    condition_keys: tuple[str, ...]
    conditional: bool
    prefixes: frozenset[str | None] = frozenset()
    resource_globs: tuple[str, ...] = ()  # Resource/NotResource entries, policy variables read as `*`
    raw: dict[str, Any] = field(repr=False, compare=False, hash=False, default_factory=dict)

    def matches_action(self, action_lc: str) -> bool:
        hit = action_lc in self.action_names or (self.action_rx is not None
                                                 and self.action_rx.fullmatch(action_lc) is not None)
        return not hit if self.not_action else hit

    def matches_resource(self, arn: str) -> bool:
        hit = arn in self.resource_literals or any(rx.fullmatch(arn) is not None for rx in self.resource_rxs)
        return not hit if self.not_resource else hit

    def relies_on_unknown(self, arn: str) -> bool:
        """True if the match needed the probe's unknown region/account to be the one the policy names."""
        concrete = _concrete(arn)
        return concrete is not None and not self.matches_resource(concrete)


def statement_label(stmt: Any, index: int, policy_index: int | None = None) -> str:
    """Name a statement as users see it: its Sid, else `Statement[i]` (prefixed by the policy number)."""
    sid = stmt.get("Sid") if isinstance(stmt, dict) else None
    if isinstance(sid, str) and sid:
        return sid
    base = f"Statement[{index}]"
    return base if policy_index is None else f"policy[{policy_index}].{base}"


def _condition_keys(cond: Any) -> tuple[str, ...]:
    keys: list[str] = []
    if isinstance(cond, dict):
        for block in cond.values():
            if isinstance(block, dict):
                for k in block:
                    if k not in keys:
                        keys.append(str(k))
    return tuple(keys)


def _compile_statement(stmt: Any, label: str, variables: bool) -> Statement:
    if not isinstance(stmt, dict):
        return Statement(label, False, False, False, frozenset(), None, (), False, frozenset(), (), (), (), False)
    effect = stmt.get("Effect")
    has_action, has_not_action = "Action" in stmt, "NotAction" in stmt
    has_res, has_not_res = "Resource" in stmt, "NotResource" in stmt
    usable = (effect in ("Allow", "Deny") and has_action != has_not_action and has_res != has_not_res)
    action_texts = tuple(str(a) for a in _as_list(stmt.get("NotAction" if has_not_action else "Action")))
    literals = frozenset(a.lower() for a in action_texts if "*" not in a and "?" not in a)
    wild = [_glob_rx(a.lower(), cross_colons=True) for a in action_texts if "*" in a or "?" in a]
    action_rx = re.compile("|".join(f"(?:{w})" for w in wild), re.IGNORECASE | re.DOTALL) if wild else None
    prefixes: set[str | None] = set()
    for a in action_texts:
        svc, sep, _ = a.partition(":")
        prefixes.add(svc.lower() if sep and "*" not in svc and "?" not in svc else None)
    var_keys: list[str] = []
    res_texts = tuple(str(r) for r in _as_list(stmt.get("NotResource" if has_not_res else "Resource")))
    exact_arns: set[str] = set()
    rxs: list[re.Pattern[str]] = []
    globs: list[str] = []
    for r in res_texts:
        if variables and "${" in r:
            r = _substitute_variables(r, var_keys)
        globs.append(r)
        exact = _literal_keys(r) if "\x00" not in r and "\x01" not in r else None
        if exact is not None:
            exact_arns.update(exact)
            continue
        body = _arn_rx(r)
        if body is not None:
            rxs.append(_compiled_rx(body))
    keys = list(_condition_keys(stmt.get("Condition")))
    keys += [k for k in var_keys if k not in keys]
    conditional = bool(stmt.get("Condition")) or bool(var_keys)
    return Statement(
        label=label, allow=effect == "Allow", usable=usable, not_action=has_not_action,
        action_names=literals, action_rx=action_rx, action_texts=action_texts,
        not_resource=has_not_res, resource_literals=frozenset(exact_arns), resource_rxs=tuple(rxs),
        resource_texts=res_texts,
        condition_keys=tuple(keys), conditional=conditional, prefixes=frozenset(prefixes),
        resource_globs=tuple(globs), raw=stmt)


def _documents(policy: Any) -> list[tuple[int | None, dict[str, Any] | None, list[Any]]]:
    """Split the input into (policy index, document, statements): one policy, several, or bare statements."""
    if isinstance(policy, dict):
        if "Statement" in policy:
            return [(None, policy, _as_list(policy["Statement"]))]
        return [(None, None, [policy])]  # a bare statement
    if isinstance(policy, list):
        if all(isinstance(p, dict) and "Statement" in p for p in policy) and policy:
            if len(policy) == 1:
                return [(None, policy[0], _as_list(policy[0]["Statement"]))]
            return [(i, p, _as_list(p["Statement"])) for i, p in enumerate(policy)]
        return [(None, None, policy)]  # a list of statements
    raise TypeError(f"a policy must be a document (dict) or a list of documents, got {type(policy).__name__}")


class CompiledPolicy:
    """A policy (or several) compiled once; the statements matching each action are found once too."""

    def __init__(self, policy: Any) -> None:
        self.source = policy
        self.statements: list[Statement] = []
        for pidx, doc, stmts in _documents(policy):
            variables = doc is not None and doc.get("Version") == "2012-10-17"
            for i, s in enumerate(stmts):
                self.statements.append(_compile_statement(s, statement_label(s, i, pidx), variables))
        # statements whose actions name a literal service prefix, by prefix; the rest could match anything
        self._by_prefix: dict[str, list[Statement]] = {}
        self._any: list[Statement] = []
        for st in self.statements:
            if not st.usable:
                continue
            if st.not_action or None in st.prefixes:
                self._any.append(st)
            else:
                for p in st.prefixes:
                    self._by_prefix.setdefault(str(p), []).append(st)
        self._order = {id(st): n for n, st in enumerate(self.statements)}
        self._matching: dict[str, list[Statement]] = {}

    def matching(self, action_lc: str) -> list[Statement]:
        """The usable statements whose Action/NotAction matches `action_lc`, in document order (cached)."""
        got = self._matching.get(action_lc)
        if got is None:
            pool = self._by_prefix.get(action_lc.partition(":")[0], []) + self._any
            got = sorted({id(s): s for s in pool if s.matches_action(action_lc)}.values(),
                         key=lambda s: self._order[id(s)])
            self._matching[action_lc] = got
        return got


def compile_policy(policy: Any) -> CompiledPolicy:
    """Compile a policy for repeated evaluation (check-policy evaluates every probe against one)."""
    return policy if isinstance(policy, CompiledPolicy) else CompiledPolicy(policy)


@functools.lru_cache(maxsize=32)
def _compiled_from_json(key: str) -> CompiledPolicy:
    return CompiledPolicy(json.loads(key))


def _compiled(policy: Any) -> CompiledPolicy:
    if isinstance(policy, CompiledPolicy):
        return policy
    try:
        key = json.dumps(policy, separators=(",", ":"))  # keeps key order: condition keys are named in order
    except (TypeError, ValueError):
        return CompiledPolicy(policy)
    return _compiled_from_json(key)


# --- evaluation ----------------------------------------------------------------------------------


def _quote(items: Iterable[str]) -> str:
    return ", ".join(items)


def _assumption(assumed: bool) -> str:
    return (" (assuming the probe's unknown account/region, shown as *, is the one the policy names)"
            if assumed else "")


def evaluate(policy: dict[str, Any] | list[dict[str, Any]] | CompiledPolicy, action: str,
             resources: Sequence[str]) -> Decision:
    """Decide whether `policy` grants `action` on any of `resources`, following IAM's identity-policy logic.

    A Deny matching any resource wins (explicit deny); otherwise an unconditional Allow on any resource
    grants; a Condition (or a policy variable) on the deciding statement makes the verdict CONDITIONAL.
    Empty `resources` means an action without resource-level permissions, authorized on `*`: only a
    statement whose Resource is `*` (or a NotResource that excludes nothing matching) grants it.
    """
    cp = _compiled(policy)
    action_lc = action.lower()
    if isinstance(resources, str):
        resources = (resources,)
    elif not resources:
        resources = ("*",)
    deny: tuple[Statement, str] | None = None
    cond_denies: list[Statement] = []
    allow: tuple[Statement, str] | None = None
    cond_allows: list[Statement] = []
    near_misses: list[Statement] = []

    for st in cp.matching(action_lc):
        hit = None
        for arn in resources:
            if st.matches_resource(arn):
                hit = arn
                break
        if hit is None:
            if st.allow:
                near_misses.append(st)
            continue
        if not st.allow:
            if st.conditional:
                cond_denies.append(st)
            elif deny is None:
                deny = (st, hit)
                break  # nothing overrides an unconditional explicit deny
        elif st.conditional:
            cond_allows.append(st)
        elif allow is None:
            allow = (st, hit)

    shown = _quote(resources)
    if deny is not None:
        st, arn = deny
        assumed = st.relies_on_unknown(arn)
        return Decision(EXPLICITLY_DENIED, st.label, (),
                        f"statement {st.label} explicitly denies {action} on {shown}; no Allow can override "
                        f"an explicit Deny{_assumption(assumed)}")
    if allow is not None:
        st, arn = allow
        assumed = st.relies_on_unknown(arn)
        if cond_denies:
            keys = _keys(cond_denies)
            names = _quote(s.label for s in cond_denies)
            return Decision(CONDITIONAL, cond_denies[0].label, keys,
                            f"statement {st.label} allows {action}, but Deny statement {names} applies when its "
                            f"Condition holds ({_quote(keys)}); conditions are not evaluated offline"
                            f"{_assumption(assumed)}")
        return Decision(GRANTED, st.label, (),
                        f"statement {st.label} allows {action} on {shown}{_assumption(assumed)}")
    if cond_allows:
        keys = _keys(cond_allows + cond_denies)
        names = _quote(s.label for s in cond_allows)
        extra = (f"; Deny statement {_quote(s.label for s in cond_denies)} may also apply" if cond_denies else "")
        return Decision(CONDITIONAL, cond_allows[0].label, keys,
                        f"statement {names} allows {action} only when its Condition or policy variables hold "
                        f"({_quote(keys)}); conditions are not evaluated offline{extra}")
    if near_misses:
        st = near_misses[0]
        where = _quote(st.resource_texts)
        scope = f"everything except {where}" if st.not_resource else where
        return Decision(NOT_GRANTED, None, (),
                        f"no statement allows {action} on {shown}; statement {st.label} allows it only on {scope}")
    return Decision(NOT_GRANTED, None, (), f"no statement allows {action} on {shown}")


def _keys(stmts: Iterable[Statement]) -> tuple[str, ...]:
    out: list[str] = []
    for s in stmts:
        for k in s.condition_keys:
            if k not in out:
                out.append(k)
    return tuple(out)

"""Name a resource the code may touch when the source tells only part of it.

This is the one shape that passes from `discover` (which resolves values from source) to the
decision procedure (`canary.policy.decide`, shared by `check-policy` and `discover --check`).

A `Pattern` is literal text and `Hole`s in order: `("arn:aws:dynamodb:*:*:table/listings", Hole(...))`
is every table whose name starts with `listings` (a decorator rewrote the literal). A fully
resolved resource is a Pattern without holes. A `Candidates` tuple lists alternatives (an if/else
chose one of them); the call may touch any one of them, so every one must be granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = ["Hole", "Pattern", "Candidates", "AnyOf", "literal", "is_literal", "render", "free_holes",
           "policy_text"]


@dataclass(frozen=True)
class Hole:
    """Any string (possibly empty), which the source does not tell; `source` says why, as written.

    With `length`, the hole is exactly that many characters that AWS fixed once for the resource (the
    six random characters ending a Secrets Manager ARN): like an unknown account, it is assumed to be
    the value the policy names, and a policy writes it as `?` per character.
    """

    source: str
    length: int | None = None


Pattern = tuple[Union[str, Hole], ...]
Candidates = tuple[Pattern, ...]


def literal(pattern: Pattern) -> str | None:
    """The text of a pattern without holes; None when any part is unknown."""
    if any(isinstance(p, Hole) for p in pattern):
        return None
    return "".join(p for p in pattern if isinstance(p, str))


def is_literal(pattern: Pattern) -> bool:
    return literal(pattern) is not None


def render(pattern: Pattern, marker: str = "?") -> str:
    """The pattern as text, `marker` standing for each hole (for tables and messages, never for policies)."""
    return "".join(p if isinstance(p, str) else marker for p in pattern)


def free_holes(pattern: Pattern) -> tuple[Hole, ...]:
    """The holes the source leaves open (not the fixed-length ones AWS chose once)."""
    return tuple(p for p in pattern if isinstance(p, Hole) and p.length is None)


def policy_text(pattern: Pattern) -> str | None:
    """The pattern as a policy Resource: fixed holes as `?` per character; None while a free hole is left."""
    if free_holes(pattern):
        return None
    return "".join(p if isinstance(p, str) else "?" * (p.length or 0) for p in pattern)


@dataclass(frozen=True)
class AnyOf:
    """One request that IAM authorizes against whichever of several resources the policy names.

    SES authorizes a send from `a@example.com` on that address's identity or on its domain's; a
    probe's resources are read this way too. Granting one member grants the request.
    """

    patterns: tuple[Pattern, ...]

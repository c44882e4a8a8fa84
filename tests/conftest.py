"""Shared fixtures: one moto server per test session on 127.0.0.1, IAM checks on.

Tests that need AWS use `emu` (the server, admin credentials) and `assume_role` (create a role with
a given policy and get STS assumed-role credentials for it), so every DENIED comes from moto's
policy evaluation. Each test gets unique resource names via `unique`, so tests never share state.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Callable, Iterator

import pytest

from canary.emulator import Credentials, Emulator

_counter = itertools.count()


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    # Tests must never reach real AWS, whatever the developer's shell has set.
    for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(k, None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    emulator = Emulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Return a name unique within the test session (tables, roles, identities)."""

    def make(prefix: str) -> str:
        return f"{prefix}-{os.getpid()}-{next(_counter)}"

    return make


def allow(*actions: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*"}


def deny(*actions: str) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": list(actions), "Resource": "*"}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture
def assume_role(emu: Emulator, unique: Callable[[str], str]) -> Callable[..., Credentials]:
    """Create a role with the given statements and return assumed-role credentials for it."""

    def make(*statements: dict[str, Any], name: str | None = None) -> Credentials:
        role = name or unique("api")
        arn = emu.create_role(role, policy(*statements))
        return emu.assume(arn)

    return make

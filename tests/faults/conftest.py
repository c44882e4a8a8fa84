"""Fixtures for fault-injection tests: a misbehaving endpoint, alone or in front of the moto server.

Tests outside this folder import the same thing as a context manager:
`from tests.faults.server import fault_server, hang, drip, ...`.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from canary.emulator import Emulator
from tests.faults.server import FaultServer, fault_server


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    """A fault server with no upstream: every request needs a rule (or gets a 404)."""
    with fault_server() as server:
        yield server


@pytest.fixture
def faults_emu(emu: Emulator) -> Iterator[FaultServer]:
    """A fault server in front of the session's moto server: requests no rule takes pass through."""
    with fault_server(upstream=emu.url) as server:
        yield server

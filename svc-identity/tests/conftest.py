"""Fixtures of svc-identity's tests: the service running on the backend under test (SQLite + in-memory bus,
and PostgreSQL + RabbitMQ when ``EGOV_TEST_POSTGRES_URL`` and ``EGOV_TEST_AMQP_URL`` are set)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# Tests import the harness as a top-level module; pytest's importlib mode does not put this folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from identity_harness import IdentityService, identity_service

from egov_shared.testing.backends import BusConfig


@pytest.fixture
async def identity(database_url: str, bus_config: BusConfig) -> AsyncIterator[IdentityService]:
    """svc-identity with the demo data of DESIGN §9, on a database of its own."""
    async with identity_service(database_url, bus_config) as service:
        yield service

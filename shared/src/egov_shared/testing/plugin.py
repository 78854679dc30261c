"""Pytest fixtures every service's tests use; loaded by the root ``conftest.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from egov_shared.testing.backends import (
    POSTGRES,
    SQLITE,
    BusConfig,
    backend_available,
    new_bus_config,
    throwaway_database,
)


@pytest.fixture(params=[SQLITE, POSTGRES])
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses it runs twice: SQLite + in-memory bus, and PostgreSQL + RabbitMQ."""
    name: str = request.param
    if not backend_available(name):
        pytest.skip("EGOV_TEST_POSTGRES_URL / EGOV_TEST_AMQP_URL not set")
    return name


@pytest.fixture
def postgres_backend() -> str:
    """For tests that only make sense on PostgreSQL + RabbitMQ (end-to-end and fault tests)."""
    if not backend_available(POSTGRES):
        pytest.skip("EGOV_TEST_POSTGRES_URL / EGOV_TEST_AMQP_URL not set")
    return POSTGRES


@pytest.fixture
async def database_url(backend: str) -> AsyncIterator[str]:
    async with throwaway_database(backend) as url:
        yield url


@pytest.fixture
def bus_config(backend: str) -> BusConfig:
    return new_bus_config(backend)

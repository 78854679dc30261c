"""Fixtures for the kernel's tests: the notes test service running on the backend under test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from notes_service.harness import Notes, notes_service

from egov_shared.testing.backends import BusConfig


@pytest.fixture
async def notes(database_url: str, bus_config: BusConfig) -> AsyncIterator[Notes]:
    async with notes_service(database_url, bus_config) as service:
        yield service

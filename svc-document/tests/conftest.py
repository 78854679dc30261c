"""Fixtures of svc-document's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from document_harness import DocumentService, document_service

from egov_shared.testing.backends import BusConfig


@pytest.fixture
async def documents(database_url: str, bus_config: BusConfig) -> AsyncIterator[DocumentService]:
    async with document_service(database_url, bus_config) as service:
        yield service

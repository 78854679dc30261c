"""Fixtures of svc-feedback's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from feedback_harness import FeedbackService, feedback_service

from egov_shared.testing.backends import BusConfig


@pytest.fixture
async def feedback(database_url: str, bus_config: BusConfig) -> AsyncIterator[FeedbackService]:
    async with feedback_service(database_url, bus_config) as service:
        await service.seed_agencies()
        await service.add_partner()
        yield service

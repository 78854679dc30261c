"""Fixtures of svc-payment's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from payment_harness import PaymentService, payment_service

from egov_shared.testing.backends import BusConfig


@pytest.fixture
async def payments(database_url: str, bus_config: BusConfig) -> AsyncIterator[PaymentService]:
    async with payment_service(database_url, bus_config) as service:
        service.route()
        await service.seed_agencies()
        yield service

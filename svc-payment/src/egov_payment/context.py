"""What svc-payment's routers, consumers and jobs need besides the unit of work: settings, the providers,
the transport that reaches VNPay (or its simulator), and svc-payment's own credentials."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request

from egov_payment.config import Settings
from egov_payment.vnpay.simulator import Merchant, VnpaySimulator
from egov_shared.peers import ServiceCredentials
from egov_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


class SwitchableTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose target can be replaced after start.

    VNPay's simulator reaches our IPN, and our VNPay client reaches the simulator's merchant API, through the
    gateway (``EGOV_API_URL``) over HTTP by default; tests point ``target`` at an in-process ASGI app (the
    service itself, or a test province's gateway), so nothing leaves the process.
    """

    def __init__(self, target: httpx.AsyncBaseTransport | None = None) -> None:
        self.target: httpx.AsyncBaseTransport = target or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.target.handle_async_request(request)

    async def aclose(self) -> None:
        # Shared by several clients: closing one client must not close the target.
        return None


@dataclass
class PaymentContext:
    settings: Settings
    transport: SwitchableTransport = field(default_factory=SwitchableTransport)
    simulator: VnpaySimulator | None = None
    _credentials: ServiceCredentials | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    @classmethod
    def build(cls, settings: Settings) -> PaymentContext:
        context = cls(settings)
        if settings.vnpay_simulator:
            context.simulator = VnpaySimulator(
                [
                    Merchant(
                        settings.vnpay_tmn_code,
                        settings.vnpay_hash_secret.get_secret_value(),
                        settings.ipn_url,
                    )
                ],
                transport=context.transport,
            )
        return context

    @property
    def secret(self) -> str:
        return self.settings.vnpay_hash_secret.get_secret_value()

    def http(self, timeout: float = 15.0) -> httpx.AsyncClient:
        """A client for calls to VNPay's merchant API (the simulator's, by default)."""
        return httpx.AsyncClient(transport=self.transport, timeout=timeout)

    def credentials(self, runtime: ServiceRuntime) -> ServiceCredentials:
        """svc-payment's own client-credentials token source, bound to the runtime's current peer client
        (tests swap the peer transport after start)."""
        if self._credentials is None or self._credentials.peers is not runtime.peers:
            self._credentials = ServiceCredentials(
                runtime.peers,
                client_id=self.settings.client_id,
                client_secret=self.settings.client_secret.get_secret_value(),
                scope="documents.sign",
            )
        return self._credentials

    def in_background(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        """Run follow-up work (signing a receipt just issued) after the response, keeping a reference so the
        task is not collected; a failure is logged, and the periodic job retries it."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background work failed", extra={"task": task.get_name()}, exc_info=task.exception())

    async def drain(self) -> None:
        """Wait for the follow-up work under way (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


def get_context(request: Request) -> PaymentContext:
    context: PaymentContext = request.app.state.payment
    return context


PaymentDep = Annotated[PaymentContext, Depends(get_context)]

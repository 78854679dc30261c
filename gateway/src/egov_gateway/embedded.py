"""Embedded mode (``make run``): the gateway and every service in one process on one port.

Each service keeps its own SQLite file under ``./var`` and its own outbox and inbox; events travel through one
in-memory broker; the gateway calls the service apps in-process instead of over the network. Every other line of
code is the one the distributed mode runs.
"""

from __future__ import annotations

import importlib
import logging
import os

from fastapi import FastAPI

from egov_gateway.app import Gateway, create_gateway
from egov_gateway.config import GatewaySettings
from egov_gateway.main import serve
from egov_gateway.routes import SERVICES
from egov_gateway.upstreams import AsgiUpstream, Upstream
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.logging import configure_logging

log = logging.getLogger(__name__)


def create_service(name: str, broker: InMemoryBroker) -> FastAPI:
    """The service's own app factory, given the shared in-process broker."""
    module = importlib.import_module(f"egov_{name}.main")
    app: FastAPI = module.create_app(broker=broker)
    return app


def create_embedded(settings: GatewaySettings | None = None) -> Gateway:
    settings = settings or GatewaySettings()
    broker = InMemoryBroker(
        max_deliveries=settings.consumer_max_deliveries,
        retry_delay_seconds=settings.consumer_retry_delay_seconds,
    )
    # svc-identity starts last: it publishes the agency tree as it starts, and the in-memory broker only
    # delivers to queues already bound.
    order = sorted(SERVICES, key=lambda name: name == "identity")
    upstreams: dict[str, Upstream] = {
        name: AsgiUpstream(name, create_service(name, broker), lifespan=True) for name in order
    }
    # The gateway verifies tokens with the keys of the in-process identity service (create_gateway's default).
    return create_gateway(settings, upstreams)


def main() -> None:
    os.environ.setdefault("EGOV_DEMO_DATA", "1")
    port = GatewaySettings().port
    # Tokens name this server as their issuer, and services fetch its keys through it.
    os.environ.setdefault("EGOV_ISSUER", f"http://localhost:{port}")
    os.environ.setdefault("EGOV_JWKS_URL", f"http://127.0.0.1:{port}/oauth2/jwks")
    # Services that need another's answer at once call its public API through this same server.
    os.environ.setdefault("EGOV_API_URL", f"http://127.0.0.1:{port}")
    # Read again: the gateway checks that tokens name the issuer just set.
    settings = GatewaySettings()
    configure_logging("embedded", level=settings.log_level, json=settings.log_json)
    app = create_embedded(settings)
    log.info("embedded mode listening", extra={"url": f"http://{settings.host}:{settings.port}"})
    serve(app, settings)


if __name__ == "__main__":
    main()

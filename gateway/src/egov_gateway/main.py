"""Distributed mode: the gateway as its own process, reaching each service over HTTP."""

from __future__ import annotations

import uvicorn
from starlette.types import ASGIApp

from egov_gateway.app import create_gateway
from egov_gateway.config import GatewaySettings
from egov_gateway.upstreams import HttpUpstream, Upstream
from egov_shared.logging import configure_logging


def main() -> None:
    settings = GatewaySettings()
    configure_logging(settings.service_name, level=settings.log_level, json=settings.log_json)
    upstreams: dict[str, Upstream] = {
        name: HttpUpstream(name, url) for name, url in settings.upstream_urls().items()
    }
    serve(create_gateway(settings, upstreams), settings)


def serve(app: ASGIApp, settings: GatewaySettings) -> None:
    """Run the gateway app under uvicorn (distributed and embedded modes alike)."""
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,  # the gateway writes its own line per request
        log_config=None,  # keep the JSON logging configured above
        server_header=False,
    )


if __name__ == "__main__":
    main()

"""API fuzzing (issue 8): Schemathesis against the merged OpenAPI the gateway serves, through the gateway, with
real tokens. Every response must be no server error, carry a status the operation declares, and match the
declared schema and media type (DESIGN §5: never a 500 for bad input; protocol endpoints in their own forms).

Each operation gets ``EGOV_FUZZ_EXAMPLES`` cases (a few in `make test`; `make fuzz` asks for many), drawn from
valid data and from data the schema forbids, derandomized so that a run is repeatable. Operations are subtests,
so one run reports every operation that fails, each with a curl command that reproduces it. No operation is
excluded: uploads get generated multipart bodies (which exercise the parsers' refusals), and the HTML pages (the
login page, VNPay's return page) declare text/html.

The province under fuzzing is five services behind a real gateway, started once for the module.

Schemathesis cases are drawn by Hypothesis, which calls the test body synchronously once per example, while the
services run on asyncio with database connections bound to the loop that opened them. So the province lives on
an event loop of its own in a worker thread (an anyio blocking portal) for the whole module, and every generated
request crosses to that loop and goes through the gateway, as a frontend's would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from egov_gateway.province import Province, province
from egov_shared.testing.backends import POSTGRES, SQLITE, BusConfig, backend_available, new_bus_config

EXAMPLES = int(os.environ.get("EGOV_FUZZ_EXAMPLES", "8"))
# Past the suite's 300 s per test when many examples are asked for (`make fuzz`).
TIMEOUT_SECONDS = 300 + 30 * EXAMPLES
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: the failing case is reported as found, with its curl command, and the run stays bounded.
    phases=[Phase.explicit, Phase.generate],
    # A slow or heavily filtered operation is not a failure of the API.
    suppress_health_check=list(HealthCheck),
)

SERVICES = ("identity", "document", "dossier", "payment", "feedback")
BASE_URL = "http://testserver"
# Real demo accounts (DESIGN §9): a level-2 citizen, and the province's administrator holding every official role
# of the demo accounts, so that authorization lets the fuzzer past the door of every official route.
CITIZEN_ID_NUMBER = "001099012345"
OFFICIAL_USERNAME = "quantri.h27"
OFFICIAL_ROLES = (
    "receiver",
    "processor",
    "document_clerk",
    "feedback_handler",
    "approver",
    "signer",
    "finance",
    "admin",
)
# `make fuzz` runs for many minutes; a token expiring half-way would turn the rest of the run into 401s.
TOKEN_LIFETIME_SECONDS = 6 * 3600
# What `requests.Request` takes of the keyword arguments Schemathesis serializes a case into.
_REQUEST_ARGS = ("method", "url", "headers", "files", "data", "params", "auth", "cookies", "json")


@dataclass
class FuzzTarget:
    """The running province, seen from a synchronous test."""

    portal: BlockingPortal
    province: Province
    tokens: dict[str, str]

    def send(self, case: schemathesis.Case[Any], *, as_: str) -> httpx.Response:
        """Send a generated case through the gateway with the token of ``as_`` (``citizen`` or ``official``)."""
        kwargs = case.as_transport_kwargs(
            base_url=BASE_URL, headers={"Authorization": f"Bearer {self.tokens[as_]}"}
        )
        # Schemathesis serializes for `requests`: preparing the request gives the exact bytes it would send
        # (multipart bodies and odd encodings included), which then go through the in-process httpx client.
        prepared = requests.Request(
            **{key: kwargs[key] for key in _REQUEST_ARGS if kwargs.get(key) is not None}
        ).prepare()
        # As on the wire: header values in Latin-1, the body as prepared.
        headers = {
            name.encode("latin-1"): value if isinstance(value, bytes) else value.encode("latin-1")
            for name, value in prepared.headers.items()
        }
        body = prepared.body
        if body is not None and not isinstance(body, bytes | str):
            raise TypeError(f"cannot send a streamed body: {type(body).__name__}")
        client = self.province.client

        async def call() -> httpx.Response:
            return await client.request(
                str(prepared.method), str(prepared.url), headers=headers, content=body
            )

        return self.portal.call(call)

    def get(self, path: str) -> httpx.Response:
        client = self.province.client

        async def call() -> httpx.Response:
            return await client.get(path)

        return self.portal.call(call)


@pytest.fixture(scope="module")
def backend() -> str:
    """One backend is enough to fuzz the HTTP surface, and the production one finds the most: PostgreSQL +
    RabbitMQ when configured (CI), whose stricter types refuse what SQLite stores (a NUL character in text);
    else SQLite + the in-memory bus, so that `make test` fuzzes on every machine. ``EGOV_FUZZ_BACKEND`` picks."""
    default = POSTGRES if backend_available(POSTGRES) else SQLITE
    chosen = os.environ.get("EGOV_FUZZ_BACKEND") or default
    if chosen not in (SQLITE, POSTGRES):
        raise ValueError(f"EGOV_FUZZ_BACKEND must be {SQLITE} or {POSTGRES}")
    if not backend_available(chosen):
        pytest.skip("EGOV_TEST_POSTGRES_URL / EGOV_TEST_AMQP_URL not set")
    return chosen


@pytest.fixture(scope="module")
def bus_config(backend: str) -> BusConfig:
    return new_bus_config(backend)


@pytest.fixture(scope="module")
def fuzz_target(backend: str, bus_config: BusConfig) -> Iterator[FuzzTarget]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(province(backend, bus_config, SERVICES)) as running,
    ):
        tokens = {
            "citizen": portal.call(
                lambda: running.citizen_token(CITIZEN_ID_NUMBER, lifetime_seconds=TOKEN_LIFETIME_SECONDS)
            ),
            "official": portal.call(
                lambda: running.official_token(
                    OFFICIAL_USERNAME, roles=list(OFFICIAL_ROLES), lifetime_seconds=TOKEN_LIFETIME_SECONDS
                )
            ),
        }
        yield FuzzTarget(portal=portal, province=running, tokens=tokens)


@pytest.fixture(scope="module")
def api_schema(fuzz_target: FuzzTarget) -> schemathesis.BaseSchema:
    """The merged OpenAPI document, as the gateway serves it to every client."""
    response = fuzz_target.get("/openapi.json")
    response.raise_for_status()
    return schemathesis.openapi.from_dict(response.json())


def fuzz(
    api_schema: schemathesis.BaseSchema, target: FuzzTarget, subtests: pytest.Subtests, as_: str
) -> None:
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        cases = st.one_of(
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        )

        @FUZZ_SETTINGS
        @given(case=cases)
        def check(case: schemathesis.Case[Any]) -> None:
            case.validate_response(target.send(case, as_=as_), checks=CHECKS)

        with subtests.test(msg=operation.label):
            check()


@pytest.mark.timeout(TIMEOUT_SECONDS)
def test_api_as_citizen(
    api_schema: schemathesis.BaseSchema, fuzz_target: FuzzTarget, subtests: pytest.Subtests
) -> None:
    fuzz(api_schema, fuzz_target, subtests, "citizen")


@pytest.mark.timeout(TIMEOUT_SECONDS)
def test_api_as_official(
    api_schema: schemathesis.BaseSchema, fuzz_target: FuzzTarget, subtests: pytest.Subtests
) -> None:
    fuzz(api_schema, fuzz_target, subtests, "official")

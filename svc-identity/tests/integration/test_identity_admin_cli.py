"""The operator CLI (``python -m egov_identity.admin_cli``): a production database, empty and without demo data,
gets its first agencies, administrator and OAuth clients, which then work in the running service."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from identity_harness import REDIRECT_URI, WEB_CLIENT, identity_service
from sqlalchemy import select

from egov_identity.admin_cli import EXIT_EXISTS, EXIT_REJECTED, EXIT_USAGE, main
from egov_identity.agencies.models import Agency
from egov_identity.clients.models import OAuthClient
from egov_identity.people.models import Official
from egov_identity.people.passwords import verify_password
from egov_shared import tables
from egov_shared.db import create_engine, create_sessionmaker
from egov_shared.testing.backends import BusConfig
from egov_shared.totp import totp_code

PROVINCE = "000.00.00.H56"
DEPARTMENT = "000.00.10.H56"
PASSWORD = "QuanTri@2026-lan-dau"
PAYMENT_SECRET = "payment-client-secret-from-the-secret-store-0123456789"


class Cli:
    """Runs ``main(argv)`` as the process would: its own event loop (a thread here), stdin, stdout, stderr."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.err = ""

    async def __call__(self, *argv: str, stdin: str = "") -> tuple[int, Any]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = await asyncio.to_thread(main, list(argv))
        captured = self.capsys.readouterr()
        self.err = captured.err
        # Whatever happens, the password is never shown.
        assert PASSWORD not in captured.out + captured.err
        assert PAYMENT_SECRET not in captured.out + captured.err
        return status, json.loads(captured.out) if status == 0 else captured.out


@pytest.fixture
def cli(database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    # The service's own settings, from the environment as in a one-off pod.
    monkeypatch.setenv("EGOV_IDENTITY_DATABASE_URL", database_url)
    monkeypatch.delenv("EGOV_DEMO_DATA", raising=False)
    return Cli(capsys, monkeypatch)


async def _rows(database_url: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return {
                "agencies": list(await session.scalars(select(Agency).order_by(Agency.code))),
                "officials": list(await session.scalars(select(Official))),
                "clients": {c.client_id: c for c in await session.scalars(select(OAuthClient))},
                "events": [
                    (row.event_type, json.loads(row.envelope))
                    for row in await session.execute(select(tables.outbox).order_by(tables.outbox.c.id))
                ],
            }
    finally:
        await engine.dispose()


async def test_bootstrap_of_an_empty_database_then_the_service_accepts_what_it_created(
    cli: Cli, database_url: str, bus_config: BusConfig
) -> None:
    # Migrates the empty database itself, then creates the tree.
    status, province = await cli("create-agency", PROVINCE, "Ủy ban nhân dân tỉnh Mẫu", "province")
    assert status == 0, cli.err
    assert province == {
        "code": PROVINCE,
        "name": "Ủy ban nhân dân tỉnh Mẫu",
        "kind": "province",
        "parent_code": None,
        "active": True,
        "version": 1,
    }
    status, department = await cli(
        "create-agency", DEPARTMENT, "Sở Tư pháp", "department", "--parent", PROVINCE
    )
    assert status == 0, cli.err
    assert department["parent_code"] == PROVINCE

    status, admin = await cli(
        "create-official",
        "quantri.h56",
        "--name",
        "Nguyễn Thị Quản Trị",
        "--agency",
        PROVINCE,
        "--roles",
        "admin,receiver",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert status == 0, cli.err
    assert admin["roles"] == ["admin", "receiver"]
    assert admin["second_factor"] is True
    uri = admin["totp_provisioning_uri"]
    assert uri.startswith("otpauth://totp/")
    totp_secret = dict(parse_qsl(urlsplit(uri).query))["secret"]

    status, web = await cli(
        "create-client",
        WEB_CLIENT,
        "--name",
        "Cổng dịch vụ công",
        "--public",
        "--redirect-uri",
        REDIRECT_URI,
        "--scopes",
        "openid",
        "profile",
    )
    assert status == 0, cli.err
    assert web["confidential"] is False
    assert web["client_secret"] is None
    assert web["grant_types"] == ["authorization_code", "refresh_token"]

    # A partner agency: the secret is generated and shown once.
    status, partner = await cli(
        "create-client",
        "partner-h56",
        "--name",
        "Sở Tư pháp tỉnh bạn",
        "--scopes",
        "open311,documents.exchange",
    )
    assert status == 0, cli.err
    assert partner["confidential"] is True
    assert partner["grant_types"] == ["client_credentials"]
    assert partner["allowed_scopes"] == ["documents.exchange", "open311"]
    partner_secret = partner["client_secret"]
    assert len(partner_secret) >= 32
    # svc-payment: the secret already in its Secret (EGOV_PAYMENT_CLIENT_SECRET) is registered, not echoed.
    status, payment = await cli(
        "create-client",
        "svc-payment",
        "--name",
        "Dịch vụ thanh toán",
        "--confidential",
        "--scopes",
        "documents.sign",
        "--secret-stdin",
        stdin=PAYMENT_SECRET + "\n",
    )
    assert status == 0, cli.err
    assert payment["client_secret"] is None
    assert payment["grant_types"] == ["client_credentials"]

    rows = await _rows(database_url)
    assert [a.code for a in rows["agencies"]] == [PROVINCE, DEPARTMENT]
    (official,) = rows["officials"]
    assert official.username == "quantri.h56"
    assert official.agency_code == PROVINCE
    assert verify_password(official.password_hash, PASSWORD)
    assert PASSWORD not in official.password_hash
    assert rows["clients"]["svc-payment"].allowed_scopes == ["documents.sign"]
    assert verify_password(rows["clients"]["partner-h56"].secret_hash, partner_secret)
    assert verify_password(rows["clients"]["svc-payment"].secret_hash, PAYMENT_SECRET)
    # One event per agency, in the outbox for the service's relay to publish.
    upserted = [
        envelope for event_type, envelope in rows["events"] if event_type == "identity.agency_upserted"
    ]
    assert [(e["source"], e["subject"], e["data"]["code"]) for e in upserted] == [
        ("svc-identity", PROVINCE, PROVINCE),
        ("svc-identity", DEPARTMENT, DEPARTMENT),
    ]

    # The running service, without demo data: the administrator logs in with the enrolled second factor, the
    # payment service gets its token, and the relay publishes the CLI's events.
    async with identity_service(database_url, bus_config, demo_data=False) as identity:
        tokens = await identity.log_in("quantri.h56", PASSWORD, otp=totp_code(totp_secret))
        principal = await (await identity.verifier()).verify(tokens["access_token"])
        assert principal.agency == PROVINCE
        assert principal.roles == {"admin", "receiver"}
        response = await identity.token_request(
            {"grant_type": "client_credentials", "scope": "documents.sign"},
            auth=("svc-payment", PAYMENT_SECRET),
        )
        assert response.status_code == 200, response.text
        response = await identity.token_request(
            {"grant_type": "client_credentials", "scope": "open311"}, auth=("partner-h56", partner_secret)
        )
        assert response.status_code == 200, response.text
        await identity.wait_published("identity.agency_upserted", lambda data: data["code"] == DEPARTMENT)


async def test_refusals_change_nothing_and_say_why(cli: Cli, database_url: str) -> None:
    assert (await cli("create-agency", PROVINCE, "Ủy ban nhân dân tỉnh Mẫu", "province"))[0] == 0

    # Already there: a bootstrap script may treat this status as done.
    status, _ = await cli("create-agency", PROVINCE, "Tỉnh khác", "province")
    assert status == EXIT_EXISTS
    assert "agency.exists" in cli.err
    # A malformed code, refused before the database is touched.
    status, _ = await cli("create-agency", "H56", "Sở Tư pháp", "department", "--parent", PROVINCE)
    assert status == EXIT_USAGE
    assert "code" in cli.err
    # A department needs a parent.
    status, _ = await cli("create-agency", DEPARTMENT, "Sở Tư pháp", "department")
    assert status == EXIT_REJECTED
    assert "agency.parent_required" in cli.err

    official = ["create-official", "canbo.h56", "--name", "Lê Văn Cán", "--agency", PROVINCE]
    status, _ = await cli(*official, "--roles", "admin,wizard", "--password-stdin", stdin=PASSWORD)
    assert status == EXIT_REJECTED
    assert "official.unknown_role" in cli.err
    # The password too short: the message names the field, never the value.
    status, _ = await cli(*official, "--roles", "receiver", "--password-stdin", stdin="Ng4n!\n")
    assert status == EXIT_USAGE
    assert "password" in cli.err
    assert "Ng4n!" not in cli.err
    # No terminal to prompt on and no --password-stdin: refused rather than reading a password blindly.
    status, _ = await cli(*official, "--roles", "receiver", stdin=PASSWORD)
    assert status == EXIT_USAGE
    assert "--password-stdin" in cli.err
    status, _ = await cli(
        *official, "--agency", "000.00.99.H56", "--roles", "receiver", "--password-stdin", stdin=PASSWORD
    )
    assert status == EXIT_REJECTED
    assert "official.unknown_agency" in cli.err

    status, _ = await cli(
        "create-client", "public-app", "--name", "Ứng dụng", "--public", "--scopes", "openid"
    )
    assert status == EXIT_REJECTED
    assert "client.redirect_required" in cli.err
    status, _ = await cli("create-client", "partner-x", "--name", "Đối tác", "--scopes", "everything")
    assert status == EXIT_REJECTED
    assert "client.scope" in cli.err
    secret = ["--scopes", "documents.sign", "--secret-stdin"]
    status, _ = await cli("create-client", "svc-payment", "--name", "Thanh toán", *secret, stdin="ngan-qua\n")
    assert status == EXIT_USAGE
    assert "ngan-qua" not in cli.err
    status, _ = await cli(
        "create-client", "app-x", "--name", "Ứng dụng", "--public", "--redirect-uri", "https://a/cb", *secret
    )
    assert status == EXIT_USAGE

    rows = await _rows(database_url)
    assert [a.code for a in rows["agencies"]] == [PROVINCE]
    assert rows["officials"] == []
    assert rows["clients"] == {}
    assert [event_type for event_type, _ in rows["events"]] == ["identity.agency_upserted"]

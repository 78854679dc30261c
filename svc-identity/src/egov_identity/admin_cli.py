"""Operator commands for a production start: ``python -m egov_identity.admin_cli <command>``.

With demo data off nobody can log in as an administrator yet, and the admin API needs one; nor do the OAuth
clients exist (the web app, partner agencies, svc-payment's own client). These commands create the first of
each, directly against the service's database, with the same service functions and validation as the admin
API and in one unit of work each, so the events (``identity.agency_upserted``) go to the outbox and the
running service's relay publishes them. It needs only the service's own settings (``EGOV_IDENTITY_DATABASE_URL``,
``EGOV_KEY_ENCRYPTION_KEY``, ``EGOV_ENV``) and no broker; it upgrades the schema to head first (a no-op when the
migration Job already has).

Passwords (and a client secret the operator chose) are read from stdin or a prompt, never from an argument (a
process list or shell history shows those) and never printed. What must be shown once (a generated client
secret, a TOTP provisioning URI) goes to stdout as JSON; messages go to stderr.

Exit status: 0 done, 1 rejected (the problem's code and detail on stderr), 2 bad usage, 3 already exists
(a bootstrap script may treat 3 as done).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from egov_identity.agencies.service import KINDS, create_agency
from egov_identity.clients.service import create_client
from egov_identity.config import MIGRATIONS_DIR, Settings
from egov_identity.people.service import enrol_official
from egov_identity.schemas import (
    AgencyCreate,
    AgencyRead,
    ClientCreate,
    ClientCreated,
    ClientRead,
    OfficialCreate,
    OfficialCreated,
)
from egov_identity.vault import Vault
from egov_shared.db import create_engine, create_sessionmaker
from egov_shared.migrations import upgrade
from egov_shared.problems import Conflict, ProblemError
from egov_shared.uow import UnitOfWork

EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_EXISTS = 3
# secrets.token_urlsafe(32), what a generated one is, has 43; `openssl rand -base64 32` gives 44.
MIN_CLIENT_SECRET_LENGTH = 32


class UsageError(Exception):
    """Bad usage: input refused before anything is written (exit status 2)."""


def _split(values: list[str] | None) -> list[str]:
    """``--roles a,b`` and ``--scopes a b`` / ``--scopes a,b``: one flat list, without empties."""
    return [part for value in values or [] for part in value.replace(",", " ").split() if part]


def _validated(model: type[BaseModel], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # Never the input values: one of them may be a password.
        lines = [
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise UsageError("; ".join(lines)) from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: pipe it in with --password-stdin")
    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise UsageError("the two passwords differ")
    return first


def _emit(model: BaseModel) -> None:
    print(json.dumps(model.model_dump(mode="json"), ensure_ascii=False, indent=2))  # noqa: T201


async def _create_agency(uow: UnitOfWork, vault: Vault, settings: Settings, args: argparse.Namespace) -> None:
    body: AgencyCreate = _validated(
        AgencyCreate, {"code": args.code, "name": args.name, "kind": args.kind, "parent_code": args.parent}
    )
    agency = await create_agency(
        uow, code=body.code, name=body.name, kind=body.kind, parent_code=body.parent_code
    )
    _emit(AgencyRead.model_validate(agency))


async def _create_official(
    uow: UnitOfWork, vault: Vault, settings: Settings, args: argparse.Namespace
) -> None:
    roles = _split(args.roles)
    # Validate what needs no password first, so a typo is reported before the prompt.
    fields = {"username": args.username, "full_name": args.name, "agency_code": args.agency, "roles": roles}
    _validated(OfficialCreate, {**fields, "password": "x" * 8})
    body: OfficialCreate = _validated(
        OfficialCreate, {**fields, "password": _read_password(args.password_stdin)}
    )
    official, uri = await enrol_official(uow, vault, body, totp_issuer=settings.totp_issuer)
    _emit(
        OfficialCreated.model_validate(
            {
                **{
                    name: getattr(official, name)
                    for name in OfficialCreated.model_fields
                    if hasattr(official, name)
                },
                "second_factor": uri is not None,
                "totp_provisioning_uri": uri,
            }
        )
    )
    if uri:
        print(  # noqa: T201
            "The TOTP provisioning URI is shown only now: load it into the official's authenticator app.",
            file=sys.stderr,
        )


async def _create_client(uow: UnitOfWork, vault: Vault, settings: Settings, args: argparse.Namespace) -> None:
    body: ClientCreate = _validated(
        ClientCreate,
        {
            "client_id": args.client_id,
            "name": args.name,
            "confidential": not args.public,
            "redirect_uris": args.redirect_uri or [],
            "allowed_scopes": _split(args.scopes),
        },
    )
    given: str | None = None
    if args.secret_stdin:
        if not body.confidential:
            raise UsageError("a public client has no secret: --secret-stdin needs a confidential client")
        given = sys.stdin.readline().rstrip("\r\n")
        if len(given) < MIN_CLIENT_SECRET_LENGTH:
            raise UsageError(f"the client secret must have at least {MIN_CLIENT_SECRET_LENGTH} characters")
    client, secret = await create_client(
        uow,
        client_id=body.client_id,
        name=body.name,
        confidential=body.confidential,
        redirect_uris=body.redirect_uris,
        allowed_scopes=body.allowed_scopes,
        secret=given,
    )
    # A secret the operator supplied is already in their secret store: it is not echoed.
    shown = None if given else secret
    _emit(
        ClientCreated.model_validate(
            {**ClientRead.model_validate(client).model_dump(), "client_secret": shown}
        )
    )
    if shown:
        print(  # noqa: T201
            "The client secret is shown only now (it is stored hashed): put it in the client's secret store.",
            file=sys.stderr,
        )


Command = Callable[[UnitOfWork, Vault, Settings, argparse.Namespace], Awaitable[None]]


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m egov_identity.admin_cli",
        description="Create the first agencies, officials and OAuth clients of svc-identity.",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="command")

    agency = commands.add_parser("create-agency", help="an agency; a province needs no parent")
    agency.add_argument("code", help="13-character agency code, e.g. 000.00.00.H27")
    agency.add_argument("name")
    agency.add_argument("kind", choices=KINDS)
    agency.add_argument("--parent", metavar="CODE", help="the agency above it (required unless a province)")
    agency.set_defaults(run=_create_agency)

    official = commands.add_parser(
        "create-official", help="an official; prints the TOTP provisioning URI if the roles need one"
    )
    official.add_argument("username")
    official.add_argument("--name", required=True, help="full name")
    official.add_argument("--agency", required=True, metavar="CODE")
    official.add_argument("--roles", action="append", required=True, help="comma separated, e.g. admin")
    official.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    official.set_defaults(run=_create_official)

    client = commands.add_parser(
        "create-client", help="an OAuth client; prints a confidential one's secret once"
    )
    client.add_argument("client_id")
    client.add_argument("--name", required=True)
    client.add_argument("--scopes", nargs="+", default=[], help="space or comma separated")
    kind = client.add_mutually_exclusive_group()
    kind.add_argument("--public", action="store_true", help="a web or mobile app (PKCE, no secret)")
    kind.add_argument("--confidential", action="store_true", help="has a secret (the default)")
    client.add_argument(
        "--redirect-uri", action="append", metavar="URI", help="repeatable; required for a public client"
    )
    client.add_argument(
        "--secret-stdin",
        action="store_true",
        help="register the secret on the first line of stdin (one already in the client's secret store, e.g. "
        "EGOV_PAYMENT_CLIENT_SECRET) instead of generating one",
    )
    client.set_defaults(run=_create_client)
    return root


async def run(args: argparse.Namespace, settings: Settings) -> None:
    """Upgrade the schema, then run the command in one unit of work (it commits; leaving rolls back)."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        await upgrade(engine, MIGRATIONS_DIR)
        command: Command = args.run
        async with UnitOfWork(create_sessionmaker(engine), source=f"svc-{settings.service_name}") as uow:
            await command(uow, Vault(settings.key_encryption_key.get_secret_value()), settings, args)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:  # the production guard, a malformed variable
        messages = "; ".join(str(e["msg"]) for e in exc.errors(include_input=False, include_url=False))
        print(f"error: settings: {messages}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    try:
        asyncio.run(run(args, settings))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    except ProblemError as exc:
        print(f"error: {exc.code}: {exc.detail or ''}", file=sys.stderr)  # noqa: T201
        return EXIT_EXISTS if isinstance(exc, Conflict) else EXIT_REJECTED
    return 0


if __name__ == "__main__":
    sys.exit(main())

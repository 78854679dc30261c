"""svc-identity: citizens, officials, agencies (the tree), OAuth clients, refresh tokens, signing keys; the
OAuth 2.1 / OpenID Connect provider that every other service trusts."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from egov_identity import demo
from egov_identity.agencies.service import republish_tree
from egov_identity.api import router as api_router
from egov_identity.config import MIGRATIONS_DIR, Settings
from egov_identity.deps import Identity
from egov_identity.keys.service import KeyRing, ensure_keys, rotate
from egov_identity.oauth.cleanup import forget_expired
from egov_identity.oauth.router import OAUTH_FORM_PATHS
from egov_identity.oauth.router import router as oauth_router
from egov_identity.vault import Vault
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.http.app import create_service_app
from egov_shared.jobs import PeriodicJob
from egov_shared.runtime import ServiceRuntime


def create_app(settings: Settings | None = None, *, broker: InMemoryBroker | None = None) -> FastAPI:
    settings = settings or Settings()
    vault = Vault(settings.key_encryption_key.get_secret_value())
    holder: dict[str, KeyRing] = {}

    async def prepare(runtime: ServiceRuntime) -> None:
        async with runtime.new_uow() as uow:
            await ensure_keys(uow.session, vault.signing_keys)
            await uow.commit()
        keys = KeyRing(
            runtime.read_sessionmaker,
            vault.signing_keys,
            grace=dt.timedelta(seconds=settings.retired_key_grace_seconds),
        )
        holder["keys"] = keys
        runtime.use_keys(keys)
        app.state.identity = Identity(settings=settings, vault=vault, keys=keys)
        if settings.demo_data:
            await demo.seed(runtime.new_uow(), vault)

    def jobs(runtime: ServiceRuntime) -> list[PeriodicJob]:
        async def clean_up() -> None:
            await forget_expired(runtime.sessionmaker, settings)

        async def republish_agencies() -> None:
            async with runtime.new_uow() as uow:
                await republish_tree(uow)

        jobs = [
            PeriodicJob("forget-expired-oauth-state", dt.timedelta(hours=1), clean_up),
            PeriodicJob(
                "republish-agency-tree",
                dt.timedelta(minutes=settings.agency_republish_minutes),
                republish_agencies,
            ),
        ]
        if not settings.key_rotation_days:
            return jobs

        async def rotate_keys() -> None:
            async with runtime.new_uow() as uow:
                await rotate(uow.session, vault.signing_keys)
                await uow.commit()
            if "keys" in holder:
                holder["keys"].forget()

        return [
            *jobs,
            PeriodicJob("rotate-signing-keys", dt.timedelta(days=settings.key_rotation_days), rotate_keys),
        ]

    app = create_service_app(
        settings,
        title="svc-identity",
        description=__doc__ or "",
        migrations_dir=MIGRATIONS_DIR,
        routers=[oauth_router, api_router],
        jobs=jobs,
        on_start=[prepare],
        broker=broker,
        protocol_paths=OAUTH_FORM_PATHS,
    )
    return app

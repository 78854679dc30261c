"""``Idempotency-Key`` for creating POSTs (DESIGN §5).

Same key and body: the stored response is replayed. Same key, other body: 422. Same key while the first
request is still running: 409. Keys are scoped to the caller. The stored response is written in the same
transaction as the state change it describes, so a retry never applies the change twice.

A stored response may hold personal data and one-time secrets, so nothing readable is kept at rest: the row is
found by a keyed digest of scope and key, the response is encrypted (AES-256-GCM) under a key derived from the raw
Idempotency-Key, which only the caller holds, and the request is fingerprinted with an HMAC under another such
key. A server secret (from ``EGOV_KEY_ENCRYPTION_KEY``) goes into all three, so a database reader cannot try
guesses of a short key offline either. Rows written before this scheme never match again and expire with the
retention.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from cryptography.exceptions import InvalidTag
from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Row, delete, select, update

from egov_shared import tables
from egov_shared.crypto import derive_key, seal, unseal
from egov_shared.db import dialect_insert, utcnow
from egov_shared.problems import Conflict, Unprocessable
from egov_shared.runtime import ServiceRuntime
from egov_shared.settings import ServiceSettings
from egov_shared.uow import UnitOfWork

IN_FLIGHT_LEASE = dt.timedelta(seconds=60)
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"
_RESPONSE_INFO = b"egov idempotent response"
_REQUEST_INFO = b"egov idempotent request"
_PEPPER_INFO = b"egov idempotency pepper"


def _material(scope: str, key: str) -> bytes:
    return json.dumps([scope, key]).encode()


@functools.lru_cache(maxsize=4)
def _pepper(key_encryption_key: str) -> bytes:
    return derive_key(key_encryption_key.encode(), _PEPPER_INFO, salt=b"egov-kek-v1")


def idempotency_pepper(settings: ServiceSettings) -> bytes:
    """A server secret (from ``EGOV_KEY_ENCRYPTION_KEY``) mixed into every digest and key: a database reader
    cannot test guesses of a short or predictable ``Idempotency-Key`` offline."""
    return _pepper(settings.key_encryption_key.get_secret_value())


def stored_key(pepper: bytes, scope: str, key: str) -> str:
    """What the ``key`` column holds for a caller's key: a keyed digest (HMAC-SHA-256), never the key itself."""
    return hmac.new(pepper, _material(scope, key), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class _Secrets:
    """What a caller's raw key yields: the row's look-up digest and two keys a database reader cannot derive."""

    digest: str
    response_key: bytes
    request_key: bytes

    @classmethod
    def of(cls, pepper: bytes, scope: str, key: str) -> _Secrets:
        material = _material(scope, key)
        return cls(
            digest=stored_key(pepper, scope, key),
            response_key=derive_key(material, _RESPONSE_INFO, salt=pepper),
            request_key=derive_key(material, _REQUEST_INFO, salt=pepper),
        )

    def seal(self, field: str, plaintext: bytes) -> str:
        return seal(self.response_key, plaintext, f"{self.digest}:{field}".encode())

    def unseal(self, field: str, token: str | None) -> bytes:
        return unseal(self.response_key, token or "", f"{self.digest}:{field}".encode())


def caller_scope(request: Request) -> str:
    """Who the key belongs to: the authenticated principal, else the anonymous caller's address."""
    principal = getattr(request.state, "principal_id", None)
    if principal:
        return f"principal:{principal}"
    client = request.client.host if request.client else "unknown"
    return f"anonymous:{client}"


class IdempotentRequest:
    def __init__(
        self, runtime: ServiceRuntime, *, key: str | None, scope: str, method: str, path: str
    ) -> None:
        self.runtime = runtime
        self.scope = scope
        pepper = idempotency_pepper(runtime.settings)
        self._secrets = _Secrets.of(pepper, scope, key) if key is not None else None
        self.method = method
        self.path = path

    async def run(
        self,
        uow: UnitOfWork,
        body: BaseModel | Mapping[str, Any] | None,
        action: Callable[[], Awaitable[Any]],
        *,
        response_model: type[BaseModel],
        status_code: int = 201,
        headers: Callable[[Any], Mapping[str, str]] | None = None,
    ) -> Response:
        """Run ``action`` (a use case that commits ``uow``) at most once per key, and answer its response."""
        secrets = self._secrets
        if secrets is None:
            result = await action()
            return self._response(result, response_model, status_code, headers)
        request_hash = self._hash(secrets, body)
        replay = await self._claim(secrets, request_hash)
        if replay is not None:
            return replay
        try:
            async with uow.holding_commit():
                result = await action()
                response = self._response(result, response_model, status_code, headers)
                committed = uow.commit_requested
                if committed:
                    stored_headers = {
                        k: v for k, v in response.headers.items() if k.lower() != "content-length"
                    }
                    await uow.session.execute(
                        update(tables.idempotency_keys)
                        .where(
                            tables.idempotency_keys.c.scope == self.scope,
                            tables.idempotency_keys.c.key == secrets.digest,
                        )
                        .values(
                            state="done",
                            response_status=response.status_code,
                            response_body=secrets.seal("body", bytes(response.body)),
                            response_headers=secrets.seal("headers", json.dumps(stored_headers).encode()),
                        )
                    )
        except BaseException:
            await uow.rollback()
            await self._release(secrets)
            raise
        if not committed:
            # Nothing was stored, so there is nothing to protect: a retry may run again.
            await self._release(secrets)
        return response

    @staticmethod
    def _response(
        result: Any,
        model: type[BaseModel],
        status_code: int,
        headers: Callable[[Any], Mapping[str, str]] | None,
    ) -> JSONResponse:
        payload = model.model_validate(result, from_attributes=True)
        return JSONResponse(
            jsonable_encoder(payload),
            status_code=status_code,
            headers=dict(headers(result)) if headers else None,
        )

    def _hash(self, secrets: _Secrets, body: BaseModel | Mapping[str, Any] | None) -> str:
        """Keyed, so the stored fingerprint of a body holding an ID number cannot be checked against guesses."""
        if isinstance(body, BaseModel):
            canonical: Any = body.model_dump(mode="json")
        else:
            canonical = jsonable_encoder(body) if body is not None else None
        raw = json.dumps([self.method, self.path, canonical], sort_keys=True, separators=(",", ":"))
        return hmac.new(secrets.request_key, raw.encode(), hashlib.sha256).hexdigest()

    async def _claim(self, secrets: _Secrets, request_hash: str) -> Response | None:
        keys = tables.idempotency_keys
        now = utcnow()
        async with self.runtime.sessionmaker() as session, session.begin():
            claimed = await session.execute(
                dialect_insert(session)(keys)
                .values(
                    scope=self.scope,
                    key=secrets.digest,
                    request_hash=request_hash,
                    state="in_flight",
                    locked_until=now + IN_FLIGHT_LEASE,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=[keys.c.scope, keys.c.key])
                .returning(keys.c.id)
            )
            if claimed.first() is not None:
                return None
            row = (
                await session.execute(
                    select(keys).where(keys.c.scope == self.scope, keys.c.key == secrets.digest)
                )
            ).one_or_none()
            if row is None:
                # The other attempt gave its key back (it failed) between our insert and this read: try again.
                raise Conflict(
                    "Yêu cầu với Idempotency-Key này vừa được xử lý xong; hãy thử lại.",
                    code="idempotency.in_flight",
                    headers={"Retry-After": "1"},
                )
            if row.request_hash != request_hash:
                raise Unprocessable(
                    "Idempotency-Key này đã được dùng cho một yêu cầu khác.", code="idempotency.key_reused"
                )
            if row.state == "done":
                return self._replay(secrets, row)
            if row.locked_until > now:
                raise Conflict(
                    "Yêu cầu với Idempotency-Key này đang được xử lý; hãy thử lại sau ít giây.",
                    code="idempotency.in_flight",
                    headers={"Retry-After": "1"},
                )
            # The first attempt died without finishing (its transaction rolled back): take the key over.
            taken = await session.execute(
                update(keys)
                .where(keys.c.id == row.id, keys.c.locked_until == row.locked_until)
                .values(locked_until=now + IN_FLIGHT_LEASE)
            )
            if getattr(taken, "rowcount", 0) != 1:
                raise Conflict(
                    "Yêu cầu đang được xử lý.", code="idempotency.in_flight", headers={"Retry-After": "1"}
                )
            return None

    @staticmethod
    def _replay(secrets: _Secrets, row: Row[Any]) -> Response:
        try:
            body = secrets.unseal("body", row.response_body)
            stored_headers = json.loads(secrets.unseal("headers", row.response_headers))
        except (InvalidTag, ValueError):
            # Altered in the database: refuse clearly rather than replay something unverified.
            raise Conflict(
                "Không đọc được phản hồi đã lưu cho Idempotency-Key này; hãy gửi lại với một khóa mới.",
                code="idempotency.unreadable",
            ) from None
        stored_headers[REPLAY_HEADER] = "true"
        return Response(
            body,
            status_code=row.response_status or 200,
            headers=stored_headers,
            media_type=stored_headers.get("content-type", "application/json"),
        )

    async def _release(self, secrets: _Secrets) -> None:
        keys = tables.idempotency_keys
        async with self.runtime.sessionmaker() as session, session.begin():
            await session.execute(
                delete(keys).where(
                    keys.c.scope == self.scope, keys.c.key == secrets.digest, keys.c.state == "in_flight"
                )
            )


async def _idempotent_request(
    request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=MAX_KEY_LENGTH)] = None,
) -> IdempotentRequest:
    runtime: ServiceRuntime = request.app.state.runtime
    key = idempotency_key.strip() if idempotency_key else None
    return IdempotentRequest(
        runtime, key=key or None, scope=caller_scope(request), method=request.method, path=request.url.path
    )


Idempotency = Annotated[IdempotentRequest, Depends(_idempotent_request)]

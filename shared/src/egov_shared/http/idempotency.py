"""``Idempotency-Key`` for creating POSTs (DESIGN §5).

Same key and body: the stored response is replayed. Same key, other body: 422. Same key while the first
request is still running: 409. Keys are scoped to the caller. The stored response is written in the same
transaction as the state change it describes, so a retry never applies the change twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from egov_shared import tables
from egov_shared.db import utcnow
from egov_shared.problems import Conflict, Unprocessable
from egov_shared.runtime import ServiceRuntime
from egov_shared.uow import UnitOfWork

IN_FLIGHT_LEASE = dt.timedelta(seconds=60)
MAX_KEY_LENGTH = 255
REPLAY_HEADER = "Idempotent-Replayed"


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
        self.key = key
        self.scope = scope
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
        if self.key is None:
            result = await action()
            return self._response(result, response_model, status_code, headers)
        request_hash = self._hash(body)
        replay = await self._claim(request_hash)
        if replay is not None:
            return replay
        try:
            async with uow.holding_commit():
                result = await action()
                response = self._response(result, response_model, status_code, headers)
                committed = uow.commit_requested
                if committed:
                    await uow.session.execute(
                        update(tables.idempotency_keys)
                        .where(
                            tables.idempotency_keys.c.scope == self.scope,
                            tables.idempotency_keys.c.key == self.key,
                        )
                        .values(
                            state="done",
                            response_status=response.status_code,
                            response_body=bytes(response.body).decode(),
                            response_headers=json.dumps(
                                {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
                            ),
                        )
                    )
        except BaseException:
            await uow.rollback()
            await self._release()
            raise
        if not committed:
            # Nothing was stored, so there is nothing to protect: a retry may run again.
            await self._release()
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

    def _hash(self, body: BaseModel | Mapping[str, Any] | None) -> str:
        if isinstance(body, BaseModel):
            canonical: Any = body.model_dump(mode="json")
        else:
            canonical = jsonable_encoder(body) if body is not None else None
        raw = json.dumps([self.method, self.path, canonical], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    async def _claim(self, request_hash: str) -> Response | None:
        keys = tables.idempotency_keys
        now = utcnow()
        async with self.runtime.sessionmaker() as session, session.begin():
            try:
                async with session.begin_nested():
                    await session.execute(
                        insert(keys).values(
                            scope=self.scope,
                            key=self.key,
                            request_hash=request_hash,
                            state="in_flight",
                            locked_until=now + IN_FLIGHT_LEASE,
                            created_at=now,
                        )
                    )
                return None
            except IntegrityError:
                pass
            row = (
                await session.execute(select(keys).where(keys.c.scope == self.scope, keys.c.key == self.key))
            ).one()
            if row.request_hash != request_hash:
                raise Unprocessable(
                    "Idempotency-Key này đã được dùng cho một yêu cầu khác.", code="idempotency.key_reused"
                )
            if row.state == "done":
                stored_headers = json.loads(row.response_headers or "{}")
                stored_headers[REPLAY_HEADER] = "true"
                return Response(
                    row.response_body or "",
                    status_code=row.response_status or 200,
                    headers=stored_headers,
                    media_type=stored_headers.get("content-type", "application/json"),
                )
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

    async def _release(self) -> None:
        keys = tables.idempotency_keys
        async with self.runtime.sessionmaker() as session, session.begin():
            await session.execute(
                delete(keys).where(
                    keys.c.scope == self.scope, keys.c.key == self.key, keys.c.state == "in_flight"
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

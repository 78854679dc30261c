"""The unit of work: one transaction that holds a use case's state changes and the events they cause.

Events added with :meth:`UnitOfWork.publish` are written to the outbox in the same transaction as the state,
so either both are stored or neither is. Nothing is committed unless the use case says so; leaving the block
without :meth:`commit` rolls back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Self

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from egov_shared import tables
from egov_shared.contracts import EventData
from egov_shared.db import utcnow
from egov_shared.events import CloudEvent, new_event


class UnitOfWork:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        source: str,
        on_events_committed: Callable[[], None] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.source = source
        self._on_events_committed = on_events_committed
        self._pending: list[CloudEvent] = []
        self._holding = False
        self._commit_requested = False
        self._session: AsyncSession | None = None
        self._had_events = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the unit of work is not open: use 'async with uow:'")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessionmaker()
        self._pending = []
        self._commit_requested = False
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.rollback()
        finally:
            await self.session.close()
            self._session = None

    def publish(self, data: EventData, *, subject: str | None = None) -> CloudEvent:
        """Queue an event; it is written to the outbox when (and only if) this unit of work commits."""
        event = new_event(data, source=self.source, subject=subject)
        self._pending.append(event)
        return event

    async def commit(self) -> None:
        await self._write_outbox()
        if self._holding:
            # A caller (the idempotency guard) commits later, together with what it adds.
            await self.session.flush()
            self._commit_requested = True
            return
        had_events = self._had_events
        await self.session.commit()
        self._had_events = False
        if had_events and self._on_events_committed is not None:
            self._on_events_committed()

    async def rollback(self) -> None:
        self._pending = []
        self._had_events = False
        self._commit_requested = False
        if self._session is not None:
            await self._session.rollback()

    @asynccontextmanager
    async def holding_commit(self) -> AsyncIterator[None]:
        """Turn the use case's ``commit()`` into a flush; commit once at the end of the block if it asked to.

        This lets a wrapper add its own rows (a stored idempotent response) to the use case's transaction.
        """
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._commit_requested:
            self._commit_requested = False
            await self.commit()

    @property
    def commit_requested(self) -> bool:
        return self._commit_requested

    async def _write_outbox(self) -> None:
        if not self._pending:
            return
        now = utcnow()
        await self.session.execute(
            insert(tables.outbox),
            [
                {
                    "event_id": event.id,
                    "event_type": event.type,
                    "envelope": event.model_dump_json(),
                    "created_at": now,
                    "attempts": 0,
                }
                for event in self._pending
            ],
        )
        self._pending = []
        self._had_events = True


class UnitOfWorkFactory:
    """Makes units of work for one service; the relay is woken after a commit that wrote events."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        source: str,
        on_events_committed: Callable[[], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.source = source
        self.on_events_committed = on_events_committed

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, source=self.source, on_events_committed=self.on_events_committed)

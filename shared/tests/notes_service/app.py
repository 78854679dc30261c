"""The notes test service: models, contracts, use cases, router and consumer in one small module."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, ClassVar

from fastapi import APIRouter, FastAPI, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import ForeignKey, Integer, String, Uuid, select
from sqlalchemy.orm import Mapped, mapped_column

from egov_shared.bus.memory import InMemoryBroker
from egov_shared.contracts import EventData
from egov_shared.counters import next_in_series
from egov_shared.db import Base as SharedBase
from egov_shared.db import new_metadata
from egov_shared.events import CloudEvent
from egov_shared.http.app import UoWDep, create_service_app
from egov_shared.http.etag import IfMatchVersion, check_version, etag, set_etag
from egov_shared.http.idempotency import Idempotency
from egov_shared.http.problems import problem_responses
from egov_shared.inbox import EventHandler
from egov_shared.problems import NotFound, Unprocessable
from egov_shared.settings import ServiceSettings
from egov_shared.uow import UnitOfWork

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EGOV_NOTES_", extra="ignore", populate_by_name=True)
    service_name: ClassVar[str] = "notes"


class Base(SharedBase):
    __abstract__ = True
    metadata = new_metadata()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    text: Mapped[str] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}


class AppliedEvent(Base):
    """One row per application of a ``test.note_created`` event: duplicates would show as extra rows."""

    __tablename__ = "applied_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    note_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("notes.id", ondelete="CASCADE"), nullable=True
    )


class NoteCreated(EventData):
    event_type: ClassVar[str] = "test.note_created"
    note_id: uuid.UUID
    number: int


class PoisonPill(EventData):
    event_type: ClassVar[str] = "test.poison"
    reason: str = "always fails"


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=500)


class NoteUpdate(BaseModel):
    text: str = Field(min_length=1, max_length=500)


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    number: int
    text: str
    version: int


async def create_note(uow: UnitOfWork, *, text: str) -> Note:
    if text.strip().lower() == "forbidden":
        raise Unprocessable("Nội dung này không được phép.", code="note.forbidden_text")
    number = await next_in_series(uow.session, "notes")
    note = Note(text=text, number=number)
    uow.session.add(note)
    await uow.session.flush()
    uow.publish(NoteCreated(note_id=note.id, number=number), subject=str(note.id))
    await uow.commit()
    return note


async def update_note(uow: UnitOfWork, note_id: uuid.UUID, *, expected_version: int, text: str) -> Note:
    note = await uow.session.get(Note, note_id)
    if note is None:
        raise NotFound("Không có ghi chú này.", code="note.not_found")
    check_version(expected_version, note.version)
    note.text = text
    await uow.commit()
    return note


async def on_note_created(uow: UnitOfWork, data: NoteCreated, event: CloudEvent) -> None:
    exists = await uow.session.scalar(select(Note.id).where(Note.id == data.note_id))
    uow.session.add(AppliedEvent(event_id=event.id, note_id=exists))


async def on_poison(uow: UnitOfWork, data: PoisonPill, event: CloudEvent) -> None:
    raise RuntimeError(data.reason)


router = APIRouter(prefix="/api/v1/notes", tags=["notes"])


@router.post("", status_code=201, response_model=NoteRead, responses=problem_responses(409, 422))
async def post_note(body: NoteCreate, uow: UoWDep, idempotency: Idempotency) -> Response:
    return await idempotency.run(
        uow,
        body,
        lambda: create_note(uow, text=body.text),
        response_model=NoteRead,
        headers=lambda note: {"ETag": etag(note.version), "Location": f"/api/v1/notes/{note.id}"},
    )


@router.get("/{note_id}", response_model=NoteRead, responses=problem_responses(404))
async def get_note(note_id: Annotated[uuid.UUID, PathParam()], uow: UoWDep, response: Response) -> Note:
    note = await uow.session.get(Note, note_id)
    if note is None:
        raise NotFound("Không có ghi chú này.", code="note.not_found")
    set_etag(response, note.version)
    return note


@router.put("/{note_id}", response_model=NoteRead, responses=problem_responses(404, 412, 428))
async def put_note(
    note_id: uuid.UUID, body: NoteUpdate, uow: UoWDep, version: IfMatchVersion, response: Response
) -> Note:
    note = await update_note(uow, note_id, expected_version=version, text=body.text)
    set_etag(response, note.version)
    return note


@router.get("/boom/500", include_in_schema=False)
async def boom() -> None:
    raise RuntimeError("secret internal detail that must not leak")


CONSUMERS: dict[str, EventHandler] = {
    NoteCreated.event_type: on_note_created,
    PoisonPill.event_type: on_poison,
}


def create_app(settings: Settings, *, broker: InMemoryBroker | None = None, consume: bool = True) -> FastAPI:
    return create_service_app(
        settings,
        title="notes",
        description="test service",
        migrations_dir=MIGRATIONS_DIR,
        routers=[router],
        consumers=CONSUMERS if consume else {},
        broker=broker,
        configure_logs=False,
    )

"""The published language of events between services.

Every event type is one frozen pydantic model here with a class-level ``event_type``. Adding an optional field
is compatible; any other change is a new type (``dossier.submitted.v2``). Events carry ids and small facts,
never ORM objects, and no personal data beyond need.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

EVENT_TYPES: dict[str, type[EventData]] = {}


class EventData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        event_type = cls.__dict__.get("event_type")
        if event_type:
            registered = EVENT_TYPES.get(event_type)
            if registered is not None and registered.__qualname__ != cls.__qualname__:
                raise TypeError(f"event type {event_type!r} is already defined by {registered.__qualname__}")
            EVENT_TYPES[event_type] = cls


class UnknownEventType(LookupError):
    pass


def parse_event_data(event_type: str, data: dict[str, Any]) -> EventData:
    model = EVENT_TYPES.get(event_type)
    if model is None:
        raise UnknownEventType(event_type)
    return model.model_validate(data)


# Import the contract modules so that the registry is complete whoever imports this package.
from egov_shared.contracts import document, dossier, feedback, identity, payment  # noqa: E402, F401

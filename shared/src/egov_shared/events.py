"""The CloudEvents 1.0 envelope every event travels in (JSON structured mode)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from egov_shared.context import current_request_id
from egov_shared.contracts import EventData, parse_event_data
from egov_shared.db import utcnow

CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str
    time: dt.datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    correlationid: str | None = None

    def parsed(self) -> EventData:
        """The ``data`` as its contract model (raises if the type is unknown or the data does not fit)."""
        return parse_event_data(self.type, self.data)


def new_event(data: EventData, *, source: str, subject: str | None = None) -> CloudEvent:
    return CloudEvent(
        id=uuid.uuid4(),
        source=source,
        type=data.event_type,
        time=utcnow(),
        subject=subject,
        data=data.model_dump(mode="json"),
        correlationid=current_request_id(),
    )

"""What the service's routers and jobs share besides the runtime: settings, the areas, and the clock.

The clock is one ``now()`` for deadlines, windows and escalation. Tests replace it (``set``/``advance``) to move
across holidays instead of waiting; it lives on ``app.state.feedback`` with the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from egov_feedback.config import Settings
from egov_feedback.reference.areas import AreaIndex, demo_area_index
from egov_shared.db import utcnow

Now = Callable[[], dt.datetime]


class ServiceClock:
    """``now()`` is the real time unless a test set it (``set``) or moved it (``advance``)."""

    def __init__(self, now: Now = utcnow) -> None:
        self._now = now
        self._fixed: dt.datetime | None = None

    def now(self) -> dt.datetime:
        return self._fixed if self._fixed is not None else self._now()

    def set(self, at: dt.datetime) -> None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("the clock needs an aware datetime")
        self._fixed = at.astimezone(dt.UTC)

    def advance(self, by: dt.timedelta) -> None:
        self.set(self.now() + by)

    def reset(self) -> None:
        self._fixed = None


@dataclass
class Feedback:
    settings: Settings
    areas: AreaIndex = field(default_factory=demo_area_index)
    clock: ServiceClock = field(default_factory=ServiceClock)

    def now(self) -> dt.datetime:
        return self.clock.now()


def get_feedback(request: Request) -> Feedback:
    feedback: Feedback = request.app.state.feedback
    return feedback


FeedbackDep = Annotated[Feedback, Depends(get_feedback)]

"""Processing status codes a receiver reports back to the sender of an edXML document (QCVN 102:2016).

The receiver's document system reports each step of its handling in a status message; the sender shows it
to its clerks ("let the sender see the receiver's processing status").
"""

from __future__ import annotations

from enum import StrEnum


class StatusCode(StrEnum):
    ARRIVED = "01"  # arrived, awaiting the clerk's receipt
    REFUSED = "02"  # refused; the reason is mandatory
    RECEIVED = "03"  # received and registered (arrival number given)
    ASSIGNED = "04"  # assigned to a unit or person for handling
    PROCESSING = "05"
    DONE = "06"
    REVOKED = "13"  # the receiver removed a document its sender revoked
    UPDATE_ACCEPTED = "15"
    UPDATE_REFUSED = "16"


LABELS: dict[StatusCode, str] = {
    StatusCode.ARRIVED: "Đã đến",
    StatusCode.REFUSED: "Từ chối tiếp nhận",
    StatusCode.RECEIVED: "Đã tiếp nhận",
    StatusCode.ASSIGNED: "Đã phân công",
    StatusCode.PROCESSING: "Đang xử lý",
    StatusCode.DONE: "Hoàn thành",
    StatusCode.REVOKED: "Đã thu hồi",
    StatusCode.UPDATE_ACCEPTED: "Đồng ý cập nhật",
    StatusCode.UPDATE_REFUSED: "Từ chối cập nhật",
}


def label(code: StatusCode) -> str:
    """The Vietnamese name of a status, for a description the sender did not write."""
    return LABELS[code]


def requires_reason(code: StatusCode) -> bool:
    """A refusal must say why; every other status may carry a description but need not."""
    return code is StatusCode.REFUSED

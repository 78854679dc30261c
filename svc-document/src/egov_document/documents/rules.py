"""The workflows of official documents as a table: which action moves which status, and who may take it.

Outgoing: draft → review → approved → signed → issued → sent (review can send a draft back); an issued or sent
document can be revoked.
Incoming: received → assigned → processing → done.
"""

from __future__ import annotations

from dataclasses import dataclass

from egov_shared.problems import Conflict


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str
    roles: frozenset[str]


def _t(action: str, source: str, target: str, *roles: str) -> Transition:
    return Transition(action, source, target, frozenset(roles))


OUTGOING = (
    _t("submit", "draft", "review", "document_clerk", "processor"),
    _t("return", "review", "draft", "approver"),
    _t("approve", "review", "approved", "approver"),
    _t("sign", "approved", "signed", "signer"),
    _t("issue", "signed", "issued", "document_clerk"),
    _t("send", "issued", "sent", "document_clerk"),
    # Revoking freezes the document; its recipients are told (edXML business type 1).
    _t("revoke", "issued", "revoked", "approver"),
    _t("revoke", "sent", "revoked", "approver"),
)
INCOMING = (
    _t("assign", "received", "assigned", "document_clerk", "approver"),
    _t("start", "assigned", "processing", "processor", "document_clerk"),
    _t("complete", "processing", "done", "processor", "document_clerk"),
)
FLOWS = {"outgoing": OUTGOING, "incoming": INCOMING}
INITIAL = {"outgoing": "draft", "incoming": "received"}


def allowed_actions(direction: str, status: str) -> list[str]:
    return [t.action for t in FLOWS[direction] if t.source == status]


def transition(direction: str, status: str, action: str) -> Transition:
    """The transition ``action`` takes from ``status``, or a 409 naming the status and the allowed actions."""
    for candidate in FLOWS[direction]:
        if candidate.action == action and candidate.source == status:
            return candidate
    allowed = allowed_actions(direction, status)
    raise Conflict(
        f"Không thể '{action}' khi văn bản đang ở trạng thái '{status}'. Có thể: {', '.join(allowed) or 'không có'}.",
        code="document.invalid_transition",
        extra={"document_status": status, "allowed_actions": allowed},
    )

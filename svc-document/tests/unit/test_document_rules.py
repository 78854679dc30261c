"""The document workflows as a table: every allowed and every forbidden step."""

from __future__ import annotations

import pytest

from egov_document.documents import rules
from egov_document.documents.types import number_and_symbol, outgoing_symbol
from egov_shared.problems import Conflict

STATUSES = {
    "outgoing": ["draft", "review", "approved", "signed", "issued", "sent", "revoked"],
    "incoming": ["received", "assigned", "processing", "done"],
}
ALLOWED = {
    ("outgoing", "draft", "submit"): "review",
    ("outgoing", "review", "return"): "draft",
    ("outgoing", "review", "approve"): "approved",
    ("outgoing", "approved", "sign"): "signed",
    ("outgoing", "signed", "issue"): "issued",
    ("outgoing", "issued", "send"): "sent",
    ("outgoing", "issued", "revoke"): "revoked",
    ("outgoing", "sent", "revoke"): "revoked",
    ("incoming", "received", "assign"): "assigned",
    ("incoming", "assigned", "start"): "processing",
    ("incoming", "processing", "complete"): "done",
}
ACTIONS = sorted({action for (_, _, action) in ALLOWED})


@pytest.mark.parametrize(
    ("direction", "status", "action"),
    [(d, s, a) for d, statuses in STATUSES.items() for s in statuses for a in ACTIONS],
)
def test_every_step_is_allowed_or_refused_with_the_allowed_actions(
    direction: str, status: str, action: str
) -> None:
    expected = ALLOWED.get((direction, status, action))
    if expected is not None:
        assert rules.transition(direction, status, action).target == expected
    else:
        with pytest.raises(Conflict) as refused:
            rules.transition(direction, status, action)
        assert refused.value.extra["document_status"] == status
        assert refused.value.extra["allowed_actions"] == rules.allowed_actions(direction, status)


def test_numbers_and_symbols_follow_decree_30() -> None:
    assert number_and_symbol(5, "QĐ-UBND") == "05/QĐ-UBND"
    assert number_and_symbol(15, "QĐ-UBND") == "15/QĐ-UBND"
    assert outgoing_symbol("QD", "UBND") == "QĐ-UBND"
    assert outgoing_symbol("CV", "UBND", "VP") == "UBND-VP"

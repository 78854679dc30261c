"""Events svc-document reacts to: agencies get read access to the files of the dossiers and reports they handle."""

from __future__ import annotations

from egov_document.documents.service import file_dossier_result
from egov_document.files.service import grant, grant_reader
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.dossier import DossierCompleted, DossierStatusChanged, DossierSubmitted
from egov_shared.contracts.feedback import (
    FeedbackEscalated,
    FeedbackResolved,
    FeedbackSubmitted,
    FeedbackSupplemented,
    FeedbackTransferred,
)
from egov_shared.events import CloudEvent
from egov_shared.inbox import EventHandler
from egov_shared.uow import UnitOfWork


async def on_dossier_submitted(uow: UnitOfWork, data: DossierSubmitted, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.agency_code, f"dossier:{data.dossier_id}")


async def on_dossier_status_changed(uow: UnitOfWork, data: DossierStatusChanged, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.agency_code, f"dossier:{data.dossier_id}")


async def on_dossier_completed(uow: UnitOfWork, data: DossierCompleted, event: CloudEvent) -> None:
    await grant(uow.session, data.result_file_ids, data.agency_code, f"dossier-result:{data.dossier_id}")
    # The applicant downloads and verifies the signed result.
    await grant_reader(
        uow.session, data.result_file_ids, data.applicant_id, "citizen", f"dossier-result:{data.dossier_id}"
    )
    await file_dossier_result(uow, data)


async def on_feedback_submitted(uow: UnitOfWork, data: FeedbackSubmitted, event: CloudEvent) -> None:
    if data.agency_code:
        await grant(uow.session, data.file_ids, data.agency_code, f"feedback:{data.report_id}")


async def on_feedback_supplemented(uow: UnitOfWork, data: FeedbackSupplemented, event: CloudEvent) -> None:
    # Files the reporter added later: the handling agency was granted only those of the submission.
    await grant(uow.session, data.file_ids, data.agency_code, f"feedback:{data.report_id}")


async def on_feedback_transferred(uow: UnitOfWork, data: FeedbackTransferred, event: CloudEvent) -> None:
    # The new agency may sit in another branch of the tree, where the first agency's grants do not reach.
    await grant(uow.session, data.file_ids, data.to_agency_code, f"feedback:{data.report_id}")


async def on_feedback_escalated(uow: UnitOfWork, data: FeedbackEscalated, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.to_agency_code, f"feedback:{data.report_id}")


async def on_feedback_resolved(uow: UnitOfWork, data: FeedbackResolved, event: CloudEvent) -> None:
    # The answer's attachments, which an official of another agency (one above it) may have uploaded.
    await grant(uow.session, data.answer_file_ids, data.agency_code, f"feedback-answer:{data.report_id}")
    if data.reporter_kind == "citizen" and data.reporter_id:
        # The citizen who reported it reads the answer's attachments too.
        await grant_reader(
            uow.session,
            data.answer_file_ids,
            data.reporter_id,
            "citizen",
            f"feedback-answer:{data.report_id}",
        )


CONSUMERS: dict[str, EventHandler] = {
    "identity.agency_upserted": on_agency_upserted,
    DossierSubmitted.event_type: on_dossier_submitted,
    DossierStatusChanged.event_type: on_dossier_status_changed,
    DossierCompleted.event_type: on_dossier_completed,
    FeedbackSubmitted.event_type: on_feedback_submitted,
    FeedbackSupplemented.event_type: on_feedback_supplemented,
    FeedbackTransferred.event_type: on_feedback_transferred,
    FeedbackEscalated.event_type: on_feedback_escalated,
    FeedbackResolved.event_type: on_feedback_resolved,
}

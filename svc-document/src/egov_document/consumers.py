"""Events svc-document reacts to: agencies get read access to the files of the dossiers and reports they handle."""

from __future__ import annotations

from egov_document.context import Documents
from egov_document.documents.service import file_dossier_result
from egov_document.files.service import grant
from egov_document.signatures.pki_store import agency_identity
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.dossier import DossierCompleted, DossierStatusChanged, DossierSubmitted
from egov_shared.contracts.feedback import FeedbackSubmitted
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.events import CloudEvent
from egov_shared.inbox import EventHandler
from egov_shared.uow import UnitOfWork


async def on_dossier_submitted(uow: UnitOfWork, data: DossierSubmitted, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.agency_code, f"dossier:{data.dossier_id}")


async def on_dossier_status_changed(uow: UnitOfWork, data: DossierStatusChanged, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.agency_code, f"dossier:{data.dossier_id}")


async def on_dossier_completed(uow: UnitOfWork, data: DossierCompleted, event: CloudEvent) -> None:
    await grant(uow.session, data.result_file_ids, data.agency_code, f"dossier-result:{data.dossier_id}")
    await file_dossier_result(uow, data)


async def on_feedback_submitted(uow: UnitOfWork, data: FeedbackSubmitted, event: CloudEvent) -> None:
    if data.agency_code:
        await grant(uow.session, data.file_ids, data.agency_code, f"feedback:{data.report_id}")


def consumers(documents: Documents) -> dict[str, EventHandler]:
    """The handlers, given what the agency handler needs to issue demo certificates."""

    async def on_agency(uow: UnitOfWork, data: AgencyUpserted, event: CloudEvent) -> None:
        await on_agency_upserted(uow, data, event)
        if documents.settings.development_pki and documents.settings.demo_data and data.active:
            # The demo deployment gets each agency's seal certificate as the agency appears, not at first use.
            await agency_identity(uow.session, documents.vault, data.code, data.name)

    return {**CONSUMERS, AgencyUpserted.event_type: on_agency}


CONSUMERS: dict[str, EventHandler] = {
    "identity.agency_upserted": on_agency_upserted,
    DossierSubmitted.event_type: on_dossier_submitted,
    DossierStatusChanged.event_type: on_dossier_status_changed,
    DossierCompleted.event_type: on_dossier_completed,
    FeedbackSubmitted.event_type: on_feedback_submitted,
}

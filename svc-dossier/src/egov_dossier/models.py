"""Every table of svc-dossier, imported together so the metadata is complete (migrations, tests)."""

from egov_dossier.dossiers.models import CalendarDay
from egov_dossier.procedures.models import Procedure

__all__ = ["CalendarDay", "Procedure"]

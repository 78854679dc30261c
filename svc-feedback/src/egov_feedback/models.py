"""Every table of svc-feedback, imported together so the metadata is complete (migrations, tests)."""

from egov_feedback.calendar_corrections import CalendarCorrection
from egov_feedback.partners.models import Open311Partner
from egov_feedback.ratelimit import RateLimitWindow
from egov_feedback.reports.models import Report, ReportHistory, ReportSupport
from egov_feedback.routing_rules.models import RoutingOverride

__all__ = [
    "CalendarCorrection",
    "Open311Partner",
    "RateLimitWindow",
    "Report",
    "ReportHistory",
    "ReportSupport",
    "RoutingOverride",
]

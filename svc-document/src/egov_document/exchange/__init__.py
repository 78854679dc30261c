"""Document exchange between agencies: edXML messages (QCVN 102:2016/BTTTT) and our HTTP binding.

- :mod:`.model`: the messages as validated values (:class:`EdxmlMessage`, :class:`StatusMessage`).
- :mod:`.edxml`: bytes <-> model (:func:`to_xml`, :func:`parse`, :func:`parse_status`, :func:`parse_any`).
- :mod:`.xmlsig`: the enveloped XML signature (:func:`sign`, :func:`verify` against a :class:`Trust`).
- :mod:`.status`: the status codes a receiver reports (01 arrived ... 16 update refused).
- :mod:`.client`: :func:`post_edxml`, delivery to a partner's ``POST /api/v1/exchange/edxml``.
- :mod:`.partner`: a fake partner province for tests; :mod:`.devpki`: throw-away certificates.

Typical outgoing flow: ``post_edxml(url, sign(to_xml(message), key, cert), token)``; incoming:
``verify(body, trust).message``, never ``parse(body)`` alone, which checks no signature.
"""

from egov_document.exchange.client import EDXML_CONTENT_TYPE, EDXML_PATH, post_edxml
from egov_document.exchange.edxml import (
    DEFAULT_MAX_BYTES,
    EdxmlError,
    parse,
    parse_any,
    parse_status,
    to_xml,
)
from egov_document.exchange.model import (
    NAMESPACE,
    VN_TZ,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentType,
    EdxmlMessage,
    Organization,
    OtherInfo,
    Priority,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusMessage,
    TraceHeader,
    format_document_id,
    parse_document_id,
    vn_now,
)
from egov_document.exchange.status import StatusCode
from egov_document.exchange.xmlsig import SignatureInvalid, Trust, VerifiedMessage, sign, verify

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EDXML_CONTENT_TYPE",
    "EDXML_PATH",
    "NAMESPACE",
    "VN_TZ",
    "Attachment",
    "Business",
    "BusinessDocType",
    "Code",
    "DocumentType",
    "EdxmlError",
    "EdxmlMessage",
    "Organization",
    "OtherInfo",
    "Priority",
    "PromulgationInfo",
    "ResponseFor",
    "SignatureInvalid",
    "SignerInfo",
    "StaffInfo",
    "StatusCode",
    "StatusMessage",
    "TraceHeader",
    "Trust",
    "VerifiedMessage",
    "format_document_id",
    "parse",
    "parse_any",
    "parse_document_id",
    "parse_status",
    "post_edxml",
    "sign",
    "to_xml",
    "verify",
    "vn_now",
]

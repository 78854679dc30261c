"""edXML (QCVN 102:2016/BTTTT) to and from bytes: :func:`to_xml`, :func:`parse`, :func:`parse_status`.

The layout we write (every element in the edXML namespace, declared once as the default namespace)::

    edXML
      edXMLEnvelope
        edXMLHeader
          MessageHeader          From, To+, Code, PromulgationInfo, DocumentType, Subject, Content?,
                                 SignerInfo, DueDate?, ToPlaces?, OtherInfo, ResponseFor*, SteeringType?,
                                 DocumentId
          TraceHeaderList        TraceHeader+ {OrganId, Timestamp}, Bussiness {BussinessDocType, ...}
          DigitalSignature       empty until :func:`egov_document.exchange.xmlsig.sign` fills it
        edXMLBody
          edXMLManifest          Reference* (xlink:href="cid:...") {ContentId, AttachmentName, ContentType}
      AttachmentEncoded          Attachment* {ContentId, AttachmentName, ContentType, Description?,
                                              ContentTransferEncoded (base64)}

A status message has ``Status`` {ResponseFor, From, StatusCode, Description, Timestamp, StaffInfo} in place
of ``MessageHeader``/``TraceHeaderList`` and no body. Element names follow document.md and public edXML samples
(the VXP/eDoc SDK files); where they disagree or are silent we chose, and say so:
- ``Bussiness`` sits inside ``TraceHeaderList``, as the SDK samples put it.
- ``ContentId`` is written bare in both the manifest and the attachment; a ``cid:`` prefix is accepted.
- Attachments are plain base64 of the file (some VXP gateways zip first; we neither zip nor unzip).
- ``ResponseFor/PromulgationDate`` and ``Status/Timestamp`` use the same formats as the rest of the header.
- ``DocumentId`` must equal the id computed from ``From/OrganId``, ``PromulgationDate`` and ``Code``.

Parsing is strict about what it needs and ignores elements it does not know (partners add vendor fields).
It refuses DOCTYPEs (hence every entity trick), never touches the network, keeps libxml2's size limits
(``huge_tree=False``: no text node over 10 MB, which caps one attachment near 7.5 MB of binary) and refuses
bodies over ``max_bytes``.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias, TypeVar, cast

from lxml import etree  # type: ignore[import-untyped]  # the workspace has no lxml-stubs
from pydantic import BaseModel, ValidationError

from egov_document.exchange.model import (
    NAMESPACE,
    Attachment,
    Business,
    Code,
    DocumentType,
    EdxmlMessage,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusMessage,
    TraceHeader,
    format_date,
    format_timestamp,
    parse_date,
    parse_document_id,
    parse_timestamp,
)

XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

_M = TypeVar("_M", bound=BaseModel)
# Refused before parsing, so an entity bomb is never even read; the check after parsing catches the rest.
_DOCTYPE_IN_PROLOG = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml.*?\?>)?(?:\s*(?:<!--.*?-->|<\?.*?\?>))*\s*<!DOCTYPE", re.S
)
Element: TypeAlias = Any  # lxml.etree._Element, untyped without lxml-stubs


class EdxmlError(ValueError):
    """A message we refuse, with a stable ``code`` (``edxml.missing``...) and a reason for the sender."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def q(name: str) -> str:
    """The qualified (Clark) name of an edXML element."""
    return f"{{{NAMESPACE}}}{name}"


# --------------------------------------------------------------------------------------------- safe parsing


def secure_parser() -> Any:
    """A parser that never expands entities, loads a DTD or reaches the network, and keeps size limits."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_tree(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Element:
    """Parse untrusted bytes into an ``edXML`` root element, or raise :class:`EdxmlError`."""
    if len(xml) > max_bytes:
        raise EdxmlError("edxml.too_large", f"the message is {len(xml)} bytes, over the limit of {max_bytes}")
    if not xml.strip():
        raise EdxmlError("edxml.not_xml", "the body is empty")
    if _DOCTYPE_IN_PROLOG.match(xml):
        raise EdxmlError("edxml.doctype", "DOCTYPE declarations are not allowed")
    try:
        root: Element = etree.fromstring(xml, parser=secure_parser())
    except etree.XMLSyntaxError as exc:
        raise EdxmlError("edxml.not_xml", f"not well-formed XML: {exc.msg}") from None
    if root is None:
        raise EdxmlError("edxml.not_xml", "the body is not an XML document")
    docinfo = root.getroottree().docinfo
    # The parser expanded nothing, but a DOCTYPE is never legitimate in edXML: refuse rather than ignore it.
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise EdxmlError("edxml.doctype", "DOCTYPE declarations are not allowed")
    if any(True for _ in root.iter(etree.Entity)):
        raise EdxmlError("edxml.doctype", "entity references are not allowed")
    if (docinfo.encoding or "UTF-8").upper() not in ("UTF-8", "UTF8"):
        raise EdxmlError("edxml.encoding", f"the message must be UTF-8, not {docinfo.encoding}")
    if root.tag != q("edXML"):
        found = etree.QName(root)
        raise EdxmlError(
            "edxml.wrong_root",
            f"the root element must be edXML in namespace {NAMESPACE}, "
            f"not {found.localname} in namespace {found.namespace or '(none)'}",
        )
    return root


# --------------------------------------------------------------------------------------------- field tables

# (python field, element name, kind); kinds: "text", "int", "date". The order is the order we write.
_Row = tuple[str, str, str]
ORGANIZATION: tuple[_Row, ...] = (
    ("organ_id", "OrganId", "text"),
    ("organization_in_charge", "OrganizationInCharge", "text"),
    ("organ_name", "OrganName", "text"),
    ("organ_add", "OrganAdd", "text"),
    ("email", "Email", "text"),
    ("telephone", "Telephone", "text"),
    ("fax", "Fax", "text"),
    ("website", "Website", "text"),
)
CODE: tuple[_Row, ...] = (("code_number", "CodeNumber", "text"), ("code_notation", "CodeNotation", "text"))
PROMULGATION: tuple[_Row, ...] = (
    ("place", "Place", "text"),
    ("promulgation_date", "PromulgationDate", "date"),
)
DOCUMENT_TYPE: tuple[_Row, ...] = (
    ("type", "Type", "int"),
    ("type_detail", "TypeDetail", "int"),
    ("type_name", "TypeName", "text"),
)
SIGNER: tuple[_Row, ...] = (
    ("competence", "Competence", "text"),
    ("position", "Position", "text"),
    ("full_name", "FullName", "text"),
)
OTHER_INFO: tuple[_Row, ...] = (
    ("priority", "Priority", "int"),
    ("sphere_of_promulgation", "SphereOfPromulgation", "text"),
    ("typer_notation", "TyperNotation", "text"),
    ("promulgation_amount", "PromulgationAmount", "int"),
    ("page_amount", "PageAmount", "int"),
)
RESPONSE_FOR: tuple[_Row, ...] = (
    ("organ_id", "OrganId", "text"),
    ("code", "Code", "text"),
    ("promulgation_date", "PromulgationDate", "date"),
    ("document_id", "DocumentId", "text"),
)
STAFF_INFO: tuple[_Row, ...] = (
    ("department", "Department", "text"),
    ("staff", "Staff", "text"),
    ("mobile", "Mobile", "text"),
    ("email", "Email", "text"),
)
BUSINESS: tuple[_Row, ...] = (
    ("doc_type", "BussinessDocType", "int"),
    ("reason", "BussinessDocReason", "text"),
    ("paper", "Paper", "int"),
)
TRACE: tuple[_Row, ...] = (("organ_id", "OrganId", "text"),)


# --------------------------------------------------------------------------------------------- writing


def _sub(parent: Element, name: str, text: str | None = None) -> Element:
    child = etree.SubElement(parent, q(name))
    if text is not None:
        # The model already holds NFC; this also covers values slipped in by model_copy(update=...).
        child.text = unicodedata.normalize("NFC", text)
    return child


def _write_rows(parent: Element, model: BaseModel, rows: Iterable[_Row]) -> None:
    for field, element, kind in rows:
        value = getattr(model, field)
        if value is None:
            continue
        if kind == "date":
            _sub(parent, element, format_date(value))
        elif kind == "int":
            _sub(parent, element, str(int(value)))
        else:
            _sub(parent, element, str(value))


def _write_block(parent: Element, name: str, model: BaseModel, rows: Iterable[_Row]) -> Element:
    block = _sub(parent, name)
    _write_rows(block, model, rows)
    return block


def _skeleton() -> tuple[Element, Element, Element]:
    root = etree.Element(q("edXML"), nsmap={None: NAMESPACE, "xlink": XLINK_NAMESPACE})
    envelope = _sub(root, "edXMLEnvelope")
    header = _sub(envelope, "edXMLHeader")
    return root, envelope, header


def _serialize(root: Element) -> bytes:
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return XML_DECLARATION + body


def to_xml(message: EdxmlMessage | StatusMessage) -> bytes:
    """The message as an unsigned edXML document (UTF-8, with an empty ``DigitalSignature`` to fill)."""
    if isinstance(message, StatusMessage):
        return _status_to_xml(message)
    root, envelope, header = _skeleton()
    mh = _sub(header, "MessageHeader")
    _write_block(mh, "From", message.sender, ORGANIZATION)
    for recipient in message.recipients:
        _write_block(mh, "To", recipient, ORGANIZATION)
    _write_block(mh, "Code", message.code, CODE)
    _write_block(mh, "PromulgationInfo", message.promulgation, PROMULGATION)
    _write_block(mh, "DocumentType", message.document_type, DOCUMENT_TYPE)
    _sub(mh, "Subject", message.subject)
    if message.content is not None:
        _sub(mh, "Content", message.content)
    _write_block(mh, "SignerInfo", message.signer, SIGNER)
    if message.due_date is not None:
        _sub(mh, "DueDate", format_date(message.due_date))
    if message.to_places:
        places = _sub(mh, "ToPlaces")
        for place in message.to_places:
            _sub(places, "Place", place)
    other = _write_block(mh, "OtherInfo", message.other_info, OTHER_INFO)
    if message.other_info.appendixes:
        appendixes = _sub(other, "Appendixes")
        for appendix in message.other_info.appendixes:
            _sub(appendixes, "Appendix", appendix)
    for response in message.response_for:
        _write_block(mh, "ResponseFor", response, RESPONSE_FOR)
    if message.steering_type is not None:
        _sub(mh, "SteeringType", str(message.steering_type))
    _sub(mh, "DocumentId", message.document_id)

    traces = _sub(header, "TraceHeaderList")
    for trace in message.trace:
        block = _write_block(traces, "TraceHeader", trace, TRACE)
        _sub(block, "Timestamp", format_timestamp(trace.timestamp))
    business = _write_block(traces, "Bussiness", message.business, BUSINESS)
    if message.business.staff_info is not None:
        _write_block(business, "StaffInfo", message.business.staff_info, STAFF_INFO)
    _sub(header, "DigitalSignature")

    manifest = _sub(_sub(envelope, "edXMLBody"), "edXMLManifest")
    manifest.set("version", "1.0")
    for attachment in message.attachments:
        reference = _sub(manifest, "Reference")
        reference.set(f"{{{XLINK_NAMESPACE}}}href", f"cid:{attachment.content_id}")
        reference.set(f"{{{XLINK_NAMESPACE}}}type", "simple")
        _sub(reference, "ContentId", attachment.content_id)
        _sub(reference, "AttachmentName", attachment.name)
        _sub(reference, "ContentType", attachment.content_type)
    if message.attachments:
        encoded = _sub(root, "AttachmentEncoded")
        for attachment in message.attachments:
            item = _sub(encoded, "Attachment")
            _sub(item, "ContentId", attachment.content_id)
            _sub(item, "AttachmentName", attachment.name)
            _sub(item, "ContentType", attachment.content_type)
            if attachment.description is not None:
                _sub(item, "Description", attachment.description)
            _sub(item, "ContentTransferEncoded", base64.b64encode(attachment.content).decode("ascii"))
    return _serialize(root)


def _status_to_xml(message: StatusMessage) -> bytes:
    root, _envelope, header = _skeleton()
    status = _sub(header, "Status")
    _write_block(status, "ResponseFor", message.response_for, RESPONSE_FOR)
    _write_block(status, "From", message.sender, ORGANIZATION)
    _sub(status, "StatusCode", message.status_code.value)
    if message.description is not None:
        _sub(status, "Description", message.description)
    _sub(status, "Timestamp", format_timestamp(message.timestamp))
    if message.staff_info is not None:
        _write_block(status, "StaffInfo", message.staff_info, STAFF_INFO)
    _sub(header, "DigitalSignature")
    return _serialize(root)


# --------------------------------------------------------------------------------------------- reading


def _all(parent: Element, name: str) -> list[Element]:
    return list(parent.iterchildren(q(name)))


def _one(parent: Element, name: str, path: str) -> Element:
    found = _optional(parent, name, path)
    if found is None:
        raise EdxmlError("edxml.missing", f"{path}/{name} is missing")
    return found


def _optional(parent: Element, name: str, path: str) -> Element | None:
    found = _all(parent, name)
    if len(found) > 1:
        raise EdxmlError("edxml.invalid", f"{path}/{name} appears {len(found)} times")
    return found[0] if found else None


def _text_of(element: Element, path: str) -> str:
    if len(element):
        raise EdxmlError("edxml.invalid", f"{path} must hold text, not elements")
    return (element.text or "").strip()


def _text(parent: Element, name: str, path: str, *, required: bool = False) -> str | None:
    element = _optional(parent, name, path)
    value = None if element is None else _text_of(element, f"{path}/{name}")
    if required and not value:
        raise EdxmlError("edxml.missing", f"{path}/{name} is missing or empty")
    return value or None


def _convert(kind: str, value: str, where: str) -> Any:
    if kind == "date":
        try:
            return parse_date(value)
        except ValueError as exc:
            raise EdxmlError("edxml.date", f"{where}: {exc}") from None
    if kind == "int":
        if not value.isascii() or not value.isdigit():
            raise EdxmlError("edxml.invalid", f"{where}: {value!r} is not a whole number")
        return int(value)
    return value


def _read_rows(parent: Element, path: str, rows: Iterable[_Row]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field, element, kind in rows:
        value = _text(parent, element, path)
        if value is not None:
            data[field] = _convert(kind, value, f"{path}/{element}")
    return data


def _build(model: type[_M], path: str, data: dict[str, Any], rows: Sequence[_Row] = ()) -> _M:
    """Validate ``data`` as ``model``, naming XML elements (not Python fields) in the error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        names = {field: element for field, element, _kind in rows}
        problems = []
        errors = exc.errors(include_url=False)
        for error in errors:
            loc = [names.get(str(part), str(part)) for part in error["loc"]]
            where = "/".join([path, *loc]) if loc else path
            problems.append(
                f"{where} is missing" if error["type"] == "missing" else f"{where}: {error['msg']}"
            )
        missing = all(error["type"] == "missing" for error in errors)
        raise EdxmlError("edxml.missing" if missing else "edxml.invalid", "; ".join(problems)) from None


def _block(parent: Element, name: str, path: str, model: type[_M], rows: Sequence[_Row]) -> _M:
    element = _one(parent, name, path)
    return _build(model, f"{path}/{name}", _read_rows(element, f"{path}/{name}", rows), rows)


def _blocks(parent: Element, name: str, path: str, model: type[_M], rows: Sequence[_Row]) -> list[_M]:
    found = []
    for index, element in enumerate(_all(parent, name), start=1):
        where = f"{path}/{name}[{index}]"
        found.append(_build(model, where, _read_rows(element, where, rows), rows))
    return found


def _response_for(parent: Element, path: str) -> list[ResponseFor]:
    for index, element in enumerate(_all(parent, "ResponseFor"), start=1):
        document_id = _text(element, "DocumentId", f"{path}/ResponseFor[{index}]", required=True)
        _check_document_id_format(cast(str, document_id), f"{path}/ResponseFor[{index}]/DocumentId")
    return _blocks(parent, "ResponseFor", path, ResponseFor, RESPONSE_FOR)


def _check_document_id_format(value: str, where: str) -> None:
    try:
        parse_document_id(value)
    except ValueError as exc:
        raise EdxmlError("edxml.document_id", f"{where}: {exc}") from None


def _header(root: Element) -> tuple[Element, Element]:
    envelope = _one(root, "edXMLEnvelope", "edXML")
    return envelope, _one(envelope, "edXMLHeader", "edXML/edXMLEnvelope")


def parse_any(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> EdxmlMessage | StatusMessage:
    """A document or a status message, whichever the bytes hold."""
    return read_root(parse_tree(xml, max_bytes=max_bytes))


def parse(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> EdxmlMessage:
    """A document message; :class:`EdxmlError` for anything else (a status message included)."""
    message = parse_any(xml, max_bytes=max_bytes)
    if not isinstance(message, EdxmlMessage):
        raise EdxmlError("edxml.not_document", "this is a status message, not a document")
    return message


def parse_status(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusMessage:
    message = parse_any(xml, max_bytes=max_bytes)
    if not isinstance(message, StatusMessage):
        raise EdxmlError("edxml.not_status", "this is a document, not a status message")
    return message


def read_root(root: Element) -> EdxmlMessage | StatusMessage:
    """Read a message from an already (securely) parsed ``edXML`` root element."""
    _envelope, header = _header(root)
    has_message = _optional(header, "MessageHeader", "edXMLHeader") is not None
    has_status = _optional(header, "Status", "edXMLHeader") is not None
    if has_message and has_status:
        raise EdxmlError("edxml.invalid", "edXMLHeader holds both MessageHeader and Status")
    if has_status:
        return _read_status(header)
    if not has_message:
        raise EdxmlError("edxml.missing", "edXML/edXMLEnvelope/edXMLHeader/MessageHeader is missing")
    return _read_document(root)


def _read_document(root: Element) -> EdxmlMessage:
    envelope, header = _header(root)
    path = "MessageHeader"
    mh = _one(header, "MessageHeader", "edXMLHeader")
    data: dict[str, Any] = {
        "sender": _block(mh, "From", path, Organization, ORGANIZATION),
        "recipients": _blocks(mh, "To", path, Organization, ORGANIZATION),
        "code": _block(mh, "Code", path, Code, CODE),
        "promulgation": _block(mh, "PromulgationInfo", path, PromulgationInfo, PROMULGATION),
        "document_type": _block(mh, "DocumentType", path, DocumentType, DOCUMENT_TYPE),
        "subject": _text(mh, "Subject", path, required=True),
        "content": _text(mh, "Content", path),
        "signer": _block(mh, "SignerInfo", path, SignerInfo, SIGNER),
        "response_for": _response_for(mh, path),
    }
    if not data["recipients"]:
        raise EdxmlError("edxml.missing", f"{path}/To is missing: a document needs at least one recipient")
    due_date = _text(mh, "DueDate", path)
    if due_date is not None:
        data["due_date"] = _convert("date", due_date, f"{path}/DueDate")
    places = _optional(mh, "ToPlaces", path)
    if places is not None:
        data["to_places"] = [
            text for p in _all(places, "Place") if (text := _text_of(p, f"{path}/ToPlaces/Place"))
        ]
    other = _optional(mh, "OtherInfo", path)
    if other is not None:
        other_data = _read_rows(other, f"{path}/OtherInfo", OTHER_INFO)
        appendixes = _optional(other, "Appendixes", f"{path}/OtherInfo")
        if appendixes is not None:
            other_data["appendixes"] = [
                text
                for a in _all(appendixes, "Appendix")
                if (text := _text_of(a, f"{path}/OtherInfo/Appendixes/Appendix"))
            ]
        data["other_info"] = _build(OtherInfo, f"{path}/OtherInfo", other_data, OTHER_INFO)
    steering = _text(mh, "SteeringType", path)
    if steering is not None:
        data["steering_type"] = _convert("int", steering, f"{path}/SteeringType")

    document_id = cast(str, _text(mh, "DocumentId", path, required=True))
    _check_document_id_format(document_id, f"{path}/DocumentId")

    trace_list = _one(header, "TraceHeaderList", "edXMLHeader")
    data["trace"] = _read_traces(trace_list)
    business = _optional(trace_list, "Bussiness", "TraceHeaderList")
    if business is not None:
        business_data = _read_rows(business, "TraceHeaderList/Bussiness", BUSINESS)
        staff = _optional(business, "StaffInfo", "TraceHeaderList/Bussiness")
        if staff is not None:
            business_data["staff_info"] = _build(
                StaffInfo,
                "TraceHeaderList/Bussiness/StaffInfo",
                _read_rows(staff, "TraceHeaderList/Bussiness/StaffInfo", STAFF_INFO),
                STAFF_INFO,
            )
        data["business"] = _build(Business, "TraceHeaderList/Bussiness", business_data, BUSINESS)

    data["attachments"] = _read_attachments(root, envelope)
    message = _build(EdxmlMessage, path, data)
    if message.document_id != document_id:
        raise EdxmlError(
            "edxml.document_id",
            f"{path}/DocumentId {document_id!r} does not match From/OrganId, PromulgationDate and Code "
            f"(expected {message.document_id!r})",
        )
    return message


def _read_traces(trace_list: Element) -> list[TraceHeader]:
    traces = []
    for index, element in enumerate(_all(trace_list, "TraceHeader"), start=1):
        where = f"TraceHeaderList/TraceHeader[{index}]"
        data = _read_rows(element, where, TRACE)
        stamp = cast(str, _text(element, "Timestamp", where, required=True))
        try:
            data["timestamp"] = parse_timestamp(stamp)
        except ValueError as exc:
            raise EdxmlError("edxml.date", f"{where}/Timestamp: {exc}") from None
        traces.append(_build(TraceHeader, where, data, TRACE))
    if not traces:
        raise EdxmlError("edxml.missing", "TraceHeaderList/TraceHeader is missing")
    return traces


def _bare_cid(value: str) -> str:
    return value[4:] if value.lower().startswith("cid:") else value


def _read_attachments(root: Element, envelope: Element) -> list[Attachment]:
    references: dict[str, dict[str, str | None]] = {}
    body = _optional(envelope, "edXMLBody", "edXMLEnvelope")
    manifest = None if body is None else _optional(body, "edXMLManifest", "edXMLBody")
    if manifest is not None:
        for index, reference in enumerate(_all(manifest, "Reference"), start=1):
            where = f"edXMLManifest/Reference[{index}]"
            href = reference.get(f"{{{XLINK_NAMESPACE}}}href")
            cid = _text(reference, "ContentId", where) or href
            if not cid:
                raise EdxmlError("edxml.missing", f"{where} has neither ContentId nor xlink:href")
            if _bare_cid(cid) in references:
                raise EdxmlError("edxml.attachment", f"{where}: ContentId {cid!r} is referenced twice")
            references[_bare_cid(cid)] = {
                "name": _text(reference, "AttachmentName", where),
                "content_type": _text(reference, "ContentType", where),
            }

    attachments: list[Attachment] = []
    encoded = _optional(root, "AttachmentEncoded", "edXML")
    items = [] if encoded is None else _all(encoded, "Attachment")
    for index, item in enumerate(items, start=1):
        where = f"AttachmentEncoded/Attachment[{index}]"
        cid = _bare_cid(cast(str, _text(item, "ContentId", where, required=True)))
        reference = references.pop(cid, None)
        if reference is None:
            raise EdxmlError("edxml.attachment", f"{where}: ContentId {cid!r} is not listed in edXMLManifest")
        data: dict[str, Any] = {
            "content_id": cid,
            "name": _text(item, "AttachmentName", where, required=True),
            "content_type": _text(item, "ContentType", where, required=True),
            "description": _text(item, "Description", where),
            "content": _decode_base64(item, where),
        }
        for field in ("name", "content_type"):
            if reference[field] is not None and reference[field] != data[field]:
                raise EdxmlError(
                    "edxml.attachment", f"{where}: {field} {data[field]!r} differs from the manifest's"
                )
        attachments.append(_build(Attachment, where, data))
    if references:
        missing = ", ".join(sorted(references))
        raise EdxmlError(
            "edxml.attachment", f"edXMLManifest references attachments that are absent: {missing}"
        )
    return attachments


def _decode_base64(item: Element, where: str) -> bytes:
    element = _one(item, "ContentTransferEncoded", where)
    text = "".join(_text_of(element, f"{where}/ContentTransferEncoded").split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EdxmlError("edxml.base64", f"{where}/ContentTransferEncoded is not valid base64") from None


def _read_status(header: Element) -> StatusMessage:
    path = "Status"
    status = _one(header, "Status", "edXMLHeader")
    responses = _response_for(status, path)
    if len(responses) != 1:
        raise EdxmlError("edxml.missing", f"{path}/ResponseFor must appear exactly once")
    stamp = cast(str, _text(status, "Timestamp", path, required=True))
    try:
        timestamp = parse_timestamp(stamp)
    except ValueError as exc:
        raise EdxmlError("edxml.date", f"{path}/Timestamp: {exc}") from None
    data: dict[str, Any] = {
        "response_for": responses[0],
        "sender": _block(status, "From", path, Organization, ORGANIZATION),
        "status_code": _text(status, "StatusCode", path, required=True),
        "description": _text(status, "Description", path),
        "timestamp": timestamp,
    }
    staff = _optional(status, "StaffInfo", path)
    if staff is not None:
        data["staff_info"] = _build(
            StaffInfo, f"{path}/StaffInfo", _read_rows(staff, f"{path}/StaffInfo", STAFF_INFO), STAFF_INFO
        )
    rows: tuple[_Row, ...] = (("status_code", "StatusCode", "text"), ("description", "Description", "text"))
    return _build(StatusMessage, path, data, rows)

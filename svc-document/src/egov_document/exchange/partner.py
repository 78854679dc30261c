"""A fake neighbouring province: a document system that speaks our edXML HTTP binding byte for byte.

It is an ASGI app (``partner.app``) serving ``POST /api/v1/exchange/edxml``: the caller must present a
bearer token (the configured one, or any when none is configured; either way it is recorded) and the body
must be an edXML message signed by someone the partner trusts and addressed to it. A good message is
answered ``202 {"document_id": <edXML DocumentId>}`` and recorded in ``received``; a bad one gets a problem
(``application/problem+json``: 401 no token, 413 too large, 415 not XML, 422 malformed, unsigned, altered,
untrusted or misaddressed, with the ``edxml.*`` code saying which) and nothing is recorded. Delivering the
same document again (same DocumentId and BussinessDocType) is answered 202 and recorded once.

It also talks back: :meth:`FakePartner.send_status` reports a processing status on a document it received,
:meth:`FakePartner.send_document` sends a document of its own, both signed, to a configured peer (our
service's ``/api/v1/exchange/edxml``, reached by URL or by an ASGI transport).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from cryptography import x509
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from egov_document.exchange.client import EDXML_CONTENT_TYPE, EDXML_PATH, post_edxml
from egov_document.exchange.devpki import Credentials
from egov_document.exchange.edxml import DEFAULT_MAX_BYTES, EdxmlError, to_xml
from egov_document.exchange.model import (
    EdxmlMessage,
    Organization,
    ResponseFor,
    StaffInfo,
    StatusMessage,
    vn_now,
)
from egov_document.exchange.status import StatusCode, label, requires_reason
from egov_document.exchange.xmlsig import Trust, sign, verify
from egov_shared.problems import PROBLEM_CONTENT_TYPE, problem_body


@dataclass(frozen=True)
class Received:
    """One accepted message, as the partner got it."""

    message: EdxmlMessage | StatusMessage
    xml: bytes
    token: str
    signer: x509.Certificate
    received_at: datetime


@dataclass
class FakePartner:
    """A partner province's document system. ``organ`` is who it is, ``signing`` how it signs.

    ``trust`` decides whose signatures it accepts; ``token`` is the bearer token callers must present
    (``None``: any). ``peer`` is where it sends (a base URL or a transport), with ``peer_token``.
    """

    organ: Organization
    signing: Credentials
    trust: Trust
    token: str | None = None
    peer: str | httpx.AsyncBaseTransport = "http://127.0.0.1:8005"
    peer_base_url: str = "http://egov.invalid"
    peer_token: str = "partner-client-token"
    max_bytes: int = DEFAULT_MAX_BYTES
    received: list[Received] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)  # the problems it answered, for tests to read
    tokens_seen: list[str] = field(default_factory=list)
    sent: list[tuple[bytes, int, Any]] = field(default_factory=list)  # (xml, status, body) of each send
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route(EDXML_PATH, self._receive, methods=["POST"])])

    # ------------------------------------------------------------------------------------------ inbound

    @property
    def documents(self) -> list[EdxmlMessage]:
        return [r.message for r in self.received if isinstance(r.message, EdxmlMessage)]

    @property
    def statuses(self) -> list[StatusMessage]:
        return [r.message for r in self.received if isinstance(r.message, StatusMessage)]

    def _problem(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> Response:
        body = problem_body(status, code=code, detail=detail, instance=EDXML_PATH)
        self.refused.append(body)
        return JSONResponse(body, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers)

    async def _receive(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self._problem(
                401, "auth.unauthenticated", "a bearer token is required", {"WWW-Authenticate": "Bearer"}
            )
        self.tokens_seen.append(token)
        if self.token is not None and not hmac.compare_digest(token.encode(), self.token.encode()):
            return self._problem(
                401,
                "auth.invalid_token",
                "the bearer token is not valid",
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != EDXML_CONTENT_TYPE:
            return self._problem(
                415, "request.unsupported_media_type", f"send the edXML message as {EDXML_CONTENT_TYPE}"
            )
        body = await self._read_body(request)
        if body is None:
            return self._problem(413, "edxml.too_large", f"the message is over {self.max_bytes} bytes")
        try:
            verified = verify(body, self.trust, max_bytes=self.max_bytes)
        except EdxmlError as exc:
            return self._problem(413 if exc.code == "edxml.too_large" else 422, exc.code, exc.reason)

        message = verified.message
        addressee = (
            [r.organ_id for r in message.recipients]
            if isinstance(message, EdxmlMessage)
            else [message.response_for.organ_id]
        )
        if self.organ.organ_id not in addressee:
            return self._problem(
                422, "edxml.not_addressed", f"this message is not addressed to {self.organ.organ_id}"
            )
        if not self._is_repeat(message):
            self.received.append(
                Received(message=message, xml=body, token=token, signer=verified.signer, received_at=vn_now())
            )
        return JSONResponse({"document_id": message.document_id}, status_code=202)

    async def _read_body(self, request: Request) -> bytes | None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _is_repeat(self, message: EdxmlMessage | StatusMessage) -> bool:
        if not isinstance(message, EdxmlMessage):
            return False
        return any(
            r.message.document_id == message.document_id
            and r.message.business.doc_type == message.business.doc_type
            for r in self.received
            if isinstance(r.message, EdxmlMessage)
        )

    # ------------------------------------------------------------------------------------------ outbound

    async def send_status(
        self,
        document_id: str,
        code: StatusCode | str,
        description: str | None = None,
        *,
        staff: StaffInfo | None = None,
    ) -> tuple[int, Any]:
        """Report ``code`` on the document ``document_id`` to the peer; ``(status, body)`` of its answer."""
        status_code = StatusCode(code)
        if description is None and not requires_reason(status_code):
            description = label(status_code)
        message = StatusMessage(
            response_for=ResponseFor.from_document_id(document_id),
            sender=self.organ,
            status_code=status_code,
            description=description,
            timestamp=vn_now(),
            staff_info=staff,
        )
        return await self._send(to_xml(message))

    async def send_document(self, message: EdxmlMessage) -> tuple[int, Any]:
        """Sign and send a document of this province's own to the peer."""
        if message.sender.organ_id != self.organ.organ_id:
            raise ValueError(f"the document's sender is {message.sender.organ_id}, not {self.organ.organ_id}")
        return await self._send(to_xml(message))

    async def send_raw(self, xml: bytes, *, token: str | None = None) -> tuple[int, Any]:
        """Send bytes exactly as given (to probe the peer with broken or unsigned messages)."""
        status, body = await post_edxml(self.peer, xml, token or self.peer_token, base_url=self.peer_base_url)
        self.sent.append((xml, status, body))
        return status, body

    async def _send(self, unsigned: bytes) -> tuple[int, Any]:
        signed = sign(unsigned, self.signing.key, self.signing.cert, chain=self.signing.chain)
        return await self.send_raw(signed)

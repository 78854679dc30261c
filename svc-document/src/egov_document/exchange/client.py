"""Deliver an edXML message over our HTTP binding: ``POST {base}/api/v1/exchange/edxml``.

The body is the signed edXML document as is (``Content-Type: application/xml``), the caller is
authenticated by a bearer token (OAuth client credentials, scope ``documents.exchange``). The receiver
answers ``202 {"document_id": ...}`` or an RFC 9457 problem. Documents and status messages travel the same
way. Retrying (on a transport error or a 5xx) is the caller's decision, so it can record every attempt.
"""

from __future__ import annotations

from typing import Any

import httpx

EDXML_PATH = "/api/v1/exchange/edxml"
EDXML_CONTENT_TYPE = "application/xml"


async def post_edxml(
    target: str | httpx.AsyncBaseTransport | httpx.AsyncClient,
    xml: bytes,
    token: str,
    *,
    base_url: str = "http://partner.invalid",
    timeout: float = 30.0,
    request_id: str | None = None,
) -> tuple[int, Any]:
    """Send ``xml`` and return ``(status, body)``: the JSON body (a dict) when there is one, else the text.

    ``target`` is the receiver's base URL, a transport (``httpx.ASGITransport`` in tests; then ``base_url``
    names the host), or a client the caller owns and keeps open. Transport errors (``httpx.TransportError``)
    propagate.
    """
    headers = {
        "Content-Type": EDXML_CONTENT_TYPE,
        "Accept": "application/json, application/problem+json",
        "Authorization": f"Bearer {token}",
    }
    if request_id:
        headers["X-Request-ID"] = request_id
    if isinstance(target, httpx.AsyncClient):
        response = await target.post(EDXML_PATH, content=xml, headers=headers, timeout=timeout)
    elif isinstance(target, str):
        async with httpx.AsyncClient(base_url=target, timeout=timeout) as client:
            response = await client.post(EDXML_PATH, content=xml, headers=headers)
    else:
        # Not closed: closing the client would close the caller's transport, which it may reuse.
        client = httpx.AsyncClient(transport=target, base_url=base_url, timeout=timeout)
        response = await client.post(EDXML_PATH, content=xml, headers=headers)
    return response.status_code, _body(response)


def _body(response: httpx.Response) -> Any:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text

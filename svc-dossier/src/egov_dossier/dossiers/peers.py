"""What svc-dossier asks other services, with the caller's own token: who the applicant is, or which account a
counter applicant has (svc-identity), whether the files are theirs (svc-document), and to sign a result as the
agency, or withdraw that signed copy when the approval then fails (svc-document).

The caller's token carries their authority; the other service decides what it allows. Nothing here writes to
svc-dossier's database: callers ask first, then change the dossier in one unit of work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from egov_shared.peers import PeerClient
from egov_shared.problems import Forbidden, ServiceUnavailable, Unauthorized, Unprocessable

log = logging.getLogger(__name__)

# Userinfo claims kept on the dossier (what the procedure needs to identify and contact the applicant).
APPLICANT_CLAIMS = ("name", "id_number", "birthdate", "gender", "phone_number", "email")


async def applicant_details(peers: PeerClient, token: str) -> dict[str, Any]:
    """The calling citizen's details from svc-identity's userinfo (the access token carries none)."""
    response = await peers.request("GET", "/oauth2/userinfo", token=token)
    if response.status_code in (401, 403):
        # The identity provider no longer accepts the token (revoked, logged out): the caller logs in again.
        raise Unauthorized(
            "Phiên đăng nhập không còn hiệu lực; xin đăng nhập lại.",
            code="dossier.applicant_token_refused",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    claims = _json(response) if response.status_code == 200 else None
    if not isinstance(claims, dict):
        raise ServiceUnavailable(
            "Không lấy được thông tin người nộp từ hệ thống định danh; xin thử lại sau.",
            code="dossier.applicant_unavailable",
        )
    return {name: claims[name] for name in APPLICANT_CLAIMS if claims.get(name) is not None}


async def verified_citizen_account(peers: PeerClient, token: str, id_number: str) -> str | None:
    """The account at svc-identity of the person with this ID number, if svc-identity verified it in person
    (assurance level 2): anyone can self-register at level 1 with someone else's ID number, so only a verified
    account proves the number is theirs. Asked with the clerk's token; svc-identity records the look-up."""
    response = await peers.request(
        "POST", "/api/v1/identity/citizens/search", token=token, json={"id_number": id_number}
    )
    if response.status_code == 404:
        return None
    body = _json(response) if response.status_code == 200 else None
    if response.status_code in (401, 403):
        raise Forbidden(
            "Hệ thống định danh không cho cán bộ này tra cứu công dân.", code="dossier.citizen_lookup_refused"
        )
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise ServiceUnavailable(
            "Không tra cứu được tài khoản của người nộp ở hệ thống định danh; xin thử lại sau.",
            code="dossier.applicant_unavailable",
        )
    level = body.get("assurance_level")
    return str(body["id"]) if isinstance(level, int) and level >= 2 else None


async def check_files(peers: PeerClient, token: str, file_ids: Sequence[uuid.UUID]) -> None:
    """422 listing the files that do not exist or do not belong to the caller."""
    if not file_ids:
        return
    response = await peers.request(
        "POST", "/api/v1/files/check", token=token, json={"file_ids": [str(i) for i in file_ids]}
    )
    body = _json(response) if response.status_code == 200 else None
    if not isinstance(body, dict):
        raise ServiceUnavailable("Không kiểm tra được tệp đính kèm.", code="dossier.files_unavailable")
    missing = body.get("missing", [])
    if missing:
        raise Unprocessable(
            "Có tệp không tồn tại hoặc không thuộc về người nộp.",
            code="dossier.unknown_files",
            errors=[
                {"field": "file_ids", "message": f"Không tìm thấy tệp {file_id}."} for file_id in missing
            ],
        )


def _json(response: httpx.Response) -> Any:
    """The peer's JSON body, or None when it sent something else."""
    try:
        return response.json()
    except ValueError:
        return None


async def sign_result(
    peers: PeerClient, token: str, *, file_id: uuid.UUID, agency_code: str, dossier_code: str
) -> uuid.UUID:
    """Sign the result document as the agency (PAdES) with the approving leader's authority; the signed copy's id."""
    response = await peers.request(
        "POST",
        "/api/v1/signatures",
        token=token,
        json={
            "file_id": str(file_id),
            "agency_code": agency_code,
            "reason": f"Kết quả giải quyết hồ sơ {dossier_code}",
            "reference": f"dossier:{dossier_code}",
            "with_official_signature": False,
        },
    )
    body = _json(response)
    if response.status_code == 201 and isinstance(body, dict) and "signed_file_id" in body:
        return uuid.UUID(str(body["signed_file_id"]))
    if response.status_code < 400:
        raise ServiceUnavailable(
            "Dịch vụ ký số trả lời không như mong đợi.", code="dossier.signing_unavailable"
        )
    detail = (body.get("detail") if isinstance(body, dict) else None) or "Không ký được văn bản kết quả."
    if response.status_code in (401, 403):
        raise Forbidden(f"Không ký được văn bản kết quả: {detail}", code="dossier.result_signing_refused")
    raise Unprocessable(
        f"Không ký được văn bản kết quả: {detail}",
        code="dossier.result_signing_failed",
        errors=[{"field": "result_file_id", "message": str(detail)}],
    )


async def withdraw_signed_result(peers: PeerClient, token: str, signed_file_id: uuid.UUID) -> None:
    """Best effort: withdraw a signed result whose approval failed, so no sealed result of an unapproved dossier
    survives. Never raises (the caller is already handling the approval's failure); a failure is logged."""
    try:
        response = await peers.request("DELETE", f"/api/v1/signatures/{signed_file_id}", token=token)
    except Exception:
        log.warning(
            "signed result not withdrawn", extra={"signed_file_id": str(signed_file_id)}, exc_info=True
        )
        return
    if response.status_code != 204:
        log.warning(
            "signed result not withdrawn",
            extra={"signed_file_id": str(signed_file_id), "status": response.status_code},
        )

"""The file store through HTTP and events, on both backends: upload, dedup, types, limits, access, links."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest
from document_harness import (
    COMMUNE,
    EICAR,
    JUSTICE,
    PNG,
    PROVINCE,
    WARD,
    DocumentService,
    FakeClamd,
    document_service,
    now,
    pdf_bytes,
    seed_agencies,
)
from PIL import Image
from sqlalchemy import func, select

from egov_document.files.models import Blob
from egov_shared.contracts.dossier import DossierSubmitted
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.waiting import eventually


async def test_a_citizen_uploads_and_downloads_a_file(documents: DocumentService) -> None:
    token = documents.issuer.citizen("citizen-a")
    content = pdf_bytes("to khai")
    response = await documents.upload(token, content, filename="Tờ khai đăng ký khai sinh.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["content_type"] == "application/pdf"
    assert body["filename"] == "Tờ khai đăng ký khai sinh.pdf"

    meta = await documents.client.get(f"/api/v1/files/{body['id']}", headers=documents.auth(token))
    assert meta.json()["size"] == len(content)
    download = await documents.client.get(
        f"/api/v1/files/{body['id']}/content", headers=documents.auth(token)
    )
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''T%E1%BB%9D" in download.headers["content-disposition"]


async def test_identical_content_is_stored_once(documents: DocumentService) -> None:
    content = pdf_bytes("trung lap")
    first = await documents.upload(documents.issuer.citizen("a"), content)
    second = await documents.upload(documents.issuer.citizen("b"), content, filename="ban-sao.pdf")
    assert first.json()["id"] != second.json()["id"]
    async with documents.runtime.sessionmaker() as session:
        blobs = await session.scalar(select(func.count()).select_from(Blob))
    assert blobs == 1


async def test_the_type_is_judged_from_the_bytes(documents: DocumentService) -> None:
    token = documents.issuer.citizen()
    disguised = await documents.upload(token, b"#!/bin/sh\nrm -rf /\n", filename="giay-to.pdf")
    assert disguised.status_code == 415
    assert disguised.json()["code"] == "file.type_not_allowed"
    image = await documents.upload(token, PNG, filename="anh.txt", content_type="text/plain")
    assert image.status_code == 201
    assert image.json()["content_type"] == "image/png"
    not_multipart = await documents.client.post(
        "/api/v1/files",
        content=pdf_bytes(),
        headers={**documents.auth(token), "content-type": "application/pdf"},
    )
    assert not_multipart.status_code == 415


async def test_a_malformed_multipart_body_is_400(documents: DocumentService) -> None:
    # Found by the API fuzzer: a part with no headers made the parser raise, and the upload answered 500.
    broken = await documents.client.post(
        "/api/v1/files",
        content=b"--b0undary\r\nNone--b0undary--\r\n",
        headers={
            **documents.auth(documents.issuer.citizen()),
            "content-type": "multipart/form-data; boundary=b0undary",
        },
    )
    assert broken.status_code == 400
    assert broken.json()["code"] == "file.invalid_multipart"


def jpeg_with_gps_exif() -> bytes:
    """A photo as a phone writes it: GPS position, camera model, and an orientation tag (rotate 90°)."""
    image = Image.new("RGB", (40, 20), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, 20, 20))  # left half blue, so the rotation is visible
    exif = Image.Exif()
    exif[0x0110] = "Pixel 9 Pro"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x8825] = {1: "N", 2: (21.0, 2.0, 42.0), 3: "E", 4: (105.0, 58.0, 34.5)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)
    return buffer.getvalue()


async def test_photos_lose_their_exif_but_keep_pixels_and_orientation(documents: DocumentService) -> None:
    token = documents.issuer.citizen()
    original = jpeg_with_gps_exif()
    with Image.open(io.BytesIO(original)) as sent:
        assert sent.getexif().get_ifd(0x8825)  # the test photo really carries a position
    uploaded = await documents.upload(token, original, filename="o-ga.jpg", content_type="image/jpeg")
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    download = await documents.client.get(
        f"/api/v1/files/{body['id']}/content", headers=documents.auth(token)
    )
    stored = download.content
    assert body["sha256"] == hashlib.sha256(stored).hexdigest()
    assert body["size"] == len(stored)
    assert b"Exif" not in stored
    assert b"Pixel 9 Pro" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert kept.format == "JPEG"
        assert len(kept.getexif()) == 0
        assert kept.size == (20, 40)  # the orientation was applied to the pixels
        top = kept.convert("RGB").getpixel((10, 5))
        assert isinstance(top, tuple)
        assert (top[0] < 100, top[2] > 150) == (True, True)  # the blue half is now on top

    # An image without metadata is stored byte for byte.
    plain = await documents.upload(token, PNG, filename="anh.png", content_type="image/png")
    assert plain.json()["sha256"] == hashlib.sha256(PNG).hexdigest()
    # Bytes that look like a JPEG but are not one are refused, not stored unchecked.
    broken = await documents.upload(token, original[:40], filename="hong.jpg", content_type="image/jpeg")
    assert broken.status_code == 422
    assert broken.json()["code"] == "file.invalid_image"


async def test_an_oversize_file_is_413(database_url: str, bus_config: BusConfig) -> None:
    async with document_service(database_url, bus_config, max_upload_bytes=10_000) as documents:
        token = documents.issuer.citizen()
        big = pdf_bytes() + b"0" * 20_000
        response = await documents.upload(token, big)
        assert response.status_code == 413
        assert response.json()["code"] == "file.too_large"

        async def chunked() -> object:
            boundary = "b0undary"
            yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n\r\n'.encode()
            for _ in range(5):
                yield b"0" * 5_000
            yield f"\r\n--{boundary}--\r\n".encode()

        streamed = await documents.client.post(
            "/api/v1/files",
            content=chunked(),  # type: ignore[arg-type]
            headers={**documents.auth(token), "content-type": "multipart/form-data; boundary=b0undary"},
        )
        assert streamed.status_code == 413
        assert list((documents.app.state.documents.upload_dir).iterdir()) == []  # nothing left behind


async def test_anonymous_and_other_people_get_401_and_404(documents: DocumentService) -> None:
    owner = documents.issuer.citizen("owner")
    file_id = (await documents.upload(owner, pdf_bytes())).json()["id"]
    anonymous = await documents.client.get(f"/api/v1/files/{file_id}")
    assert anonymous.status_code == 401
    for stranger in (documents.issuer.citizen("someone-else"), documents.issuer.official(agency=PROVINCE)):
        response = await documents.client.get(
            f"/api/v1/files/{file_id}/content", headers=documents.auth(stranger)
        )
        assert response.status_code == 404
    unknown = await documents.client.get(f"/api/v1/files/{uuid.uuid4()}", headers=documents.auth(owner))
    assert unknown.status_code == 404


async def test_an_agency_reads_a_dossier_component_only_after_the_dossier_event(
    documents: DocumentService,
) -> None:
    await seed_agencies(documents)
    owner = documents.issuer.citizen("applicant-1")
    file_id = uuid.UUID((await documents.upload(owner, pdf_bytes("ban sao CCCD"))).json()["id"])
    justice = documents.issuer.official("o-justice", agency=JUSTICE, roles=["processor"])
    province = documents.issuer.official("o-province", agency=PROVINCE, roles=["processor"])
    commune = documents.issuer.official("o-commune", agency=COMMUNE, roles=["processor"])
    url = f"/api/v1/files/{file_id}/content"
    assert (await documents.client.get(url, headers=documents.auth(justice))).status_code == 404

    await documents.deliver(
        DossierSubmitted(
            dossier_id=uuid.uuid4(),
            code=f"{JUSTICE}-261122-0001",
            procedure_code="1.001193.000.00.00.H27",
            agency_code=JUSTICE,
            applicant_id="applicant-1",
            channel=2,
            file_ids=[file_id, uuid.uuid4()],
            submitted_at=now(),
        )
    )

    async def justice_reads() -> bool:
        return (await documents.client.get(url, headers=documents.auth(justice))).status_code == 200

    await eventually(justice_reads, what="the grant from dossier.submitted")
    assert (await documents.client.get(url, headers=documents.auth(province))).status_code == 200  # above it
    assert (await documents.client.get(url, headers=documents.auth(commune))).status_code == 404  # a sibling
    ward = documents.issuer.official("o-ward", agency=WARD)
    assert (await documents.client.get(url, headers=documents.auth(ward))).status_code == 404


async def test_signed_urls_work_without_a_token_until_they_expire(documents: DocumentService) -> None:
    owner = documents.issuer.citizen()
    content = pdf_bytes("ket qua")
    file_id = (await documents.upload(owner, content)).json()["id"]
    link = await documents.client.post(f"/api/v1/files/{file_id}/signed-url", headers=documents.auth(owner))
    url = link.json()["url"]
    fetched = await documents.client.get(url)
    assert fetched.status_code == 200
    assert fetched.content == content
    tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert (await documents.client.get(tampered)).status_code == 404
    expired = url.replace("expires=", "expires=1").split("&signature")[0] + "&signature=" + "0" * 64
    assert (await documents.client.get(expired)).status_code == 404


async def test_other_services_check_ownership_with_the_callers_token(documents: DocumentService) -> None:
    owner = documents.issuer.citizen("owner-2")
    mine = (await documents.upload(owner, pdf_bytes("mine"))).json()["id"]
    theirs = (await documents.upload(documents.issuer.citizen("other"), pdf_bytes("theirs"))).json()["id"]
    ghost = str(uuid.uuid4())
    result = await documents.client.post(
        "/api/v1/files/check", json={"file_ids": [mine, theirs, ghost]}, headers=documents.auth(owner)
    )
    assert result.status_code == 200
    assert [f["id"] for f in result.json()["owned"]] == [mine]
    assert sorted(result.json()["missing"]) == sorted([theirs, ghost])


@pytest.mark.parametrize("infected", [False, True])
async def test_the_scanner_refuses_an_infected_file(
    database_url: str, bus_config: BusConfig, infected: bool
) -> None:
    clamd = FakeClamd()
    port = await clamd.start()
    try:
        async with document_service(
            database_url, bus_config, clamd_host="127.0.0.1", clamd_port=port
        ) as documents:
            content = pdf_bytes() + (EICAR if infected else b"clean")
            response = await documents.upload(documents.issuer.citizen(), content)
            assert clamd.scanned == 1
            if infected:
                assert response.status_code == 422
                assert response.json()["scanner_verdict"] == "Eicar-Test-Signature"
                async with documents.runtime.sessionmaker() as session:
                    assert await session.scalar(select(func.count()).select_from(Blob)) == 0
            else:
                assert response.status_code == 201
    finally:
        await clamd.stop()


async def test_a_down_scanner_refuses_rather_than_lets_through(
    database_url: str, bus_config: BusConfig
) -> None:
    from egov_shared.testing.servers import free_port

    async with document_service(
        database_url, bus_config, clamd_host="127.0.0.1", clamd_port=free_port()
    ) as documents:
        response = await documents.upload(documents.issuer.citizen(), pdf_bytes())
        assert response.status_code == 503

"""svc-feedback with svc-identity and svc-document behind the gateway: real files (EXIF stripped), the agency
tree replicated from identity, file access granted to the handling agency, and the demo data."""

from __future__ import annotations

import io

from feedback_harness import pothole
from PIL import Image

from egov_gateway.province import province
from egov_shared.agencies import acts_for
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.waiting import eventually


def photo_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (120, 90, 60))
    exif = Image.Exif()
    exif[0x0110] = "Galaxy S25"
    exif[0x8825] = {1: "N", 2: (21.0, 2.0, 42.0), 3: "E", 4: (105.0, 58.0, 34.5)}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


async def test_a_citizen_reports_with_a_photo_and_the_agency_handles_it(
    backend: str, bus_config: BusConfig
) -> None:
    async with province(backend, bus_config, ("identity", "document", "feedback")) as p:
        citizen = p.auth(await p.citizen_token("001099012345"))
        uploaded = await p.client.post(
            "/api/v1/files", files={"file": ("o-ga.jpg", photo_with_gps(), "image/jpeg")}, headers=citizen
        )
        assert uploaded.status_code == 201, uploaded.text
        file_id = uploaded.json()["id"]
        stored = await p.client.get(f"/api/v1/files/{file_id}/content", headers=citizen)
        with Image.open(io.BytesIO(stored.content)) as kept:
            assert len(kept.getexif()) == 0
        assert b"Galaxy S25" not in stored.content

        body = pothole(attributes={"KICH_THUOC": "lon"}, file_ids=[file_id])
        created = await p.client.post("/api/v1/feedback/reports", json=body, headers=citizen)
        assert created.status_code == 201, created.text
        report = created.json()["report"]
        assert report["file_ids"] == [file_id]
        assert report["agency_code"] == "000.10.00.H27"
        assert report["agency_name"].startswith("Ủy ban nhân dân")  # the name replicated from svc-identity

        # Someone else's file, or one that does not exist, is refused.
        other = p.auth(await p.citizen_token("079203001234"))
        stolen = await p.client.post("/api/v1/feedback/reports", json=body, headers=other)
        assert stolen.status_code == 422
        assert stolen.json()["code"] == "feedback.files_not_found"

        # The demo specialist (province, feedback_handler) acts on the commune's report: the tree came from identity.
        async def tree_replicated() -> bool:
            async with p.runtime("feedback").new_uow() as uow:
                return await acts_for(uow.session, "000.00.00.H27", "000.10.00.H27")

        # svc-identity publishes the tree as it starts; the province must be known above the commune.
        await eventually(tree_replicated, what="the agency tree in svc-feedback")
        specialist = p.auth(await p.official_token("chuyenvien.h27"))
        accepted = await p.client.post(
            f"/api/v1/feedback/reports/{report['id']}/accept",
            json={},
            headers={**specialist, "If-Match": f'"{report["version"]}"'},
        )
        assert accepted.status_code == 200, accepted.text
        clerk = p.auth(await p.official_token("motcua.h27"))  # no feedback role
        refused = await p.client.post(
            f"/api/v1/feedback/reports/{report['id']}/resolve",
            json={"note": "Xong."},
            headers={**clerk, "If-Match": f'"{accepted.json()["version"]}"'},
        )
        assert refused.status_code == 403

        # feedback.submitted lets the commune's officials read the photo.
        commune_official = p.auth(
            p.issuer.official("xa-1", agency="000.10.00.H27", roles=["feedback_handler"])
        )

        async def readable() -> bool:
            response = await p.client.get(f"/api/v1/files/{file_id}", headers=commune_official)
            return response.status_code == 200

        await eventually(readable, what="svc-document granting the report's photo to the commune")

        # Demo data: the partner key works and the public feed has answered reports.
        feed = await p.client.get("/api/v1/feedback/public/reports")
        assert len(feed.json()["items"]) >= 4
        partner = await p.client.post(
            "/open311/v2/requests.json",
            data={
                "api_key": "demo-open311-key",
                "service_code": "MT01",
                "lat": "21.045",
                "long": "105.97625",
            },
        )
        assert partner.status_code == 200, partner.text

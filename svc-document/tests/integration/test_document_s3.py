"""The S3 backend against moto's S3 server (so it works with MinIO or a cloud store)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
from document_harness import document_service, pdf_bytes
from moto.server import ThreadedMotoServer

from egov_document.files.storage import S3Storage
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.servers import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def test_files_round_trip_through_s3(
    s3_endpoint: str, database_url: str, bus_config: BusConfig
) -> None:
    settings = {
        "storage": "s3",
        "s3_endpoint_url": s3_endpoint,
        "s3_bucket": f"egov-test-{os.urandom(4).hex()}",
        "s3_access_key_id": "test",
        "s3_secret_access_key": "test",
    }
    async with document_service(database_url, bus_config, **settings) as documents:
        token = documents.issuer.citizen()
        # Large enough for a multipart upload to S3 (over 8 MiB), small enough to stay quick.
        content = pdf_bytes() + os.urandom(9 * 1024 * 1024)
        created = await documents.upload(token, content)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["sha256"] == hashlib.sha256(content).hexdigest()
        storage = documents.app.state.documents.storage
        assert isinstance(storage, S3Storage)
        assert await storage.exists(body["sha256"])
        download = await documents.client.get(
            f"/api/v1/files/{body['id']}/content", headers=documents.auth(token)
        )
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == body["sha256"]
        ready = await documents.client.get("/readyz")
        assert ready.status_code == 200

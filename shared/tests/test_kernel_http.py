"""Problem details, Idempotency-Key and ETag/If-Match through a real service app (DESIGN §5)."""

from __future__ import annotations

import asyncio
import datetime as dt

from notes_service.app import Note
from notes_service.harness import Notes
from sqlalchemy import func, insert, select

from egov_shared import tables
from egov_shared.db import utcnow
from egov_shared.testing.backends import POSTGRES


async def test_problem_responses_for_404_405_422_and_500(notes: Notes) -> None:
    missing = await notes.client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "resource.not_found"

    wrong_method = await notes.client.delete("/api/v1/notes")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405

    invalid = await notes.client.post("/api/v1/notes", json={"text": ""})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["code"] == "request.validation_failed"
    assert [e["field"] for e in body["errors"]] == ["text"]

    not_json = await notes.client.post(
        "/api/v1/notes", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422

    broken = await notes.client.get("/api/v1/notes/boom/500")
    assert broken.status_code == 500
    assert broken.headers["content-type"] == "application/problem+json"
    assert "secret" not in broken.text
    assert "Traceback" not in broken.text
    assert broken.json()["code"] == "server.error"


async def test_text_the_database_refuses_is_a_422(notes: Notes, backend: str) -> None:
    # Found by the API fuzzer: PostgreSQL refuses a NUL character in text (SQLite stores it). Bad input, not a 500.
    response = await notes.client.post("/api/v1/notes", json={"text": "a\u0000b"})
    if backend == POSTGRES:
        assert response.status_code == 422
        assert response.json()["code"] == "request.invalid_data"
    else:
        assert response.status_code == 201


async def test_every_response_carries_the_request_id(notes: Notes) -> None:
    given = await notes.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    minted = await notes.client.get("/api/v1/nothing-here")
    assert len(minted.headers["x-request-id"]) == 32
    hostile = await notes.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


async def test_idempotency_key_replays_the_first_response(notes: Notes) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = await notes.client.post("/api/v1/notes", json={"text": "một"}, headers=headers)
    again = await notes.client.post("/api/v1/notes", json={"text": "một"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert await _note_count(notes) == 1

    other_body = await notes.client.post("/api/v1/notes", json={"text": "hai"}, headers=headers)
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency.key_reused"
    assert await _note_count(notes) == 1


async def test_idempotency_key_in_flight_is_409_and_a_failed_attempt_frees_the_key(notes: Notes) -> None:
    now = utcnow()
    async with notes.runtime.sessionmaker() as session, session.begin():
        await session.execute(
            insert(tables.idempotency_keys).values(
                scope="anonymous:127.0.0.1",
                key="busy",
                request_hash="x" * 64,
                state="in_flight",
                locked_until=now + dt.timedelta(minutes=1),
                created_at=now,
            )
        )
    # The stored hash is another request's, so the body check answers first.
    other = await notes.client.post("/api/v1/notes", json={"text": "a"}, headers={"Idempotency-Key": "busy"})
    assert other.status_code == 422

    refused = await notes.client.post(
        "/api/v1/notes", json={"text": "forbidden"}, headers={"Idempotency-Key": "retry-me"}
    )
    assert refused.status_code == 422
    retried = await notes.client.post(
        "/api/v1/notes", json={"text": "ok"}, headers={"Idempotency-Key": "retry-me"}
    )
    assert retried.status_code == 201


async def test_concurrent_requests_with_one_key_create_one_note(notes: Notes) -> None:
    headers = {"Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(notes.client.post("/api/v1/notes", json={"text": "đua"}, headers=headers) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert len(created) == 1
    assert await _note_count(notes) == 1


async def test_state_changes_require_if_match_and_refuse_a_stale_one(notes: Notes) -> None:
    created = await notes.client.post("/api/v1/notes", json={"text": "bản 1"})
    url = created.headers["location"]
    assert created.headers["etag"] == '"1"'

    missing = await notes.client.put(url, json={"text": "bản 2"})
    assert missing.status_code == 428
    updated = await notes.client.put(url, json={"text": "bản 2"}, headers={"If-Match": '"1"'})
    assert updated.status_code == 200
    assert updated.headers["etag"] == '"2"'
    stale = await notes.client.put(url, json={"text": "bản 3"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    fetched = await notes.client.get(url)
    assert fetched.json()["text"] == "bản 2"
    assert fetched.headers["etag"] == '"2"'


async def test_openapi_declares_problem_responses(notes: Notes) -> None:
    spec = (await notes.client.get("/openapi.json")).json()
    post = spec["paths"]["/api/v1/notes"]["post"]
    for status in ("400", "409", "422", "500"):
        content = post["responses"][status]["content"]
        assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def _note_count(notes: Notes) -> int:
    async with notes.runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Note)) or 0)

"""Problem details, Idempotency-Key and ETag/If-Match through a real service app (DESIGN §5)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from notes_service.app import Note
from notes_service.harness import Notes
from sqlalchemy import func, insert, select, update
from starlette.types import Message, Receive, Scope, Send

from egov_shared import tables
from egov_shared.db import utcnow
from egov_shared.http.idempotency import idempotency_pepper, stored_key
from egov_shared.http.text_guard import TextGuardMiddleware


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


async def test_text_with_a_nul_is_refused_before_the_service_on_both_backends(notes: Notes) -> None:
    # Found by the API fuzzer: PostgreSQL refuses a NUL character in text, SQLite stored it. Now both refuse it
    # at the door, with the request id like any other answer.
    escaped = await notes.client.post(
        "/api/v1/notes", json={"text": "a\u0000b"}, headers={"X-Request-ID": "nul-1"}
    )
    _assert_invalid_data(escaped, "/api/v1/notes")
    assert escaped.headers["x-request-id"] == "nul-1"
    assert b"\\u0000" in escaped.request.content  # the JSON escape went over the wire, as clients send it

    raw_byte = await notes.client.post(
        "/api/v1/notes", content=b'{"text": "a\x00b"}', headers={"Content-Type": "application/json"}
    )
    _assert_invalid_data(raw_byte, "/api/v1/notes")
    # FastAPI reads a body without a content type as JSON: no way around the guard there.
    untyped = await notes.client.post("/api/v1/notes", content=b'{"text": "a\\u0000b"}')
    _assert_invalid_data(untyped, "/api/v1/notes")
    in_query = await notes.client.post("/api/v1/notes?note=a%00b", json={"text": "hợp lệ"})
    _assert_invalid_data(in_query, "/api/v1/notes")
    assert await _note_count(notes) == 0

    in_path = await notes.client.get("/api/v1/notes/a%00b")
    _assert_invalid_data(in_path, "/api/v1/notes/a%00b")
    in_query_of_get = await notes.client.get("/healthz?x=%00")
    _assert_invalid_data(in_query_of_get, "/healthz")


async def test_text_that_only_mentions_a_nul_and_vietnamese_text_pass_untouched(notes: Notes) -> None:
    texts = [
        "Nguyễn Thị Ánh Tuyết — phường Đống Đa, ngõ 5 (Hà Nội) ữ ỹ ặ",
        "\\u0000 là cách viết ký tự NUL trong JSON",  # a backslash, then "u0000": text, not a NUL
        "100% 00 và %2500",
    ]
    for text in texts:
        created = await notes.client.post("/api/v1/notes?ghi_chu=Vi%E1%BB%87t%2500", json={"text": text})
        assert created.status_code == 201, created.text
        fetched = await notes.client.get(created.headers["location"])
        assert fetched.json()["text"] == text
    assert await _note_count(notes) == len(texts)


async def test_a_nul_escape_split_across_body_chunks_is_still_caught(notes: Notes) -> None:
    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    headers = {"Content-Type": "application/json"}
    split = await notes.client.post(
        "/api/v1/notes", content=chunks(b'{"text": "a\\u0', b"0", b'00b"}'), headers=headers
    )
    _assert_invalid_data(split, "/api/v1/notes")
    # An escaped backslash in one chunk and "u0000" in the next is text, and multi-byte letters cut in two
    # chunks arrive whole.
    letters = "Đống Đa ữ".encode()
    whole = await notes.client.post(
        "/api/v1/notes",
        content=chunks(b'{"text": "\\\\', b"u0000 " + letters[:1], letters[1:5], letters[5:] + b'"}'),
        headers=headers,
    )
    assert whole.status_code == 201, whole.text
    assert whole.json()["text"] == "\\u0000 Đống Đa ữ"
    assert await _note_count(notes) == 1


async def test_the_text_guard_scans_json_and_forms_only_and_replays_the_body_unchanged() -> None:
    nul_png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00 %00 \\u0000"
    multipart = (
        b"--b\r\nContent-Disposition: form-data; name=f; filename=a.png\r\n\r\n" + nul_png + b"\r\n--b--\r\n"
    )
    upload = await _through_guard([multipart[:40], multipart[40:]], "multipart/form-data; boundary=b")
    assert upload == (200, [multipart[:40], multipart[40:]])
    assert await _through_guard([nul_png], "application/octet-stream") == (200, [nul_png])

    form = [b"ten=Nguy%E1%BB%85n+V%C4%83n+A&ghi_chu=100%25", b"00"]
    assert await _through_guard(form, "application/x-www-form-urlencoded") == (200, form)
    for body in ([b"ten=a%00b"], [b"ten=a%0", b"0b"], [b"ten=a%", b"00"], [b"ten=a\x00b"]):
        assert await _through_guard(body, "application/x-www-form-urlencoded") == (422, [])

    vietnamese = '{"ten": "Trần Thị Ánh", "ghi_chu": "\\\\u0000"}'.encode()
    for content_type in (
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/merge-patch+json",
    ):
        assert await _through_guard([vietnamese], content_type) == (200, [vietnamese])
        assert await _through_guard([b'{"a": "\\u0000"}'], content_type) == (422, [])


@pytest.mark.parametrize(
    ("body", "has_nul"),
    [
        (b'{"t": "x\\u0000y"}', True),
        (b'{"t": "x\\\\\\u0000y"}', True),  # an escaped backslash, then a NUL
        (b'{"t": "x\\\\u0000y"}', False),  # an escaped backslash, then the text "u0000"
        (b'{"t": "x\\\\\\\\u0000y"}', False),
        (b'{"t": "x\x00y"}', True),
        (b'{"t": "x\\u0001 \\u00000 u0000 \\\\"}', True),
        (b'{"t": "x\\u0001 \\u1000 u0000 \\\\"}', False),
    ],
)
async def test_a_json_nul_is_found_wherever_the_body_is_cut(body: bytes, has_nul: bool) -> None:
    for cut in range(len(body) + 1):
        for second_cut in range(cut, len(body) + 1, 3):
            chunks = [body[:cut], body[cut:second_cut], body[second_cut:]]
            status, received = await _through_guard(chunks, "application/json")
            assert status == (422 if has_nul else 200), (cut, second_cut)
            assert received == ([] if has_nul else chunks)


async def _through_guard(chunks: list[bytes], content_type: str) -> tuple[int, list[bytes]]:
    """Sends ``chunks`` as one request body through the text guard to a tiny app, driving ASGI by hand; answers
    the status and the chunks the app received."""
    received: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            received.append(message["body"])
            if not message["more_body"]:
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> Message:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "headers": [(b"content-type", content_type.encode())],
    }
    await TextGuardMiddleware(app)(scope, receive, send)
    status = sent[0]["status"]
    if status == 422:
        assert json.loads(sent[1]["body"])["code"] == "request.invalid_data"
    return status, received


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
                key=stored_key(idempotency_pepper(notes.runtime.settings), "anonymous:127.0.0.1", "busy"),
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


async def test_a_stored_response_is_unreadable_without_the_key(notes: Notes) -> None:
    key = "khoa-bi-mat-3f9c2a71"
    text = "Nguyễn Văn An, CCCD 001099012345"
    first = await notes.client.post("/api/v1/notes", json={"text": text}, headers={"Idempotency-Key": key})
    assert first.status_code == 201
    note_id = first.json()["id"]

    row = (await _idempotency_rows(notes))[0]
    at_rest = " ".join(str(value) for value in row)
    for readable in (
        key,
        text,
        "001099012345",
        "Nguy",
        note_id,
        first.headers["location"],
        first.headers["etag"],
    ):
        assert readable not in at_rest
    assert row.key == stored_key(idempotency_pepper(notes.runtime.settings), "anonymous:127.0.0.1", key)
    # Keyed with the server's secret: knowing the scheme and guessing the key is not enough to find the row.
    unkeyed = hashlib.sha256(json.dumps(["anonymous:127.0.0.1", key]).encode()).hexdigest()
    assert row.key != unkeyed

    again = await notes.client.post("/api/v1/notes", json={"text": text}, headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]

    other = await notes.client.post(
        "/api/v1/notes", json={"text": text}, headers={"Idempotency-Key": key + "-2"}
    )
    assert other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != note_id
    assert await _note_count(notes) == 2
    rows = await _idempotency_rows(notes)
    assert len(rows) == 2
    assert rows[0].request_hash != rows[1].request_hash  # keyed per Idempotency-Key, not a bare body hash


async def test_a_tampered_stored_response_is_a_clear_409(notes: Notes) -> None:
    for key in ("sua-than", "doi-cot"):
        created = await notes.client.post(
            "/api/v1/notes", json={"text": "x"}, headers={"Idempotency-Key": key}
        )
        assert created.status_code == 201
    keys = tables.idempotency_keys
    flipped = stored_key(idempotency_pepper(notes.runtime.settings), "anonymous:127.0.0.1", "sua-than")
    swapped = stored_key(idempotency_pepper(notes.runtime.settings), "anonymous:127.0.0.1", "doi-cot")
    async with notes.runtime.sessionmaker() as session, session.begin():
        body = await session.scalar(select(keys.c.response_body).where(keys.c.key == flipped))
        assert body is not None
        middle = len(body) // 2
        altered = body[:middle] + ("A" if body[middle] != "A" else "B") + body[middle + 1 :]
        await session.execute(update(keys).where(keys.c.key == flipped).values(response_body=altered))
        await session.execute(
            update(keys)
            .where(keys.c.key == swapped)
            .values(response_body=keys.c.response_headers, response_headers=keys.c.response_body)
        )

    for key in ("sua-than", "doi-cot"):
        replay = await notes.client.post(
            "/api/v1/notes", json={"text": "x"}, headers={"Idempotency-Key": key}
        )
        assert replay.status_code == 409
        assert replay.headers["content-type"] == "application/problem+json"
        assert replay.json()["code"] == "idempotency.unreadable"
    assert await _note_count(notes) == 2


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


async def _idempotency_rows(notes: Notes) -> list[Any]:
    async with notes.runtime.sessionmaker() as session:
        keys = tables.idempotency_keys
        return list((await session.execute(select(keys).order_by(keys.c.id))).all())


def _assert_invalid_data(response: httpx.Response, instance: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "request.invalid_data"
    assert body["instance"] == instance
    assert "NUL" in body["detail"]
    assert len(response.headers["x-request-id"]) > 0


async def _note_count(notes: Notes) -> int:
    async with notes.runtime.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Note)) or 0)

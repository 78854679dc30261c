"""The gateway's pure parts: the route table, settings, header rules, CORS policy and the OpenAPI merge."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from egov_gateway.config import GatewaySettings
from egov_gateway.cors import CorsPolicy
from egov_gateway.headers import RequestHead, response_headers
from egov_gateway.openapi import merge_specs
from egov_gateway.routes import PUBLIC_ROUTES, ROUTES, SERVICES, is_public, resolve
from egov_shared.problems import BadRequest, PayloadTooLarge


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/.well-known/openid-configuration", "identity"),
        ("/oauth2/token", "identity"),
        ("/oauth2/jwks", "identity"),
        ("/api/v1/identity/me", "identity"),
        ("/api/v1/procedures", "dossier"),
        ("/api/v1/procedures/1.004227", "dossier"),
        ("/api/v1/dossiers/7/receive", "dossier"),
        ("/api/v1/invoices", "payment"),
        ("/api/v1/payments/providers/vnpay/ipn", "payment"),
        ("/api/v1/receipts/r1", "payment"),
        ("/api/v1/feedback", "feedback"),
        ("/open311/v2/requests.json", "feedback"),
        ("/api/v1/files/f1", "document"),
        ("/api/v1/documents", "document"),
        ("/api/v1/signatures/s1", "document"),
        ("/api/v1/exchange/edxml", "document"),
        ("/api/v1/dossiersx", None),
        ("/api/v1", None),
        ("/api/v2/dossiers", None),
        ("/oauth", None),
        ("/.well-known/other", None),
        ("/healthz", None),
        ("/", None),
        ("", None),
    ],
)
def test_resolve(path: str, service: str | None) -> None:
    assert resolve(path) == service


def test_every_route_and_public_route_leads_to_a_known_service() -> None:
    assert {service for _, service in ROUTES} == set(SERVICES)
    for route in PUBLIC_ROUTES:
        assert resolve(route.path) is not None, route


@pytest.mark.parametrize(
    ("method", "path", "public"),
    [
        ("POST", "/oauth2/token", True),
        ("GET", "/oauth2/jwks", True),
        ("GET", "/oauth2/userinfo", False),
        ("POST", "/oauth2/logout", True),
        ("GET", "/oauth2/logout", True),
        ("GET", "/api/v1/procedures/1", True),
        ("GET", "/api/v1/dossiers", False),
        ("GET", "/api/v1/dossiers/lookup", True),
        ("GET", "/open311/v2/services.json", True),
        ("POST", "/api/v1/payments/providers/vnpay/ipn", True),
        ("GET", "/api/v1/payments", False),
        ("GET", "/api/v1/tokenx", False),
        # The agency tree is public to read, not to change.
        ("GET", "/api/v1/identity/agencies", True),
        ("HEAD", "/api/v1/identity/agencies/000.00.00.H27", True),
        ("POST", "/api/v1/identity/agencies", False),
        ("PATCH", "/api/v1/identity/agencies/000.00.00.H27", False),
        # Self-registration is public; finding or verifying a citizen below the same path is the counter's.
        ("POST", "/api/v1/identity/citizens", True),
        ("GET", "/api/v1/identity/citizens", False),
        ("POST", "/api/v1/identity/citizens/", False),
        ("POST", "/api/v1/identity/citizens/search", False),
        ("POST", "/api/v1/identity/citizens/5b3c/verification", False),
        ("GET", "/api/v1/identity/me", False),
        ("POST", "/api/v1/identity/keys/rotate", False),
    ],
)
def test_is_public(method: str, path: str, public: bool) -> None:
    assert is_public(method, path) is public


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_GATEWAY_DOSSIER_URL", "http://127.0.0.1:8002/")
    monkeypatch.setenv("EGOV_GATEWAY_PAYMENT_URL", "http://127.0.0.1:8003")
    monkeypatch.setenv("EGOV_GATEWAY_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("EGOV_GATEWAY_MAX_BODY_BYTES", "1024")
    settings = GatewaySettings()
    assert settings.upstream_urls() == {
        "dossier": "http://127.0.0.1:8002",
        "payment": "http://127.0.0.1:8003",
    }
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.max_body_bytes == 1024
    assert settings.port == 8000

    monkeypatch.setenv("EGOV_GATEWAY_CORS_ORIGINS", '["https://c.example"]')
    assert GatewaySettings().cors_origins == ["https://c.example"]


def test_settings_defaults_and_production() -> None:
    settings = GatewaySettings()
    assert settings.max_body_bytes == 32 * 1024 * 1024
    assert settings.upstream_timeout_seconds == 30
    assert settings.cors_origins == ["http://localhost:3000"]
    # The gateway has no database, so production does not refuse it for lacking one.
    GatewaySettings(env="production", key_encryption_key="a-real-key")
    # Nor for the development key-encryption key: it encrypts nothing.
    assert GatewaySettings.uses_key_encryption_key is False
    GatewaySettings(env="production")
    with pytest.raises(ValidationError, match="EGOV_DEMO_DATA"):
        GatewaySettings(env="production", demo_data=True)


def scope(headers: list[tuple[bytes, bytes]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/dossiers",
        "scheme": "https",
        "headers": headers,
        "client": ("198.51.100.7", 5000),
        **extra,
    }


def test_request_head_drops_listed_and_hop_by_hop_headers() -> None:
    head = RequestHead(
        scope(
            [
                (b"host", b"api.example"),
                (b"connection", b"keep-alive, x-private"),
                (b"x-private", b"1"),
                (b"te", b"trailers"),
                (b"x-request-id", b"abc"),
                (b"x-forwarded-proto", b"http"),
                (b"x-kept", b"2"),
            ]
        )
    )
    assert head.request_id == "abc"
    assert head.forward_headers == [
        (b"host", b"api.example"),
        (b"x-kept", b"2"),
        (b"x-request-id", b"abc"),
        (b"x-forwarded-for", b"198.51.100.7"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"api.example"),
    ]
    assert not head.has_body


def test_request_head_body_length_rules() -> None:
    head = RequestHead(scope([(b"content-length", b"10")]))
    assert head.has_body
    head.check_length(10)
    assert head.content_length == 10
    with pytest.raises(PayloadTooLarge):
        RequestHead(scope([(b"content-length", b"11")])).check_length(10)
    with pytest.raises(BadRequest):
        RequestHead(scope([(b"content-length", b"-1")])).check_length(10)
    # Both framings: Content-Length is dropped and the body is counted as it streams.
    chunked = RequestHead(scope([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")]))
    chunked.check_length(1)
    assert chunked.has_body
    assert chunked.content_length is None
    assert all(name != b"content-length" for name, _ in chunked.forward_headers)


def test_response_headers_keep_end_to_end_ones_only() -> None:
    raw = [
        (b"Content-Type", b"application/json"),
        (b"Connection", b"x-secret"),
        (b"X-Secret", b"1"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Date", b"Mon, 01 Jan 2024 00:00:00 GMT"),
        (b"Server", b"uvicorn"),
        (b"X-Request-ID", b"theirs"),
        (b"Access-Control-Allow-Origin", b"*"),
        (b"ETag", b'"3"'),
    ]
    assert response_headers(raw, [(b"x-request-id", b"ours")]) == [
        (b"content-type", b"application/json"),
        (b"etag", b'"3"'),
        (b"x-request-id", b"ours"),
    ]


def test_cors_policy() -> None:
    policy = CorsPolicy(["https://portal.example/"], allow_credentials=True, max_age_seconds=60)
    assert policy.response_headers(b"https://portal.example")[0] == (
        b"access-control-allow-origin",
        b"https://portal.example",
    )
    assert policy.response_headers(b"https://other.example") == []
    assert policy.preflight_headers(b"https://portal.example", b"DELETE", None) is not None
    assert policy.preflight_headers(b"https://portal.example", b"CONNECT", None) is None

    anyone = CorsPolicy(["*"], allow_credentials=False, max_age_seconds=60)
    assert anyone.response_headers(b"https://x.example")[0] == (b"access-control-allow-origin", b"*")
    # With credentials a literal "*" is refused by browsers: the origin is echoed instead.
    anyone_with_cookies = CorsPolicy(["*"], allow_credentials=True, max_age_seconds=60)
    assert anyone_with_cookies.response_headers(b"https://x.example")[0][1] == b"https://x.example"


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def spec(path: str, schemas: dict[str, Any], response: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": {
            path: {
                "get": {
                    "responses": {"200": {"content": {"application/json": {"schema": schema_ref(response)}}}}
                }
            },
            "/healthz": {"get": {}},
        },
        "components": {"schemas": schemas},
    }


def test_merge_keeps_identical_components_once_and_renames_differing_ones() -> None:
    item_a = {"type": "object", "properties": {"a": {"type": "string"}}}
    item_b = {"type": "object", "properties": {"b": {"type": "string"}}}
    page = {"type": "object", "properties": {"items": {"type": "array", "items": schema_ref("Item")}}}
    money = {"type": "integer"}
    merged = merge_specs(
        {
            "dossier": spec("/api/v1/dossiers", {"Item": item_a, "Page": page, "Money": money}, "Page"),
            "payment": spec("/api/v1/invoices", {"Item": item_b, "Page": page, "Money": money}, "Page"),
        }
    )
    schemas = merged["components"]["schemas"]
    assert set(schemas) == {"Money", "dossier_Item", "payment_Item", "dossier_Page", "payment_Page"}
    assert schemas["payment_Page"]["properties"]["items"]["items"] == schema_ref("payment_Item")
    assert schemas["dossier_Page"]["properties"]["items"]["items"] == schema_ref("dossier_Item")
    invoices = merged["paths"]["/api/v1/invoices"]["get"]["responses"]["200"]
    assert invoices["content"]["application/json"]["schema"] == schema_ref("payment_Page")
    # A service's /healthz is not routed to it, so its description does not replace the gateway's.
    assert merged["paths"]["/healthz"]["get"]["summary"] == "Gateway liveness"
    assert merged["openapi"] == "3.1.0"


def test_merge_of_agreeing_services_renames_nothing() -> None:
    shared = {"Problem": {"type": "object"}}
    merged = merge_specs(
        {
            "dossier": spec("/api/v1/dossiers", dict(shared), "Problem"),
            "payment": spec("/api/v1/invoices", dict(shared), "Problem"),
        },
        missing=("feedback",),
    )
    assert set(merged["components"]["schemas"]) == {"Problem"}
    assert merged["info"]["x-missing-services"] == ["feedback"]

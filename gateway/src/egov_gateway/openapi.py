"""One OpenAPI 3.1 document for the whole API, merged from every service's own.

Each service contributes the paths the route table sends to it (so a service's /healthz or /metrics never shadows
the gateway's) and its components. When services define a component under one name with different content
(two ``Problem`` schemas, say), each keeps its own copy as ``<service>_<Name>`` and its ``$ref``s are rewritten to
match; identical definitions are kept once under the shared name.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from egov_gateway.routes import resolve
from egov_gateway.upstreams import Upstream

logger = logging.getLogger(__name__)

Spec = dict[str, Any]
_REF_PREFIX = "#/components/"


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    """A copy of ``node`` with every ``$ref`` found in ``renames`` replaced."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = renames.get(value, value)
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _components(spec: Spec) -> dict[str, dict[str, Any]]:
    components = spec.get("components") or {}
    return {section: items for section, items in components.items() if isinstance(items, dict)}


def _renames(specs: Mapping[str, Spec]) -> dict[str, dict[tuple[str, str], str]]:
    """Per service, the components it must rename: ``{(section, name): new_name}``.

    Repeats until stable, because renaming one component changes the content of those that refer to it: two
    identical ``Page`` schemas pointing at two different ``Item`` schemas are different after all.
    """
    taken = {
        (section, name)
        for spec in specs.values()
        for section, items in _components(spec).items()
        for name in items
    }
    renames: dict[str, dict[tuple[str, str], str]] = {service: {} for service in specs}
    while True:
        definitions: dict[tuple[str, str], dict[str, Any]] = {}
        for service, spec in specs.items():
            refs = _ref_map(renames[service])
            for section, items in _components(spec).items():
                for name, content in items.items():
                    if (section, name) not in renames[service]:
                        definitions.setdefault((section, name), {})[service] = _rewrite_refs(content, refs)
        changed = False
        for (section, name), by_service in definitions.items():
            contents = list(by_service.values())
            if len(contents) > 1 and any(content != contents[0] for content in contents[1:]):
                for service in by_service:
                    new_name = f"{service}_{name}"
                    while (section, new_name) in taken:
                        new_name += "_"
                    taken.add((section, new_name))
                    renames[service][(section, name)] = new_name
                changed = True
        if not changed:
            return renames


def _ref_map(renames: Mapping[tuple[str, str], str]) -> dict[str, str]:
    return {
        f"{_REF_PREFIX}{section}/{old}": f"{_REF_PREFIX}{section}/{new}"
        for (section, old), new in renames.items()
    }


GATEWAY_PATHS: Spec = {
    "/healthz": {
        "get": {
            "summary": "Gateway liveness",
            "tags": ["gateway"],
            "responses": {"200": {"description": "alive"}},
        }
    },
    "/readyz": {
        "get": {
            "summary": "Readiness of every service behind the gateway",
            "tags": ["gateway"],
            "responses": {
                "200": {"description": "all ready"},
                "503": {"description": "some service not ready"},
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "The gateway's Prometheus metrics",
            "tags": ["gateway"],
            "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {}}}},
        }
    },
    "/services/{name}/readyz": {
        "get": {
            "summary": "Readiness of one service, as it answers it",
            "tags": ["gateway"],
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "ready"},
                "404": {"description": "no such service"},
                "503": {"description": "not ready or unreachable"},
            },
        }
    },
}


def merge_specs(
    specs: Mapping[str, Spec],
    *,
    missing: tuple[str, ...] = (),
    owner: Callable[[str], str | None] = resolve,
) -> Spec:
    """Merge the services' documents (``{service: spec}``, in a stable order) into one."""
    renames = _renames(specs)
    paths: Spec = dict(GATEWAY_PATHS)
    components: dict[str, dict[str, Any]] = {}
    tags: dict[str, Any] = {"gateway": {"name": "gateway", "description": "The gateway's own endpoints"}}
    for service, spec in specs.items():
        own = renames[service]
        refs = _ref_map(own)
        for path, item in (spec.get("paths") or {}).items():
            if owner(path) == service:
                paths[path] = _rewrite_refs(item, refs)
        for section, items in _components(spec).items():
            target = components.setdefault(section, {})
            for name, content in items.items():
                target[own.get((section, name), name)] = _rewrite_refs(content, refs)
        for tag in spec.get("tags") or []:
            if isinstance(tag, dict) and "name" in tag:
                tags.setdefault(tag["name"], tag)
    merged: Spec = {
        "openapi": "3.1.0",
        "info": {
            "title": "egov API",
            "version": "1",
            "description": "Every service of the digital-government backend, through the API gateway.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {section: dict(sorted(items.items())) for section, items in sorted(components.items())},
        "tags": list(tags.values()),
    }
    if missing:
        merged["info"]["x-missing-services"] = list(missing)
    return merged


class OpenApiCache:
    """The merged document, built on first request and kept; rebuilt on the next request while a service was
    missing from it."""

    def __init__(self, upstreams: Mapping[str, Upstream], *, timeout: float) -> None:
        self.upstreams = upstreams
        self.timeout = timeout
        self._body: bytes | None = None
        self._complete = False
        self._builds = 0
        self._lock = asyncio.Lock()

    async def get(self, request_id: str) -> bytes:
        if self._complete and self._body is not None:
            return self._body
        seen = self._builds
        async with self._lock:
            # Whoever waited on the lock shares the build that finished meanwhile instead of starting another.
            if self._body is not None and (self._complete or self._builds != seen):
                return self._body
            self._body, self._complete = await self._build(request_id)
            self._builds += 1
            return self._body

    async def _build(self, request_id: str) -> tuple[bytes, bool]:
        names = list(self.upstreams)
        results = await asyncio.gather(*(self._fetch(name, request_id) for name in names))
        specs = {name: spec for name, spec in zip(names, results, strict=True) if spec is not None}
        missing = tuple(name for name in names if name not in specs)
        if missing:
            logger.warning("openapi built without %s", ", ".join(missing))
        body = json.dumps(merge_specs(specs, missing=missing), ensure_ascii=False, separators=(",", ":"))
        return body.encode(), not missing

    async def _fetch(self, name: str, request_id: str) -> Spec | None:
        try:
            probe = await self.upstreams[name].get(
                "/openapi.json", timeout=self.timeout, request_id=request_id
            )
            if probe.status != 200:
                return None
            spec = json.loads(probe.body)
        except Exception as exc:  # any failure means "missing this time"; the next request tries again
            logger.info("openapi of %s unavailable: %r", name, exc)
            return None
        return spec if isinstance(spec, dict) else None

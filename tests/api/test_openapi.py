"""The OpenAPI document and the served routes agree, both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from starlette.routing import Mount, Route

from sentinel.api.app import create_app
from sentinel.api.errors import CODES
from sentinel.api.openapi import document
from sentinel.store import Store
from tests.api.conftest import World, build_deps


def served_routes(world: World, tmp_path: Path) -> set[tuple[str, str]]:
    store = Store(tmp_path / "s.sqlite3")
    deps, *_ = build_deps(world, store)
    app = create_app(deps)
    out = set()
    for route in app.routes:
        if isinstance(route, Mount) or not getattr(route, "include_in_schema", True):
            continue  # the console (HTML pages) and the redirect to it
        assert isinstance(route, Route)
        for method in route.methods or ():
            if method != "HEAD":
                out.add((method, route.path))
    store.close()
    return out


def test_every_route_is_documented_and_nothing_else(world: World, tmp_path: Path) -> None:
    doc = document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served_routes(world, tmp_path) == documented


def test_every_v1_operation_is_secured_and_documents_its_errors() -> None:
    doc = document()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1/hooks/"):
                # A platform has no Vault token: the signature is the authentication.
                assert op["security"] == [] and op["x-sentinel-authentication"] == "platform-signature"
                assert {"403", "413"} & set(op["responses"]), (method, path)
            elif path.startswith("/v1/"):
                assert op["security"], (method, path)
                assert {"401", "429", "503"} <= set(op["responses"]), (method, path)
                too_many = op["responses"]["429"]
                assert (
                    "too_many_auth_failures" in too_many["description"]
                    and "Retry-After" in too_many["headers"]
                )
            else:
                assert op["security"] == [], (method, path)
            if "requestBody" in op:
                assert "400" in op["responses"], (method, path)


def test_error_codes_are_listed_in_the_document() -> None:
    doc = document()
    codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert codes == sorted(CODES)


def test_references_resolve() -> None:
    doc = document()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref:
                name = ref.rsplit("/", 1)[-1]
                assert name in doc["components"]["schemas"], ref
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)


async def test_docs_serves_the_packaged_viewer(world: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    deps, *_ = build_deps(world, store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://a"
    ) as c:
        page = await c.get("/docs")
        script = await c.get("/console/static/apidocs.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/console/static/apidocs.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert script.status_code == 200 and 'fetch("/openapi.json")' in script.text
    assert deps.aclose is not None
    await deps.aclose()
    store.close()

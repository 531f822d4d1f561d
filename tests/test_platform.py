"""Probes, metrics and the OpenAPI schema."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.database import make_engine, make_sessionmaker


async def test_health_and_readiness_need_no_key(client: AsyncTestClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "database": None}
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok"


async def test_readiness_fails_when_the_database_is_gone(app: Litestar, client: AsyncTestClient) -> None:
    sqlite = app.state.engine.url.get_backend_name() == "sqlite"
    gone = "sqlite+aiosqlite:////nonexistent/dir/x.db" if sqlite else "postgresql+asyncpg://postgres@127.0.0.1:1/test"
    app.state.sessionmaker = make_sessionmaker(make_engine(gone))
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"


async def test_openapi_schema_is_public_and_lists_every_resource(client: AsyncTestClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for path in (
        "/api/assistants",
        "/api/assistants/templates",
        "/api/crm/companies",
        "/api/crm/contacts",
        "/api/crm/contacts/import",
        "/api/crm/contacts/export",
        "/api/crm/custom-fields",
        "/api/trunks",
        "/api/phone-numbers",
        "/api/calls",
        "/api/api-keys",
    ):
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    page = await client.get("/schema")
    assert page.status_code == 200 and "<html" in page.text.lower()


async def test_metrics_need_a_key_and_count_requests(client: AsyncTestClient, auth: dict[str, str]) -> None:
    assert (await client.get("/metrics")).status_code == 401
    await client.get("/api/assistants", headers=auth)
    r = await client.get("/metrics", headers=auth)
    assert r.status_code == 200
    assert "trunkline_requests_total{" in r.text and 'path="/api/assistants"' in r.text


async def test_unknown_routes_and_methods_answer_json(client: AsyncTestClient, auth: dict[str, str]) -> None:
    r = await client.get("/api/nothing-here", headers=auth)
    assert r.status_code == 404 and r.json()["status_code"] == 404
    r = await client.put("/api/assistants", headers=auth)
    assert r.status_code == 405
    r = await client.get("/api/assistants/not-a-uuid", headers=auth)
    assert r.status_code in (400, 404) and "status_code" in r.json()

"""API keys: bearer auth, scopes, revocation, and that one account never sees another's rows."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from models import ApiKey
from tests.conftest import db_session, new_account


async def test_requests_without_a_valid_key_get_401(client: AsyncTestClient, auth: dict[str, str]) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer tlk_00000000_" + "x" * 32},
        {"Authorization": auth["Authorization"] + "x"},
    ):
        r = await client.get("/api/assistants", headers=headers)
        assert r.status_code == 401, headers
        assert r.json()["status_code"] == 401 and "API key" in r.json()["detail"]
        assert r.headers["www-authenticate"] == "Bearer"
    assert (await client.get("/api/assistants", headers=auth)).status_code == 200


async def test_scopes_limit_what_a_key_may_do(client: AsyncTestClient, auth: dict[str, str]) -> None:
    keys: dict[str, dict[str, str]] = {}
    for scopes in (["read"], ["write"]):
        r = await client.post("/api/api-keys", json={"name": "+".join(scopes), "scopes": scopes}, headers=auth)
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["key"].startswith(body["prefix"] + "_") and body["scopes"] == scopes
        keys[scopes[0]] = {"Authorization": f"Bearer {body['key']}"}
    read, write = keys["read"], keys["write"]
    assert (await client.get("/api/crm/companies", headers=read)).status_code == 200
    denied = await client.post("/api/crm/companies", json={"name": "X"}, headers=read)
    assert denied.status_code == 403 and "write" in denied.json()["detail"]
    assert (await client.post("/api/crm/companies", json={"name": "X"}, headers=write)).status_code == 201
    assert (await client.get("/api/crm/companies", headers=write)).status_code == 200  # write implies read
    for headers in (read, write):
        r = await client.get("/api/api-keys", headers=headers)
        assert r.status_code == 403 and "admin" in r.json()["detail"]


async def test_keys_are_listed_without_secrets_and_revocation_is_immediate(
    app: Litestar, client: AsyncTestClient, auth: dict[str, str]
) -> None:
    created = (await client.post("/api/api-keys", json={"name": "ci"}, headers=auth)).json()
    secret = created["key"]
    listed = (await client.get("/api/api-keys", headers=auth)).json()
    assert listed["count"] == 2
    text = str(listed)
    assert secret not in text and "key_hash" not in text and "'key'" not in text
    other = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/assistants", headers=other)).status_code == 200
    async with db_session(app) as session:
        stored = await session.scalar(select(ApiKey).where(ApiKey.prefix == created["prefix"]))
        assert stored is not None and stored.last_used_at is not None
        assert secret not in (stored.key_hash, stored.prefix)
    assert (await client.delete(f"/api/api-keys/{created['id']}", headers=auth)).status_code == 204
    assert (await client.get("/api/assistants", headers=other)).status_code == 401
    after = (await client.get("/api/api-keys", headers=auth)).json()["items"]
    assert next(k for k in after if k["id"] == created["id"])["revoked_at"] is not None


async def _make_everything(client: AsyncTestClient, auth: dict[str, str]) -> dict[str, str]:
    """One row of every resource; returns resource path → id."""

    async def post(path: str, body: dict[str, Any]) -> str:
        r = await client.post(path, json=body, headers=auth)
        assert r.status_code == 201, (path, r.text)
        return r.json()["id"]

    ids: dict[str, str] = {}
    ids["/api/assistants"] = await post("/api/assistants", {"name": "A", "template": "inbound-support"})
    ids["/api/crm/companies"] = await post("/api/crm/companies", {"name": "Co"})
    ids["/api/crm/contacts"] = await post(
        "/api/crm/contacts", {"company_id": ids["/api/crm/companies"], "first_name": "Z", "phone": "+14155550199"}
    )
    ids["/api/crm/custom-fields"] = await post("/api/crm/custom-fields", {"key": "k", "label": "K", "type": "text"})
    ids["/api/trunks"] = await post(
        "/api/trunks", {"name": "t", "kind": "ip", "peer_host": "127.0.0.1", "allowed_cidrs": ["127.0.0.1/32"]}
    )
    ids["/api/phone-numbers"] = await post(
        "/api/phone-numbers", {"number": "+14155550150", "trunk_id": ids["/api/trunks"]}
    )
    ids["/api/api-keys"] = await post("/api/api-keys", {"name": "k"})
    return ids


async def test_accounts_cannot_read_or_change_each_others_rows(
    app: Litestar, client: AsyncTestClient, auth: dict[str, str]
) -> None:
    theirs = await _make_everything(client, auth)
    _, mine = await new_account(app, "Other")
    for path, item_id in theirs.items():
        assert (await client.get(f"{path}/{item_id}", headers=mine)).status_code in (404, 405), path
        if path != "/api/api-keys":
            r = await client.patch(f"{path}/{item_id}", json={}, headers=mine)
            assert r.status_code == 404, (path, r.text)
        r = await client.delete(f"{path}/{item_id}", headers=mine)
        assert r.status_code == 404, (path, r.text)
        listed = (await client.get(path, headers=mine)).json()
        assert item_id not in {i["id"] for i in listed["items"]}, path
        # and the owner still has it, untouched
        if path != "/api/api-keys":
            assert (await client.get(f"{path}/{item_id}", headers=auth)).status_code == 200, path
    # references across accounts are refused too
    assert (await client.post("/api/crm/companies", json={"name": "Co"}, headers=mine)).status_code == 201
    r = await client.post(
        "/api/crm/contacts", headers=mine, json={"company_id": theirs["/api/crm/companies"], "first_name": "Q"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "company_id"
    r = await client.post(
        "/api/phone-numbers", headers=mine, json={"number": "+14155550151", "trunk_id": theirs["/api/trunks"]}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "trunk_id"
    r = await client.get("/api/crm/contacts", params={"company_id": theirs["/api/crm/companies"]}, headers=mine)
    assert r.json()["count"] == 0

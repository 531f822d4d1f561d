"""Trunks and phone numbers: per-kind validation, write-only encrypted passwords, unique DIDs."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from models import Trunk
from tests.conftest import db_session, new_account

REGISTERED = {
    "name": "carrier",
    "kind": "registered",
    "registrar": "sip:127.0.0.1:5070",
    "username": "1001",
    "password": "s3cret-Pa55",
    "realm": "127.0.0.1",
}


async def test_registered_trunk_password_is_write_only_and_encrypted(
    app: Litestar, client: AsyncTestClient, auth: dict[str, str]
) -> None:
    r = await client.post("/api/trunks", json=REGISTERED, headers=auth)
    assert r.status_code == 201, r.text
    trunk = r.json()
    assert "s3cret" not in r.text and "password" not in trunk and trunk["password_set"] is True
    assert trunk["registration_state"] == "unregistered"
    got = await client.get(f"/api/trunks/{trunk['id']}", headers=auth)
    assert "s3cret" not in got.text and "password_encrypted" not in got.text
    async with db_session(app) as session:
        row = await session.scalar(select(Trunk).where(Trunk.name == "carrier"))
        assert row is not None and row.password_encrypted and "s3cret" not in row.password_encrypted
        assert app.state.secrets.decrypt(row.password_encrypted) == "s3cret-Pa55"
    # a PATCH without a password keeps it; with one replaces it
    await client.patch(f"/api/trunks/{trunk['id']}", json={"register_interval_s": 120}, headers=auth)
    await client.patch(f"/api/trunks/{trunk['id']}", json={"password": "n3w"}, headers=auth)
    async with db_session(app) as session:
        row = await session.scalar(select(Trunk).where(Trunk.name == "carrier"))
        assert row is not None and row.register_interval_s == 120
        assert app.state.secrets.decrypt(row.password_encrypted or "") == "n3w"


async def test_trunk_rules_per_kind(client: AsyncTestClient, auth: dict[str, str]) -> None:
    r = await client.post("/api/trunks", json={"name": "r", "kind": "registered"}, headers=auth)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"registrar", "username", "password"}
    r = await client.post("/api/trunks", json={"name": "i", "kind": "ip"}, headers=auth)
    assert {e["field"] for e in r.json()["errors"]} == {"peer_host", "allowed_cidrs"}
    r = await client.post(
        "/api/trunks",
        headers=auth,
        json={"name": "i", "kind": "ip", "peer_host": "127.0.0.1", "allowed_cidrs": ["127.0.0.1/32", "10.0.0.300/8"]},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "allowed_cidrs[1]"
    r = await client.post(
        "/api/trunks",
        headers=auth,
        json={"name": "i", "kind": "ip", "peer_host": "127.0.0.1", "peer_port": 5080, "allowed_cidrs": ["127.0.0.1"]},
    )
    assert r.status_code == 201 and r.json()["allowed_cidrs"] == ["127.0.0.1/32"]
    assert r.json()["registration_state"] == "not_applicable"
    r = await client.post("/api/trunks", headers=auth, json={**REGISTERED, "name": "i"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name"
    r = await client.post("/api/trunks", headers=auth, json={**REGISTERED, "transport": "carrier-pigeon"})
    assert r.status_code == 400 and "transport" in r.json()["detail"]


async def test_phone_numbers_are_e164_unique_and_guard_their_trunk(
    app: Litestar, client: AsyncTestClient, auth: dict[str, str]
) -> None:
    trunk = (await client.post("/api/trunks", json=REGISTERED, headers=auth)).json()
    r = await client.post(
        "/api/phone-numbers", json={"number": "(415) 555-0170", "trunk_id": trunk["id"]}, headers=auth
    )
    assert r.status_code == 201 and r.json()["number"] == "+14155550170" and r.json()["status"] == "active"
    dup = await client.post(
        "/api/phone-numbers", json={"number": "+1 415 555 0170", "trunk_id": trunk["id"]}, headers=auth
    )
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "number"
    # a DID is unique across accounts: inbound routing finds it by number alone
    _, other = await new_account(app, "Other")
    other_trunk = (await client.post("/api/trunks", json=REGISTERED, headers=other)).json()
    dup = await client.post(
        "/api/phone-numbers", json={"number": "+14155550170", "trunk_id": other_trunk["id"]}, headers=other
    )
    assert dup.status_code == 409
    bad = await client.post("/api/phone-numbers", json={"number": "12", "trunk_id": trunk["id"]}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "number"
    r = await client.delete(f"/api/trunks/{trunk['id']}", headers=auth)
    assert r.status_code == 409 and "phone numbers" in r.json()["detail"]
    number = (await client.get("/api/phone-numbers", headers=auth)).json()["items"][0]
    r = await client.patch(f"/api/phone-numbers/{number['id']}", json={"status": "suspended"}, headers=auth)
    assert r.json()["status"] == "suspended"
    assert (await client.get("/api/phone-numbers", params={"status": "active"}, headers=auth)).json()["count"] == 0
    assert (await client.delete(f"/api/phone-numbers/{number['id']}", headers=auth)).status_code == 204
    assert (await client.delete(f"/api/trunks/{trunk['id']}", headers=auth)).status_code == 204

"""CRM over the REST API: companies, contacts, custom fields, filters, search, validation."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient


async def _company(client: AsyncTestClient, auth: dict[str, str], name: str = "Globex") -> dict[str, Any]:
    r = await client.post("/api/crm/companies", json={"name": name}, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def _contact(client: AsyncTestClient, auth: dict[str, str], **fields: Any) -> dict[str, Any]:
    r = await client.post("/api/crm/contacts", json=fields, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


async def test_company_crud_and_unique_name(client: AsyncTestClient, auth: dict[str, str]) -> None:
    company = await _company(client, auth)
    again = await client.post("/api/crm/companies", json={"name": "Globex"}, headers=auth)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "name"
    r = await client.patch(f"/api/crm/companies/{company['id']}", json={"industry": "Energy"}, headers=auth)
    assert r.status_code == 200 and r.json()["industry"] == "Energy" and r.json()["name"] == "Globex"
    r = await client.get("/api/crm/companies", params={"q": "glob"}, headers=auth)
    assert r.json()["count"] == 1
    assert (await client.delete(f"/api/crm/companies/{company['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/api/crm/companies/{company['id']}", headers=auth)).status_code == 404


async def test_contact_phone_is_normalised_and_timezone_derived(client: AsyncTestClient, auth: dict[str, str]) -> None:
    company = await _company(client, auth)
    c = await _contact(
        client,
        auth,
        company_id=company["id"],
        first_name="Ada",
        last_name="Byron",
        phone="(212) 555-0123",
        email="Ada@Example.com",
    )
    assert c["phone"] == "+12125550123"
    assert c["email"] == "ada@example.com"
    assert c["timezone"] == "America/New_York"
    assert c["lead_status"] == "new" and c["do_not_call"] is False


async def test_contact_validation_names_fields(client: AsyncTestClient, auth: dict[str, str]) -> None:
    company = await _company(client, auth)
    r = await client.post(
        "/api/crm/contacts",
        headers=auth,
        json={
            "company_id": company["id"],
            "first_name": "X",
            "phone": "+1 000 12",
            "email": "nope",
            "timezone": "Mars/Base",
        },
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"phone", "email", "timezone"}
    assert "phone" in r.json()["detail"]
    # the company is required and must be this account's
    r = await client.post("/api/crm/contacts", json={"first_name": "X"}, headers=auth)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "company_id"
    r = await client.post(
        "/api/crm/contacts",
        headers=auth,
        json={"first_name": "X", "company_id": "00000000-0000-7000-8000-000000000000"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "company_id"
    # wrong types and unknown fields are refused with the field named
    r = await client.post("/api/crm/contacts", headers=auth, json={"company_id": company["id"], "first_name": 5})
    assert r.status_code == 400 and "first_name" in r.json()["detail"]
    r = await client.post("/api/crm/contacts", headers=auth, json={"company_id": company["id"], "shoe_size": 5})
    assert r.status_code == 400 and "shoe_size" in r.json()["detail"]
    r = await client.post("/api/crm/contacts", headers=auth, json={"company_id": company["id"], "lead_status": "hot"})
    assert r.status_code == 400 and "lead_status" in r.json()["detail"]


async def test_dnc_lead_status_sets_do_not_call(client: AsyncTestClient, auth: dict[str, str]) -> None:
    company = await _company(client, auth)
    c = await _contact(client, auth, company_id=company["id"], first_name="Bo", phone="+14155550100")
    r = await client.patch(f"/api/crm/contacts/{c['id']}", json={"lead_status": "dnc"}, headers=auth)
    assert r.status_code == 200
    assert r.json()["do_not_call"] is True


async def test_custom_fields_validate_contact_values(client: AsyncTestClient, auth: dict[str, str]) -> None:
    for body in (
        {"key": "budget", "label": "Budget", "type": "number"},
        {"key": "plan", "label": "Plan", "type": "enum", "options": ["basic", "pro"]},
        {"key": "renewal", "label": "Renewal", "type": "date"},
        {"key": "vip", "label": "VIP", "type": "boolean"},
    ):
        r = await client.post("/api/crm/custom-fields", json=body, headers=auth)
        assert r.status_code == 201, r.text
    bad = await client.post(
        "/api/crm/custom-fields", headers=auth, json={"key": "tier", "label": "Tier", "type": "enum"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "options"
    bad = await client.post(
        "/api/crm/custom-fields", headers=auth, json={"key": "Bad Key", "label": "x", "type": "text"}
    )
    assert bad.status_code == 400 and "key" in bad.json()["detail"]
    dup = await client.post(
        "/api/crm/custom-fields", headers=auth, json={"key": "budget", "label": "B", "type": "text"}
    )
    assert dup.status_code == 409
    company = await _company(client, auth)
    c = await _contact(
        client,
        auth,
        company_id=company["id"],
        first_name="Cy",
        custom_fields={"budget": "1200", "plan": "pro", "renewal": "2027-01-31", "vip": "yes"},
    )
    assert c["custom_fields"] == {"budget": 1200, "plan": "pro", "renewal": "2027-01-31", "vip": True}
    r = await client.patch(
        f"/api/crm/contacts/{c['id']}",
        headers=auth,
        json={"custom_fields": {"plan": "gold", "budget": "lots", "colour": "red"}},
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {
        "custom_fields.plan",
        "custom_fields.budget",
        "custom_fields.colour",
    }
    r = await client.patch(
        f"/api/crm/contacts/{c['id']}", headers=auth, json={"custom_fields": {"plan": "basic", "vip": None}}
    )
    assert r.json()["custom_fields"] == {"budget": 1200, "plan": "basic", "renewal": "2027-01-31"}


async def test_contact_filters_search_and_pagination(client: AsyncTestClient, auth: dict[str, str]) -> None:
    a = await _company(client, auth, "Alpha")
    b = await _company(client, auth, "Beta")
    people = [
        ("Grace", "Hopper", "+14155550101", "grace@navy.mil", "qualified", ["vip", "east"], a),
        ("Alan", "Turing", "+442071234567", "alan@bletchley.uk", "new", ["east"], a),
        ("Linus", "Torvalds", "+14155550103", None, "customer", [], b),
        ("Kim", "Dnc", "+14155550104", None, "dnc", ["vip"], b),
    ]
    for first, last, phone, email, status, tags, company in people:
        await _contact(
            client,
            auth,
            company_id=company["id"],
            first_name=first,
            last_name=last,
            phone=phone,
            email=email,
            lead_status=status,
            tags=tags,
        )

    async def names(**params: Any) -> list[str]:
        r = await client.get("/api/crm/contacts", params=params, headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == len(body["items"]) or body["limit"] < body["count"]
        return sorted(i["first_name"] for i in body["items"])

    assert await names(company_id=a["id"]) == ["Alan", "Grace"]
    assert await names(lead_status="customer") == ["Linus"]
    assert await names(do_not_call="true") == ["Kim"]
    assert await names(tag="vip") == ["Grace", "Kim"]
    assert await names(tag="east", company_id=a["id"]) == ["Alan", "Grace"]
    assert await names(q="tur") == ["Alan"]
    assert await names(q="grace hop") == ["Grace"]
    assert await names(q="415 555 0103") == ["Linus"]
    assert await names(q="alan@") == ["Alan"]
    assert await names(q="100%_") == []
    page = (await client.get("/api/crm/contacts", params={"limit": 3, "offset": 1}, headers=auth)).json()
    assert (page["count"], page["limit"], page["offset"], len(page["items"])) == (4, 3, 1, 3)
    default = (await client.get("/api/crm/contacts", headers=auth)).json()
    assert default["limit"] == 50 and default["offset"] == 0
    too_many = await client.get("/api/crm/contacts", params={"limit": 501}, headers=auth)
    assert too_many.status_code == 400 and too_many.json()["errors"][0]["field"] == "limit"


async def test_company_with_contacts_cannot_be_deleted(client: AsyncTestClient, auth: dict[str, str]) -> None:
    company = await _company(client, auth)
    c = await _contact(client, auth, company_id=company["id"], first_name="Dee")
    r = await client.delete(f"/api/crm/companies/{company['id']}", headers=auth)
    assert r.status_code == 409 and "1 contacts" in r.json()["detail"]
    assert (await client.get(f"/api/crm/contacts/{c['id']}", headers=auth)).status_code == 200

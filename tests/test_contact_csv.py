"""CSV import (good rows in, bad rows named) and export, through the API."""

from __future__ import annotations

import csv
import io

from litestar.testing import AsyncTestClient

CSV = """first_name,last_name,email,phone,lead_status,do_not_call,tags,company,custom.budget,shoe_size
Ada,Lovelace,ada@example.com,(212) 555-0101,qualified,false,vip;east,Analytical,1000,38
Bad,Phone,bad@example.com,12345,new,false,,Analytical,,
Bad,Email,not-an-email,+14155550102,new,false,,Analytical,,
Bad,Status,bs@example.com,+14155550103,hot,false,,Analytical,,
Dup,Phone,dup@example.com,+1 212 555 0101,new,false,,Analytical,,
Grace,Hopper,grace@example.com,+14155550104,,yes,,Navy,abc,
Alan,Turing,alan@example.com,+442071234567,customer,no,west,,77,
"""


async def _import(client: AsyncTestClient, auth: dict[str, str], text: str, **form: str) -> dict:
    r = await client.post(
        "/api/crm/contacts/import", headers=auth, data=form, files={"file": ("contacts.csv", text.encode(), "text/csv")}
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_import_keeps_good_rows_and_names_each_bad_row(client: AsyncTestClient, auth: dict[str, str]) -> None:
    r = await client.post(
        "/api/crm/custom-fields", json={"key": "budget", "label": "Budget", "type": "number"}, headers=auth
    )
    assert r.status_code == 201
    fallback = (await client.post("/api/crm/companies", json={"name": "Fallback"}, headers=auth)).json()
    report = await _import(client, auth, CSV, company_id=fallback["id"])
    assert (report["imported"], report["rejected"]) == (2, 5)
    problems = {(e["row"], e["field"]) for e in report["errors"]}
    assert problems == {
        (1, "shoe_size"),
        (3, "phone"),
        (4, "email"),
        (5, "lead_status"),
        (6, "phone"),
        (7, "custom_fields.budget"),
    }
    assert "already belongs" in next(e["message"] for e in report["errors"] if e["row"] == 6)
    contacts = (await client.get("/api/crm/contacts", headers=auth)).json()["items"]
    by_name = {c["first_name"]: c for c in contacts}
    assert set(by_name) == {"Ada", "Alan"}
    ada = by_name["Ada"]
    assert (
        ada["phone"] == "+12125550101" and ada["tags"] == ["vip", "east"] and ada["custom_fields"] == {"budget": 1000}
    )
    assert ada["lead_status"] == "qualified" and ada["timezone"] == "America/New_York"
    companies = {c["name"]: c["id"] for c in (await client.get("/api/crm/companies", headers=auth)).json()["items"]}
    assert ada["company_id"] == companies["Analytical"]  # created from the company column
    assert by_name["Alan"]["company_id"] == fallback["id"]  # no company cell: the chosen company
    assert "Navy" not in companies  # its only row was rejected, so the company was never created


async def test_import_without_any_company_rejects_rows(client: AsyncTestClient, auth: dict[str, str]) -> None:
    report = await _import(client, auth, "first_name,phone\nZed,+14155550110\n")
    assert report["imported"] == 0 and report["errors"][0]["field"] == "company"
    report = await _import(client, auth, "")
    assert report["errors"][0]["field"] == "header"
    report = await _import(client, auth, f"first_name,company\nZed,{'C' * 201}\n")
    assert report["rejected"] == 1 and report["errors"][0]["field"] == "company"
    r = await client.post(
        "/api/crm/contacts/import", headers=auth, files={"file": ("x.csv", b"\xff\xfe\x00bad", "text/csv")}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


async def test_export_round_trips_through_import(client: AsyncTestClient, auth: dict[str, str]) -> None:
    await client.post("/api/crm/custom-fields", json={"key": "vip", "label": "VIP", "type": "boolean"}, headers=auth)
    company = (await client.post("/api/crm/companies", json={"name": "Initech"}, headers=auth)).json()
    for i, name in enumerate(["Peter", "Samir", "Michael"]):
        r = await client.post(
            "/api/crm/contacts",
            headers=auth,
            json={
                "company_id": company["id"],
                "first_name": name,
                "last_name": "Initech",
                "phone": f"+1415555012{i}",
                "tags": ["tps", "office"],
                "custom_fields": {"vip": i == 0},
                "lead_status": "customer",
            },
        )
        assert r.status_code == 201
    r = await client.get("/api/crm/contacts/export", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 and rows[0]["company"] == "Initech" and rows[0]["tags"] == "tps;office"
    assert {row["custom.vip"] for row in rows} == {"true", "false"}
    filtered = await client.get("/api/crm/contacts/export", params={"q": "sam"}, headers=auth)
    assert len(list(csv.DictReader(io.StringIO(filtered.text)))) == 1
    # importing the export into another company re-creates the same people (phones now clash, so rename them)
    text = r.text.replace("+1415555012", "+1415555013")
    report = await _import(client, auth, text)
    assert (report["imported"], report["rejected"]) == (3, 0)
    assert [e["field"] for e in report["errors"]] == ["id"]  # the id column is ignored, and says so

"""Assistants: templates, the five layers, validation, assigned numbers."""

from __future__ import annotations

from litestar.testing import AsyncTestClient


async def test_templates_are_listed_and_prefill_assistants(client: AsyncTestClient, auth: dict[str, str]) -> None:
    templates = (await client.get("/api/assistants/templates", headers=auth)).json()
    assert {t["id"] for t in templates} == {"outbound-setter", "inbound-support", "follow-up", "custom"}
    for t in templates:
        r = await client.post("/api/assistants", json={"name": t["title"], "template": t["id"]}, headers=auth)
        assert r.status_code == 201, r.text
        a = r.json()
        assert a["template"] == t["id"]
        assert a["system_prompt"] == t["defaults"]["system_prompt"] and len(a["system_prompt"]) > 100
        assert a["llm"]["provider"] == "local" and a["voice"]["provider"] == "piper"
        assert a["transcriber"] == {"provider": "faster-whisper", "model": "base", "language": "en"}
    setter = next(t for t in templates if t["id"] == "outbound-setter")["defaults"]
    assert setter["outbound_enabled"] is True and setter["inbound_enabled"] is False
    assert setter["voicemail_message"]


async def test_layers_are_validated(client: AsyncTestClient, auth: dict[str, str]) -> None:
    r = await client.post("/api/assistants", headers=auth, json={"name": "x", "llm": {"provider": "skynet"}})
    assert r.status_code == 400 and "llm.provider" in r.json()["detail"]
    r = await client.post(
        "/api/assistants", headers=auth, json={"name": "x", "llm": {"provider": "openai-compatible", "model": "llama3"}}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "llm.base_url"
    r = await client.post(
        "/api/assistants", headers=auth, json={"name": "x", "voice": {"provider": "piper", "speed": 9}}
    )
    assert r.status_code == 400 and "speed" in r.json()["detail"]
    r = await client.post("/api/assistants", headers=auth, json={"name": "x", "max_call_duration_s": 5})
    assert r.status_code == 400 and "max_call_duration_s" in r.json()["detail"]
    r = await client.post(
        "/api/assistants",
        headers=auth,
        json={
            "name": "Cloud",
            "template": "custom",
            "llm": {"provider": "openai-compatible", "model": "qwen2.5:7b", "base_url": "http://127.0.0.1:11434/v1"},
            "voice": {"provider": "openai"},
            "transcriber": {"provider": "deepgram", "language": "de"},
            "tools": [{"type": "end_call"}, {"type": "transfer", "config": {"target": "sip:desk@127.0.0.1"}}],
        },
    )
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["llm"]["base_url"] == "http://127.0.0.1:11434/v1"
    assert a["voice"]["voice"] == "gpt-4o-mini-tts"  # provider default filled in
    assert a["transcriber"]["model"] == "nova-3" and a["transcriber"]["language"] == "de"
    r = await client.post("/api/assistants", headers=auth, json={"name": "G", "llm": {"provider": "deepseek"}})
    assert r.json()["llm"]["base_url"].startswith("https://api.deepseek.com")


async def test_edit_assistant_and_see_its_numbers(client: AsyncTestClient, auth: dict[str, str]) -> None:
    a = (
        await client.post("/api/assistants", json={"name": "Desk", "template": "inbound-support"}, headers=auth)
    ).json()
    r = await client.patch(
        f"/api/assistants/{a['id']}",
        headers=auth,
        json={"first_message": "Hi!", "recording_enabled": False, "end_call_phrases": ["ciao"]},
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["first_message"], body["recording_enabled"], body["end_call_phrases"]) == ("Hi!", False, ["ciao"])
    assert body["system_prompt"] == a["system_prompt"]
    trunk = (
        await client.post(
            "/api/trunks",
            headers=auth,
            json={"name": "t", "kind": "ip", "peer_host": "127.0.0.1", "allowed_cidrs": ["127.0.0.1"]},
        )
    ).json()
    for n in ("+14155550160", "+14155550161"):
        r = await client.post(
            "/api/phone-numbers", headers=auth, json={"number": n, "trunk_id": trunk["id"], "assistant_id": a["id"]}
        )
        assert r.status_code == 201, r.text
    got = (await client.get(f"/api/assistants/{a['id']}", headers=auth)).json()
    assert got["phone_numbers"] == ["+14155550160", "+14155550161"]
    listed = (await client.get("/api/assistants", params={"q": "des"}, headers=auth)).json()
    assert listed["count"] == 1 and listed["items"][0]["phone_numbers"] == got["phone_numbers"]
    assert (await client.delete(f"/api/assistants/{a['id']}", headers=auth)).status_code == 204
    numbers = (await client.get("/api/phone-numbers", headers=auth)).json()["items"]
    assert [n["assistant_id"] for n in numbers] == [None, None]

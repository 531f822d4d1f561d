"""No input produces a 500: schemathesis fuzzes every operation of the OpenAPI schema of a running server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.test_cli import _env, _start, _stop

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))


@pytest.mark.slow
def test_no_input_produces_a_server_error(database_url: str, tmp_path: Path) -> None:
    proc, port = _start(_env(tmp_path, database_url), tmp_path)
    try:
        key = (tmp_path / "var" / "admin-api-key").read_text().strip()
        base = f"http://127.0.0.1:{port}"
        # give the fuzzer real rows to reach past 404s: a company, a contact, a trunk, an assistant
        auth = {"Authorization": f"Bearer {key}"}
        company = httpx.post(f"{base}/api/crm/companies", json={"name": "Fuzz"}, headers=auth).json()
        httpx.post(f"{base}/api/crm/contacts", json={"company_id": company["id"], "first_name": "F"}, headers=auth)
        httpx.post(f"{base}/api/assistants", json={"name": "F", "template": "custom"}, headers=auth)
        run = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{base}/schema/openapi.json",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--seed",
                "1",
                "--request-timeout",
                "20",
                "--phases",
                "examples,coverage,fuzzing",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
        )
    finally:
        server_log = _stop(proc)
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary + "\n--- server log ---\n" + server_log[-4000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", run.stdout)
    assert counts is not None and counts.group(1) == counts.group(2), summary
    assert int(counts.group(1)) >= 1000, summary  # every operation was really exercised

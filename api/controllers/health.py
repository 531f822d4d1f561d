"""Liveness and readiness probes (no API key needed)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get
from sqlalchemy import text


class Health(msgspec.Struct):
    """Probe answer."""

    status: str
    database: str | None = None


@get("/healthz", opt={"exclude_from_auth": True}, tags=["health"], sync_to_thread=False)
def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@get("/readyz", opt={"exclude_from_auth": True}, tags=["health"], responses=None)
async def readyz(request: Request[Any, Any, Any]) -> Response[Health]:
    """Readiness: the database answers a query."""
    try:
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready", never a 500
        return Response(Health(status="unavailable", database=type(exc).__name__), status_code=503)
    return Response(Health(status="ok", database="ok"))

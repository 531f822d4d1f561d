"""HTTP clients shared by every call of a process, one per endpoint and key.

Building a client is not free: the OpenAI SDK's or an httpx client's TLS context costs ~80 ms of CPU here
(measured), on the event loop every call's audio runs on, and a fresh client opens fresh connections, so each
call's first request would also pay a TCP and TLS handshake to the provider. A call therefore borrows a client
from this pool instead of owning one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from openai import AsyncOpenAI

# Local servers (Ollama, llama.cpp) ignore the key but the SDK refuses to start without one, and leaving it
# None would make the SDK pick up OPENAI_API_KEY from the environment and send it to whatever base_url is.
NO_KEY = "no-key"
_KEPT = 64  # distinct endpoint/key pairs kept; more only happens when many accounts rotate keys


def new_openai_client(api_key: str | None, base_url: str, timeout_s: float) -> AsyncOpenAI:
    """An OpenAI SDK client without retries: a caller is waiting, so a failure must surface at once."""
    return AsyncOpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout_s, max_retries=0)


def borrow_openai(
    clients: SharedClients | None, api_key: str | None, base_url: str, timeout_s: float
) -> tuple[AsyncOpenAI, bool]:
    """The pool's OpenAI client for this endpoint, or a new one without a pool; True when the caller owns it."""
    if clients is None:
        return new_openai_client(api_key, base_url, timeout_s), True
    return clients.openai(api_key, base_url, timeout_s), False


def borrow_http(
    clients: SharedClients | None, base_url: str, headers: Mapping[str, str], timeout_s: float
) -> tuple[httpx.AsyncClient, bool]:
    """The pool's httpx client for this endpoint, or a new one without a pool; True when the caller owns it."""
    if clients is None:
        return httpx.AsyncClient(base_url=base_url, timeout=timeout_s, headers=dict(headers)), True
    return clients.http(base_url, headers, timeout_s), False


def transport_failure(exc: httpx.HTTPError, who: str, timeout_s: float, scrub: Callable[[str], str]) -> str:
    """What went wrong below HTTP (unreachable, too slow, dropped), in words and without the key."""
    detail = scrub(str(exc) or type(exc).__name__)
    if isinstance(exc, httpx.ConnectError):
        return f"cannot reach {who}: {detail}"
    if isinstance(exc, httpx.TimeoutException):
        return f"{who} did not answer within {timeout_s:g} s"
    return f"connection to {who} failed: {detail}"


class SharedClients:
    """The process's HTTP clients, looked up by what makes them differ (endpoint, key, headers, timeout)."""

    def __init__(self) -> None:
        self._openai: OrderedDict[tuple[str, str, float], AsyncOpenAI] = OrderedDict()
        self._http: OrderedDict[tuple[str, tuple[tuple[str, str], ...], float], httpx.AsyncClient] = OrderedDict()
        self._dropped: list[AsyncOpenAI | httpx.AsyncClient] = []

    def openai(self, api_key: str | None, base_url: str, timeout_s: float) -> AsyncOpenAI:
        """The shared OpenAI SDK client for this endpoint and key."""
        key = (api_key or NO_KEY, base_url, timeout_s)
        client = self._openai.get(key)
        if client is None:
            client = self._openai[key] = new_openai_client(api_key, base_url, timeout_s)
            self._trim(self._openai)
        self._openai.move_to_end(key)
        return client

    def http(self, base_url: str, headers: Mapping[str, str], timeout_s: float) -> httpx.AsyncClient:
        """The shared httpx client for this base URL and headers (the headers carry the key)."""
        key = (base_url, tuple(sorted(headers.items())), timeout_s)
        client = self._http.get(key)
        if client is None:
            client = self._http[key] = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, headers=dict(headers))
            self._trim(self._http)
        self._http.move_to_end(key)
        return client

    def _trim(self, clients: OrderedDict[Any, Any]) -> None:
        # A dropped client may still serve a live call, so it is closed with the pool, not now.
        while len(clients) > _KEPT:
            self._dropped.append(clients.popitem(last=False)[1])

    async def aclose(self) -> None:
        """Close every client; the pool is empty afterwards."""
        clients = [*self._openai.values(), *self._http.values(), *self._dropped]
        self._openai.clear()
        self._http.clear()
        self._dropped.clear()
        for client in clients:
            await client.close() if isinstance(client, AsyncOpenAI) else await client.aclose()

"""What the HTTP text-to-speech providers share: a streamed POST whose body is raw s16 PCM, and its errors."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from agents.clients import SharedClients, borrow_http, transport_failure
from agents.redaction import scrub_key
from agents.tts.base import TextToSpeech, TtsError, whole_samples


class StreamedPcmTextToSpeech(TextToSpeech):
    """A provider answering one POST per sentence with raw PCM in the body, read as it arrives."""

    provider = "provider"
    """The provider's name, for error messages."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        headers: dict[str, str],
        timeout_s: float,
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's HTTP client for this endpoint (or create one); nothing is sent yet."""
        root = base_url.rstrip("/")
        self._key = api_key
        self._timeout_s = timeout_s
        self._host = urlsplit(root).netloc or root
        self._client, self._owned = borrow_http(clients, root, headers, timeout_s)

    @abstractmethod
    def _request(self, text: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The path, query parameters and JSON body that ask for ``text``."""

    @abstractmethod
    def _error_text(self, response: httpx.Response) -> str:
        """The provider's own words from an error response."""

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream mono s16 PCM for ``text`` as the provider generates it."""
        if not text.strip():
            return
        path, params, body = self._request(text)
        name, sent = self.provider, 0
        try:
            async with self._client.stream("POST", path, params=params, json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    message = self._scrub(self._error_text(response))
                    raise TtsError(f"{name} ({self._host}) answered HTTP {response.status_code}: {message}")
                async for even in whole_samples(response.aiter_bytes()):
                    sent += len(even)
                    yield even
        except httpx.HTTPError as exc:
            raise TtsError(transport_failure(exc, f"{name} ({self._host})", self._timeout_s, self._scrub)) from None
        if not sent:
            raise TtsError(f"{name} ({self._host}) returned no audio")

    async def aclose(self) -> None:
        """Close the HTTP client unless it is the process's shared one."""
        if self._owned:
            await self._client.aclose()

    def _scrub(self, text: str) -> str:
        return scrub_key(text, self._key)

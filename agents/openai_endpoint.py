"""What the OpenAI-protocol providers (chat, transcription, speech) share: the SDK client and key-free errors."""

from __future__ import annotations

import contextlib
from types import ModuleType
from urllib.parse import urlsplit

import httpx
import openai

from agents.clients import SharedClients, borrow_openai
from agents.redaction import scrub_key

# openai 3 reads responses through httpx2 (older releases through httpx); errors while reading a streamed
# body come unwrapped from whichever it is.
_TRANSPORTS: list[ModuleType] = [httpx]
with contextlib.suppress(ImportError):
    import httpx2

    _TRANSPORTS.append(httpx2)
STALLED: tuple[type[Exception], ...] = tuple(module.TimeoutException for module in _TRANSPORTS)
DROPPED: tuple[type[Exception], ...] = tuple(module.HTTPError for module in _TRANSPORTS)


class OpenAIEndpoint:
    """One OpenAI-compatible endpoint: its SDK client (no retries), its host for messages, its error wording."""

    def __init__(
        self, *, api_key: str | None, base_url: str, timeout_s: float, clients: SharedClients | None = None
    ) -> None:
        """Borrow the process's SDK client for this endpoint (or create one); nothing is sent yet."""
        self.key = api_key or ""
        self.host = urlsplit(base_url).netloc or base_url
        self.timeout_s = timeout_s
        self.client, self._owned = borrow_openai(clients, api_key, base_url, timeout_s)

    def scrub(self, text: str) -> str:
        """``text`` without this endpoint's key."""
        return scrub_key(text, self.key)

    def describe(self, exc: openai.APIError) -> str:
        """The provider's own error message from an SDK error, without the key."""
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        if not message and isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
        if not message:
            message = body if isinstance(body, str) and body else exc.message
        return self.scrub(str(message))

    def unreachable(self, exc: BaseException) -> str:
        """Why the endpoint could not be reached: the innermost cause of a connection error, without the key."""
        cause: BaseException = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        return self.scrub(str(cause) or type(cause).__name__)

    def failure(self, exc: BaseException) -> str | None:
        """What went wrong, in words and without the key, for an SDK or transport error; None for anything else."""
        if isinstance(exc, openai.APIStatusError):
            return f"{self.host} answered HTTP {exc.status_code}: {self.describe(exc)}"
        if isinstance(exc, openai.APITimeoutError):
            return f"{self.host} did not answer within {self.timeout_s:g} s"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach {self.host}: {self.unreachable(exc)}"
        # The SDK wraps failures of the request but not of reading a streamed body.
        if isinstance(exc, STALLED):
            return f"{self.host} stalled mid-stream for {self.timeout_s:g} s"
        if isinstance(exc, DROPPED):
            return f"{self.host} dropped the stream: {self.scrub(str(exc) or type(exc).__name__)}"
        if isinstance(exc, openai.APIError):  # e.g. an ``error`` object inside an otherwise successful stream
            return f"{self.host} failed: {self.describe(exc)}"
        return None

    async def aclose(self) -> None:
        """Close the SDK client unless it is the process's shared one."""
        if self._owned:
            await self.client.close()

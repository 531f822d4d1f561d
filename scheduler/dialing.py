"""The dial interface the scheduler needs; the composition root hands it the node's implementation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from models import CallStatus


@dataclass(frozen=True)
class DialRequest:
    """One campaign attempt to dial: who talks, from which number, to whom."""

    account_id: UUID
    campaign_id: UUID
    attempt_id: UUID
    assistant_id: UUID
    contact_id: UUID
    company_id: UUID | None
    phone_number_id: UUID
    trunk_id: UUID
    caller_id: str
    destination: str
    voicemail_message: str | None = None


@dataclass(frozen=True)
class DialResult:
    """How a dialled attempt ended."""

    outcome: CallStatus
    call_id: UUID | None = None
    sip_code: int | None = None
    duration_s: float | None = None


CallCreated = Callable[[UUID], Awaitable[None]]
"""Told the call row's id as soon as it exists, so a crash mid-call can still close that row."""


class Dialer(Protocol):
    """Places campaign calls on this node and reports how they ended."""

    def free_slots(self) -> int:
        """How many more calls this node may start now (its capacity minus calls it carries)."""
        ...

    async def dial(self, request: DialRequest, on_call: CallCreated) -> DialResult:
        """Dial ``request`` and return once the call has ended."""
        ...

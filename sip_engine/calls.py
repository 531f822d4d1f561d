"""One SIP call: its controls, its audio port, and how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from baresip import (
    AudioNotActive,
    AudioRestarted,
    BaresipError,
    Call,
    CallBusy,
    CallDeclined,
    CallFailed,
    CallState,
    DigitEvent,
    Event,
    StackEvent,
)

from sip_engine.interfaces import AudioFormat

log = logging.getLogger("trunkline.sip")


class Outcome(StrEnum):
    """How a call attempt ended, in the product's words."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    DECLINED = "declined"
    ERROR = "error"


class HangupBy(StrEnum):
    """Which side ended an answered call."""

    AGENT = "agent"
    CUSTOMER = "customer"
    SYSTEM = "system"


@dataclass(frozen=True)
class CallEnd:
    """The end of a call: outcome, SIP final code, who hung up and when."""

    outcome: Outcome
    sip_code: int | None
    reason: str
    hangup_by: HangupBy | None
    answered_at: float | None
    ended_at: float


def outcome_of_failure(exc: BaseException) -> tuple[Outcome, int | None, str]:
    """Map a failed dial to the product's outcome, the SIP code and a reason."""
    status = getattr(exc, "status", None)
    reason = str(getattr(exc, "reason", "") or exc)
    if isinstance(exc, CallBusy) or status in (486, 600):
        return Outcome.BUSY, status or 486, reason
    if isinstance(exc, CallDeclined) or status == 603:
        return Outcome.DECLINED, status or 603, reason
    if status == 487:  # our own CANCEL after the ring timeout
        return Outcome.NO_ANSWER, status, reason
    return Outcome.ERROR, status, reason or "call failed"


class CallNotAnswered(Exception):
    """An outbound call ended before anyone answered; ``end`` says how."""

    def __init__(self, end: CallEnd) -> None:
        super().__init__(f"{end.outcome.value}: {end.sip_code} {end.reason}")
        self.end = end


class SipCall:
    """A live call: answer, hang up, DTMF, transfers, audio; ``ended`` resolves with its CallEnd."""

    def __init__(self, call: Call, direction: str, route: Any = None, missed: list[StackEvent] | None = None) -> None:
        self._call = call
        self.direction = direction
        self.route = route
        self.created_at = time.time()
        self.answered_at: float | None = None
        self._hung_up_by: HangupBy | None = None
        self._established = asyncio.Event()
        self._ended: asyncio.Future[CallEnd] = asyncio.get_running_loop().create_future()
        self._dtmf_callbacks: list[Callable[[str], None]] = []
        self._failure: tuple[Outcome, int | None, str] | None = None
        call.on(self._on_event)
        call.on_dtmf(self._on_digit)
        if call.state is CallState.ESTABLISHED:  # answered before we started listening
            self._mark_established()
        # A fast peer can answer or refuse before dial() returns: replay what was reported meanwhile.
        # Replayed through the library's own handler so the Call's state is right too; it fans out to us.
        for event in missed or ():
            call._on_stack_event(event)

    # --- identity -------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The SIP Call-ID."""
        return self._call.call_id or f"handle-{self._call.handle}"

    @property
    def handle(self) -> int:
        """The stack's handle of the call."""
        return self._call.handle

    @property
    def peer(self) -> str:
        """The far end's URI."""
        return self._call.peer or ""

    @property
    def ended(self) -> asyncio.Future[CallEnd]:
        """Resolves when the call is over."""
        return self._ended

    @property
    def is_established(self) -> bool:
        """True from answer until the end."""
        return self._established.is_set() and not self._ended.done()

    # --- controls -------------------------------------------------------------------------------

    async def answer(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (bounds the wait for media)
        """Answer an inbound call and wait until media is up."""
        await self._call.answer()
        await asyncio.wait_for(self._established.wait(), timeout)

    async def wait_answered(self, ring_timeout: float) -> None:
        """Wait for an outbound call to be answered; on failure raise CallNotAnswered with its CallEnd."""
        established = asyncio.ensure_future(self._established.wait())
        try:
            done, _ = await asyncio.wait(
                {established, self._ended}, timeout=ring_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            established.cancel()
        if self._established.is_set():
            return
        if not done:
            # Decide the outcome before hanging up: the CANCEL's 487 must not read as an error.
            self._failure = (Outcome.NO_ANSWER, 487, "no answer before the ring timeout")
            await self.hangup(HangupBy.SYSTEM)
        raise CallNotAnswered(await self._ended)

    async def hangup(self, by: HangupBy = HangupBy.AGENT) -> None:
        """End the call (BYE, or CANCEL before answer); a call already gone is fine."""
        if self._ended.done():
            return
        if self._hung_up_by is None:
            self._hung_up_by = by
        try:
            await self._call.hangup()
        except BaresipError as exc:
            log.debug("hangup of a call already gone: %s", exc)

    async def send_dtmf(self, digits: str) -> None:
        """Send RFC 2833 telephone events for ``digits``."""
        await self._call.send_dtmf(digits)

    def on_dtmf(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(digit)`` for each digit the far end presses."""
        self._dtmf_callbacks.append(callback)

    async def transfer(self, target_uri: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Cold transfer: REFER the far end to ``target_uri`` and wait for its outcome."""
        # The stack closes this leg before transfer() returns: say who ended it first.
        previous, self._hung_up_by = self._hung_up_by, self._hung_up_by or HangupBy.AGENT
        try:
            await self._call.transfer(target_uri, timeout=timeout)
        except BaseException:
            if not self._ended.done():
                self._hung_up_by = previous
            raise

    async def attended_transfer(self, consult: SipCall, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Warm transfer: REFER with Replaces, joining the far end to the consult call's peer."""
        previous, self._hung_up_by = self._hung_up_by, self._hung_up_by or HangupBy.AGENT
        try:
            await self._call.attended_transfer(consult._call, timeout=timeout)
        except BaseException:
            if not self._ended.done():
                self._hung_up_by = previous
            raise

    # --- audio port (sip_engine.interfaces.AudioPort) -------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the call has ended."""
        return self._ended.done()

    def format(self) -> AudioFormat | None:
        """The negotiated PCM format, or None while media is not up."""
        if self._ended.done():
            return None
        try:
            info = self._call.audio.info()
        except (AudioNotActive, AudioRestarted):
            return None
        if not (info.tx_ready and info.rx_ready) or not info.rx_sample_rate:
            return None
        return AudioFormat(rate=info.rx_sample_rate, channels=info.rx_channels, ptime_ms=info.tx_ptime_ms or 20)

    def read(self, max_bytes: int) -> bytes:
        """Take up to ``max_bytes`` of received PCM; b"" when none or media is down."""
        try:
            return self._call.audio.read(max_bytes)
        except (AudioNotActive, AudioRestarted):
            return b""

    def write(self, pcm: bytes) -> int:
        """Queue PCM for sending; 0 when media is down."""
        try:
            return self._call.audio.write(pcm)
        except (AudioNotActive, AudioRestarted):
            return 0

    def tx_buffered(self) -> int:
        """Bytes written but not yet sent."""
        try:
            return self._call.audio.info().tx_buffered
        except (AudioNotActive, AudioRestarted):
            return 0

    def flush_tx(self) -> None:
        """Drop written audio not yet sent."""
        with contextlib.suppress(AudioNotActive, AudioRestarted):
            self._call.audio.flush_tx()

    # --- events ---------------------------------------------------------------------------------

    def _on_digit(self, event: DigitEvent) -> None:
        for callback in list(self._dtmf_callbacks):
            try:
                callback(event.digit)
            except Exception:
                log.exception("DTMF callback failed")

    def _on_event(self, event: StackEvent) -> None:
        if event.event is Event.CALL_ESTABLISHED:
            self._mark_established()
        elif event.event is Event.CALL_CLOSED and not self._ended.done():
            self._ended.set_result(self._end_from(event.text or ""))

    def _mark_established(self) -> None:
        self.answered_at = self.answered_at or time.time()
        self._established.set()

    def _end_from(self, reason: str) -> CallEnd:
        now = time.time()
        if self.answered_at is not None:
            return CallEnd(
                outcome=Outcome.ANSWERED,
                sip_code=200,
                reason=reason,
                hangup_by=self._hung_up_by or HangupBy.CUSTOMER,
                answered_at=self.answered_at,
                ended_at=now,
            )
        if self._failure is not None:
            outcome, code, why = self._failure
            return CallEnd(outcome, code, why, self._hung_up_by, None, now)
        failure = CallFailed.from_close_reason(reason)
        outcome, code, why = outcome_of_failure(failure)
        if self._hung_up_by is not None and code is None:
            # We gave up before an answer (ring timeout or shutdown): the far end never picked up.
            outcome, why = Outcome.NO_ANSWER, reason or "cancelled"
        return CallEnd(outcome, code, why, self._hung_up_by, None, now)

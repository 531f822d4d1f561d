"""Test calls from a browser: an assistant's conversation over WebRTC (aiortc), with a call row like any call.

``WebCalls.answer`` takes the browser's SDP offer, creates the peer connection and the call's row, builds the
assistant's conversation and returns the SDP answer with every ICE candidate in it (no trickle; no STUN or TURN
server by default, so it works on loopback and the LAN). The call then runs in the background: once ICE and DTLS
are up the row is answered and the conversation talks on a MediaSession over the connection, bounded by the
assistant's maximum call duration, until the browser closes (``hangup_by`` customer), the conversation ends it
(agent), the duration runs out or the server stops (system).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from agents.conversation import Conversation
from agents.providers import ProviderUnavailable
from api.telephony.call_records import CallRecords
from api.telephony.conversations import ConversationFactory
from api.telephony.metering import CallMetering
from media.session import MediaSession
from media.webrtc import WebRtcAudioPort
from models import Assistant, CallDirection, CallStatus
from sip_engine.calls import CallEnd, HangupBy, Outcome

log = logging.getLogger("trunkline.webcall")

FROM_NUMBER = "webrtc"
TO_NUMBER = "browser"
MAX_SDP_CHARS = 65536
_MAX_MEDIA_SECTIONS = 16
_GATHER_TIMEOUT_S = 10.0
_HANDLER_GRACE_S = 6.0  # after the end, the conversation's last transcript writes may take this long


class WebCallError(Exception):
    """A web call cannot start; ``field`` names the input at fault (None: not the client's fault)."""

    field: str | None = None


class BadOffer(WebCallError):
    """The SDP is not an offer this server can answer."""

    field = "sdp"


class AssistantCannotTalk(WebCallError):
    """The assistant's providers cannot be built (no key stored, local models missing)."""

    field = "assistant_id"


class WebCallsUnavailable(WebCallError):
    """The node is full, stopping, or cannot open a connection right now."""


@dataclass(frozen=True)
class WebCallAnswer:
    """What the browser needs: the call's id and the SDP answer."""

    call_id: UUID
    sdp: str
    type: str = "answer"


class _WebCallControl:
    """The CallControl a conversation sees on a browser call: hang up; no DTMF on this path."""

    def __init__(self, call_id: UUID) -> None:
        self._id = str(call_id)
        self.hangup_requested = asyncio.Event()

    @property
    def id(self) -> str:
        return self._id

    async def hangup(self) -> None:
        self.hangup_requested.set()

    async def send_dtmf(self, digits: str) -> None:
        log.debug("DTMF %r not sent: a browser call carries no telephone events", digits)

    def on_dtmf(self, callback: Callable[[str], None]) -> None:
        """Browsers send no DTMF here; the callback is never called."""


@dataclass
class _WebCall:
    call_id: UUID
    pc: RTCPeerConnection
    port: WebRtcAudioPort
    control: _WebCallControl
    conversation: Conversation
    max_duration_s: float
    stop: asyncio.Event
    task: asyncio.Task[None] | None = None


class WebCalls:
    """This node's browser calls: answers offers and runs each call until it ends; all stop with the server."""

    def __init__(
        self,
        conversations: ConversationFactory,
        records: CallRecords,
        *,
        max_calls: int = 20,
        connect_timeout_s: float = 20.0,
        ice_servers: Sequence[str] = (),
        preload: bool = False,
        metering: CallMetering | None = None,
    ) -> None:
        self.conversations = conversations
        self.records = records
        self.max_calls = max_calls
        self.connect_timeout_s = connect_timeout_s
        self.ice_servers = tuple(ice_servers)
        self._preload = preload
        self.metering = metering
        self._calls: dict[UUID, _WebCall] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self._opening = 0
        self._stopping = False

    @property
    def active(self) -> int:
        """Browser calls being set up or running."""
        return len(self._calls) + self._opening

    async def start(self) -> None:
        """Load the local models in the background when this service owns them and they are assembled."""
        paths = self.conversations.local.paths
        wanted = (paths.silero_vad, paths.smart_turn, paths.whisper_dir, paths.piper_model, paths.llm_gguf)
        if self._preload and all(await asyncio.to_thread(lambda: [p.exists() for p in wanted])):
            self._spawn(self.conversations.preload())

    async def stop(self) -> None:
        """End every browser call (hangup by system) and wait for their rows to be written."""
        self._stopping = True
        for call in list(self._calls.values()):
            call.stop.set()
        pending = [c.task for c in self._calls.values() if c.task is not None] + list(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=_HANDLER_GRACE_S + 4)
            for task in late:
                task.cancel()

    async def answer(self, assistant: Assistant, offer_sdp: str) -> WebCallAnswer:
        """Answer a browser's offer for ``assistant`` and start the call; raises a WebCallError subclass."""
        if self._stopping:
            raise WebCallsUnavailable("the server is stopping")
        if self.active >= self.max_calls:
            raise WebCallsUnavailable(f"this node already carries {self.max_calls} browser calls")
        _precheck(offer_sdp)
        if self.metering is not None and not await self.metering.has_credit(assistant.account_id):
            raise WebCallsUnavailable("the account has no credit left (POST /api/billing/top-ups)")
        self._opening += 1
        pc: RTCPeerConnection | None = None
        call_id: UUID | None = None
        try:
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in self.ice_servers]))
            port = WebRtcAudioPort(pc)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            except Exception as exc:
                raise BadOffer(f"not an SDP offer this server can answer ({_describe(exc)})") from None
            if port.remote_track is None:
                raise BadOffer("the offer sends no audio: it needs an audio section the browser sends on")
            _only_first_audio(pc, port)
            pc.addTrack(port.track)
            try:
                answer = await pc.createAnswer()
            except Exception as exc:
                raise BadOffer(f"the offer cannot be answered ({_describe(exc)})") from None

            call_id = await self.records.open(
                account_id=assistant.account_id,
                direction=CallDirection.INBOUND,
                from_number=FROM_NUMBER,
                to_number=TO_NUMBER,
                status=CallStatus.RINGING,
                assistant_id=assistant.id,
            )
            try:
                conversation = await self.conversations.build(
                    assistant, call_id=call_id, outbound=False, contact_id=None, caller_number=None
                )
            except ProviderUnavailable as exc:
                raise AssistantCannotTalk(f"the assistant cannot talk: {exc}") from None
            try:
                async with asyncio.timeout(_GATHER_TIMEOUT_S):
                    await pc.setLocalDescription(answer)  # gathers every ICE candidate before returning
            except Exception as exc:
                raise WebCallsUnavailable(f"no connection could be prepared ({_describe(exc)})") from None
            sdp = pc.localDescription.sdp
            if self._stopping:
                raise WebCallsUnavailable("the server is stopping")
        except BaseException as exc:
            if pc is not None:
                await pc.close()
            if call_id is not None:
                await self._failed(call_id, str(exc) or type(exc).__name__)
            raise
        finally:
            self._opening -= 1

        call = _WebCall(
            call_id=call_id,
            pc=pc,
            port=port,
            control=_WebCallControl(call_id),
            conversation=conversation,
            max_duration_s=float(assistant.max_call_duration_s),
            stop=asyncio.Event(),
        )
        self._calls[call_id] = call
        call.task = asyncio.ensure_future(self._run(call))
        return WebCallAnswer(call_id=call_id, sdp=sdp)

    # -- one call ---------------------------------------------------------------------------------

    async def _run(self, call: _WebCall) -> None:
        end: CallEnd | None = None
        try:
            end = await self._talk(call)
        except Exception as exc:
            log.exception("web call failed", extra={"call_id": str(call.call_id)})
            end = CallEnd(Outcome.ERROR, None, _describe(exc), HangupBy.SYSTEM, None, time.time())
        finally:
            call.port.close("call over")
            try:
                await call.pc.close()
            except Exception:
                log.exception("closing a web call's connection failed", extra={"call_id": str(call.call_id)})
            self._calls.pop(call.call_id, None)
            if end is None:  # cancelled
                end = CallEnd(Outcome.ERROR, None, "cancelled", HangupBy.SYSTEM, None, time.time())
            await self.records.ended(call.call_id, end)
            if self.metering is not None:  # a browser call is charged like a phone call, from answer to end
                await self.metering.charge(call.call_id)

    async def _talk(self, call: _WebCall) -> CallEnd:
        """Wait for the connection, converse until an end, and say how the call ended."""
        port = call.port
        connected = asyncio.ensure_future(port.wait_connected())
        stopped = asyncio.ensure_future(call.stop.wait())
        try:
            await asyncio.wait(
                {connected, stopped}, timeout=self.connect_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopped.cancel()
        if not connected.done() or not connected.result():
            connected.cancel()
            reason = port.close_reason or ("server stopping" if call.stop.is_set() else "browser never connected")
            log.info("web call not connected: %s", reason, extra={"call_id": str(call.call_id)})
            return CallEnd(Outcome.ERROR, None, reason, HangupBy.SYSTEM, None, time.time())

        answered_at = time.time()
        await self.records.answered(call.call_id, answered_at, sip_code=None)
        media = MediaSession(port)
        work = asyncio.ensure_future(call.conversation.run(media, call.control))
        closed = asyncio.ensure_future(port.wait_closed())
        stop = asyncio.ensure_future(call.stop.wait())
        agent = asyncio.ensure_future(call.control.hangup_requested.wait())
        try:
            done, _ = await asyncio.wait(
                {work, closed, stop, agent}, timeout=call.max_duration_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in (closed, stop, agent):
                waiter.cancel()
        if port.closed:
            hangup_by, reason = HangupBy.CUSTOMER, port.close_reason or "browser closed"
        elif not done:
            hangup_by, reason = HangupBy.SYSTEM, "max call duration"
            log.info("max call duration reached", extra={"call_id": str(call.call_id)})
        elif stop in done:
            hangup_by, reason = HangupBy.SYSTEM, "server stopping"
        else:
            hangup_by, reason = HangupBy.AGENT, "conversation ended"
        if work.done() and not work.cancelled() and work.exception() is not None:
            log.error("conversation failed", exc_info=work.exception(), extra={"call_id": str(call.call_id)})
        # Closing the port ends the media loop, so the conversation stores its last turns and returns.
        port.close(reason)
        if not work.done():
            await asyncio.wait({work}, timeout=_HANDLER_GRACE_S)
            work.cancel()
        return CallEnd(Outcome.ANSWERED, None, reason, hangup_by, answered_at, time.time())

    async def _failed(self, call_id: UUID, reason: str) -> None:
        log.info("web call not started: %s", reason, extra={"call_id": str(call_id)})
        try:
            await self.records.ended(call_id, CallEnd(Outcome.ERROR, None, reason, HangupBy.SYSTEM, None, time.time()))
        except Exception:
            log.exception("storing a failed web call failed", extra={"call_id": str(call_id)})

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _precheck(sdp: str) -> None:
    """Cheap checks before any connection is made: size, an audio section, not too many sections."""
    if not sdp.strip():
        raise BadOffer("the SDP offer is empty")
    if len(sdp) > MAX_SDP_CHARS:
        raise BadOffer(f"the SDP offer is longer than {MAX_SDP_CHARS} characters")
    lines = sdp.lstrip().splitlines()
    if not lines[0].startswith("v=0"):
        raise BadOffer("not an SDP offer: it must start with v=0")
    media = [line for line in lines if line.startswith("m=")]
    if not any(line.startswith("m=audio ") for line in media):
        raise BadOffer("the offer has no audio section (m=audio)")
    if len(media) > _MAX_MEDIA_SECTIONS:
        raise BadOffer(f"the offer has more than {_MAX_MEDIA_SECTIONS} media sections")


def _only_first_audio(pc: RTCPeerConnection, port: WebRtcAudioPort) -> None:
    """Answer only the audio section the port listens to; video and further audio sections become inactive."""
    for transceiver in pc.getTransceivers():
        if transceiver.receiver.track is not port.remote_track:
            transceiver.direction = "inactive"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__

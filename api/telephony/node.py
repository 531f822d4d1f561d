"""One node's telephony: starts the SIP engine, keeps trunks and routes in step with the tables, runs calls.

Inbound: the engine screens the INVITE against the routing table → a call row is created → the
inbound gate (the credits hook) may refuse with a message → the call is answered → its assistant's
audio handler runs on a MediaSession (recording if enabled) until hangup or the max duration.
Outbound: ``place_call`` creates the row and dials in the background; the outcome lands on the row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.providers import ProviderUnavailable
from api.config import Settings
from api.secrets_box import SecretBox
from api.telephony.call_records import CallRecords
from api.telephony.conversations import ConversationFactory
from api.telephony.metering import CallMetering
from api.telephony.routing import InboundRoute, RoutingTable
from media.frames import tone
from media.handlers.base import AudioHandler
from media.handlers.echo import EchoHandler
from media.handlers.playback import PlaybackHandler
from media.recording import StereoRecorder
from media.session import MediaSession
from models import Assistant, CallDirection, CallStatus, RegistrationState, Trunk
from sip_engine.calls import HangupBy, SipCall
from sip_engine.engine import EngineConfig, SipEngine
from sip_engine.screening import dialled_user
from sip_engine.trunks import RegistrationStatus, TrunkSettings

log = logging.getLogger("trunkline.telephony")

InboundGate = Callable[[InboundRoute], Awaitable[str | None]]
"""Asked before answering: a message means "refuse": it is played, then the call is hung up."""
RECORDINGS = "recordings"  # folder of the data directory holding call recordings
REFRESH_INTERVAL_S = 5.0
REFRESH_DEBOUNCE_S = 0.05


def special_information_tone() -> bytes:
    """The ITU SIT (913.8, 1370.6, 1776.7 Hz) twice: the network's own "not available" signal."""
    segment = tone(913.8, 330) + tone(1370.6, 330) + tone(1776.7, 330) + tone(0.0, 500)
    return segment * 2


@dataclass(frozen=True)
class CallPlan:
    """What the node needs to run one call's media once it is up."""

    call_id: UUID
    account_id: UUID
    max_duration_s: float
    record: bool
    assistant: Assistant | None = None
    metered: bool = True  # False for a refused call: nothing to meter or charge


class TelephonyNode:
    """Owns the SIP engine of this process and everything that ties calls to the tables."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], secrets: SecretBox) -> None:
        sip = settings.sip
        self.settings = settings
        self._sessions = sessions
        self._secrets = secrets
        self.routes = RoutingTable()
        self.records = CallRecords(sessions)
        self.metering = CallMetering(sessions, settings.credits)
        self.inbound_gate: InboundGate | None = self.metering.inbound_gate
        self.recordings_dir = settings.data_dir / RECORDINGS
        self.conversations = ConversationFactory(settings, sessions, secrets)
        self.engine = SipEngine(
            EngineConfig(
                host=sip.host,
                port=sip.port,
                transport=sip.transport,
                public_address=sip.public_address,
                max_concurrent_calls=sip.max_concurrent_calls,
                rtp_ports=sip.rtp_port_range,
                retry_backoff_s=(sip.register_retry_s, 300.0),
            ),
            router=self.routes.screen,
            on_inbound=self._run_inbound,
            on_registration=self._registration_changed,
        )
        self._refresh_wanted = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refresher: asyncio.Task[None] | None = None

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the engine and load trunks and routes."""
        await self.engine.start()
        await self.refresh()
        self._refresher = asyncio.create_task(self._keep_fresh())
        if self.settings.sip.audio_handler == "assistant" and self.settings.providers.preload_local:
            self._spawn(self.conversations.preload())

    async def stop(self) -> None:
        """Stop refreshing, end every call and stop the engine."""
        if self._refresher is not None:
            self._refresher.cancel()
        await self.engine.stop()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        await self.conversations.aclose()

    def request_refresh(self) -> None:
        """Re-read trunks and routes soon (after an edit through the API)."""
        self._refresh_wanted.set()

    async def refresh(self) -> None:
        """Re-read trunks and routes now and apply them without a restart."""
        async with self._sessions() as session:
            await self.routes.load(session)
            trunks = list(await session.scalars(select(Trunk)))
        await self.engine.apply_trunks([self._trunk_settings(t) for t in trunks])

    async def _keep_fresh(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._refresh_wanted.wait(), REFRESH_INTERVAL_S)
                await asyncio.sleep(REFRESH_DEBOUNCE_S)
            except TimeoutError:
                pass
            self._refresh_wanted.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("refreshing trunks and routes failed; keeping the previous ones")

    def _trunk_settings(self, trunk: Trunk) -> TrunkSettings:
        password = None
        if trunk.password_encrypted:
            try:
                password = self._secrets.decrypt(trunk.password_encrypted)
            except Exception:
                log.error("trunk password cannot be decrypted with this node's key", extra={"trunk": str(trunk.id)})
        return TrunkSettings(
            id=str(trunk.id),
            kind=trunk.kind.value,  # type: ignore[arg-type]
            transport=trunk.transport.value,  # type: ignore[arg-type]
            registrar=trunk.registrar,
            username=trunk.username,
            password=password,
            auth_user=trunk.auth_user,
            outbound_proxy=trunk.outbound_proxy,
            register_interval_s=trunk.register_interval_s,
            peer_host=trunk.peer_host,
            peer_port=trunk.peer_port,
            allowed_cidrs=tuple(trunk.allowed_cidrs or ()),
            enabled=trunk.enabled,
        )

    def _registration_changed(self, trunk_id: str, status: RegistrationStatus, error: str | None) -> None:
        self._spawn(self._store_registration(UUID(trunk_id), status, error))

    async def _store_registration(self, trunk_id: UUID, status: RegistrationStatus, error: str | None) -> None:
        values: dict[str, Any] = {"registration_state": RegistrationState(status.value)}
        if status is RegistrationStatus.REGISTERED:
            values.update(registered_at=datetime.now(UTC), last_error=None)
        elif status is RegistrationStatus.FAILED:
            values["last_error"] = (error or "registration failed")[:500]
        async with self._sessions() as session, session.begin():
            await session.execute(update(Trunk).where(Trunk.id == trunk_id).values(**values))

    # --- inbound ---------------------------------------------------------------------------------

    async def _run_inbound(self, call: SipCall) -> None:
        route: InboundRoute | None = call.route
        if route is None or route.assistant_id is None:
            await call.hangup(HangupBy.SYSTEM)
            return
        assistant = await self._assistant(route.assistant_id)
        caller = dialled_user(call.peer) or call.peer
        call_id = await self.records.open(
            account_id=route.account_id,
            direction=CallDirection.INBOUND,
            from_number=caller,
            to_number=route.number,
            status=CallStatus.RINGING,
            assistant_id=route.assistant_id,
            phone_number_id=route.phone_number_id,
            trunk_id=route.trunk_id,
            sip_call_id=call.id,
        )
        refusal = await self.inbound_gate(route) if self.inbound_gate else None
        talker: AudioHandler | None = None
        if refusal is None:
            talker = await self._handler_for(
                assistant, call_id=call_id, outbound=False, contact_id=None, caller_number=caller
            )
        plan = CallPlan(
            call_id=call_id,
            account_id=route.account_id,
            max_duration_s=float(assistant.max_call_duration_s if assistant else 600),
            record=bool(assistant and assistant.recording_enabled),
            assistant=assistant,
            metered=refusal is None,
        )
        try:
            await call.answer()
        except Exception as exc:
            log.info("answer failed", extra={"call_id": call.id, "error": str(exc)})
            await call.hangup(HangupBy.SYSTEM)
        else:
            await self.records.answered(call_id, call.answered_at)
            handler = talker or PlaybackHandler(audio=special_information_tone(), hangup_after=True)
            await self._converse(call, plan, handler)
        await self.records.ended(call_id, await call.ended)
        if plan.metered:
            await self.metering.charge(call_id)

    async def _assistant(self, assistant_id: UUID) -> Assistant | None:
        async with self._sessions() as session:
            return await session.get(Assistant, assistant_id)

    async def _handler_for(
        self,
        assistant: Assistant | None,
        *,
        call_id: UUID,
        outbound: bool,
        contact_id: UUID | None,
        caller_number: str | None,
    ) -> AudioHandler | None:
        """What talks on a call: the assistant's conversation (None when it cannot be built), or a line test."""
        mode = self.settings.sip.audio_handler
        if mode == "tone":
            return PlaybackHandler(tone_hz=440.0, tone_ms=2000)
        if mode == "echo":
            return EchoHandler()
        if assistant is None:
            return None
        try:
            return await self.conversations.build(
                assistant, call_id=call_id, outbound=outbound, contact_id=contact_id, caller_number=caller_number
            )
        except ProviderUnavailable as exc:
            log.error("assistant cannot talk: %s", exc, extra={"call_id": str(call_id)})
            return None

    async def _converse(self, call: SipCall, plan: CallPlan, handler: AudioHandler) -> None:
        """Run the handler on the call's media until it returns, the call ends, or the max duration."""
        recorder = None
        if plan.record:
            path = self.recordings_dir / str(plan.account_id) / f"{plan.call_id}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            recorder = StereoRecorder(path)
            await self.records.update(plan.call_id, recording_path=str(path.relative_to(self.settings.data_dir)))
        media = MediaSession(call, recorder=recorder)
        work = asyncio.ensure_future(handler.run(media, call))
        meter = self.metering.meter(call, plan.call_id, plan.account_id, plan.assistant) if plan.metered else None
        watch = asyncio.ensure_future(self.metering.watch(meter, call, handler)) if meter else None
        try:
            done, _ = await asyncio.wait(
                {work, asyncio.ensure_future(call.ended)},
                timeout=plan.max_duration_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if not done:
                log.info("max call duration reached", extra={"call_id": call.id})
                await call.hangup(HangupBy.SYSTEM)
            elif work in done and work.exception() is not None:
                log.error("audio handler failed", exc_info=work.exception(), extra={"call_id": call.id})
            if not call.closed:
                await call.hangup(HangupBy.AGENT)
            await call.ended
        finally:
            work.cancel()
            if watch is not None:
                watch.cancel()
            if recorder is not None:
                recorder.close()

    # --- outbound --------------------------------------------------------------------------------

    async def place_call(self, **call: Any) -> UUID:
        """Create the call's row and dial it in the background; returns the row's id at once."""
        call_id, _ = await self.start_outbound(**call)
        return call_id

    async def start_outbound(
        self,
        *,
        account_id: UUID,
        assistant: Assistant,
        trunk_id: UUID,
        caller_id: str,
        destination: str,
        phone_number_id: UUID | None = None,
        contact_id: UUID | None = None,
        company_id: UUID | None = None,
        campaign_id: UUID | None = None,
    ) -> tuple[UUID, asyncio.Task[Any]]:
        """Create the call's row and dial it; returns the row's id and the task that ends with the call."""
        call_id = await self.records.open(
            account_id=account_id,
            direction=CallDirection.OUTBOUND,
            from_number=caller_id,
            to_number=destination,
            status=CallStatus.QUEUED,
            assistant_id=assistant.id,
            phone_number_id=phone_number_id,
            trunk_id=trunk_id,
            contact_id=contact_id,
            company_id=company_id,
            campaign_id=campaign_id,
        )
        plan = CallPlan(
            call_id=call_id,
            account_id=account_id,
            max_duration_s=float(assistant.max_call_duration_s),
            record=assistant.recording_enabled,
            assistant=assistant,
        )
        task = self._spawn(self._run_outbound(plan, assistant, str(trunk_id), caller_id, destination, contact_id))
        return call_id, task

    async def _run_outbound(
        self,
        plan: CallPlan,
        assistant: Assistant,
        trunk_id: str,
        caller_id: str,
        destination: str,
        contact_id: UUID | None,
    ) -> None:
        # Built before dialling: a callee must never answer a call whose assistant cannot speak.
        handler = await self._handler_for(
            assistant, call_id=plan.call_id, outbound=True, contact_id=contact_id, caller_number=destination
        )
        if handler is None:
            await self.records.failed(plan.call_id)
            return
        try:
            call = await self.engine.dial(trunk_id, destination, caller_id=caller_id)
        except Exception as exc:
            await self.records.failed(plan.call_id)
            log.info("dial failed", extra={"call_id": str(plan.call_id), "error": str(exc)})
            return
        await self.records.update(plan.call_id, status=CallStatus.RINGING, sip_call_id=call.id)
        try:
            await call.wait_answered(self.settings.sip.ring_timeout_s)
        except Exception:
            pass
        else:
            await self.records.answered(plan.call_id, call.answered_at)
            await self._converse(call, plan, handler)
        await self.records.ended(plan.call_id, await call.ended)
        await self.metering.charge(plan.call_id)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def recording_file(settings: Settings, relative: str) -> Path:
    """The absolute path of a stored recording, refusing anything outside the recordings folder."""
    root = (settings.data_dir / RECORDINGS).resolve()
    path = (settings.data_dir / relative).resolve()
    if root not in path.parents:
        raise ValueError("recording path outside the recordings folder")
    return path

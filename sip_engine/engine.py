"""The SIP engine of one node: a baresip runtime, one user agent per trunk, inbound screening, dialling."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from baresip import Account, Config, RegistrationError, Runtime, UserAgent

from sip_engine.calls import HangupBy, SipCall
from sip_engine.screening import InboundOffer, InboundScreen, Refusal
from sip_engine.trunks import AUDIO_CODECS, RegistrationStatus, TrunkSettings

log = logging.getLogger("trunkline.sip")

InboundRouter = Callable[[InboundOffer], "Refusal | Any"]
"""Decides, synchronously and on the SIP thread, whether an INVITE is taken: a Refusal, or its route."""
InboundHandler = Callable[[SipCall], Awaitable[None]]
"""Runs an admitted inbound call from its INVITE to its end (answering is its job)."""
RegistrationListener = Callable[[str, RegistrationStatus, str | None], None]
"""Told ``(trunk_id, status, last_error)`` whenever a trunk's registration changes."""


class CapacityError(Exception):
    """The node already carries its maximum number of calls."""


class UnknownTrunkError(Exception):
    """A call asked for a trunk the engine was not given (or one that is disabled)."""


@dataclass(frozen=True)
class EngineConfig:
    """How the node's SIP stack listens and behaves."""

    host: str = "127.0.0.1"
    port: int = 5060
    transport: str = "udp"
    public_address: str | None = None
    max_concurrent_calls: int = 50
    rtp_ports: tuple[int, int] | None = None
    jitter_buffer_ms: tuple[int, int] = (20, 60)
    register_timeout_s: float = 10.0
    retry_backoff_s: tuple[float, float] = (2.0, 300.0)
    expose_headers: tuple[str, ...] = field(default=())

    def stack_config(self) -> Config:
        """The baresip runtime configuration for these settings."""
        lines = [
            f"sip_listen {self.host}:{self.port}",
            # A fixed 20-60 ms buffer: the adaptive default adds about 100 ms of mouth-to-ear delay.
            "audio_jitter_buffer_type fixed",
            f"audio_jitter_buffer_ms {self.jitter_buffer_ms[0]}-{self.jitter_buffer_ms[1]}",
        ]
        if self.rtp_ports:
            lines.append(f"rtp_ports {self.rtp_ports[0]}-{self.rtp_ports[1]}")
        interface = self.public_address or (None if self.host in ("0.0.0.0", "::") else self.host)
        return Config(
            net_interface=interface,
            # Our own screen answers 503 past the limit; the stack's would answer 486 (busy), a lie.
            max_concurrent_calls=None,
            extra_config_text="\n".join(lines) + "\n",
            expose_headers=self.expose_headers,
        )


@dataclass
class _TrunkState:
    settings: TrunkSettings
    agent: UserAgent | None = None
    supervisor: asyncio.Task[None] | None = None
    status: RegistrationStatus = RegistrationStatus.UNREGISTERED
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    dialers: dict[str, UserAgent] = field(default_factory=dict)


class SipEngine:
    """One node's SIP side: trunks from settings, inbound calls screened and handed over, outbound dialling."""

    def __init__(
        self,
        config: EngineConfig,
        router: InboundRouter,
        on_inbound: InboundHandler,
        on_registration: RegistrationListener | None = None,
    ) -> None:
        self.config = config
        self._router = router
        self._on_inbound = on_inbound
        self._on_registration = on_registration or (lambda *_: None)
        self._runtime: Runtime | None = None
        self._listener: UserAgent | None = None
        self._screen = InboundScreen(self._screen_invite)
        self._trunks: dict[str, _TrunkState] = {}
        self._calls: dict[str, SipCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = threading.Lock()
        self._reserved = 0  # calls counted against the limit, inbound ones from the SIP thread
        self._apply_lock = asyncio.Lock()
        # Call events that arrive before their SipCall exists (a peer refusing within a millisecond).
        self._unclaimed: dict[int, list[Any]] = {}
        self._claimed: set[int] = set()

    # --- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the stack, listen for INVITEs and begin screening them."""
        runtime = Runtime()
        await runtime.start(self.config.stack_config())
        self._runtime = runtime
        runtime.subscribe(self._hold_unclaimed_events)
        self._screen.install()
        domain = f"{self.config.public_address or self.config.host}:{self.config.port}"
        self._listener = await UserAgent.create(
            runtime,
            Account(
                user="trunkline",
                domain=domain,
                password="",
                reg_interval=0,
                transport=self.config.transport,  # type: ignore[arg-type]
                audio_codecs=AUDIO_CODECS,
                # Trunks send INVITEs to the DID, not to a user of ours: take every request URI.
                extra_params=("catchall=yes",),
            ),
            transfer_policy="reject",
        )
        self._listener.on_incoming(self._accept_incoming)
        log.info("SIP listening", extra={"address": domain, "transport": self.config.transport})

    async def stop(self) -> None:
        """Hang up every call, unregister trunks and stop the stack."""
        for call in list(self._calls.values()):
            await call.hangup(HangupBy.SYSTEM)
        if self._calls:
            await asyncio.wait([asyncio.ensure_future(c.ended) for c in self._calls.values()], timeout=3)
        for trunk_id in list(self._trunks):
            await self._remove_trunk(trunk_id)
        for task in list(self._tasks):
            task.cancel()
        self._screen.uninstall()
        if self._runtime is not None:
            await self._runtime.close()
            self._runtime = None

    # --- trunks ----------------------------------------------------------------------------------

    async def apply_trunks(self, trunks: list[TrunkSettings]) -> None:
        """Make the live trunks match ``trunks``: add new ones, re-create edited ones, drop removed ones."""
        async with self._apply_lock:
            wanted = {t.id: t for t in trunks if t.enabled}
            for trunk_id in [t for t in self._trunks if t not in wanted]:
                await self._remove_trunk(trunk_id)
                self._on_registration(trunk_id, RegistrationStatus.UNREGISTERED, None)
            for trunk_id, settings in wanted.items():
                current = self._trunks.get(trunk_id)
                if current is not None and current.settings.fingerprint == settings.fingerprint:
                    current.settings = settings  # allowed addresses may change without a new account
                    continue
                if current is not None:
                    await self._remove_trunk(trunk_id)
                await self._add_trunk(settings)

    async def _add_trunk(self, settings: TrunkSettings) -> None:
        state = _TrunkState(settings)
        self._trunks[settings.id] = state
        if settings.kind != "registered":
            state.status = RegistrationStatus.NOT_APPLICABLE
            self._on_registration(settings.id, state.status, None)
            return
        state.supervisor = self._spawn(self._keep_registered(state))

    async def _remove_trunk(self, trunk_id: str) -> None:
        state = self._trunks.pop(trunk_id, None)
        if state is None:
            return
        if state.supervisor is not None:
            state.supervisor.cancel()
        if state.agent is not None and state.status is RegistrationStatus.REGISTERED:
            try:
                await state.agent.unregister(timeout=2.0)
            except Exception as exc:  # a registrar gone away must not block an edit
                log.info("unregister failed", extra={"trunk": trunk_id, "error": str(exc)})
        # baresip-python has no way to free a user agent; the old one stays idle and unregistered.

    def _set_status(self, state: _TrunkState, status: RegistrationStatus, error: str | None) -> None:
        if state.status is status and status is not RegistrationStatus.FAILED:
            return
        state.status = status
        if self._trunks.get(state.settings.id) is state:
            self._on_registration(state.settings.id, status, error)

    async def _keep_registered(self, state: _TrunkState) -> None:
        """Register, let the stack refresh before expiry, and retry with backoff after any failure."""
        assert self._runtime is not None
        first, ceiling = self.config.retry_backoff_s
        delay = first
        try:
            agent = await UserAgent.create(self._runtime, state.settings.account(), transfer_policy="reject")
        except Exception as exc:
            self._set_status(state, RegistrationStatus.FAILED, f"invalid trunk settings: {exc}")
            return
        state.agent = agent
        agent.on_incoming(self._accept_incoming)

        def on_event(event: Any) -> None:
            from baresip import Event

            if event.event is Event.REGISTER_FAIL:
                state.failed.set()
                self._set_status(state, RegistrationStatus.FAILED, event.text or "registration failed")
            elif event.event is Event.REGISTER_OK and state.status is not RegistrationStatus.REGISTERED:
                self._set_status(state, RegistrationStatus.REGISTERED, None)

        agent.on(on_event)
        while True:
            self._set_status(state, RegistrationStatus.REGISTERING, None)
            state.failed.clear()
            try:
                await agent.register(timeout=self.config.register_timeout_s)
            except RegistrationError as exc:
                status = f"{exc.status} {exc.reason}".strip() if exc.status else str(exc)
                self._set_status(state, RegistrationStatus.FAILED, status)
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)
                continue
            delay = first
            self._set_status(state, RegistrationStatus.REGISTERED, None)
            # The stack refreshes before expiry by itself; a refresh that fails lands here.
            await state.failed.wait()
            await asyncio.sleep(delay)

    # --- inbound ---------------------------------------------------------------------------------

    def _screen_invite(self, offer: InboundOffer) -> Refusal | Any:
        """On the SIP thread: capacity first, then the application's router."""
        if not self._reserve():
            return Refusal(503, "Service Unavailable")
        try:
            decision = self._router(offer)
        except BaseException:
            self._release()
            raise
        if isinstance(decision, Refusal):
            self._release()
        return decision

    def _accept_incoming(self, call: Any) -> None:
        route = self._screen.take_route(call.call_id)
        sip_call = SipCall(call, "inbound", route, missed=self._claim(call))
        self._track(sip_call)
        self._spawn(self._run_inbound(sip_call))

    async def _run_inbound(self, call: SipCall) -> None:
        try:
            await self._on_inbound(call)
        except Exception:
            log.exception("inbound call handler failed", extra={"call_id": call.id})
            await call.hangup(HangupBy.SYSTEM)

    # --- outbound --------------------------------------------------------------------------------

    async def dial(
        self, trunk_id: str, number: str, caller_id: str | None = None, headers: dict[str, str] | None = None
    ) -> SipCall:
        """Place a call to ``number`` through a trunk, presenting ``caller_id``; returns while it rings."""
        state = self._trunks.get(trunk_id)
        if state is None or self._runtime is None:
            raise UnknownTrunkError(f"trunk {trunk_id} is not active on this node")
        runtime = self._runtime

        async def place() -> Any:
            agent = state.dialers.get(caller_id or "")
            if agent is None:
                agent = await UserAgent.create(
                    runtime, state.settings.account(user=caller_id or None), transfer_policy="reject"
                )
                # The stack hands an INVITE to the user agent whose user matches the request URI, so once a DID
                # has been used as caller ID its inbound calls arrive here, not at the listener: without this
                # they were screened and then rang unanswered forever.
                agent.on_incoming(self._accept_incoming)
                state.dialers[caller_id or ""] = agent
            extra = dict(headers or {})
            if caller_id:
                extra.setdefault("P-Asserted-Identity", f"<sip:{caller_id}@{state.settings.domain}>")
            return await agent.dial(state.settings.dial_uri(number), headers=extra)

        return await self._outbound(place)

    async def dial_uri(self, uri: str) -> SipCall:
        """Place a call to a SIP URI directly from the node's listener (consult legs, tests)."""
        listener = self._listener
        if listener is None:
            raise RuntimeError("engine not started")
        return await self._outbound(lambda: listener.dial(uri))

    async def _outbound(self, place: Callable[[], Awaitable[Any]]) -> SipCall:
        """Hold a slot under the node's limit while ``place`` dials; the call gives it back when it ends."""
        if not self._reserve():
            raise CapacityError(f"this node already carries {self.config.max_concurrent_calls} calls")
        try:
            call = await place()
        except BaseException:
            self._release()
            raise
        sip_call = SipCall(call, "outbound", missed=self._claim(call))
        self._track(sip_call)
        return sip_call

    # --- bookkeeping -----------------------------------------------------------------------------

    def _hold_unclaimed_events(self, event: Any) -> None:
        """Keep call events until their SipCall exists; bounded, the oldest calls are forgotten first."""
        if not event.call or event.call in self._claimed:
            return
        self._unclaimed.setdefault(event.call, []).append(event)
        while len(self._unclaimed) > 256:
            self._unclaimed.pop(next(iter(self._unclaimed)))

    def _claim(self, call: Any) -> list[Any]:
        self._claimed.add(call.handle)
        return self._unclaimed.pop(call.handle, [])

    def free_slots(self) -> int:
        """How many more calls, inbound or outbound, this node may carry now."""
        with self._lock:
            return self.config.max_concurrent_calls - self._reserved

    def _reserve(self) -> bool:
        """Take one of the node's call slots (from either thread); False when the node is full."""
        with self._lock:
            if self._reserved >= self.config.max_concurrent_calls:
                return False
            self._reserved += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self._reserved -= 1

    def _track(self, call: SipCall) -> None:
        """Know the call until it ends, then give its slot back."""
        self._calls[call.id] = call

        def done(_: asyncio.Future[Any]) -> None:
            self._calls.pop(call.id, None)
            self._claimed.discard(call.handle)
            self._release()

        call.ended.add_done_callback(done)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

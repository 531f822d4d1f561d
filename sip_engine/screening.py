"""Inbound screening on the SIP thread: answer an INVITE with any status code before Python sees it.

baresip-python reports an inbound call only after the stack accepted it, offers no way to read the
INVITE's source address, and can reject only with 486. Trunkline must answer 404 (unknown DID),
480 (inbound disabled), 403 (address not allowed) and 503 (node full). The stack's own C functions
are exported by the extension module, so this module intercepts CALL_INCOMING on the SIP thread,
reads the source address and dialled URI through them, asks a synchronous screen function, and, to
refuse, ends the call from a zero-delay timer on the same thread (never from inside the event
handler, whose caller still uses the call afterwards).

It relies on baresip-python 0.5.2a3 internals (the event sink and the exported symbols); the version
is pinned in pyproject.toml and tests/test_sip_*.py fail loudly if either changes.
"""

from __future__ import annotations

import ctypes
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baresip import _events
from baresip import _native as native

log = logging.getLogger("trunkline.sip")

_CALL_INCOMING = native.lib.BP_EV_BASE + 10
_SA_BYTES = 128  # struct sa is a sockaddr union plus its length; generous on purpose
_TIMER_BYTES = 256  # struct tmr is 9 words in libre 4.x; generous on purpose
_TimerHandler = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _load_stack() -> ctypes.CDLL:
    stack = ctypes.CDLL(native.__file__)
    stack.uag_call_find.restype = ctypes.c_void_p
    stack.uag_call_find.argtypes = [ctypes.c_char_p]
    stack.call_msg_src.restype = ctypes.c_int
    stack.call_msg_src.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    stack.sa_ntop.restype = ctypes.c_int
    stack.sa_ntop.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    stack.sa_port.restype = ctypes.c_uint16
    stack.sa_port.argtypes = [ctypes.c_void_p]
    stack.call_localuri.restype = ctypes.c_char_p
    stack.call_localuri.argtypes = [ctypes.c_void_p]
    stack.call_get_ua.restype = ctypes.c_void_p
    stack.call_get_ua.argtypes = [ctypes.c_void_p]
    stack.ua_hangup.restype = None
    stack.ua_hangup.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint16, ctypes.c_char_p]
    stack.tmr_init.restype = None
    stack.tmr_init.argtypes = [ctypes.c_void_p]
    stack.tmr_start_dbg.restype = None
    stack.tmr_start_dbg.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint64,
        _TimerHandler,
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    return stack


_stack = _load_stack()


@dataclass(frozen=True)
class InboundOffer:
    """What is known of an inbound INVITE when it is screened."""

    call_id: str
    request_uri: str
    dialled: str
    caller_uri: str
    source_ip: str
    source_port: int


@dataclass(frozen=True)
class Refusal:
    """A final error response for an INVITE."""

    status: int
    reason: str


ScreenFunction = Callable[[InboundOffer], "Refusal | Any"]
"""Called on the SIP thread for every INVITE: a Refusal ends it; anything else is kept as the call's route."""


def dialled_user(uri: str) -> str:
    """The user part of a SIP URI (the dialled number), without parameters."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    user = rest.split("@", 1)[0] if "@" in rest else ""
    return user.split(";", 1)[0]


class InboundScreen:
    """Intercepts inbound INVITEs on the SIP thread; refused ones never reach Python as calls."""

    def __init__(self, screen: ScreenFunction) -> None:
        self._screen = screen
        self._routes: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._pending_timers: dict[int, tuple[ctypes.Array[ctypes.c_char], Any]] = {}
        self._previous_sink: Callable[[int, int, bytes | None], None] | None = None

    def install(self) -> None:
        """Put the screen in front of the runtime's event sink (after Runtime.start)."""
        previous = _events.set_sink(None)
        if previous is None:
            raise RuntimeError("baresip runtime has no event sink: start the runtime first")
        self._previous_sink = previous
        _events.set_sink(self._sink)

    def uninstall(self) -> None:
        """Give the runtime its own sink back."""
        if self._previous_sink is not None:
            _events.set_sink(self._previous_sink)
            self._previous_sink = None

    def take_route(self, call_id: str | None) -> Any:
        """The route the screen returned for an accepted call (once)."""
        with self._lock:
            return self._routes.pop(call_id or "", None)

    # --- on the SIP thread -------------------------------------------------------------------------

    def _sink(self, ev: int, handle: int, payload: bytes | None) -> None:
        forward = self._previous_sink
        if ev == _CALL_INCOMING and payload:
            try:
                if not self._admit(json.loads(payload)):
                    return
            except Exception:  # one odd INVITE must never take the SIP thread down
                log.exception("inbound screening failed; the call goes on unscreened")
        if forward is not None:
            forward(ev, handle, payload)

    def _admit(self, event: dict[str, Any]) -> bool:
        call_id = str(event.get("call_id") or "")
        call = _stack.uag_call_find(call_id.encode())
        if not call:
            return True
        request_uri = (_stack.call_localuri(call) or b"").decode(errors="replace")
        source_ip, source_port = _source_address(call)
        offer = InboundOffer(
            call_id=call_id,
            request_uri=request_uri,
            dialled=dialled_user(request_uri),
            caller_uri=str(event.get("peer") or ""),
            source_ip=source_ip,
            source_port=source_port,
        )
        decision = self._screen(offer)
        if isinstance(decision, Refusal):
            log.info("inbound refused", extra={"status": decision.status, "dialled": offer.dialled})
            self._refuse_later(call_id, decision)
            return False
        with self._lock:
            self._routes[call_id] = decision
        return True

    def _refuse_later(self, call_id: str, refusal: Refusal) -> None:
        timer = ctypes.create_string_buffer(_TIMER_BYTES)
        key = ctypes.addressof(timer)
        reason = refusal.reason.encode()
        status = refusal.status

        def fire(_arg: int | None) -> None:
            try:
                found = _stack.uag_call_find(call_id.encode())
                if found:  # the caller may have cancelled meanwhile
                    _stack.ua_hangup(_stack.call_get_ua(found), found, status, reason)
            finally:
                self._pending_timers.pop(key, None)

        handler = _TimerHandler(fire)
        self._pending_timers[key] = (timer, handler)  # both must outlive the timer
        _stack.tmr_init(timer)
        _stack.tmr_start_dbg(timer, 0, handler, None, b"trunkline-screen", 0)


def _source_address(call: int) -> tuple[str, int]:
    sa = ctypes.create_string_buffer(_SA_BYTES)
    if _stack.call_msg_src(call, sa) != 0:
        return "", 0
    text = ctypes.create_string_buffer(64)
    if _stack.sa_ntop(sa, text, 64) != 0:
        return "", 0
    return text.raw.split(b"\0", 1)[0].decode(), int(_stack.sa_port(sa))

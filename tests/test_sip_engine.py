"""The SIP engine against real baresip phones on 127.0.0.1: DTMF, audio, inbound routing, cold and warm transfer.

One SipEngine serves the whole module (baresip allows one Runtime per process); every test starts fresh peer
processes on the two ports the engine's IP trunks point at.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import numpy as np
import pytest
import pytest_asyncio

from sip_engine.calls import CallEnd, HangupBy, Outcome, SipCall
from sip_engine.engine import EngineConfig, SipEngine
from sip_engine.screening import InboundOffer
from sip_engine.trunks import TrunkSettings
from tests.peers.baresip_peer import BaresipPeer, sine, voiced_frequency
from tests.peers.ports import free_udp_port

pytestmark = pytest.mark.slow

PINNED_BARESIP = "0.5.2a3"  # sip_engine.screening relies on this version's internals
FREQ_TOLERANCE_HZ = 20.0
PEER_SECONDS = 30.0  # a peer left behind by a crashed test exits by itself after this


@dataclass
class Harness:
    """The module's engine, what its inbound handler received, and the ports its trunks point at."""

    engine: SipEngine
    port: int
    port_a: int
    port_b: int
    inbound: asyncio.Queue[SipCall] = field(default_factory=asyncio.Queue)
    offers: list[InboundOffer] = field(default_factory=list)


@pytest_asyncio.fixture(scope="module")
async def sip() -> AsyncIterator[Harness]:
    """One engine for the module: every DID accepted, inbound calls answered and queued for the test."""
    inbound: asyncio.Queue[SipCall] = asyncio.Queue()
    offers: list[InboundOffer] = []

    def router(offer: InboundOffer) -> str:
        offers.append(offer)
        return offer.dialled

    async def on_inbound(call: SipCall) -> None:
        await call.answer()
        inbound.put_nowait(call)

    port = free_udp_port()
    engine = SipEngine(EngineConfig(host="127.0.0.1", port=port), router, on_inbound)
    await engine.start()
    harness = Harness(engine, port, free_udp_port(), free_udp_port(), inbound, offers)
    await engine.apply_trunks(
        [
            TrunkSettings(id="peer-a", kind="ip", peer_host="127.0.0.1", peer_port=harness.port_a),
            TrunkSettings(id="peer-b", kind="ip", peer_host="127.0.0.1", peer_port=harness.port_b),
        ]
    )
    try:
        yield harness
    finally:
        await engine.stop()


@pytest.fixture
def phones(sip: Harness) -> Iterator[Callable[[str, float], BaresipPeer]]:
    """Start peer "a" or "b" (fresh processes, on the trunks' ports) with a tone; stopped after the test."""
    with ExitStack() as stack:

        def start(which: str, tone_hz: float = 0.0, codecs: str = "pcmu,pcma") -> BaresipPeer:
            port = {"a": sip.port_a, "b": sip.port_b}[which]
            name = {"a": "alice", "b": "bob"}[which]
            return stack.enter_context(BaresipPeer(port, name, tone_hz, max_seconds=PEER_SECONDS, codecs=codecs))

        yield start


async def answered_call(sip: Harness, trunk: str, number: str) -> SipCall:
    """Dial ``number`` through ``trunk`` and wait until it is answered with media up."""
    call = await sip.engine.dial(trunk, number, caller_id="+15550100")
    await call.wait_answered(5)
    await until(lambda: call.format() is not None, 3, "media of the outbound call never came up")
    return call


async def until(condition: Callable[[], object], within: float, message: str) -> None:
    """Poll ``condition`` every 20 ms; fail with ``message`` after ``within`` seconds."""
    end = time.monotonic() + within
    while not condition():
        if time.monotonic() > end:
            pytest.fail(message)
        await asyncio.sleep(0.02)


async def ended(call: SipCall, within: float = 5.0) -> CallEnd:
    """The call's end, waited for at most ``within`` seconds."""
    return await asyncio.wait_for(asyncio.shield(call.ended), within)


async def exchange_audio(call: SipCall, tone_hz: float, seconds: float) -> np.ndarray:
    """Send a paced tone on ``call`` for ``seconds`` and return everything received meanwhile."""
    fmt = call.format()
    assert fmt is not None, "no audio format on an answered call"
    ahead = fmt.rate * 60 // 1000  # keep 60 ms queued, like a real media pump
    phase, received = 0.0, bytearray()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        missing = ahead - call.tx_buffered() // 2
        if missing > 0:
            pcm, phase = sine(tone_hz, fmt.rate, missing, phase)
            call.write(pcm)
        received += call.read(fmt.rate * 2)
        await asyncio.sleep(0.02)
    return np.frombuffer(bytes(received[: len(received) // 2 * 2]), dtype="<i2")


def near(freq: float | None, expected: float) -> bool:
    """Whether a measured frequency is within tolerance of ``expected``."""
    return freq is not None and abs(freq - expected) <= FREQ_TOLERANCE_HZ


def test_baresip_version_is_the_pinned_one() -> None:
    """Inbound screening uses baresip-python internals: another version must be re-validated first."""
    import baresip

    assert baresip.__version__ == PINNED_BARESIP


async def test_dtmf_both_ways(sip: Harness, phones: Callable[[str, float], BaresipPeer]) -> None:
    """Digits we send reach the phone; digits the phone sends reach our on_dtmf callback, in order."""
    a = phones("a", 0.0)
    call = await answered_call(sip, "peer-a", "alice")
    got: list[str] = []
    call.on_dtmf(got.append)
    await a.until(lambda s: s["established"], 3)

    await call.send_dtmf("123#")
    await a.until(lambda s: s["digits"] == "123#", 5)

    await a.acommand("dtmf", digits="4*9")
    await until(lambda: len(got) >= 3, 5, f"engine received digits {got}, expected 4, *, 9")
    assert got == ["4", "*", "9"]

    await call.hangup()
    end = await ended(call)
    assert (end.outcome, end.hangup_by) == (Outcome.ANSWERED, HangupBy.AGENT)


@pytest.mark.parametrize(
    ("codecs", "rate", "phone_hz", "engine_hz"),
    [
        ("pcmu,pcma", 8000, 700.0, 1100.0),
        # Only G.722 offered: a 16 kHz call, with tones beyond G.711's band to prove the wideband path.
        ("g722/16000/1", 16000, 5000.0, 6000.0),
    ],
)
async def test_audio_both_ways(
    sip: Harness, phones: Callable[..., BaresipPeer], codecs: str, rate: int, phone_hz: float, engine_hz: float
) -> None:
    """The phone's tone reaches SipCall.read at the codec's rate, and our tone reaches the phone."""
    a = phones("a", phone_hz, codecs=codecs)
    call = await answered_call(sip, "peer-a", "alice")
    fmt = call.format()
    assert fmt is not None and (fmt.rate, fmt.channels) == (rate, 1)

    received = await exchange_audio(call, engine_hz, 1.5)
    last_second = received[-fmt.rate :]
    assert len(last_second) >= fmt.rate * 0.9, f"only {len(received)} samples received in 1.5 s"
    heard = voiced_frequency(last_second, fmt.rate)
    assert near(heard, phone_hz), f"engine heard {heard} Hz, expected {phone_hz}"

    status = await a.until(lambda s: near(s["rx_freq"], engine_hz), 3)
    assert status["rx_rms"] > 1000, status

    await call.hangup()
    await ended(call)


async def test_inbound_call_is_routed_and_answered(sip: Harness, phones: Callable[[str, float], BaresipPeer]) -> None:
    """A phone dialling a DID reaches on_inbound with the router's route; its hangup ends our call."""
    a = phones("a", 0.0)
    free = sip.engine.free_slots()
    await a.acommand("dial", uri=f"sip:+15550001@127.0.0.1:{sip.port}")
    call = await asyncio.wait_for(sip.inbound.get(), 5)
    assert call.direction == "inbound"
    assert call.route == "+15550001"
    assert sip.engine.free_slots() == free - 1  # the campaign scheduler sees inbound calls fill the node
    offer = sip.offers[-1]
    assert (offer.dialled, offer.source_ip, offer.source_port) == ("+15550001", "127.0.0.1", sip.port_a)
    await a.until(lambda s: s["established"], 3)

    await a.acommand("hangup")
    end = await ended(call)
    assert (end.outcome, end.hangup_by) == (Outcome.ANSWERED, HangupBy.CUSTOMER)
    await asyncio.sleep(0)  # the slot is given back by the call's end callback
    assert sip.engine.free_slots() == free


async def test_cold_transfer(sip: Harness, phones: Callable[[str, float], BaresipPeer]) -> None:
    """REFER: the phone dials the target itself, the target hears the caller, and our leg ends."""
    a = phones("a", 500.0)
    b = phones("b", 0.0)
    call = await answered_call(sip, "peer-a", "alice")
    await a.until(lambda s: s["established"], 3)

    started = time.monotonic()
    await call.transfer(f"sip:target@127.0.0.1:{sip.port_b}", timeout=10)
    end = await ended(call)
    status = await b.until(lambda s: s["established"] and near(s["rx_freq"], 500.0), 5)
    joined_after = time.monotonic() - started

    assert "alice" in status["peer"], status
    assert (await a.acommand("status"))["transfers"] == 1
    assert joined_after < 5
    assert end.outcome is Outcome.ANSWERED
    assert end.hangup_by is HangupBy.AGENT, f"a transferred call must count as ended by us, got {end}"


async def test_warm_transfer(sip: Harness, phones: Callable[[str, float], BaresipPeer]) -> None:
    """REFER with Replaces: the phone replaces our consult leg with its own call; both of our legs end."""
    a = phones("a", 500.0)
    b = phones("b", 900.0)
    customer = await answered_call(sip, "peer-a", "alice")
    consult = await sip.engine.dial_uri(b.uri)
    await consult.wait_answered(5)
    await a.until(lambda s: s["established"], 3)
    await b.until(lambda s: s["established"], 3)

    started = time.monotonic()
    await customer.attended_transfer(consult, timeout=10)
    customer_end = await ended(customer)
    consult_end = await ended(consult)
    status_b = await b.until(lambda s: s["established"] and "alice" in s["peer"] and near(s["rx_freq"], 500.0), 5)
    status_a = await a.until(lambda s: s["established"] and near(s["rx_freq"], 900.0), 5)
    joined_after = time.monotonic() - started

    assert any(reason.endswith("replaced") for reason in status_b["closed"]), status_b
    assert status_a["transfers"] == 1, status_a
    assert joined_after < 5
    assert consult_end.outcome is Outcome.ANSWERED
    assert customer_end.outcome is Outcome.ANSWERED
    assert customer_end.hangup_by is HangupBy.AGENT, f"a transferred call must count as ended by us, got {customer_end}"


async def test_answer_faster_than_the_event_loop_is_not_missed(
    sip: Harness, phones: Callable[[str, float], BaresipPeer]
) -> None:
    """A call answered while the loop is busy counts as answered and can still be transferred."""
    phones("a", 500.0)
    b = phones("b", 0.0)
    # Stall the loop right after the INVITE leaves, as a busy media or model task would: the phone answers meanwhile,
    # so RINGING and ESTABLISHED are dispatched before baresip-python's UserAgent.dial has built the Call object.
    asyncio.get_running_loop().call_soon(time.sleep, 0.2)
    call = await sip.engine.dial("peer-a", "alice", caller_id="+15550100")
    try:
        await call.wait_answered(2)
    except Exception as exc:
        await call.hangup()
        pytest.fail(f"{type(exc).__name__}: the phone answered but the engine never saw it ({exc})")
    assert call.is_established

    try:
        await call.transfer(f"sip:target@127.0.0.1:{sip.port_b}", timeout=5)
    except Exception as exc:
        await call.hangup()
        pytest.fail(
            f"{type(exc).__name__}: {exc} - the events missed during dial() were replayed to the SipCall only; "
            "the baresip Call still believes it is ringing, so transfer/hold refuse"
        )
    await ended(call)
    await b.until(lambda s: s["established"] and near(s["rx_freq"], 500.0), 5)

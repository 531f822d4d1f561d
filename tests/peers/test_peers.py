"""Self-tests of the SIP test peers: sipp against sipp, sipp against kamailio, torture senders against listeners."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from .fixtures import REGISTRAR_USERS, needs_kamailio, needs_pcap_play, needs_sipp
from .kamailio import Registrar, options_ping
from .ports import LOOPBACK, free_media_port, free_port_pair, free_sip_port, free_udp_port
from .sipp import (
    G711A_PCAP,
    PCAP_DIR,
    UAS_FINAL_CODE,
    pcap_duration,
    uac_call,
    uac_cancel,
    uac_expect,
    uac_pcap,
    uac_register,
    uac_silent_hold,
    uas,
)
from .torture import INVALID, SEMANTIC, TORTURE, VALID, flood, huge_header_invite, retarget, send_all

pytestmark = pytest.mark.slow


# -- ports ----------------------------------------------------------------------------------------------------------
def test_free_ports_are_bindable_on_loopback() -> None:
    """The port helpers hand out ports that can be bound on 127.0.0.1."""
    for port in (free_udp_port(), free_sip_port(), free_media_port(), *free_port_pair()):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((LOOPBACK, port))
    rtp, rtcp = free_port_pair()
    assert rtp % 2 == 0
    assert rtcp == rtp + 1


# -- sipp against sipp ----------------------------------------------------------------------------------------------
@needs_sipp
@pytest.mark.parametrize("scenario", ["busy", "decline", "error_503"])
def test_uac_expect_sees_the_uas_rejection(scenario: str, peer_stack: contextlib.ExitStack) -> None:
    """A rejecting UAS scenario sends exactly its final code, which uac_expect sees and ACKs."""
    port = free_udp_port()
    callee = peer_stack.enter_context(uas(port, scenario, timeout_s=10))  # type: ignore[arg-type]
    code = UAS_FINAL_CODE[scenario]  # type: ignore[index]
    caller = peer_stack.enter_context(uac_expect("bob", LOOPBACK, port, code, free_udp_port(), timeout_s=10))
    caller.assert_success(15)
    callee.assert_success(15)
    assert f"SIP/2.0 {code} " in caller.messages()
    assert "ACK sip:bob@" in callee.messages()


@needs_sipp
def test_uac_expect_fails_on_another_code(peer_stack: contextlib.ExitStack) -> None:
    """uac_expect fails when the final response is not the expected one."""
    port = free_udp_port()
    peer_stack.enter_context(uas(port, "busy", timeout_s=5))
    caller = peer_stack.enter_context(uac_expect("bob", LOOPBACK, port, 404, free_udp_port(), timeout_s=5))
    assert caller.wait(15) != 0
    assert "486 Busy Here" in caller.errors()


@needs_sipp
def test_ring_no_answer_is_cancelled(peer_stack: contextlib.ExitStack) -> None:
    """ring_no_answer rings until CANCEL, then answers 200 (CANCEL) and 487 (INVITE) and gets the ACK."""
    port = free_udp_port()
    callee = peer_stack.enter_context(uas(port, "ring_no_answer", timeout_s=10))
    caller = peer_stack.enter_context(uac_cancel("bob", port, free_udp_port(), ring_ms=300, timeout_s=10))
    caller.assert_success(15)
    callee.assert_success(15)
    log = caller.messages()
    assert "SIP/2.0 180 Ringing" in log
    assert re.search(r"SIP/2.0 487 .*\r?\n(?:.*\r?\n)*?CSeq: 1 INVITE", log)


@needs_sipp
def test_answered_call_with_expect_200(peer_stack: contextlib.ExitStack) -> None:
    """uac_expect(..., 200) against answer_echo: answered, ACKed and hung up at once."""
    port = free_udp_port()
    callee = peer_stack.enter_context(uas(port, "answer_echo", timeout_s=10))
    caller = peer_stack.enter_context(uac_expect("bob", LOOPBACK, port, 200, free_udp_port(), timeout_s=10))
    caller.assert_success(15)
    callee.assert_success(15)
    assert "BYE sip:" in callee.messages()


@needs_sipp
@needs_pcap_play
@pytest.mark.parametrize("callee_scenario", ["answer_echo", "answer_reinvite"])
def test_uac_pcap_against_sipp_uas(callee_scenario: str, peer_stack: contextlib.ExitStack) -> None:
    """uac_pcap passes whether or not the callee re-INVITEs after answering (short DTMF pcap for speed)."""
    port = free_udp_port()
    callee = peer_stack.enter_context(uas(port, callee_scenario, timeout_s=15))  # type: ignore[arg-type]
    caller = peer_stack.enter_context(
        uac_pcap("bob", port, free_udp_port(), pcap=PCAP_DIR / "dtmf_2833_5.pcap", hold_s=0.1, timeout_s=15)
    )
    caller.assert_success(20)
    callee.assert_success(20)
    reinvites = caller.messages().count("INVITE sip:sipp@")
    assert reinvites == (1 if callee_scenario == "answer_reinvite" else 0)


@needs_sipp
def test_silent_hold_concurrent_calls(peer_stack: contextlib.ExitStack) -> None:
    """uac_silent_hold places several concurrent calls; the UAS answers them all."""
    port = free_udp_port()
    callee = peer_stack.enter_context(uas(port, "answer_reinvite", calls=3, timeout_s=15))
    started = time.monotonic()
    caller = peer_stack.enter_context(uac_silent_hold("bob", port, free_udp_port(), 1.0, calls=3, rate=20))
    caller.assert_success(20)
    callee.assert_success(20)
    assert time.monotonic() - started < 6  # concurrent, not 3 x (hold + re-INVITE wait)
    assert caller.messages().count("BYE sip:") == 3


@needs_sipp
@pytest.mark.parametrize("allowed", [True, False])
def test_callee_hang_up(allowed: bool, peer_stack: contextlib.ExitStack) -> None:
    """A BYE from the callee passes only when the caller was built with callee_may_hang_up."""
    port = free_udp_port()
    callee = peer_stack.enter_context(uas(port, "answer_hangup", hangup_after_s=0.3, timeout_s=10))
    caller = peer_stack.enter_context(
        uac_silent_hold("bob", port, free_udp_port(), 5.0, callee_may_hang_up=allowed, timeout_s=10)
    )
    code = caller.wait(15)
    assert (code == 0) is allowed, caller.report()
    callee.assert_success(15)


# -- sipp uac_pcap against a Python callee that counts RTP ----------------------------------------------------------
@dataclass
class _FakeCallee:
    """A minimal SIP UAS on a UDP socket: answers INVITE/BYE with 200 and counts RTP packets to its SDP port."""

    sip: socket.socket
    rtp: socket.socket
    packets: int = 0
    payload_types: set[int] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def serve(self) -> None:
        """Answer SIP requests and count RTP until stopped."""
        self.sip.settimeout(0.05)
        self.rtp.settimeout(0.05)
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                data, addr = self.sip.recvfrom(65535)
                self._answer(data.decode(errors="replace"), addr)
            with contextlib.suppress(TimeoutError):
                while True:
                    packet, _ = self.rtp.recvfrom(2048)
                    self.packets += 1
                    self.payload_types.add(packet[1] & 0x7F)

    def _answer(self, message: str, addr: tuple[str, int]) -> None:
        """200 OK (with an SDP answer for INVITE) to INVITE and BYE; ACK needs nothing."""
        first = message.split("\r\n", 1)[0]
        self.requests.append(first.split(" ", 1)[0])
        if not first.startswith(("INVITE", "BYE")):
            return
        headers = {}
        for line in message.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), value.strip())
        body = ""
        if first.startswith("INVITE"):
            body = (
                f"v=0\r\no=fake 1 1 IN IP4 {LOOPBACK}\r\ns=-\r\nc=IN IP4 {LOOPBACK}\r\nt=0 0\r\n"
                f"m=audio {self.rtp.getsockname()[1]} RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
                "a=rtpmap:101 telephone-event/8000\r\n"
            )
        to = headers["to"] if ";tag=" in headers["to"] else headers["to"] + ";tag=fake1"
        response = (
            f"SIP/2.0 200 OK\r\nVia: {headers['via']}\r\nFrom: {headers['from']}\r\nTo: {to}\r\n"
            f"Call-ID: {headers['call-id']}\r\nCSeq: {headers['cseq']}\r\n"
            f"Contact: <sip:fake@{LOOPBACK}:{self.sip.getsockname()[1]}>\r\n"
            + ("Content-Type: application/sdp\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        self.sip.sendto(response.encode(), addr)


@pytest.fixture
def fake_callee() -> Iterator[_FakeCallee]:
    """A running :class:`_FakeCallee` on free loopback ports."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sip,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
    ):
        sip.bind((LOOPBACK, 0))
        rtp.bind((LOOPBACK, 0))
        callee = _FakeCallee(sip, rtp)
        thread = threading.Thread(target=callee.serve, daemon=True)
        thread.start()
        yield callee
        callee.stop.set()
        thread.join(2)


@needs_sipp
@needs_pcap_play
def test_uac_pcap_delivers_the_whole_pcap(fake_callee: _FakeCallee, peer_stack: contextlib.ExitStack) -> None:
    """Every RTP packet of g711a.pcap (PCMA, ≈7 s) plus a DTMF digit reaches the callee's SDP address, then BYE."""
    assert 6.5 < pcap_duration(G711A_PCAP) < 7.5
    port = fake_callee.sip.getsockname()[1]
    caller = peer_stack.enter_context(uac_pcap("bob", port, free_udp_port(), hold_s=0.1, dtmf="1"))
    caller.assert_success(30)
    time.sleep(0.2)
    assert fake_callee.requests == ["INVITE", "ACK", "BYE"]
    assert fake_callee.packets == 236 + 10  # packets in g711a.pcap + dtmf_2833_1.pcap
    assert fake_callee.payload_types == {8, 101}


def test_uac_call_rejects_missing_pcap() -> None:
    """A pcap that does not exist is reported before sipp starts."""
    with pytest.raises(FileNotFoundError):
        uac_call("bob", 5060, 5061, pcaps=["/nonexistent.pcap"])


# -- kamailio registrar/proxy ---------------------------------------------------------------------------------------
@needs_sipp
@needs_kamailio
def test_registrar_accepts_right_and_rejects_wrong_password(registrar: Registrar) -> None:
    """REGISTER: 401 challenge, then 200 with the right password and 403 with a wrong one or an unknown user."""
    contact_port = free_udp_port()
    with uac_register("alice", REGISTRAR_USERS["alice"], registrar.port, contact_port) as ok:
        ok.assert_success(10)
    assert registrar.registered_contacts("alice") == {"alice": [f"sip:alice@{LOOPBACK}:{contact_port}"]}
    with uac_register("bob", "not-the-password", registrar.port, free_udp_port(), expected_code=403) as bad:
        bad.assert_success(10)
    with uac_register("mallory", "whatever", registrar.port, free_udp_port(), expected_code=403) as unknown:
        unknown.assert_success(10)
    with uac_register("bob", "not-the-password", registrar.port, free_udp_port(), expected_code=200) as wrong:
        assert wrong.wait(10) != 0
    assert "bob" not in registrar.registered_contacts()


@needs_sipp
@needs_kamailio
def test_registrar_proxies_invites_to_registered_contacts(
    registrar: Registrar, peer_stack: contextlib.ExitStack
) -> None:
    """An INVITE for a registered user reaches its contact (a busy sipp UAS); an unregistered user gets 404."""
    contact_port = free_udp_port()
    with uac_register("bob", REGISTRAR_USERS["bob"], registrar.port, contact_port) as reg:
        reg.assert_success(10)
    callee = peer_stack.enter_context(uas(contact_port, "busy", timeout_s=10))
    caller = peer_stack.enter_context(uac_expect("bob", LOOPBACK, registrar.port, 486, free_udp_port()))
    caller.assert_success(15)
    callee.assert_success(15)
    assert "Record-Route:" in callee.messages()
    with uac_expect("alice", LOOPBACK, registrar.port, 404, free_udp_port()) as nobody:
        nobody.assert_success(10)


@needs_sipp
@needs_kamailio
def test_registrar_answered_call_through_proxy(registrar: Registrar, peer_stack: contextlib.ExitStack) -> None:
    """A full call through the proxy: the record-routed ACK/BYE reach the callee (alias includes the port)."""
    contact_port = free_udp_port()
    with uac_register("alice", REGISTRAR_USERS["alice"], registrar.port, contact_port) as reg:
        reg.assert_success(10)
    callee = peer_stack.enter_context(uas(contact_port, "answer_reinvite", timeout_s=15))
    caller = peer_stack.enter_context(uac_silent_hold("alice", registrar.port, free_udp_port(), 0.2))
    caller.assert_success(20)
    callee.assert_success(20)
    log = caller.messages()
    assert "Route: <sip:127.0.0.1:" in log
    assert log.count("INVITE sip:sipp@") == 1  # the callee's re-INVITE, loose-routed through kamailio


@needs_sipp
@needs_kamailio
def test_registrar_with_domain_and_invite_auth() -> None:
    """A named domain works for REGISTER; with auth_invite an INVITE without credentials is challenged (407)."""
    port = free_udp_port()
    with Registrar(port, {"dave": "dave-pw"}, domain="pbx.test", auth_invite=True) as reg:
        with uac_register("dave", "dave-pw", port, free_udp_port(), domain="pbx.test") as ok:
            ok.assert_success(10)
        assert reg.registered_contacts("dave")["dave"]
        with uac_expect("dave", LOOPBACK, port, 407, free_udp_port()) as challenged:
            challenged.assert_success(10)


@needs_sipp
@needs_kamailio
def test_registrar_set_password_at_runtime(registrar: Registrar) -> None:
    """set_password adds a user through kamcmd while kamailio runs."""
    registrar.set_password("carol", "carol-pw")
    with uac_register("carol", "carol-pw", registrar.port, free_udp_port()) as reg:
        reg.assert_success(10)


@needs_kamailio
def test_registrar_rejects_bad_user_names() -> None:
    """Users and passwords must be plain tokens (they are pasted into kamailio.cfg)."""
    with pytest.raises(ValueError):
        Registrar(free_udp_port(), {'evil"; exit; "': "x"})


# -- torture --------------------------------------------------------------------------------------------------------
def test_torture_catalogue_is_complete() -> None:
    """All RFC 4475 messages are present, and the valid ones have a truthful Content-Length."""
    assert len(VALID) == 13
    assert len(INVALID) == 19
    assert {"badbranch", "insuf", "unkscm", "novelsc", "unksm2", "bext01", "invut", "regaut01", "multi01"} <= set(
        SEMANTIC
    )
    assert len(TORTURE) == len(VALID) + len(INVALID) + len(SEMANTIC)
    for name, message in VALID.items():
        if name == "dblreq":
            continue
        head, _, body = message.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        assert length is not None, name
        assert int(length.group(1)) == len(body), name
    assert b"\x00" in TORTURE["intmeth"]
    assert b"\x00" in TORTURE["mpart01"]
    assert len(TORTURE["longreq"]) > 3000


def test_retarget_keeps_the_defects() -> None:
    """retarget changes only request-URI hosts and ports."""
    assert retarget(TORTURE["lwsstart"], "127.0.0.1", 5999).startswith(b"INVITE  sip:user@127.0.0.1:5999  SIP/2.0\r\n")
    assert retarget(TORTURE["trws"], "127.0.0.1", 5999).startswith(
        b"OPTIONS sip:remote-target@127.0.0.1:5999 SIP/2.0  \r\n"
    )
    assert retarget(TORTURE["ltgtruri"], "127.0.0.1", 5999).startswith(b"INVITE <sip:user@127.0.0.1:5999> SIP/2.0")
    assert retarget(TORTURE["lwsruri"], "127.0.0.1", 5999).startswith(b"INVITE sip:user@127.0.0.1:5999; lr SIP/2.0")
    assert retarget(TORTURE["badvers"], "127.0.0.1", 5999).startswith(b"OPTIONS sip:t.watson@127.0.0.1:5999 SIP/7.0")
    assert retarget(TORTURE["esc01"], "127.0.0.1", 5999).startswith(
        b"INVITE sip:sips%3Auser%40example.com@127.0.0.1:5999 SIP/2.0"
    )
    assert retarget(TORTURE["unkscm"], "127.0.0.1", 5999) == TORTURE["unkscm"]
    assert retarget(TORTURE["bigcode"], "127.0.0.1", 5999) == TORTURE["bigcode"]
    double = retarget(TORTURE["dblreq"], "127.0.0.1", 5999)
    assert b"\r\n\r\nINVITE sip:joe@127.0.0.1:5999 SIP/2.0\r\n" in double
    for name, message in TORTURE.items():
        retargeted = retarget(message, "127.0.0.1", 5999)
        assert retargeted.partition(b"\r\n\r\n")[2] == message.partition(b"\r\n\r\n")[2] or name == "dblreq", name


@dataclass
class _Sink:
    """UDP and TCP listeners on one loopback port that count what arrives."""

    port: int
    datagrams: list[bytes] = field(default_factory=list)
    streams: list[bytes] = field(default_factory=list)


@pytest.fixture
def sink() -> Iterator[_Sink]:
    """A :class:`_Sink` served by a background thread."""
    port = free_sip_port()
    result = _Sink(port)
    stop = threading.Event()
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp,
    ):
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        udp.bind((LOOPBACK, port))
        tcp.bind((LOOPBACK, port))
        tcp.listen(16)
        udp.settimeout(0.02)
        tcp.settimeout(0.02)

        def serve() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    while True:
                        result.datagrams.append(udp.recv(70000))
                with contextlib.suppress(TimeoutError):
                    conn, _ = tcp.accept()
                    with conn:
                        conn.settimeout(1)
                        chunks = []
                        while chunk := conn.recv(65536):
                            chunks.append(chunk)
                        result.streams.append(b"".join(chunks))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        yield result
        time.sleep(0.2)
        stop.set()
        thread.join(2)


def test_send_all_over_udp_and_tcp(sink: _Sink) -> None:
    """send_all delivers every message over UDP, and the long ones also over TCP when asked."""
    sent = send_all(LOOPBACK, sink.port, TORTURE, gap_s=0, tcp=True)
    time.sleep(0.3)
    assert set(sent) == set(TORTURE)
    assert all("udp" in transports for transports in sent.values())
    long_ones = {name for name, data in TORTURE.items() if len(retarget(data, LOOPBACK, sink.port)) > 1300}
    assert long_ones == {name for name, transports in sent.items() if "tcp" in transports}
    assert "longreq" in long_ones
    assert len(sink.datagrams) == len(TORTURE)
    assert retarget(TORTURE["wsinv"], LOOPBACK, sink.port) in sink.datagrams
    assert len(sink.streams) == len(long_ones)


def test_send_all_without_tcp_listener_does_not_raise() -> None:
    """With nothing listening (UDP or TCP), send_all still returns normally."""
    sent = send_all(LOOPBACK, free_udp_port(), TORTURE, gap_s=0, tcp=True)
    assert all(transports == ["udp"] for transports in sent.values())


def test_huge_header_and_flood(sink: _Sink) -> None:
    """huge_header_invite sends one 60 kB INVITE per transport; flood sends its datagrams without raising."""
    udp_bytes = huge_header_invite(LOOPBACK, sink.port, 60000)
    tcp_bytes = huge_header_invite(LOOPBACK, sink.port, 60000, transport="tcp")
    assert 60000 < udp_bytes <= 65507
    assert tcp_bytes > 60000
    assert flood(LOOPBACK, sink.port, count=500) == 500
    time.sleep(0.3)
    assert any(len(d) == udp_bytes for d in sink.datagrams)
    assert any(len(s) == tcp_bytes for s in sink.streams)
    assert huge_header_invite(LOOPBACK, sink.port, 200000) == 65507


@needs_kamailio
def test_kamailio_survives_torture(registrar: Registrar) -> None:
    """A real SIP server keeps answering OPTIONS after the torture messages, a huge header and a flood."""
    send_all(LOOPBACK, registrar.port, TORTURE, gap_s=0.001)
    huge_header_invite(LOOPBACK, registrar.port, 60000)
    flood(LOOPBACK, registrar.port, count=2000)
    deadline = time.monotonic() + 5
    while not options_ping(LOOPBACK, registrar.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert options_ping(LOOPBACK, registrar.port)
    assert registrar.running()

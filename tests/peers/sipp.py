"""Run sipp (``/usr/bin/sipp``) as a SIP test peer on 127.0.0.1: UAS scenarios and UAC builders.

Every builder returns an unstarted :class:`SippProcess`; use it as a context manager, which starts sipp and always
kills it (by pid) on exit::

    with uas(port, "busy") as callee, uac_expect("bob", "127.0.0.1", port, 486, local_port=free_udp_port()) as caller:
        assert caller.wait(10) == 0, caller.report()
        assert callee.wait(10) == 0, callee.report()

sipp stops by itself: ``-m <calls>`` ends it after the calls, ``-timeout <s> -timeout_error`` fails it if they take
too long. Exit codes: 0 every call passed, 1 at least one failed, 255 fatal error or global timeout, 254 bind error.
Logs (messages.log, errors.log, stdout/stderr) live in the work directory until the context exits (pass
``workdir=`` to keep them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from string import Template
from types import TracebackType
from typing import Literal, Self

from .ports import LOOPBACK, free_media_port, free_udp_port, udp_port_bound

SIPP = "/usr/bin/sipp"
SCENARIOS = Path(__file__).with_name("scenarios")
PCAP_DIR = Path("/usr/share/sip-tester")
G711A_PCAP = PCAP_DIR / "g711a.pcap"

UasScenario = Literal[
    "answer_echo", "answer_reinvite", "answer_hangup", "busy", "decline", "ring_no_answer", "error_503"
]
UAS_SCENARIOS: tuple[UasScenario, ...] = (
    "answer_echo",
    "answer_reinvite",
    "answer_hangup",
    "busy",
    "decline",
    "ring_no_answer",
    "error_503",
)
#: the final response each UAS scenario sends to an INVITE (ring_no_answer: 487 once the caller cancels)
UAS_FINAL_CODE: dict[UasScenario, int] = {
    "answer_echo": 200,
    "answer_reinvite": 200,
    "answer_hangup": 200,
    "busy": 486,
    "decline": 603,
    "ring_no_answer": 487,
    "error_503": 503,
}


class SippError(AssertionError):
    """A sipp peer failed or did not finish in time; the message carries its logs."""


class SippProcess:
    """One sipp subprocess with its own work directory (scenario, logs, pcaps); a context manager."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        name: str,
        port: int,
        timeout_s: float,
        scenario_text: str | None = None,
        links: Sequence[Path] = (),
        workdir: Path | None = None,
    ) -> None:
        """Prepare (not start) sipp with ``args``; ``scenario_text`` is written to ``<workdir>/scenario.xml``."""
        self.name = name
        self.port = port
        self.timeout_s = timeout_s
        self._args = list(args)
        self._scenario_text = scenario_text
        self._links = list(links)
        self._own_workdir = workdir is None
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None

    # -- files -------------------------------------------------------------------------------------------------
    @property
    def workdir(self) -> Path:
        """The directory sipp runs in (scenario, pcap links, logs); a fresh temporary one unless one was given."""
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"sipp-{self.name}-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        return self._workdir

    @property
    def scenario_path(self) -> Path:
        """Path of the scenario file this process runs (written on start)."""
        return self.workdir / "scenario.xml"

    @property
    def command(self) -> list[str]:
        """The full sipp command line."""
        return [SIPP, *self._args]

    def _read(self, filename: str) -> str:
        """Text of one log file in the work directory ('' if absent)."""
        if self._workdir is None:
            return ""
        path = self._workdir / filename
        return path.read_text(errors="replace") if path.exists() else ""

    def stdout(self) -> str:
        """sipp's captured standard output (its statistics screens)."""
        return self._read("stdout.txt")

    def stderr(self) -> str:
        """sipp's captured standard error (fatal errors, warnings)."""
        return self._read("stderr.txt")

    def messages(self) -> str:
        """Every SIP message sipp sent and received (``-trace_msg``)."""
        return self._read("messages.log")

    def errors(self) -> str:
        """sipp's error log (unexpected messages, timeouts; ``-trace_err``)."""
        return self._read("errors.log")

    def report(self) -> str:
        """A readable summary of the run for assertion messages: command, exit code and log tails."""
        parts = [
            f"sipp peer {self.name!r} exit={self.returncode} cmd={' '.join(self.command)}",
            "--- stderr ---",
            self.stderr()[-3000:],
            "--- errors.log ---",
            self.errors()[-3000:],
            "--- messages.log (tail) ---",
            self.messages()[-6000:],
        ]
        return "\n".join(parts)

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Start sipp in its work directory and wait until its SIP port is bound."""
        if self._proc is not None:
            raise RuntimeError("sipp peer already started")
        if self._scenario_text is not None:
            self.scenario_path.write_text(self._scenario_text, encoding="latin-1")
        for source in self._links:
            target = self.workdir / source.name
            if not target.exists():
                target.symlink_to(source)
        with open(self.workdir / "stdout.txt", "wb") as out, open(self.workdir / "stderr.txt", "wb") as err:
            self._proc = subprocess.Popen(
                self.command,
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self._wait_bound()
        return self

    def _wait_bound(self, limit_s: float = 5.0) -> None:
        """Block until sipp has bound its UDP port on 127.0.0.1 (or has exited)."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.poll() is not None or udp_port_bound(self.port):
                return
            time.sleep(0.02)
        raise SippError(f"sipp did not bind 127.0.0.1:{self.port} within {limit_s} s\n{self.report()}")

    @property
    def pid(self) -> int:
        """Process id of the running sipp."""
        if self._proc is None:
            raise RuntimeError("sipp peer not started")
        return self._proc.pid

    def poll(self) -> int | None:
        """Exit code if sipp has finished, else None."""
        if self._proc is None:
            return None
        code = self._proc.poll()
        if code is not None:
            self.returncode = _normalise(code)
        return self.returncode

    def running(self) -> bool:
        """Whether sipp was started and has not exited yet."""
        return self._proc is not None and self.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        """Wait for sipp to exit and return its exit code (0 = every call passed); kill it on timeout and raise."""
        if self._proc is None:
            raise RuntimeError("sipp peer not started")
        limit = self.timeout_s + 5 if timeout is None else timeout
        try:
            code = self._proc.wait(limit)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SippError(f"sipp peer {self.name!r} still running after {limit} s\n{self.report()}") from None
        self.returncode = _normalise(code)
        return self.returncode

    def assert_success(self, timeout: float | None = None) -> None:
        """Wait for sipp and raise :class:`SippError` with its logs unless every call passed."""
        code = self.wait(timeout)
        if code != 0:
            raise SippError(self.report())

    def kill(self) -> None:
        """Kill sipp (SIGTERM, then SIGKILL) by its process id; harmless if it already exited."""
        proc = self._proc
        if proc is None or proc.poll() is not None:
            if proc is not None:
                self.returncode = _normalise(proc.returncode)
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)
        self.returncode = _normalise(proc.returncode)

    def cleanup(self) -> None:
        """Kill sipp and remove the work directory if this object created it."""
        self.kill()
        if self._own_workdir and self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        """Start sipp."""
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Kill sipp if still running and delete its temporary work directory."""
        self.cleanup()


def _normalise(code: int) -> int:
    """Map a Popen return code to sipp's documented exit codes (255 = fatal, 254 = bind error)."""
    return code & 0xFF if code >= 0 else code


# -- command-line helpers ------------------------------------------------------------------------------------------
def _common_args(
    *, local_port: int, media_port: int, calls: int, timeout_s: float, scenario: str, remote: str | None
) -> list[str]:
    """sipp options shared by every peer: loopback only, own ports, bounded run time, message traces."""
    args = [remote] if remote else []
    args += [
        "-sf",
        scenario,
        "-t",
        "u1",
        "-i",
        LOOPBACK,
        "-p",
        str(local_port),
        "-mi",
        LOOPBACK,
        "-mp",
        str(media_port),
        "-ci",
        LOOPBACK,
        "-cp",
        str(free_udp_port()),
        "-m",
        str(calls),
        "-timeout",
        f"{max(1, round(timeout_s))}s",
        "-timeout_error",
        "-nostdin",
        "-trace_msg",
        "-message_file",
        "messages.log",
        "-trace_err",
        "-error_file",
        "errors.log",
    ]
    return args


def _render(template: str, **values: object) -> str:
    """Fill a ``scenarios/<template>`` file's ``${name}`` placeholders (a missing value raises KeyError)."""
    text = (SCENARIOS / template).read_text(encoding="latin-1")
    return Template(text).substitute({key: str(value) for key, value in values.items()})


def _sdp_offer() -> str:
    """The G.711 (PCMA, PCMU, telephone-event) SDP offer block used by the UAC scenarios."""
    return (SCENARIOS / "sdp_offer.inc").read_text(encoding="latin-1").rstrip("\n")


def _check_token(value: str, what: str) -> str:
    """Reject values that would break a SIP URI or an XML scenario."""
    if not value or any(ch in value for ch in ' <>"&[]\r\n@:;'):
        raise ValueError(f"{what} {value!r} must be a plain SIP token")
    return value


# -- UAS -----------------------------------------------------------------------------------------------------------
def uas(
    port: int,
    scenario: UasScenario,
    *,
    media_port: int | None = None,
    calls: int = 1,
    timeout_s: float = 30.0,
    codec: Literal["PCMU", "PCMA"] = "PCMU",
    hangup_after_s: float = 1.0,
    workdir: Path | None = None,
) -> SippProcess:
    """A sipp UAS on 127.0.0.1:``port`` that handles ``calls`` INVITEs with the named scenario, then exits.

    answer_echo: 100, 180, 200 (G.711 ``codec``), RTP echoed, re-INVITEs accepted, waits for the caller's BYE.
    answer_reinvite: as answer_echo, plus an in-dialog re-INVITE to the caller 70 ms after the ACK (like baresip).
    answer_hangup: as answer_echo, but sends BYE itself ``hangup_after_s`` after the ACK.
    busy: 100, 180, 486. decline: 100, 603. error_503: 100, 503 (Retry-After: 30).
    ring_no_answer: 100, 180, then waits for CANCEL: 200 to it, 487 to the INVITE, expects the ACK.
    """
    if scenario not in UAS_SCENARIOS:
        raise ValueError(f"unknown UAS scenario {scenario!r}; choose one of {UAS_SCENARIOS}")
    media = media_port if media_port is not None else free_media_port()
    args = _common_args(
        local_port=port, media_port=media, calls=calls, timeout_s=timeout_s, scenario="scenario.xml", remote=None
    )
    args += ["-key", "codec_pt", "8" if codec == "PCMA" else "0", "-key", "codec_name", codec]
    if scenario.startswith("answer_"):
        args.append("-rtp_echo")
    if scenario == "answer_hangup":
        args += ["-d", str(int(hangup_after_s * 1000))]
    text = (SCENARIOS / f"uas_{scenario}.xml").read_text(encoding="latin-1")
    return SippProcess(
        args, name=f"uas-{scenario}", port=port, timeout_s=timeout_s, scenario_text=text, workdir=workdir
    )


# -- UAC -----------------------------------------------------------------------------------------------------------
def uac_expect(
    target_uri_user: str,
    host: str,
    port: int,
    expected_code: int,
    local_port: int,
    *,
    from_user: str = "sipp",
    media_port: int | None = None,
    timeout_s: float = 20.0,
    workdir: Path | None = None,
) -> SippProcess:
    """A sipp UAC sending one INVITE to ``sip:<user>@<host>:<port>`` that passes only on final ``expected_code``.

    A non-2xx final response is ACKed; for a 2xx, the call is ACKed and hung up at once (see :func:`uac_call`).
    """
    if 200 <= expected_code < 300:
        return uac_call(
            target_uri_user,
            port,
            local_port,
            host=host,
            hold_s=0,
            from_user=from_user,
            media_port=media_port,
            timeout_s=timeout_s,
            workdir=workdir,
        )
    if not 300 <= expected_code <= 699:
        raise ValueError(f"expected_code must be a final response code, got {expected_code}")
    text = _render(
        "uac_expect.xml",
        user=_check_token(target_uri_user, "user"),
        host=host,
        port=port,
        code=expected_code,
        from_user=_check_token(from_user, "from_user"),
        sdp=_sdp_offer(),
    )
    media = media_port if media_port is not None else free_media_port()
    args = _common_args(
        local_port=local_port,
        media_port=media,
        calls=1,
        timeout_s=timeout_s,
        scenario="scenario.xml",
        remote=f"{host}:{port}",
    )
    return SippProcess(
        args,
        name=f"uac-expect-{expected_code}",
        port=local_port,
        timeout_s=timeout_s,
        scenario_text=text,
        workdir=workdir,
    )


def uac_cancel(
    user: str,
    port: int,
    local_port: int,
    *,
    host: str = LOOPBACK,
    ring_ms: int = 500,
    from_user: str = "sipp",
    timeout_s: float = 20.0,
    workdir: Path | None = None,
) -> SippProcess:
    """A sipp UAC that calls ``user`` and CANCELs ``ring_ms`` after the last provisional response (expects 487)."""
    text = _render(
        "uac_cancel.xml",
        user=_check_token(user, "user"),
        host=host,
        port=port,
        ring_ms=ring_ms,
        from_user=_check_token(from_user, "from_user"),
        sdp=_sdp_offer(),
    )
    args = _common_args(
        local_port=local_port,
        media_port=free_media_port(),
        calls=1,
        timeout_s=timeout_s,
        scenario="scenario.xml",
        remote=f"{host}:{port}",
    )
    return SippProcess(
        args, name="uac-cancel", port=local_port, timeout_s=timeout_s, scenario_text=text, workdir=workdir
    )


def pcap_duration(path: Path | str) -> float:
    """Seconds between the first and the last packet of a classic libpcap file."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise ValueError(f"{path} is not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise ValueError(f"{path} is not a classic pcap file (magic {magic.hex()})")
    divisor = 1e9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e6
    offset, first, last = 24, None, None
    while offset + 16 <= len(data):
        seconds, fraction, captured, _original = struct.unpack_from(f"{endian}IIII", data, offset)
        stamp = seconds + fraction / divisor
        first = stamp if first is None else first
        last = stamp
        offset += 16 + captured
    if first is None or last is None:
        return 0.0
    return last - first


def _media_block(pcaps: Sequence[Path], hold_s: float, gap_ms: int = 200) -> tuple[str, str]:
    """XML that plays each pcap (waiting for its length plus ``gap_ms``) then pauses ``hold_s``; and a description."""
    lines: list[str] = []
    for pcap in pcaps:
        pause_ms = int(pcap_duration(pcap) * 1000) + gap_ms
        lines.append(f'  <nop><action><exec play_pcap_audio="{pcap.name}"/></action></nop>')
        lines.append(f'  <pause milliseconds="{pause_ms}"/>')
    if hold_s > 0:
        lines.append(f'  <pause milliseconds="{int(hold_s * 1000)}"/>')
    if not lines:
        lines.append('  <pause milliseconds="1"/>')
    names = ", ".join(p.name for p in pcaps) or "no media"
    return "\n".join(lines), f"{names} then a {hold_s} s hold"


def uac_call(
    user: str,
    port: int,
    local_port: int,
    *,
    host: str = LOOPBACK,
    media_port: int | None = None,
    pcaps: Sequence[Path | str] = (),
    hold_s: float = 0.0,
    calls: int = 1,
    rate: float = 10.0,
    callee_may_hang_up: bool = False,
    reinvite_wait_ms: int = 1000,
    from_user: str = "sipp",
    timeout_s: float | None = None,
    workdir: Path | None = None,
) -> SippProcess:
    """The general answered-call UAC: INVITE, 200, ACK, optional callee re-INVITE, play ``pcaps``, hold, BYE.

    ``calls`` > 1 places that many calls at ``rate`` calls/s, all concurrently (``-l calls``). With
    ``callee_may_hang_up`` a BYE from the callee at any time after the INVITE is answered 200 and the call passes.
    """
    pcap_paths = [Path(p).resolve() for p in pcaps]
    for pcap in pcap_paths:
        if not pcap.is_file():
            raise FileNotFoundError(pcap)
    media_xml, media_desc = _media_block(pcap_paths, hold_s)
    bye_recv = '  <recv request="BYE" optional="global" next="callee_bye"/>' if callee_may_hang_up else ""
    bye_answer = (
        (
            '  <label id="callee_bye"/>\n'
            "  <send>\n    <![CDATA[\n\n"
            "      SIP/2.0 200 OK\n      [last_Via:]\n      [last_From:]\n      [last_To:]\n"
            "      [last_Call-ID:]\n      [last_CSeq:]\n      Content-Length: 0\n\n    ]]>\n  </send>"
        )
        if callee_may_hang_up
        else ""
    )
    text = _render(
        "uac_call.xml",
        user=_check_token(user, "user"),
        host=host,
        port=port,
        from_user=_check_token(from_user, "from_user"),
        sdp=_sdp_offer(),
        reinvite_wait_ms=reinvite_wait_ms,
        media=media_xml,
        media_desc=media_desc,
        callee_bye_recv=bye_recv,
        callee_bye_answer=bye_answer,
        callee_bye_desc="A BYE from the callee is answered and passes." if callee_may_hang_up else "",
    )
    media_s = sum(pcap_duration(p) + 0.2 for p in pcap_paths)
    budget = timeout_s if timeout_s is not None else 15.0 + media_s + hold_s + calls / max(rate, 0.1)
    media = media_port if media_port is not None else free_media_port()
    args = _common_args(
        local_port=local_port,
        media_port=media,
        calls=calls,
        timeout_s=budget,
        scenario="scenario.xml",
        remote=f"{host}:{port}",
    )
    args += ["-r", str(rate), "-l", str(calls)]
    return SippProcess(
        args,
        name="uac-call",
        port=local_port,
        timeout_s=budget,
        scenario_text=text,
        links=pcap_paths,
        workdir=workdir,
    )


def uac_pcap(
    user: str,
    port: int,
    local_port: int,
    media_port: int | None = None,
    pcap: Path | str = G711A_PCAP,
    hold_s: float = 1.0,
    *,
    host: str = LOOPBACK,
    dtmf: str = "",
    callee_may_hang_up: bool = False,
    timeout_s: float | None = None,
    workdir: Path | None = None,
) -> SippProcess:
    """Call ``sip:<user>@<host>:<port>``, play ``pcap`` (≈7 s of PCMA speech), then ``dtmf`` digits, hold, BYE."""
    pcaps = [Path(pcap)] + [PCAP_DIR / f"dtmf_2833_{_dtmf_name(d)}.pcap" for d in dtmf]
    return uac_call(
        user,
        port,
        local_port,
        host=host,
        media_port=media_port,
        pcaps=pcaps,
        hold_s=hold_s,
        callee_may_hang_up=callee_may_hang_up,
        timeout_s=timeout_s,
        workdir=workdir,
    )


def uac_silent_hold(
    user: str,
    port: int,
    local_port: int,
    hold_s: float,
    *,
    host: str = LOOPBACK,
    calls: int = 1,
    rate: float = 10.0,
    callee_may_hang_up: bool = False,
    timeout_s: float | None = None,
    workdir: Path | None = None,
) -> SippProcess:
    """Call ``user`` (``calls`` times, concurrently), send no media, hold ``hold_s`` seconds, then BYE."""
    return uac_call(
        user,
        port,
        local_port,
        host=host,
        hold_s=hold_s,
        calls=calls,
        rate=rate,
        callee_may_hang_up=callee_may_hang_up,
        timeout_s=timeout_s,
        workdir=workdir,
    )


def _dtmf_name(digit: str) -> str:
    """The suffix of the dtmf_2833_*.pcap file for one DTMF digit."""
    names = {"*": "star", "#": "pound"}
    if digit in names:
        return names[digit]
    if digit.isdigit():
        return digit
    raise ValueError(f"no DTMF pcap for {digit!r}")


def uac_register(
    user: str,
    password: str,
    port: int,
    local_port: int,
    *,
    host: str = LOOPBACK,
    domain: str = LOOPBACK,
    expected_code: int = 200,
    expires: int = 300,
    timeout_s: float = 15.0,
    workdir: Path | None = None,
) -> SippProcess:
    """A sipp UAC that REGISTERs ``user`` (contact 127.0.0.1:``local_port``), answers the 401 digest challenge with
    ``password`` and passes only if the final response is ``expected_code``."""
    if any(ch in password for ch in " ]\r\n"):
        raise ValueError("password must not contain spaces, ']' or line breaks (sipp keyword syntax)")
    text = _render(
        "uac_register.xml",
        user=_check_token(user, "user"),
        password=password,
        host=host,
        port=port,
        domain=domain,
        code=expected_code,
        expires=expires,
    )
    args = _common_args(
        local_port=local_port,
        media_port=free_media_port(),
        calls=1,
        timeout_s=timeout_s,
        scenario="scenario.xml",
        remote=f"{host}:{port}",
    )
    return SippProcess(
        args, name=f"register-{user}", port=local_port, timeout_s=timeout_s, scenario_text=text, workdir=workdir
    )

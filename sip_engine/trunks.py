"""Trunk settings as the engine receives them, and the baresip accounts they become."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from baresip import Account

# G.711 first (every carrier has it, cheapest to encode), then G.722 wideband.
AUDIO_CODECS = ("pcmu", "pcma", "g722/16000/1")


class RegistrationStatus(StrEnum):
    """Where a trunk's registration stands, as the engine reports it."""

    UNREGISTERED = "unregistered"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class TrunkSettings:
    """One trunk, handed to the engine by the composition root (the engine never reads tables)."""

    id: str
    kind: Literal["registered", "ip"]
    transport: Literal["udp", "tcp", "tls"] = "udp"
    registrar: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth_user: str | None = None
    outbound_proxy: str | None = None
    register_interval_s: int = 600
    peer_host: str | None = None
    peer_port: int | None = None
    allowed_cidrs: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def fingerprint(self) -> str:
        """A digest of everything that changes the stack's account, to notice edits."""
        text = repr(
            (
                self.kind,
                self.transport,
                self.registrar,
                self.username,
                self.password,
                self.auth_user,
                self.outbound_proxy,
                self.register_interval_s,
                self.peer_host,
                self.peer_port,
                self.enabled,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def domain(self) -> str:
        """Where calls through this trunk are addressed (registrar or IP peer, with port)."""
        if self.kind == "registered":
            return _host_port(self.registrar or "")
        port = f":{self.peer_port}" if self.peer_port else ""
        return f"{self.peer_host}{port}"

    def dial_uri(self, number: str) -> str:
        """The request URI for calling ``number`` through this trunk."""
        return f"sip:{number}@{self.domain};transport={self.transport}"

    def account(self, user: str | None = None) -> Account:
        """The baresip account for this trunk; ``user`` overrides the From user (caller ID)."""
        if self.kind == "registered":
            return Account(
                user=user or self.username or "trunkline",
                domain=self.domain,
                password=self.password or "",
                auth_user=self.auth_user or (self.username if user else None),
                registrar=self.outbound_proxy,
                reg_interval=0 if user else self.register_interval_s,
                transport=self.transport,
                audio_codecs=AUDIO_CODECS,
            )
        return Account(
            user=user or "trunkline",
            domain=self.domain,
            password="",
            registrar=self.outbound_proxy,
            reg_interval=0,
            transport=self.transport,
            audio_codecs=AUDIO_CODECS,
        )


def _host_port(uri: str) -> str:
    """``host[:port]`` of a registrar written as a host, host:port or sip: URI."""
    for scheme in ("sips:", "sip:"):
        if uri.startswith(scheme):
            uri = uri[len(scheme) :]
    return uri.split(";", 1)[0].split("@", 1)[-1]

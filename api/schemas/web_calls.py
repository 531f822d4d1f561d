"""Browser-call bodies: the browser's SDP offer in, the server's SDP answer out (WebRTC, no trickle ICE)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

# Size and content are checked by the service, so a bad offer answers 422 naming ``sdp``.
OfferSdp = Annotated[
    str,
    Meta(description="The browser's SDP offer (RTCPeerConnection.localDescription.sdp after ICE gathering)."),
]


class WebCallOffer(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A browser's offer to talk to an assistant: ``JSON.stringify(pc.localDescription)`` fits as it is."""

    sdp: OfferSdp
    type: Literal["offer"] = "offer"


class WebCallAnswerOut(msgspec.Struct, kw_only=True):
    """The call's record id and the SDP answer to pass to ``pc.setRemoteDescription``."""

    call_id: UUID
    sdp: str
    type: Literal["answer"] = "answer"

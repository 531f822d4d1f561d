"""``/api/assistants/{id}/web-call``: talk to an assistant from a browser over WebRTC."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from litestar import Controller, Request, post

from api.auth import Principal
from api.errors import Invalid, Unavailable
from api.schemas.web_calls import WebCallAnswerOut, WebCallOffer
from api.services.assistants import AssistantService

if TYPE_CHECKING:
    from api.telephony.web_calls import WebCalls


class WebCallController(Controller):
    """Browser calls to the caller's assistants."""

    path = "/api/assistants"
    tags = ["assistants"]

    @post("/{assistant_id:uuid}/web-call", status_code=201)
    async def start_web_call(
        self,
        assistants_service: AssistantService,
        assistant_id: UUID,
        data: WebCallOffer,
        request: Request[Principal, Any, Any],
    ) -> WebCallAnswerOut:
        """Answer a browser's SDP offer: the assistant talks on the connection and the call gets a record."""
        from api.telephony.web_calls import WebCallError  # aiortc loads with the first browser call, not at import

        assistant = await assistants_service.get(assistant_id)
        web_calls: WebCalls | None = getattr(request.app.state, "web_calls", None)
        if web_calls is None:
            raise Unavailable("browser calls are not running on this node")
        try:
            answer = await web_calls.answer(assistant, data.sdp)
        except WebCallError as exc:
            if exc.field is None:
                raise Unavailable(str(exc)) from None
            raise Invalid(f"{exc.field}: {exc}", field=exc.field) from None
        return WebCallAnswerOut(call_id=answer.call_id, sdp=answer.sdp)

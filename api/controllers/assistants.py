"""``/api/assistants``: create from a template, read, edit, delete."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from api.pagination import Page, PageParams
from api.schemas.assistants import AssistantCreate, AssistantOut, AssistantUpdate, TemplateOut
from api.schemas.common import changes, to_out
from api.services.assistant_templates import TEMPLATES
from api.services.assistants import AssistantService
from models import Assistant


async def _out(service: AssistantService, items: list[Assistant]) -> list[AssistantOut]:
    numbers = await service.numbers_of([a.id for a in items])
    outs = [to_out(a, AssistantOut) for a in items]
    for item, out in zip(items, outs, strict=True):
        out.phone_numbers = numbers.get(out.id, [])
        out.credits_per_minute = service.credits_per_minute(item)
    return outs


class AssistantController(Controller):
    """Assistants of the caller's account."""

    path = "/api/assistants"
    tags = ["assistants"]

    @get("/templates", sync_to_thread=False)
    def templates(self) -> list[TemplateOut]:
        """The templates an assistant can start from, with the values they fill in."""
        return [
            TemplateOut(id=t.id, title=t.title, description=t.description, defaults=t.defaults())
            for t in TEMPLATES.values()
        ]

    @get("/")
    async def list_assistants(
        self,
        assistants_service: AssistantService,
        page: PageParams,
        q: Annotated[str | None, Parameter(max_length=200, description="Name contains")] = None,
    ) -> Page[AssistantOut]:
        """List assistants, newest first."""
        filters = [Assistant.name.icontains(q, autoescape=True)] if q else []
        items, count = await assistants_service.page(page, *filters)
        return Page(
            items=await _out(assistants_service, list(items)), count=count, limit=page.limit, offset=page.offset
        )

    @post("/")
    async def create_assistant(self, assistants_service: AssistantService, data: AssistantCreate) -> AssistantOut:
        """Create an assistant from a template; fields sent override the template's."""
        item = await assistants_service.add(changes(data))
        return (await _out(assistants_service, [item]))[0]

    @get("/{assistant_id:uuid}")
    async def get_assistant(self, assistants_service: AssistantService, assistant_id: UUID) -> AssistantOut:
        """Read one assistant."""
        return (await _out(assistants_service, [await assistants_service.get(assistant_id)]))[0]

    @patch("/{assistant_id:uuid}")
    async def update_assistant(
        self, assistants_service: AssistantService, assistant_id: UUID, data: AssistantUpdate
    ) -> AssistantOut:
        """Change an assistant's fields."""
        item = await assistants_service.change(await assistants_service.get(assistant_id), changes(data))
        return (await _out(assistants_service, [item]))[0]

    @delete("/{assistant_id:uuid}")
    async def delete_assistant(self, assistants_service: AssistantService, assistant_id: UUID) -> None:
        """Delete an assistant; its phone numbers become unassigned."""
        await assistants_service.delete(assistant_id)

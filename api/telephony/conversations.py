"""Turn an assistant's settings into the conversation that talks on one call."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.clients import SharedClients
from agents.conversation import Conversation, ConversationSettings, Providers
from agents.model_assets import model_paths
from agents.providers import LocalModels, ProviderAccess, build_llm, build_stt, build_tts
from api.config import Settings
from api.secrets_box import SecretBox
from api.services.provider_keys import provider_keys_for
from api.telephony.transcripts import CallTranscript
from models import Assistant

log = logging.getLogger("trunkline.conversation")


class ConversationFactory:
    """Builds each call's conversation from its assistant, the account's provider keys and the local models."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession], secrets: SecretBox) -> None:
        self._settings = settings
        self._sessions = sessions
        self._secrets = secrets
        self.local = LocalModels(model_paths(settings.data_dir), cpu_threads=settings.providers.cpu_threads)
        self.clients = SharedClients()

    async def preload(self) -> None:
        """Load the local models now so the first call answers as fast as the rest; a missing model is logged."""
        try:
            await self.local.preload()
        except Exception as exc:  # a node without local models still serves cloud-only assistants
            log.warning("local models not loaded: %s", exc)

    async def aclose(self) -> None:
        """Close the cloud providers' shared HTTP clients."""
        await self.clients.aclose()

    async def build(
        self,
        assistant: Assistant,
        *,
        call_id: UUID,
        outbound: bool,
        contact_id: UUID | None,
        caller_number: str | None,
    ) -> Conversation:
        """The conversation for one call; raises ProviderUnavailable when a provider cannot be reached."""
        async with self._sessions() as session:
            keys = await provider_keys_for(session, assistant.account_id, self._secrets)
        access = ProviderAccess(keys=keys, endpoints=self._settings.providers.endpoints, clients=self.clients)
        providers = Providers(
            stt=await build_stt(assistant.transcriber, access, self.local),
            llm=await build_llm(assistant.llm, access, self.local),
            tts=await build_tts(assistant.voice, access, self.local),
            vad=await self.local.vad(),
            smart_turn=await self.local.smart_turn(),
        )
        settings = ConversationSettings(
            system_prompt=assistant.system_prompt,
            first_message=assistant.first_message,
            outbound=outbound,
            end_call_phrases=tuple(assistant.end_call_phrases or ()),
            silence_timeout_s=float(assistant.silence_timeout_s),
        )
        events = CallTranscript(
            self._sessions,
            call_id=call_id,
            account_id=assistant.account_id,
            contact_id=contact_id,
            caller_number=caller_number,
        )
        return Conversation(settings, providers, events)

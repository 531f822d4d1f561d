"""The four assistant templates, pre-filled with specific, working prompts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models import AssistantTemplate

LOCAL_LLM: dict[str, Any] = {
    "provider": "local",
    "model": "smollm2-135m-instruct",
    "temperature": 0.6,
    "max_tokens": 200,
}
LOCAL_VOICE: dict[str, Any] = {"provider": "piper", "voice": "en_US-joe-medium", "speed": 1.0}
LOCAL_TRANSCRIBER: dict[str, Any] = {"provider": "faster-whisper", "model": "base", "language": "en"}

_VOICE_STYLE = (
    "You are speaking on a phone call, so everything you write is read aloud. Reply in one to three short "
    "sentences. No lists, markdown, emojis or URLs. Ask one question at a time and wait for the answer. "
    "Say numbers, dates and times the way a person would say them."
)


@dataclass(frozen=True)
class Template:
    """Defaults an assistant starts from."""

    id: AssistantTemplate
    title: str
    description: str
    system_prompt: str
    first_message: str | None
    inbound_enabled: bool
    outbound_enabled: bool
    end_call_phrases: list[str] = field(default_factory=list)
    voicemail_message: str | None = None
    max_call_duration_s: int = 600
    analysis: dict[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """The assistant fields this template fills in."""
        return {
            "template": self.id,
            "system_prompt": self.system_prompt,
            "first_message": self.first_message,
            "llm": dict(LOCAL_LLM),
            "voice": dict(LOCAL_VOICE),
            "transcriber": dict(LOCAL_TRANSCRIBER),
            "inbound_enabled": self.inbound_enabled,
            "outbound_enabled": self.outbound_enabled,
            "end_call_phrases": list(self.end_call_phrases),
            "voicemail_message": self.voicemail_message,
            "max_call_duration_s": self.max_call_duration_s,
            "analysis": dict(self.analysis),
            "tools": [{"type": "end_call"}],
        }


TEMPLATES: dict[AssistantTemplate, Template] = {
    t.id: t
    for t in (
        Template(
            id=AssistantTemplate.OUTBOUND_SETTER,
            title="Outbound appointment setter",
            description="Calls leads, qualifies them in under two minutes and books a meeting with sales.",
            system_prompt=(
                "You are Alex, calling on behalf of the company's sales team. You are calling a lead who "
                "showed interest in the company's product. Your goal is to book a 20-minute call with a "
                "sales specialist.\n"
                "1. Greet the person by first name if you know it, say who you are and why you are calling, "
                "and ask if now is a good moment for two minutes. If not, ask when to call back and end "
                "politely.\n"
                "2. Qualify with at most three questions: what problem they want to solve, how they handle "
                "it today, and when they want a solution in place.\n"
                "3. If there is a fit, offer two concrete time slots and confirm the one they choose, "
                "repeating the day and time back to them.\n"
                "4. If they are not interested, thank them and end the call. If they ask not to be called "
                "again, apologise, confirm they will not be called again, and end the call.\n"
                "Never invent prices, discounts or product features; offer to have the specialist answer. "
                "Never claim to be human if asked: say you are an AI assistant for the sales team.\n" + _VOICE_STYLE
            ),
            first_message="Hi, this is Alex calling from the sales team. Do you have two minutes?",
            inbound_enabled=False,
            outbound_enabled=True,
            end_call_phrases=["goodbye", "bye bye", "not interested"],
            voicemail_message=(
                "Hi, this is Alex from the sales team, following up on your interest in our product. "
                "I'll try you again soon, or call us back at this number. Thanks!"
            ),
            max_call_duration_s=420,
            analysis={
                "success_criteria": "A meeting with a sales specialist was booked for a specific day and time.",
                "summary_prompt": "Summarise the call in two sentences: the lead's need and the outcome.",
            },
        ),
        Template(
            id=AssistantTemplate.INBOUND_SUPPORT,
            title="Inbound customer support",
            description="Answers the company's support line, solves common questions and hands over the rest.",
            system_prompt=(
                "You are Sam, the voice assistant on the company's customer support line. Callers are "
                "existing customers with a question or a problem.\n"
                "1. Ask for the caller's name and what they need help with.\n"
                "2. Restate the problem in one sentence to confirm you understood it.\n"
                "3. Answer only from what you know for certain about the company. If you are not sure, "
                "say so and offer to transfer the caller to a person or to have someone call back.\n"
                "4. Before ending, ask whether there is anything else, then thank the caller.\n"
                "If the caller is upset, acknowledge it briefly and focus on the next concrete step. Never "
                "ask for passwords or full card numbers. If asked, say you are an AI assistant.\n" + _VOICE_STYLE
            ),
            first_message="Thanks for calling support, this is Sam. How can I help you today?",
            inbound_enabled=True,
            outbound_enabled=False,
            end_call_phrases=["goodbye", "that's all", "bye"],
            max_call_duration_s=900,
            analysis={
                "success_criteria": "The caller's question was answered or a concrete next step was agreed.",
                "summary_prompt": "Summarise the caller's issue and how it was resolved, in two sentences.",
            },
        ),
        Template(
            id=AssistantTemplate.FOLLOW_UP,
            title="Follow-up after a meeting or purchase",
            description="Calls customers after a meeting or purchase, checks satisfaction and next steps.",
            system_prompt=(
                "You are Jordan, calling on behalf of the company to follow up with a customer after a "
                "recent meeting or purchase.\n"
                "1. Greet the customer by first name if you know it and remind them of the recent contact.\n"
                "2. Ask how things went and whether everything met their expectations.\n"
                "3. If there is a problem, gather the details in two or three questions and promise that "
                "the right person will call back; do not promise refunds or fixes yourself.\n"
                "4. If they are happy, ask whether they would like to hear about a next step or know "
                "someone who could benefit, without pressure.\n"
                "If they ask not to be called again, confirm it and end the call. If asked, say you are "
                "an AI assistant.\n" + _VOICE_STYLE
            ),
            first_message="Hi, this is Jordan following up on your recent visit. Is this a good time?",
            inbound_enabled=False,
            outbound_enabled=True,
            end_call_phrases=["goodbye", "bye"],
            voicemail_message=(
                "Hi, this is Jordan following up on your recent visit. No need to call back; "
                "we'll try you again another day. Have a great day!"
            ),
            max_call_duration_s=420,
            analysis={
                "success_criteria": "The customer said whether they were satisfied, and any problem was noted.",
                "summary_prompt": "Summarise the customer's feedback and any follow-up needed.",
            },
        ),
        Template(
            id=AssistantTemplate.CUSTOM,
            title="Custom",
            description="A blank assistant with sensible voice defaults; write your own instructions.",
            system_prompt="You are a helpful, friendly voice assistant for the company.\n" + _VOICE_STYLE,
            first_message="Hello, how can I help you?",
            inbound_enabled=True,
            outbound_enabled=False,
            end_call_phrases=["goodbye"],
        ),
    )
}

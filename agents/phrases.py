"""Recognise what the caller said that changes the call: an end-call phrase, an opt-out, a backchannel."""

from __future__ import annotations

import re
from collections.abc import Iterable

OPT_OUT_PHRASES = (
    "don't call me again",
    "do not call me again",
    "don't call me anymore",
    "stop calling me",
    "remove me from your list",
    "take me off your list",
    "remove my number",
    "put me on your do not call list",
    "add me to your do not call list",
)
# Whisper writes a short "uh-huh" as "Oh." or "Mm." about as often as it spells it out, so those count too.
BACKCHANNELS = frozenset(
    {
        "uh-huh", "uh huh", "mhm", "mm-hmm", "mm hmm", "mmhmm", "hmm", "yeah", "yes", "yep", "okay", "ok",
        "right", "sure", "i see", "got it", "alright", "all right", "cool", "oh", "ah", "mm", "hm",
    }
)  # fmt: skip

_BACKCHANNEL_WORDS = frozenset(word for phrase in BACKCHANNELS for word in phrase.replace("-", " ").split())


def normalise(text: str) -> str:
    """Lower-case ``text``, unify apostrophes and drop punctuation, so phrases match however STT punctuates."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^\w' -]+", " ", text)
    return " ".join(text.split())


def contains_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """Return the first of ``phrases`` said in ``text`` (whole words, any punctuation), or None."""
    said = f" {normalise(text)} "
    for phrase in phrases:
        wanted = normalise(phrase)
        if wanted and f" {wanted} " in said:
            return phrase
    return None


def is_opt_out(text: str) -> bool:
    """Whether the caller asked not to be called again."""
    return contains_phrase(text, OPT_OUT_PHRASES) is not None


# A lone word from this list over the agent is a real interruption; any other lone word in a short burst is taken
# as feedback, since whisper turns a quiet "uh-huh" into words like "Oh." or "I'll..." often enough to matter.
_INTERRUPTING_WORDS = frozenset(
    {"stop", "wait", "no", "nope", "hold", "sorry", "excuse", "hello", "hey", "what", "pardon"}
)


def interrupts(text: str) -> bool:
    """Whether a short burst of caller speech over the agent is meant to take the floor."""
    if is_backchannel(text):
        return False
    words = normalise(text).replace("-", " ").split()
    return len(words) >= 2 or (len(words) == 1 and words[0] in _INTERRUPTING_WORDS)


def is_backchannel(text: str) -> bool:
    """Whether ``text`` is only listener feedback ("uh-huh", "yeah, okay") that must not interrupt the agent."""
    said = normalise(text).replace("-", " ")
    if not said:
        return True
    words = said.split()
    # A few backchannel words in a row ("yeah okay", "uh huh right") still count; anything longer is a real turn.
    return len(words) <= 4 and all(w in _BACKCHANNEL_WORDS for w in words)

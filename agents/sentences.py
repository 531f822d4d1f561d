"""Cut a streamed reply into sentences, so the first one can be spoken while the model is still writing.

The first piece may also end at a clause (a comma, semicolon or colon after at least five words): the caller is
waiting for the reply's first audio, and a clause is both written and synthesised sooner than a whole sentence.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? (or their run, or an ellipsis) followed by whitespace; a closing quote or bracket may
# sit between. Abbreviations and decimals are the common false ends on the phone, so they are checked apart.
_END = re.compile(r"[.!?…]+[\"')\]]*\s+")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "approx", "no", "inc", "ltd"}
)
# A first sentence shorter than this is held back to join the next, so TTS does not speak "Sure." on its own tone.
_MIN_FIRST = 12
_CLAUSE_END = re.compile(r"[,;:]\s+")
_MIN_FIRST_CLAUSE_WORDS = 5


class SentenceSplitter:
    """Accumulates text deltas and hands back each sentence once it is complete."""

    def __init__(self) -> None:
        self._buffer = ""
        self._emitted = 0

    def feed(self, delta: str) -> list[str]:
        """Add a piece of the reply and return the sentences it completed."""
        self._buffer += delta
        out: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.end()].strip()
            last_word = candidate.rstrip(".!?…\"')]").split()[-1].lower() if candidate.split() else ""
            if match.group().startswith(".") and last_word in _ABBREVIATIONS:
                continue
            if self._emitted == 0 and not out and len(candidate) < _MIN_FIRST:
                continue
            out.append(candidate)
            start = match.end()
        self._buffer = self._buffer[start:]
        if self._emitted == 0 and not out and (clause := self._first_clause()):
            out.append(clause)
        self._emitted += len(out)
        return out

    def _first_clause(self) -> str | None:
        """Cut the buffer's first clause of at least five words, if one is complete."""
        for match in _CLAUSE_END.finditer(self._buffer):
            candidate = self._buffer[: match.end()].strip()
            if len(candidate.split()) >= _MIN_FIRST_CLAUSE_WORDS:
                self._buffer = self._buffer[match.end() :]
                return candidate
        return None

    def flush(self) -> list[str]:
        """Return whatever text remains once the reply is over."""
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []

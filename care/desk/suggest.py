"""Suggested replies: which approved staff macros fit a customer message, best first.

Each `staff`-channel script with `when` examples is one class of the intent matcher
(`intents.Matcher`: n-gram TF-IDF, rapidfuzz and the linear model over those examples),
and the intent engine vetoes messages no macro answers (a greeting, asking for a person);
with the sentence encoder (`intents.load_encoder`, the one the intent engine uses) the
examples' vectors are blended in once encoded, in a background thread - until then, and
without an encoder, ranking is lexical. A script is suggested only at or above the
confidence floor, at most `limit` of them: nothing rather than noise.

The floor and the blend were chosen on the validation half of
tests/data/suggest_heldout.csv (`carebot bench suggest` reports the test half).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

import numpy as np

from intents import Encoder, IntentEngine, IntentSpec, Matcher
from scripts import ScriptLibrary

__all__ = ["LEXICAL_FLOOR", "SEMANTIC_FLOOR", "SEMANTIC_WEIGHT", "Suggestion", "SuggestionRanker"]

# Chosen on the validation half of tests/data/suggest_heldout.csv: the highest top-3 rate
# that still leaves at least 9 of its 10 off-topic messages without a suggestion.
#: Lexical scores (0..100) at or above this are suggested.
LEXICAL_FLOOR = 24.0
#: Scores blended with the sentence encoder (share SEMANTIC_WEIGHT) at or above this.
SEMANTIC_FLOOR = 26.0
SEMANTIC_WEIGHT = 0.6

#: `staff`: the channel of macros (care.desk.macros.MACRO_CHANNEL, repeated to keep this
#: module free of the macro use cases).
_CHANNEL = "staff"
#: Intent kinds no macro answers: a greeting, asking for a person.
_VETO_KINDS = ("greeting", "handoff")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested macro and its score (0..100)."""

    script_id: str
    score: float


class _Index:
    """The matcher over one version of the macros' examples (replaced, never mutated)."""

    def __init__(self, key: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
        self.key = key
        specs = [
            IntentSpec(id=script_id, kind="inquiry", script=script_id, examples={"all": when})
            for script_id, when in key
        ]
        self.matcher = Matcher(specs) if specs else None
        self.ready = threading.Event()


class SuggestionRanker:
    """``ranker.rank(text)`` -> up to `limit` suggestions at or above `floor`."""

    def __init__(
        self,
        library: ScriptLibrary,
        encoder: Encoder | None = None,
        *,
        intents: IntentEngine | None = None,
        floor: float = LEXICAL_FLOOR,
        semantic_floor: float = SEMANTIC_FLOOR,
        limit: int = 3,
        semantic_weight: float = SEMANTIC_WEIGHT,
    ) -> None:
        self.library = library
        self.encoder = encoder
        self.intents = intents
        self.floor = floor
        self.semantic_floor = semantic_floor
        self.limit = limit
        self.semantic_weight = semantic_weight
        self._lock = threading.Lock()
        self._index = self._build(self._key())

    @property
    def backend(self) -> str:
        if self.encoder is None:
            return "lexical"
        state = "ready" if self._index.ready.is_set() else "encoding examples"
        return f"lexical + {self.encoder.name} ({state})"

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Block until the examples' vectors are in use (True at once without an encoder)."""
        if self.encoder is None:
            return True
        return self._index.ready.wait(timeout)

    def _key(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple(
            sorted(
                (script.id, script.when)
                for script in self.library.scripts.values()
                if script.channel == _CHANNEL and script.when and script.servable
            )
        )

    def _build(self, key: tuple[tuple[str, tuple[str, ...]], ...]) -> _Index:
        index = _Index(key)
        if self.encoder is None or index.matcher is None:
            index.ready.set()
            return index
        threading.Thread(
            target=self._encode, args=(index, self.encoder), name="suggest-encode", daemon=True
        ).start()
        return index

    @staticmethod
    def _encode(index: _Index, encoder: Encoder) -> None:
        try:
            assert index.matcher is not None
            index.matcher.attach_vectors(encoder.encode(list(index.matcher.example_texts)))
        finally:
            index.ready.set()

    def _current(self) -> _Index:
        """The index for the library as it is now (a reload may have changed the macros)."""
        key = self._key()
        with self._lock:
            if key != self._index.key:
                self._index = self._build(key)
            return self._index

    def rank(self, text: str) -> list[Suggestion]:
        """Blocking (the encoder may run): call from a worker thread, or use `arank`."""
        index = self._current()
        matcher = index.matcher
        if matcher is None or not text.strip():
            return []
        scored = matcher.lexical(text)
        if not scored.raw:
            return []
        totals = scored.base + scored.bonus
        floor = self.floor
        # The matcher's cascade: a clear lexical winner is not worth encoding the message.
        if self.encoder is not None and index.ready.is_set() and matcher.needs_vector(scored):
            vector = self.encoder.encode([scored.text])[0]
            weight = self.semantic_weight
            totals = (1.0 - weight) * totals + weight * matcher.semantic_scores(vector)
            floor = self.semantic_floor
        order = np.argsort(-totals, kind="stable")[: self.limit]
        ranked = [
            Suggestion(matcher.ids[int(i)], round(float(totals[int(i)]), 2))
            for i in order
            if float(totals[int(i)]) >= floor
        ]
        # The intent engine has the last word on "this is only hello / get me a person".
        # Lexically: greetings and hand-offs are set phrases, and the encoder's time is spent.
        veto = self.intents
        if ranked and veto is not None and veto.match(text, lexical=True).kind in _VETO_KINDS:
            return []
        return ranked

    async def arank(self, text: str) -> list[Suggestion]:
        """`rank` for the event loop: the encoder runs in a worker thread."""
        if self.encoder is None:
            return self.rank(text)
        return await asyncio.to_thread(self.rank, text)

"""Intent recognition: text normalisation, the intent catalog and the fuzzy matcher."""

from __future__ import annotations

from intents.normalize import detect_language, normalize, squash, to_simplified, to_traditional

__all__ = ["detect_language", "normalize", "squash", "to_simplified", "to_traditional"]

"""Intent recognition: text normalisation, the intent catalog and the fuzzy matcher.

Map: `normalize` (one definition of "the same text"), `loader` (YAML files ->
`IntentSpec`, problems as `file:line: message`), `matcher` (n-gram TF-IDF +
rapidfuzz scoring, cues, fallback), `linear` (the LinearSVC blended into the
matcher, trained at load), `engine` (`IntentEngine`: folders, reload, file
watch), `encoder` (`load_encoder`: the bundled sentence encoder, or None),
`evaluation` (accuracy / F1 / latency for `carebot intents eval`).
"""

from __future__ import annotations

from intents.encoder import ENCODER_SETTINGS, Encoder, load_encoder
from intents.engine import IntentEngine, Match
from intents.evaluation import EvalReport, compute_metrics, evaluate, read_labelled_csv
from intents.loader import CatalogError, CatalogProblem, IntentSpec, load_catalog
from intents.matcher import Matcher, MatcherConfig
from intents.normalize import detect_language, normalize, squash, to_simplified, well_formed

__all__ = [
    "ENCODER_SETTINGS",
    "CatalogError",
    "CatalogProblem",
    "Encoder",
    "EvalReport",
    "IntentEngine",
    "IntentSpec",
    "Match",
    "Matcher",
    "MatcherConfig",
    "compute_metrics",
    "detect_language",
    "evaluate",
    "load_catalog",
    "load_encoder",
    "normalize",
    "read_labelled_csv",
    "squash",
    "to_simplified",
    "well_formed",
]

"""`IntentEngine`: the catalog folders, the live matcher and reload.

Operators change intents by editing YAML in their folder; the engine picks the
change up without a restart: `reload()` re-reads every folder now. The engine does
not poll: it says which files it reads (`source_files()`), and the runtime's one
file watch (`care.runtime.watch`) calls `reload()` when one of them changed.

A reload that finds problems keeps the previous catalog in service and returns
the problems (`file:line: message`); only the very first load raises.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from intents.loader import CatalogError, CatalogProblem, IntentSpec, load_catalog
from intents.matcher import Matcher, MatcherConfig

__all__ = ["IntentEngine", "Match"]


@dataclass(frozen=True)
class Match:
    """The engine's answer for one message (`intent=None`: not sure, show the menu)."""

    intent: str | None
    kind: str | None
    coarse: str | None
    score: float
    runner_up: str | None
    runner_up_score: float
    script: str | None


#: Example count above which a catalog's linear model trains in the background.
BACKGROUND_TRAINING_ABOVE = 2_000


class IntentEngine:
    """Matches customer messages against the merged catalog of `dirs` (later folders win)."""

    def __init__(
        self,
        dirs: Sequence[Path],
        *,
        config: MatcherConfig | None = None,
    ) -> None:
        self.dirs = [Path(d) for d in dirs]
        # Production default: big operator catalogs go into service at once and gain the
        # linear model when its background training finishes (bundled catalog: synchronous).
        self.config = config or MatcherConfig(background_training_above=BACKGROUND_TRAINING_ABOVE)
        self._lock = threading.Lock()
        specs, problems = load_catalog(self.dirs)
        if problems:
            raise CatalogError(problems)
        self._install(specs)

    # -- catalog ---------------------------------------------------------------------------

    def _install(self, specs: list[IntentSpec]) -> None:
        matcher = Matcher(specs, self.config)
        by_id = {spec.id: spec for spec in specs}
        # One tuple assignment: a concurrent `match` sees the old or the new catalog, never a mix.
        self._state = (matcher, by_id)

    def wait_until_trained(self, timeout: float | None = None) -> bool:
        """Block until the current catalog's linear model is in use; False on timeout."""
        return self._state[0].wait_until_trained(timeout)

    @property
    def specs(self) -> list[IntentSpec]:
        return list(self._state[1].values())

    def source_files(self) -> list[Path]:
        """The catalog files the engine reads (what a file watch should watch)."""
        files: list[Path] = []
        for folder in self.dirs:
            try:
                files.extend(sorted(folder.glob("*.yaml")))
            except OSError:
                continue
        return files

    def reload(self) -> list[CatalogProblem]:
        """Re-read all folders; on problems keep the current catalog and return them."""
        with self._lock:
            specs, problems = load_catalog(self.dirs)
            if problems:
                return problems
            self._install(specs)
            return []

    # -- matching --------------------------------------------------------------------------

    def match(self, text: str) -> Match:
        """Classify one message; never raises on odd input (empty, huge, emoji, controls)."""
        matcher, by_id = self._state
        decision = matcher.decide(text if isinstance(text, str) else str(text))
        if decision.intent is None:
            return Match(
                intent=None,
                kind=None,
                coarse=None,
                score=_pct(decision.score),
                runner_up=decision.runner_up,
                runner_up_score=_pct(decision.runner_up_score),
                script=None,
            )
        spec = by_id[decision.intent]
        return Match(
            intent=spec.id,
            kind=spec.kind,
            coarse=spec.coarse,
            score=_pct(decision.score),
            runner_up=decision.runner_up,
            runner_up_score=_pct(decision.runner_up_score),
            script=spec.script,
        )


def _pct(score: float) -> float:
    # Cue bonuses can push a raw score past 100; the contract is a 0..100 scale.
    return round(min(max(score, 0.0), 100.0), 2)

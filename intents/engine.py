"""`IntentEngine`: the catalog folders, the live matcher, reload and the file watch.

Operators change intents by editing YAML in their folder; the engine picks the
change up without a restart in two ways:

* `reload()` re-reads every folder now (what `carebot intents reload`-style
  tooling or an admin command calls);
* `maybe_reload()` is the *file watch by polling*: it is cheap enough to call on
  every message - at most once per `watch_interval` seconds (2 s) it stats the
  `*.yaml` files and reloads only when the set of files or any mtime/size changed.

A reload that finds problems keeps the previous catalog in service and returns
the problems (`file:line: message`); only the very first load raises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from intents.loader import CatalogError, CatalogProblem, IntentSpec, load_catalog
from intents.matcher import Matcher, MatcherConfig

__all__ = ["IntentEngine", "Match"]

_Signature = tuple[tuple[str, int, int], ...]


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
        watch_interval: float = 2.0,
    ) -> None:
        self.dirs = [Path(d) for d in dirs]
        # Production default: big operator catalogs go into service at once and gain the
        # linear model when its background training finishes (bundled catalog: synchronous).
        self.config = config or MatcherConfig(background_training_above=BACKGROUND_TRAINING_ABOVE)
        self.watch_interval = watch_interval
        self._lock = threading.Lock()
        self._last_check = time.monotonic()
        signature = self._signature()
        specs, problems = load_catalog(self.dirs)
        if problems:
            raise CatalogError(problems)
        self._install(specs, signature)

    # -- catalog ---------------------------------------------------------------------------

    def _install(self, specs: list[IntentSpec], signature: _Signature) -> None:
        matcher = Matcher(specs, self.config)
        by_id = {spec.id: spec for spec in specs}
        # One tuple assignment: a concurrent `match` sees the old or the new catalog, never a mix.
        self._state = (matcher, by_id)
        self._signature_seen = signature

    def wait_until_trained(self, timeout: float | None = None) -> bool:
        """Block until the current catalog's linear model is in use; False on timeout."""
        return self._state[0].wait_until_trained(timeout)

    @property
    def specs(self) -> list[IntentSpec]:
        return list(self._state[1].values())

    def _signature(self) -> _Signature:
        entries: list[tuple[str, int, int]] = []
        for folder in self.dirs:
            try:
                paths = sorted(folder.glob("*.yaml"))
            except OSError:
                continue
            for path in paths:
                try:
                    stat = path.stat()
                except OSError:
                    continue
                entries.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(entries)

    def reload(self) -> list[CatalogProblem]:
        """Re-read all folders; on problems keep the current catalog and return them."""
        with self._lock:
            signature = self._signature()
            specs, problems = load_catalog(self.dirs)
            if problems:
                # Remember the broken state so the watch does not re-report it every 2 s.
                self._signature_seen = signature
                return problems
            self._install(specs, signature)
            return []

    def maybe_reload(self) -> list[CatalogProblem]:
        """File watch by polling: stat at most every `watch_interval` s, reload on change."""
        now = time.monotonic()
        if now - self._last_check < self.watch_interval:
            return []
        self._last_check = now
        if self._signature() == self._signature_seen:
            return []
        return self.reload()

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

"""The forbidden-phrase guard as every process builds it: list, normaliser and sentence encoder.

`scripts` never imports `intents`: the guard receives `intents.normalize` and, when the
bundled encoder loads (`GUARD_ENCODER`, default `auto`), its `encode` as the semantic
layer's embedding function. Without one the guard works lexically and this says so once.
"""

from __future__ import annotations

import logging
import threading

from care.runtime.settings import Settings
from intents import load_encoder, normalize
from scripts import Guard

__all__ = ["build_guard"]

log = logging.getLogger("carebot.guard")


def build_guard(settings: Settings, *, warm: bool = True) -> Guard:
    """The guard for `settings`; raises `LibraryError` if the forbidden list is broken.

    With an encoder and `warm`, the list's meanings are embedded in a background thread
    (seconds of encoder time, once: the vectors are cached in `GUARD_CACHE_DIR`), so the
    first staff reply does not wait for them."""
    encoder = load_encoder(settings.guard_encoder)
    if encoder is None:
        log.info("forbidden-phrase guard: lexical only (no sentence encoder)")
        return Guard.from_file(settings.forbidden_path, normalize=normalize)
    # spread over the cores: a staff member waits on the check, and replies are few
    guard = Guard.from_file(
        settings.forbidden_path,
        normalize=normalize,
        embed=encoder.encode_spread,
        cache_dir=settings.guard_cache_dir,
        embed_model=encoder.model,
    )
    log.info("forbidden-phrase guard: lexical + semantic (%s)", encoder.model)
    if warm:
        threading.Thread(target=guard.warm_up, name="guard-warm-up", daemon=True).start()
    return guard

"""The one file watch: polls the content files and reloads the component whose files changed.

The intent engine, the script library and the guard each know which files they read
(`source_files()`) and how to `reload()` them; none of them polls. `FileWatch.poll` stats
those files - the set of paths, each one's mtime and size - and calls `reload()` on a
component when its signature changed since the last poll. Problems a reload returns are
logged as ``file:line: message`` lines (the component keeps its last good version in service),
and so is an intent that now names a script the library lacks;
a broken state is reported once, not on every poll. `watch_content` runs the poll every
~2 s in a worker thread, in every process (not leader-only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from care.runtime.content import missing_scripts
from care.runtime.periodic import start_periodic
from care.runtime.services import Services

__all__ = [
    "CONTENT_WATCH_SECONDS",
    "FileWatch",
    "Reloadable",
    "content_watch",
    "signature",
    "watch_content",
]

log = logging.getLogger("carebot.watch")

#: How often each process looks for edited catalog, script and forbidden-list files.
CONTENT_WATCH_SECONDS = 2.0

Signature = tuple[tuple[str, int, int], ...]


class Reloadable(Protocol):
    """A component that reads files: which ones, and how to read them again."""

    def source_files(self) -> list[Path]: ...

    def reload(self) -> Sequence[object]:
        """Re-read the files; the problems found (`str()` is ``file:line: message``)."""
        ...


def signature(paths: Iterable[Path]) -> Signature:
    """(path, mtime, size) of each file that can be stat'ed: what a change is measured by."""
    entries: list[tuple[str, int, int]] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class FileWatch:
    """Reloads each component when the set, mtime or size of its files changes."""

    def __init__(
        self,
        components: Mapping[str, Reloadable],
        cross_check: Callable[[], Sequence[object]] | None = None,
    ) -> None:
        self._components = dict(components)
        #: Run after any reload: problems between components (an intent's missing script).
        self._cross_check = cross_check
        self._cross_seen: list[str] = []
        # The components have just loaded: what is on disk now is what they serve.
        self._seen = {name: signature(c.source_files()) for name, c in self._components.items()}

    def poll(self) -> dict[str, list[str]]:
        """Stat every file (blocking: call it off the event loop); reload what changed.

        Returns the problems per reloaded component (empty list: reloaded cleanly).
        """
        reloaded: dict[str, list[str]] = {}
        for name, component in self._components.items():
            current = signature(component.source_files())
            if current == self._seen[name]:
                continue
            # Remember the new state first: a broken file is reported once, not every poll.
            self._seen[name] = current
            problems = [str(problem) for problem in component.reload()]
            for line in problems:
                log.warning("%s (%s: the last good version stays in service)", line, name)
            if not problems:
                log.info("%s reloaded", name)
            reloaded[name] = problems
        if reloaded and self._cross_check is not None:
            found = [str(problem) for problem in self._cross_check()]
            for line in found:
                if line not in self._cross_seen:
                    log.warning("%s", line)
            self._cross_seen = found
        return reloaded


def content_watch(services: Services) -> FileWatch:
    """The watch over the intent catalog, the script library and the forbidden list."""
    return FileWatch(
        {"intents": services.intents, "scripts": services.library, "guard": services.guard},
        cross_check=lambda: missing_scripts(services.intents.specs, services.library.scripts),
    )


def watch_content(
    services: Services, every: float = CONTENT_WATCH_SECONDS
) -> Callable[[], Awaitable[None]]:
    """Hot reload: poll the content files and reload what changed, off the event loop.

    A catalog reload re-trains the matcher (0.1-0.5 s of CPU), so it runs in a worker thread;
    the components swap their state in one assignment, so updates handled meanwhile see the
    old or the new version, never a mix. Every process watches its own copy (not leader-only).
    """
    watch = content_watch(services)

    async def poll() -> None:
        await asyncio.to_thread(watch.poll)

    return start_periodic("content-watch", every, poll)

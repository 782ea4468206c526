"""The loopback fake Bot API (tests/fakes/bot_api.py) in a spawned child process, for benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import queue
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["TOKEN", "bench_stats", "fake_api"]

TOKEN = "42:BENCH"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def _serve(port_queue: Any, stop_event: Any) -> None:
    """Child process: tests/fakes/bot_api.py, counting sendMessage per chat instead of keeping
    every call and message (hundreds of thousands over a run)."""
    # The fake lives in the repository's tests/, which is not an installed package: a
    # spawned child started from the `carebot` console script must be told where it is.
    if str(_REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(_REPO_ROOT))
    from tests.fakes.bot_api import FakeBotAPI

    class CountingAPI(FakeBotAPI):
        def __init__(self) -> None:
            super().__init__(TOKEN)
            self.per_chat: dict[int, int] = {}

        def _record(self, call: Any) -> None:
            if call.method == "sendMessage" and call.ok:
                chat = int(call.params["chat_id"])
                self.per_chat[chat] = self.per_chat.get(chat, 0) + 1

        def _compose(
            self, chat_id: int, params: dict[str, Any], content: dict[str, Any]
        ) -> dict[str, Any]:
            message = super()._compose(chat_id, params, content)
            self._messages.pop(chat_id, None)
            return message

        def _handler_table(self) -> dict[str, Any]:
            table = super()._handler_table()

            async def stats(params: dict[str, Any], files: Any) -> Any:
                counts = list(self.per_chat.values())
                if params.get("reset"):
                    self.per_chat.clear()
                return {
                    "chats": len(counts),
                    "messages": sum(counts),
                    "duplicates": sum(n - 1 for n in counts if n > 1),
                }

            table["benchStats"] = stats
            return table

    async def main() -> None:
        api = CountingAPI()
        await api.start()
        port_queue.put(api.base_url)
        while not stop_event.is_set():
            await asyncio.sleep(0.2)
        await api.stop()

    asyncio.run(main())


@contextlib.contextmanager
def fake_api(timeout: float = 60) -> Iterator[str]:
    """The fake Bot API's base URL while it runs in a spawned child process."""
    ctx = mp.get_context("spawn")
    port_queue = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(port_queue, stop), daemon=True)
    server.start()
    try:
        yield _wait_for_url(port_queue, server, timeout)
    finally:
        stop.set()
        server.join(10)
        if server.is_alive():
            server.kill()


def _wait_for_url(port_queue: Any, server: Any, timeout: float) -> str:
    """The child's URL; fails at once (not after `timeout`) if the child died starting up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return str(port_queue.get(timeout=0.2))
        except queue.Empty:
            if not server.is_alive():
                raise RuntimeError(
                    f"the fake Bot API process exited with code {server.exitcode}"
                ) from None
    raise TimeoutError(f"the fake Bot API did not start within {timeout} s")


async def bench_stats(base_url: str, reset: bool = False) -> dict[str, int]:
    """sendMessage counts since the last reset: chats, messages, duplicates (then reset them)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        url = f"{base_url}/bot{TOKEN}/benchStats"
        async with http.post(url, data={"reset": "1" if reset else ""}) as response:
            body = await response.json()
    return dict(body["result"])

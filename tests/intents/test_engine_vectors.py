"""The engine's encoder side: cached catalog vectors, cold load served lexically, the cascade,
`amatch` off the event loop, and an encoder failure answered lexically.

A stub encoder (deterministic vectors, controllable gate) keeps these tests fast; the real
model's behaviour is covered in test_encoder.py and the held-out floors.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from intents import IntentEngine
from intents.encoder import sanitize

from .conftest import BUNDLED
from .test_encoder import HOSTILE


class StubEncoder:
    """Bag-of-characters vectors: similar texts get similar unit rows; counts its calls."""

    name = "stub"
    model = "stub-v1"
    dim = 64
    max_chars = 256

    def __init__(self, gate: threading.Event | None = None, fail: bool = False) -> None:
        self.gate = gate
        self.fail = fail
        self.calls = 0
        self.texts = 0
        self.threads: set[str] = set()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        self.threads.add(threading.current_thread().name)
        if self.gate is not None:
            assert self.gate.wait(timeout=60)
        if self.fail:
            raise RuntimeError("engine failed")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for ch in sanitize(text):
                out[row, hashlib.blake2b(ch.encode(), digest_size=2).digest()[0] % self.dim] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1
        return out / norms


def test_vectors_are_cached_by_content(tmp_path: Path) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    cold_texts = stub.texts
    assert cold_texts == len(engine._state[0].vector_texts)
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 1
    assert "ready" in engine.backend

    # Restart: the file serves, nothing is encoded, vectors in use before __init__ returns.
    again = StubEncoder()
    restarted = IntentEngine([BUNDLED], encoder=again, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert restarted.wait_until_vectors(timeout=0)
    assert again.texts == 0
    # An unchanged reload re-encodes nothing either.
    assert restarted.reload() == []
    assert restarted.wait_until_vectors(timeout=0)
    assert again.texts == 0


def test_cold_load_serves_lexically_until_vectors_are_ready(tmp_path: Path) -> None:
    gate = threading.Event()
    stub = StubEncoder(gate=gate)
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    try:
        assert not engine.wait_until_vectors(timeout=0)
        assert "encoding catalog" in engine.backend
        lexical = IntentEngine([BUNDLED]).match("你们几点开门")
        # In service at once, lexically, without waiting for the (blocked) encoder.
        assert engine.match("你们几点开门") == lexical
    finally:
        gate.set()
    assert engine.wait_until_vectors(timeout=60)
    done, total = engine.progress
    assert done == total == len(engine._state[0].vector_texts)


def test_unreadable_cache_file_is_rebuilt(tmp_path: Path) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    [cached] = tmp_path.glob("vectors-*.npy")
    cached.write_bytes(b"not numpy")
    again = StubEncoder()
    rebuilt = IntentEngine([BUNDLED], encoder=again, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert rebuilt.wait_until_vectors(timeout=60)
    assert again.texts == len(rebuilt._state[0].vector_texts)
    assert np.load(cached).shape == (again.texts, StubEncoder.dim)


async def test_amatch_encodes_off_the_event_loop(tmp_path: Path) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    stub.gate = threading.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            if ticks == 20:
                assert stub.gate is not None
                stub.gate.set()  # the loop ran while the encoder was busy: release it
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        # An unclear message: the cascade sends it to the encoder.
        match = await asyncio.wait_for(engine.amatch("嗯嗯那个东西呢"), timeout=60)
    finally:
        task.cancel()
        engine.close()
    assert ticks >= 20
    assert engine.encoded == 1 and engine.matches == 1
    assert any(name.startswith("intents-encoder") for name in stub.threads)
    assert match == engine.match("嗯嗯那个东西呢")


def test_cascade_skips_the_encoder_for_clear_messages(tmp_path: Path) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    before = stub.calls
    engine.match("转人工")
    engine.match("")
    assert stub.calls == before
    engine.match("嗯嗯那个东西呢")
    assert stub.calls == before + 1


def test_encoder_failure_answers_lexically(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    stub.fail = True
    lexical = IntentEngine([BUNDLED])
    for text in ("嗯嗯那个东西呢", "my parcel?", "\ud800\x00"):
        assert engine.match(text) == lexical.match(text)
    assert "answering lexically" in caplog.text


def test_hostile_text_never_raises(engine: IntentEngine, tmp_path: Path) -> None:
    stub = StubEncoder()
    with_vectors = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert with_vectors.wait_until_vectors(timeout=60)
    for text in HOSTILE:
        for matcher in (engine, with_vectors):
            result = matcher.match(text)
            assert result.intent is None or result.kind is not None
    # NUL no longer cuts the text short on its way through OpenCC.
    assert engine.match("abc\x00 我要投诉,东西坏了").coarse == "complaint"

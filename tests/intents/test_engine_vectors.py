"""The engine's encoder side: cached catalog vectors, cold load served lexically, the cascade,
`amatch` off the event loop, and an encoder failure answered lexically.

A stub encoder (deterministic vectors, controllable gate) keeps these tests fast; the real
model's behaviour is covered in test_encoder.py and the held-out floors.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from intents import IntentEngine, Matcher
from intents.encoder import sanitize
from intents.matcher import encoder_text

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
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts += len(texts)
        self.seen.extend(texts)
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


def test_cascade_sends_sure_complaints_and_praise_to_the_head_only_when_it_could_change(
    tmp_path: Path,
) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    matcher = engine._state[0]
    assert matcher.has_head
    # The same catalog with the head's flip and veto off: only the lexical cascade decides.
    headless = Matcher(
        engine.specs, dataclasses.replace(engine.config, head_flip=2.0, head_veto=2.0)
    )
    headless.attach_vectors(next(iter(engine._memo.values())))

    def encoded(m: Matcher, text: str) -> bool:
        return m.needs_vector(m.lexical(text))

    # Sure, with their own cue words and nothing of the other kind: the head cannot flip them.
    for text in ("我的快递三天还没到,太慢了", "你们的服务很好,谢谢店员的耐心", "客服态度太差了"):
        assert not encoded(headless, text) and not encoded(matcher, text), text
    # Sure lexically, but open to the head: praise within reach of the complaint (a mixed
    # review), and a complaint without any complaint cue word (chatter the head may veto).
    for text in ("东西不错，可惜送得太慢了", "I'm triggered by this tweet"):
        assert not encoded(headless, text) and encoded(matcher, text), text


def test_repeated_spam_is_collapsed_before_encoding(tmp_path: Path) -> None:
    stub = StubEncoder()
    engine = IntentEngine([BUNDLED], encoder=stub, cache_dir=tmp_path)  # type: ignore[arg-type]
    assert engine.wait_until_vectors(timeout=60)
    stub.seen.clear()
    engine.match("嗯嗯那个东西呢" * 600)  # unclear: the cascade encodes it
    assert stub.seen == ["嗯嗯那个东西呢嗯嗯那个东西呢嗯"]  # two copies (and the cut's tail)
    assert encoder_text("x" * 400) == "xxx"
    assert encoder_text("到底什么时候发货" + "?" * 100) == "到底什么时候发货???"
    assert encoder_text("spam " * 50 + "refund please") == "spam spam refund please"
    # Ordinary repeats stay as written: what a normal message encodes as does not change.
    for text in ("哈哈哈哈哈", "!!!!!!", "no no no no", "好好好好", "谢谢谢谢谢谢"):
        assert encoder_text(text) == text
    data = Path(__file__).resolve().parent.parent / "data"
    for path in sorted(data.glob("intents_heldout*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                assert encoder_text(row["text"]) == row["text"]


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

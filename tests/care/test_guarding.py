"""care.runtime.guarding: the guard with the bundled sentence encoder, or lexical and saying so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from care.cli.guard import evaluate, read_cases
from care.runtime.guarding import build_guard
from care.runtime.settings import load_settings
from intents import load_encoder

ROOT = Path(__file__).resolve().parents[2]
REDTEAM = ROOT / "tests" / "data" / "guard_redteam.csv"

needs_encoder = pytest.mark.skipif(
    load_encoder("auto") is None, reason="the bundled encoder needs Linux x86-64 with AVX2"
)


def _small_list(tmp_path: Path) -> Path:
    path = tmp_path / "forbidden.tsv"
    path.write_text(
        "phrase\treason\tsuggestion\tallow\tvariants\texamples\n"
        "这是公司的规定\t用规定搪塞\t我来帮您看看有什么办法\t按照公司规定，您可以退货\t\t"
        "规矩就是规矩，我也改变不了|Rules are rules, I can't change them.\n",
        encoding="utf-8",
    )
    return path


def test_off_means_lexical_and_it_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(guard_encoder="off", forbidden_file=_small_list(tmp_path))
    with caplog.at_level(logging.INFO, logger="carebot.guard"):
        guard = build_guard(settings)
    assert guard.mode == "lexical"
    assert "lexical only (no sentence encoder)" in caplog.text
    assert not guard.check("这是公司的规定").allowed


@needs_encoder
def test_the_encoder_catches_a_paraphrase_and_spares_a_helpful_reply(tmp_path: Path) -> None:
    settings = load_settings(guard_encoder="auto", forbidden_file=_small_list(tmp_path))
    guard = build_guard(settings, warm=False)
    assert guard.mode == "lexical+semantic"
    guard.warm_up()
    verdict = guard.check("不好意思，规矩就是规矩，我也改变不了。")
    assert not verdict.allowed and verdict.layer == "semantic"
    assert verdict.phrase == "这是公司的规定" and verdict.score is not None
    assert verdict.clause == "规矩就是规矩，"
    assert guard.check("按照公司规定，您可以退货，我已为您登记。").allowed
    assert guard.check("非常抱歉让您久等了，我马上为您查询。").allowed
    # approved scripts skip the encoder (their meaning was reviewed)
    assert guard.check("规矩就是规矩，我也改变不了", semantic=False).allowed


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~600 texts through the encoder: only a hang should stop it
@needs_encoder
def test_red_team_floors_with_the_encoder() -> None:
    guard = build_guard(load_settings(guard_encoder="auto"), warm=False)
    report = evaluate(guard, read_cases(REDTEAM, split="test"))
    assert report.rate("literal", "obfuscated", "filler") >= 0.98
    assert report.rate("paraphrase") >= 0.80
    assert report.false_block_rate <= 0.03, [c.text for c, _ in report.misses if not c.block]

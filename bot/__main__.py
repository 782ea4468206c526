"""`python -m bot` = the `carebot` command (handy before the console script is installed)."""

from __future__ import annotations

from bot.cli import main

main()

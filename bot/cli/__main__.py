"""`python -m bot.cli`: the same as the `carebot` command."""

from bot.cli import main

main()

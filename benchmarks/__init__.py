"""Benchmarks: commands that measure speed and write their tables into BENCHMARKS.md."""

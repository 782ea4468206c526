"""Customer import/export benchmark: peak memory of `carebot customers import` and `export`.

Writes a CSV of N synthetic customers (Chinese and English names, some formula-looking
cells), then runs the real commands as child processes on a fresh SQLite database, each
measured on its own: the kernel's high-water mark of that one child (`os.wait4` rusage
ru_maxrss) and psutil samples every 50 ms. Both commands stream, so the peak should not
grow with N; the second, smaller run shows whether it does.
"""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = ["DataResult", "render_markdown", "run_all"]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗欧阳司马"
_TITLES = ("先生", "女士", "小姐")
_EN = ("Smith", "Montgomery-Smith", "O'Brien", "=cmd|' /C calc'!A0", "@SUM(1)", "-2+3")


@dataclass
class DataResult:
    """One command on one file size."""

    command: str
    customers: int
    seconds: float
    high_water_mb: float
    sampled_peak_mb: float
    exit_code: int
    output_mb: float = 0.0


def write_customers(path: Path, n: int, seed: int = 7) -> None:
    """A realistic import file: every column, both languages, a few hostile cells."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "telegram_id",
                "surname",
                "title",
                "first_name",
                "language",
                "timezone",
                "birthday",
                "total_spend",
                "visits",
                "referrals",
            ]
        )
        for i in range(n):
            chinese = rng.random() < 0.8
            writer.writerow(
                [
                    100_000_000 + i,
                    rng.choice(_SURNAMES) if chinese else rng.choice(_EN),
                    rng.choice(_TITLES) if chinese else "Ms.",
                    "欣怡" if chinese else "Alexandra",
                    "zh-Hans" if chinese else "en",
                    "Asia/Shanghai",
                    f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    f"{rng.random() * 20000:.2f}",
                    rng.randint(0, 40),
                    rng.randint(0, 5),
                ]
            )


def _measure(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float, int]:
    """(seconds, ru_maxrss MB, sampled peak MB, exit code) of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    peak = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            process = psutil.Process(child.pid)
            while not done.is_set():
                peak = max(peak, process.memory_info().rss / 2**20)
                done.wait(0.05)
        except psutil.Error:
            pass  # the child ended between two samples

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join(timeout=5)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, peak, child.returncode


def run_all(sizes: list[int], log: Callable[[str], None]) -> list[DataResult]:
    results: list[DataResult] = []
    with tempfile.TemporaryDirectory(prefix="carebot-data-bench-") as tmp:
        for n in sizes:
            work = Path(tmp) / str(n)
            work.mkdir()
            source, target = work / "customers.csv", work / "export.csv"
            log(f"writing {n:,} customers ...")
            write_customers(source, n)
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}",
                "CAREBOT_CONFIG": str(work / "absent.toml"),
            }
            carebot = [sys.executable, "-m", "bot"]
            for name, args in (
                ("customers import", [*carebot, "customers", "import", str(source)]),
                ("customers export", [*carebot, "customers", "export", "--out", str(target)]),
            ):
                log(f"{name}: {n:,} customers ...")
                seconds, high, sampled, code = _measure(args, env, work)
                size = target.stat().st_size / 2**20 if "export" in name and target.exists() else 0
                results.append(DataResult(name, n, seconds, high, sampled, code, size))
    return results


def render_markdown(results: list[DataResult], header: str) -> str:
    lines = [
        header,
        "",
        "| command | customers | peak RSS (ru_maxrss, <= 200 MB) | sampled peak | time | "
        "CSV written | exit |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ok = "ok" if r.high_water_mb <= 200 and r.exit_code == 0 else "OVER"
        lines.append(
            f"| `carebot {r.command}` | {r.customers:,} | {r.high_water_mb:.0f} MB {ok} | "
            f"{r.sampled_peak_mb:.0f} MB | {r.seconds:.1f} s | "
            f"{f'{r.output_mb:.0f} MB' if r.output_mb else '-'} | {r.exit_code} |"
        )
    lines += [
        "",
        "Each command runs as its own process (`python -m bot ...`) on a fresh SQLite "
        "database; peak RSS is that process's kernel high-water mark (ru_maxrss from "
        "`os.wait4`), the sampled peak is psutil every 50 ms. The import reads the file "
        "three times (encoding check, validation keeping only ids and line numbers in "
        "arrays, then the upsert in batches of 1,000 inside one transaction); the export "
        "pages through the table by Telegram id (2,000 rows a page) and writes each page "
        "straight out. Before streaming, 507k customers peaked at 1.38 GB (export) and "
        "980 MB (import).",
    ]
    return "\n".join(lines)

"""The report's charts, drawn with matplotlib (Agg, no display) in Noto Sans CJK.

The font comes with the install (the ``noto-cjk-sans-otc`` package ships Noto Sans CJK, SIL
Open Font License) and is registered with matplotlib's font manager here, so Chinese labels
render on a fresh machine without any system font. Every label is passed in already
rendered from an approved script (`care.reports.texts`); this module only draws.

matplotlib is imported inside the functions: the bot never pays for it unless a report is
asked for.
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Chart",
    "complaint_trend",
    "csat_trend",
    "font_family",
    "frt_histogram",
    "funnel",
    "intents_mix",
    "to_png",
    "to_svg",
]

#: Face names inside the Noto Sans CJK collection, per report language.
_FACES = {"zh-Hans": "Noto Sans CJK SC", "zh-Hant": "Noto Sans CJK TC", "en": "Noto Sans CJK SC"}
_COLORS = ("#2f6f9f", "#e07b39", "#5a9e4b", "#c0504d", "#8064a2", "#4bacc6", "#9e9e9e")
_PASS, _FAIL, _MUTED = "#5a9e4b", "#c0504d", "#9e9e9e"


@functools.lru_cache(maxsize=1)
def _register_font() -> bool:
    """Add the bundled Noto Sans CJK collection to matplotlib (once per process)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    try:
        import noto_cjk_sans_otc
    except ImportError:  # pragma: no cover - a dependency; without it CJK would be boxes
        return False
    font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
    return True


def _collection() -> str | None:
    try:
        import noto_cjk_sans_otc
    except ImportError:  # pragma: no cover - a dependency
        return None
    return str(noto_cjk_sans_otc.FONT_PATH)


@functools.lru_cache(maxsize=4)
def _face_index(face: str) -> int:
    """Which font of the collection is ``face`` (Noto Sans CJK SC, TC...)."""
    from fontTools.ttLib import TTCollection

    collection = TTCollection(_collection(), lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            if font["name"].getDebugName(1) == face:
                return index
    finally:
        collection.close()
    return 0


def web_font(language: str, text: str) -> bytes | None:
    """A WOFF font with only the glyphs ``text`` needs, cut from Noto Sans CJK: embedded in
    the HTML page so its Chinese reads the same on a machine without any CJK font (a few
    dozen KB instead of the 19 MB collection)."""
    path = _collection()
    if path is None:
        return None
    from fontTools import subset
    from fontTools.ttLib import TTFont

    face = _FACES.get(language, _FACES["zh-Hans"])
    options = subset.Options()
    options.hinting = False
    options.flavor = "woff"
    buffer = io.BytesIO()
    # recalcBBoxes=False: the header keeps the whole face's bounding box (still true of a
    # subset) instead of measuring every kept glyph again on save.
    with TTFont(path, fontNumber=_face_index(face), lazy=True, recalcBBoxes=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(buffer)
    return buffer.getvalue()


def font_family(language: str) -> list[str]:
    """The font list for ``language``: Noto Sans CJK, then matplotlib's own fallback."""
    _register_font()
    return [_FACES.get(language, _FACES["zh-Hans"]), "DejaVu Sans"]


@dataclass(frozen=True, slots=True)
class Chart:
    """A drawn chart: a matplotlib figure plus its title (for alt text)."""

    title: str
    figure: Figure


def _figure(language: str, title: str, size: tuple[float, float] = (7.0, 3.2)) -> Any:
    _register_font()
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=110, layout="constrained")
    axes = figure.add_subplot()
    for name in ("top", "right"):
        axes.spines[name].set_visible(False)
    axes.set_title(title, loc="left", fontsize=12, fontfamily=font_family(language))
    return figure, axes


def _style(axes: Any, language: str) -> None:
    family = font_family(language)
    for label in (*axes.get_xticklabels(), *axes.get_yticklabels()):
        label.set_fontfamily(family)
    axes.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    axes.set_axisbelow(True)


def _integers(axis: Any) -> None:
    """Counts: whole-number ticks only."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _no_data(axes: Any, text: str, language: str) -> None:
    axes.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        transform=axes.transAxes,
        color=_MUTED,
        fontsize=12,
        fontfamily=font_family(language),
    )
    axes.set_xticks([])
    axes.set_yticks([])


def _trend(
    language: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    no_data: str,
    color: str,
) -> tuple[Chart, Any]:
    """A line over the buckets, with gaps where a bucket has no value."""
    figure, axes = _figure(language, title)
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if not points:
        _no_data(axes, no_data, language)
        return Chart(title, figure), None
    axes.plot([i for i, _ in points], [v for _, v in points], marker="o", color=color)
    _ticks(axes, labels)
    _style(axes, language)
    return Chart(title, figure), axes


def csat_trend(
    language: str,
    title: str,
    labels: Sequence[str],
    averages: Sequence[float | None],
    no_data: str,
) -> Chart:
    """CSAT average per bucket (1-5), gaps where nobody rated."""
    chart, axes = _trend(language, title, labels, averages, no_data, _COLORS[0])
    if axes is not None:
        axes.set_ylim(1, 5.2)
    return chart


def complaint_trend(
    language: str,
    title: str,
    labels: Sequence[str],
    rates: Sequence[float | None],
    no_data: str,
) -> Chart:
    """Complaint rate (complaints / customers who wrote) per bucket, as percent."""
    percent = [None if rate is None else 100 * rate for rate in rates]
    chart, axes = _trend(language, title, labels, percent, no_data, _COLORS[3])
    if axes is not None:
        axes.yaxis.set_major_formatter("{x:.0f}%")
        axes.set_ylim(bottom=0)
    return chart


def _ticks(axes: Any, labels: Sequence[str]) -> None:
    step = max(1, len(labels) // 10)
    positions = list(range(0, len(labels), step))
    axes.set_xticks(positions, [labels[i] for i in positions], rotation=0)
    axes.set_xlim(-0.5, len(labels) - 0.5)


def frt_histogram(
    language: str,
    title: str,
    bins: Sequence[int],
    counts: Sequence[int],
    sla_lines: Mapping[str, float],
    no_data: str,
) -> Chart:
    """First responses per business-minutes bin; dashed lines at the SLA promises (bars
    past the first line in red)."""
    figure, axes = _figure(language, title)
    if not any(counts):
        _no_data(axes, no_data, language)
        return Chart(title, figure)
    labels = [f"{low}-{high}" for low, high in itertools.pairwise(bins)]
    labels.append(f"{bins[-1]}+")
    strictest = min(sla_lines.values(), default=float("inf"))
    colors = [_PASS if low < strictest else _FAIL for low in bins]
    axes.bar(range(len(counts)), counts, color=colors)
    for index, (label, minutes) in enumerate(sorted(sla_lines.items(), key=lambda kv: kv[1])):
        # Position on the binned axis: the bin holding `minutes`, interpolated inside it.
        slot = next((i for i in range(len(bins) - 1) if minutes < bins[i + 1]), len(bins) - 1)
        width = (bins[slot + 1] - bins[slot]) if slot + 1 < len(bins) else bins[slot]
        x = slot - 0.5 + (minutes - bins[slot]) / width
        axes.axvline(x, color="#333333", linestyle="--", linewidth=1)
        axes.text(
            x,
            max(counts) * (0.95 - 0.12 * index),
            f" {label}",
            fontsize=8,
            fontfamily=font_family(language),
            va="top",
        )
    axes.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
    _integers(axes.yaxis)
    _style(axes, language)
    return Chart(title, figure)


def intents_mix(
    language: str, title: str, names: Sequence[str], counts: Sequence[int], no_data: str
) -> Chart:
    """Messages per intent bucket, horizontal bars with shares."""
    figure, axes = _figure(language, title)
    total = sum(counts)
    if not total:
        _no_data(axes, no_data, language)
        return Chart(title, figure)
    order = list(range(len(names)))[::-1]
    axes.barh(
        [names[i] for i in order],
        [counts[i] for i in order],
        color=[_COLORS[i % len(_COLORS)] for i in order],
    )
    for y, i in enumerate(order):
        axes.text(
            counts[i],
            y,
            f" {counts[i]:,} ({100 * counts[i] / total:.1f}%)",
            va="center",
            fontsize=8,
        )
    axes.set_xlim(0, max(counts) * 1.3)
    _integers(axes.xaxis)
    _style(axes, language)
    axes.grid(False)
    return Chart(title, figure)


def funnel(
    language: str,
    title: str,
    groups: Sequence[str],
    outcomes: Sequence[str],
    values: Sequence[Sequence[int]],
    no_data: str,
) -> Chart:
    """Ledger outcomes per campaign x tier group, as stacked horizontal bars."""
    figure, axes = _figure(language, title, (7.0, max(2.4, 0.45 * len(groups) + 1.4)))
    if not groups or not any(any(row) for row in values):
        _no_data(axes, no_data, language)
        return Chart(title, figure)
    lefts = [0] * len(groups)
    palette = (_PASS, _FAIL, "#333333", "#e0b439", "#8064a2", _MUTED, "#4bacc6")
    positions = list(range(len(groups)))[::-1]
    for index, outcome in enumerate(outcomes):
        widths = [row[index] for row in values]
        axes.barh(positions, widths, left=lefts, label=outcome, color=palette[index % len(palette)])
        lefts = [a + b for a, b in zip(lefts, widths, strict=True)]
    axes.set_yticks(positions, list(groups))
    columns = min(len(outcomes), 4)
    axes.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncols=columns,
        frameon=False,
        prop={"family": font_family(language), "size": 8},
    )
    _integers(axes.xaxis)
    _style(axes, language)
    axes.grid(False)
    return Chart(title, figure)


def to_png(chart: Chart) -> bytes:
    buffer = io.BytesIO()
    chart.figure.savefig(buffer, format="png")
    return buffer.getvalue()


def to_svg(chart: Chart) -> str:
    """SVG with text as paths: the page needs no font of its own to show the labels."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "carebot"}):
        chart.figure.savefig(buffer, format="svg")
    return buffer.getvalue()

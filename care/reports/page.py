"""The HTML report: one self-contained page (inline CSS, charts as inline SVG, no script, no
CDN) that opens offline in any browser and prints on A4.

Every word on it comes from an approved ``report.*`` script through `ReportTexts`; the
numbers come from `care.reports.figures` and are formatted for the page's language.
"""

from __future__ import annotations

import base64
import html
import multiprocessing
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from care.reports import charts
from care.reports.figures import INTENT_BUCKETS
from care.reports.texts import ReportTexts, fmt_int, fmt_number, fmt_share

__all__ = ["build_charts", "render_page"]

_TIER_ORDER = {"gold": 0, "silver": 1, "regular": 2}
_OUTCOMES = ("sent", "failed", "blocked", "deferred", "opted_out", "skipped", "pending")

_CSS = """
:root { --ink: #1f2933; --muted: #6b7785; --line: #dde3ea; --accent: #2f6f9f;
        --good: #2e7d32; --bad: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f6f8; color: var(--ink);
       font: 14px/1.5 "Report CJK", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei",
       "Segoe UI",
       Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 2px 0; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 16px 20px; margin: 16px 0; break-inside: avoid; page-break-inside: avoid; }
h2 { font-size: 18px; margin: 0 0 10px; color: var(--accent); }
h3 { font-size: 15px; margin: 14px 0 6px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.up { color: var(--good); } td.down { color: var(--bad); }
.nodata { color: var(--muted); font-style: italic; }
figure { margin: 12px 0; break-inside: avoid; page-break-inside: avoid; }
figure svg { width: 100%; height: auto; display: block; }
blockquote { margin: 6px 0; padding: 6px 10px; border-left: 3px solid var(--line); }
blockquote small { color: var(--muted); display: block; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  section { border: none; border-radius: 0; padding: 0; margin: 0 0 10mm; }
  h2 { border-bottom: 1px solid var(--line); padding-bottom: 2px; }
  figure svg { max-height: 80mm; }
}
"""


def _get(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class _Page:
    """Builds the page's HTML from the report dict, one section at a time."""

    def __init__(self, report: Mapping[str, Any], texts: ReportTexts) -> None:
        self.report = report
        self.texts = texts
        self.current = report["current"]
        self.previous = report["previous"]

    def label(self, script_id: str, context: Mapping[str, object] | None = None) -> str:
        return self.texts.html(script_id, context)

    def cell(self, text: str | None) -> str:
        if text is None:
            return f'<td class="num nodata">{escape(self.texts.plain("report.no_data"))}</td>'
        return f'<td class="num">{escape(text)}</td>'

    def change(
        self,
        now: float | None,
        before: float | None,
        fmt: Callable[[float], str | None],
        higher_is_better: bool | None,
    ) -> str:
        if not isinstance(now, int | float) or not isinstance(before, int | float):
            return '<td class="num"></td>'
        delta = now - before
        if abs(delta) < 1e-9:
            return '<td class="num">=</td>'
        arrow = "▲" if delta > 0 else "▼"
        css = ""
        if higher_is_better is not None:
            css = " up" if (delta > 0) == higher_is_better else " down"
        return f'<td class="num{css}">{arrow} {escape(fmt(abs(delta)) or "")}</td>'

    def rows(
        self, rows: Sequence[tuple[str, str, Callable[[Any], str | None], bool | None]]
    ) -> str:
        """A figure table: label script, JSON path, formatter, higher-is-better."""
        head = (
            f"<tr><th>{self.label('report.column.figure')}</th>"
            f'<th class="num">{self.label("report.column.current")}</th>'
            f'<th class="num">{self.label("report.column.previous")}</th>'
            f'<th class="num">{self.label("report.column.change")}</th></tr>'
        )
        body = []
        for script_id, path, fmt, better in rows:
            now, before = _get(self.current, path), _get(self.previous, path)
            body.append(
                f"<tr><td>{self.label(script_id)}</td>{self.cell(fmt(now))}"
                f"{self.cell(fmt(before))}{self.change(now, before, fmt, better)}</tr>"
            )
        return f"<table>{head}{''.join(body)}</table>"

    def section(self, key: str, *parts: str) -> str:
        heading = self.label(f"report.section.{key}")
        return f'<section id="{key}"><h2>{heading}</h2>{"".join(parts)}</section>'

    def table(
        self, headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str | None]]
    ) -> str:
        head = "".join(
            f'<th class="num">{h}</th>' if numeric else f"<th>{h}</th>" for h, numeric in headers
        )
        body = []
        for row in rows:
            cells = "".join(
                self.cell(value) if numeric else f"<td>{escape(value or '')}</td>"
                for value, (_, numeric) in zip(row, headers, strict=True)
            )
            body.append(f"<tr>{cells}</tr>")
        if not rows:
            body.append(
                f'<tr><td class="nodata" colspan="{len(headers)}">'
                f"{escape(self.texts.plain('report.no_data'))}</td></tr>"
            )
        return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def build_charts(
    report: Mapping[str, Any], texts: ReportTexts, only: Collection[str] | None = None
) -> dict[str, charts.Chart]:
    """The five charts of the page (or ``only`` some), labelled in the texts' language."""
    lang, no_data = texts.language, texts.plain("report.no_data")
    points = report["trends"]["points"]
    labels = [p["start"][5:] for p in points]  # MM-DD
    current = report["current"]
    sla = {
        texts.plain(
            "report.chart.sla_line",
            {"kind": texts.plain(f"report.intent.{kind}"), "minutes": fmt_int(minutes)},
        ): float(minutes)
        for kind, minutes in report["sla_first_response_minutes"].items()
        if kind in ("complaint", "inquiry")
    }
    histogram = current["tickets"]["first_response_histogram"]
    groups: list[str] = []
    values: list[list[int]] = []
    for campaign in current["campaigns"]["campaigns"]:
        for tier in ("gold", "silver", "regular"):
            counts = campaign["tiers"].get(tier)
            if counts:
                groups.append(f"{campaign['name'][:18]} · {texts.tier(tier)}")
                values.append([counts[o] for o in _OUTCOMES if o != "deferred"])
    outcomes = [texts.plain(f"report.outcome.{o}") for o in _OUTCOMES if o != "deferred"]
    draw: dict[str, Callable[[], charts.Chart]] = {
        "csat_trend": lambda: charts.csat_trend(
            lang,
            texts.plain("report.chart.csat_trend"),
            labels,
            [p["csat_average"] for p in points],
            no_data,
        ),
        "complaint_trend": lambda: charts.complaint_trend(
            lang,
            texts.plain("report.chart.complaint_trend"),
            labels,
            [p["complaint_rate"] for p in points],
            no_data,
        ),
        "frt": lambda: charts.frt_histogram(
            lang,
            texts.plain("report.chart.frt"),
            histogram["bins_minutes"],
            histogram["counts"],
            sla,
            no_data,
        ),
        "intents": lambda: charts.intents_mix(
            lang,
            texts.plain("report.chart.intents"),
            [texts.plain(f"report.intent.{b}") for b in INTENT_BUCKETS],
            [current["volume"]["intents"][b] for b in INTENT_BUCKETS],
            no_data,
        ),
        "funnel": lambda: charts.funnel(
            lang, texts.plain("report.chart.funnel"), groups, outcomes, values, no_data
        ),
    }
    return {name: make() for name, make in draw.items() if only is None or name in only}


def _visible_text(markup: str) -> str:
    """The characters a reader sees (charts are paths and need no font): for the subset."""
    without_svg = re.sub(r"<svg.*?</svg>", "", markup, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", without_svg)) + "0123456789.,%-–=▲▼★☆"


def _local(moment: str, zone: str) -> str:
    """An ISO UTC instant as local ``YYYY-MM-DD HH:MM`` in the business time zone."""
    return datetime.fromisoformat(moment).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _calls(tasks: Mapping[str, int] | None) -> str | None:
    return None if tasks is None else f"{fmt_int(tasks['done'])} / {fmt_int(tasks['created'])}"


def _slot(name: str) -> str:
    """Where chart ``name`` goes in the page until it is drawn (no visible text)."""
    return f"<!--chart:{name}-->"


def _figure(chart: charts.Chart) -> str:
    svg = charts.to_svg(chart)
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline SVG in HTML
    return f'<figure role="img" aria-label="{escape(chart.title)}">{svg}</figure>'


def _forked() -> ProcessPoolExecutor | None:
    """One worker forked from this process (it has everything loaded already), or None where
    processes cannot fork."""
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - Linux forks
        return None
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))


def render_page(report: Mapping[str, Any], texts: ReportTexts, *, fork: bool = False) -> str:
    """The whole HTML document.

    ``fork``: cut the web font in a forked child while the charts are drawn here (for a
    command-line process with no other threads left; a fork copies only the calling thread).
    """
    page = _Page(report, texts)
    cur = report["current"]
    count, share, number = fmt_int, fmt_share, fmt_number
    tiers = [report["tier"]] if report["tier"] else ["gold", "silver", "regular"]

    header = [f"<h1>{page.label('report.title')}</h1>", f"<p>{escape(texts.period(report))}</p>"]
    if report["tier"]:
        header.append(
            f"<p>{page.label('report.tier_only', {'tier': texts.tier(report['tier'])})}</p>"
        )
    header.append(
        "<p>"
        + page.label(
            "report.generated",
            {
                "generated_at": _local(report["generated_at"], report["timezone"]),
                "timezone": report["timezone"],
            },
        )
        + "</p>"
    )

    volume = page.section(
        "volume",
        page.rows(
            [
                ("report.figure.messages_in", "volume.messages_in", count, None),
                ("report.figure.customers", "volume.customers", count, None),
                ("report.figure.fallback_share", "volume.fallback_share", share, False),
                *[
                    (f"report.intent.{b}", f"volume.intents.{b}", count, None)
                    for b in INTENT_BUCKETS
                ],
            ]
        ),
        _slot("intents"),
    )
    topics = cur["complaints"]["top_topics"]
    complaints = page.section(
        "complaints",
        page.rows(
            [
                ("report.figure.complaints", "complaints.complaints", count, False),
                ("report.figure.complaint_rate", "complaints.rate", share, False),
            ]
        ),
        f"<h3>{page.label('report.figure.per_1000')}</h3>",
        page.table(
            [
                (page.label("report.figure.tier"), False),
                (page.label("report.column.current"), True),
                (page.label("report.column.previous"), True),
            ],
            [
                [
                    texts.tier(t),
                    number(cur["complaints"]["per_1000_contacts_by_tier"].get(t), 1),
                    number(report["previous"]["complaints"]["per_1000_contacts_by_tier"].get(t), 1),
                ]
                for t in tiers
            ],
        ),
        f"<h3>{page.label('report.section.topics')}</h3>",
        page.table(
            [
                (page.label("report.figure.topic"), False),
                (page.label("report.figure.complaints"), True),
                (page.label("report.figure.share"), True),
            ],
            [[t["topic"], count(t["complaints"]), share(t["share"])] for t in topics],
        ),
        _slot("complaint_trend"),
    )
    tickets = page.section(
        "tickets",
        page.rows(
            [
                ("report.figure.opened", "tickets.opened", count, None),
                ("report.figure.resolved", "tickets.resolved", count, True),
                ("report.figure.reopened", "tickets.reopened", count, False),
                ("report.figure.sla_breached", "tickets.sla_breached", count, False),
                (
                    "report.figure.frt_median",
                    "tickets.first_response_minutes.median",
                    texts.minutes,
                    False,
                ),
                (
                    "report.figure.frt_p90",
                    "tickets.first_response_minutes.p90",
                    texts.minutes,
                    False,
                ),
                (
                    "report.figure.frt_met",
                    "tickets.first_response_minutes.met_sla_share",
                    share,
                    True,
                ),
                ("report.figure.rt_median", "tickets.resolution_hours.median", texts.hours, False),
                ("report.figure.rt_p90", "tickets.resolution_hours.p90", texts.hours, False),
                ("report.figure.rt_met", "tickets.resolution_hours.met_sla_share", share, True),
            ]
        ),
        _slot("frt"),
    )
    staff = page.section(
        "staff",
        page.table(
            [
                (page.label("report.figure.staff_name"), False),
                (page.label("report.figure.staff_tickets"), True),
                (page.label("report.figure.staff_frt"), True),
                (page.label("report.figure.staff_csat"), True),
            ],
            [
                [
                    s["name"],
                    count(s["tickets"]),
                    texts.minutes(s["median_first_response_minutes"]),
                    None
                    if s["csat_average"] is None
                    else f"{number(s['csat_average'])} ({count(s['csat_rated'])})",
                ]
                for s in cur["staff"]
            ],
        ),
    )
    csat = cur["csat"]
    comments = "".join(
        f"<blockquote>{escape(c['comment'])}<small>{'★' * c['score']}{'☆' * (5 - c['score'])}"
        f" · {escape(c['ticket'])} · {escape(texts.tier(c['tier']))}</small></blockquote>"
        for c in csat["comments"]
    )
    if csat["comments_total"] > len(csat["comments"]):
        comments += (
            "<p>"
            + page.label(
                "report.figure.more_comments",
                {"count": count(csat["comments_total"] - len(csat["comments"]))},
            )
            + "</p>"
        )
    satisfaction = page.section(
        "csat",
        page.rows(
            [
                ("report.figure.csat_average", "csat.average", texts.score, True),
                ("report.figure.csat_response_rate", "csat.response_rate", share, True),
                ("report.figure.csat_rated", "csat.rated", count, None),
            ]
        ),
        page.table(
            [(page.label("report.figure.score"), False)]
            + [(f"{'★' * n}", True) for n in range(1, 6)],
            [
                [page.texts.plain("report.column.current")]
                + [count(csat["distribution"][str(n)]) for n in range(1, 6)]
            ],
        ),
        page.table(
            [
                (page.label("report.figure.tier"), False),
                (page.label("report.figure.csat_average"), True),
                (page.label("report.figure.csat_response_rate"), True),
            ],
            [
                [
                    texts.tier(t),
                    texts.score(csat["by_tier"][t]["average"]),
                    share(csat["by_tier"][t]["response_rate"]),
                ]
                for t in tiers
            ],
        ),
        _slot("csat_trend"),
        f"<h3>{page.label('report.section.comments')}</h3>",
        comments or f'<p class="nodata">{escape(texts.plain("report.no_data"))}</p>',
    )
    loyalty = page.section(
        "loyalty",
        page.rows(
            [
                ("report.figure.repeat_rate", "loyalty.repeat_contact_rate", share, True),
                ("report.figure.opt_out_rate", "loyalty.opt_out_rate", share, False),
                ("report.figure.blocked_in_period", "loyalty.blocked_in_period", count, False),
                ("report.figure.opted_out_total", "loyalty.opted_out_total", count, None),
                ("report.figure.blocked_total", "loyalty.blocked_total", count, None),
            ]
        ),
    )
    camp = cur["campaigns"]
    campaign_rows = []
    for campaign in camp["campaigns"]:
        for tier, counts in sorted(
            campaign["tiers"].items(), key=lambda kv: _TIER_ORDER.get(kv[0], 9)
        ):
            campaign_rows.append(
                [
                    campaign["name"],
                    texts.tier(tier),
                    count(counts["recipients"]),
                    *[count(counts[o]) for o in _OUTCOMES],
                ]
            )
    campaigns = page.section(
        "campaigns",
        page.rows(
            [
                ("report.figure.delivery_rate", "campaigns.delivery_rate", share, True),
                ("report.figure.call_tasks", "campaigns.call_tasks", _calls, None),
            ]
        ),
        page.table(
            [
                (page.label("report.figure.campaign"), False),
                (page.label("report.figure.tier"), False),
                (page.label("report.figure.recipients"), True),
            ]
            + [(page.label(f"report.outcome.{o}"), True) for o in _OUTCOMES],
            campaign_rows,
        ),
        _slot("funnel"),
    )
    body = f"{volume}{complaints}{tickets}{staff}{satisfaction}{loyalty}{campaigns}"
    visible = _visible_text("".join(header) + body)
    beside = _forked() if fork else None
    if beside is None:
        # The font is cut before any chart is drawn: the subsetter's memory (~50 MB for the
        # CJK collection) is then reused by matplotlib instead of adding to the peak.
        font = charts.web_font(texts.language, visible)
        for name, chart in build_charts(report, texts).items():
            body = body.replace(_slot(name), _figure(chart))
    else:
        # The font is cut in a forked child while this process draws the charts: both are
        # Python work, so only two processes use two cores.
        with beside:
            cutting = beside.submit(charts.web_font, texts.language, visible)
            for name, chart in build_charts(report, texts).items():
                body = body.replace(_slot(name), _figure(chart))
            font = cutting.result()
    font_face = (
        "@font-face { font-family: 'Report CJK'; font-display: block; "
        f"src: url(data:font/woff;base64,{base64.b64encode(font).decode()}) format('woff'); }}"
        if font
        else ""
    )
    title = escape(texts.plain("report.title"))
    lang = {"zh-Hans": "zh-Hans", "zh-Hant": "zh-Hant", "en": "en"}.get(texts.language, "en")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} {escape(report['period']['first_day'])} – "
        f"{escape(report['period']['last_day'])}</title><style>{font_face}{_CSS}</style></head>"
        f"<body><main><header>{''.join(header)}</header>"
        f"{body}</main></body></html>\n"
    )

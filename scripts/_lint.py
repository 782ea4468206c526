"""Lint: what a script must satisfy before it may be approved (and keep satisfying).

Checks, each reported as ``file:line: message``:
forbidden phrases in every language; undeclared, unused or unknown variables and a render
with sample values within the render budget (steps, time, size: a template that would hog
the bot is refused here); greeting scripts <= 70 characters with long realistic values and
addressing the customer by surname + title (`salutation`); complaint scripts opening with
empathy or an apology (first sentence against a configurable opener list); every configured
language present; approved scripts unchanged since approval.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateError

from scripts._budget import DEFAULT_BUDGET, RenderBudget, TemplateBudgetError
from scripts._guard import Guard
from scripts._library import ScriptLibrary
from scripts._model import Script
from scripts._render import variant_source
from scripts._templates import html_to_plain, render_html, template_variables, to_traditional

GREETING_MAX_CHARS = 70

# What care passes to every render (docs/architecture.md, "Context variables").
KNOWN_VARIABLES: frozenset[str] = frozenset(
    {
        "salutation",
        "first_name",
        "ticket_number",
        "first_response_due",
        "resolution_due",
        "business_name",
        "business_hours",
        # Staff takeover (care/desk/staff.py): ticket cards, topic events, CSAT, business hours.
        "back_at",
        "comment",
        "customer_ref",
        "deadline_kind",
        "history",
        "intents",
        "kind",
        "message",
        "note",
        "priority",
        "reason",
        "phrase",
        "clause",
        "stars",
        "staff_name",
        "status",
        "suggestion",
        "tier",
        # Staff macros (care/desk/macros.py): values staff give when a macro asks for them.
        "new_deadline",
        "order_number",
        "groups",
        "language",
        "page",
        "pages",
        "script_id",
        "unknown",
        "variable",
        # Managers' campaign console (care/outreach/admin.py): names, dates, counts for ADMIN_IDS.
        "blocked",
        "campaign_id",
        "campaign_name",
        "count",
        "failed",
        "gold_count",
        "gold_sample",
        "occasion_date",
        "occasion_name",
        "pending",
        "percent",
        "regular_count",
        "regular_sample",
        "sent",
        "silver_count",
        "silver_sample",
        "skipped",
        "skipped_count",
        "table",
        "total",
        "window",
        # Follow-ups on an open ticket (care/desk/details.py): what the customer's message added.
        "amounts",
        "dates",
        "orders",
        "phones",
        "photos",
        # Manager reports (care/reports/): periods and figures, already formatted.
        *(
            "breached",
            "calls_done",
            "complaint_rate",
            "complaints",
            "csat_average",
            "csat_response_rate",
            "customers",
            "days",
            "first_day",
            "frt_median",
            "frt_met",
            "generated_at",
            "last_day",
            "minutes",
            "opened",
            "period",
            "previous_complaint_rate",
            "previous_customers",
            "previous_first_day",
            "previous_last_day",
            "recipients",
            "repeat_rate",
            "resolved",
            "timezone",
            "value",
        ),
    }
)

# Admin console sample values (numbers and names; a long campaign name on purpose).
_ADMIN_SAMPLES: Mapping[str, str] = {
    "blocked": "12",
    "campaign_id": "1024",
    "campaign_name": "春节 2027-02-06 · Spring Festival VIP",
    "count": "20",
    "failed": "3",
    "gold_count": "2000",
    "gold_sample": "欧阳女士，新春快乐！店长会亲自致电向您问候。",
    "occasion_date": "2027-02-06",
    "occasion_name": "春节 / Spring Festival",
    "pending": "40000",
    "percent": "58",
    "regular_count": "78000",
    "regular_sample": "Happy Spring Festival, Ms. Montgomery-Smith!",
    "sent": "57988",
    "silver_count": "20000",
    "silver_sample": "欧阳女士，新春快乐！我们为您备了一份小礼物。",
    "skipped": "17",
    "skipped_count": "17",
    "table": "gold     1990 / 3 / 5 / 2 / 0\nsilver  19900 / 0 / 7 / 93 / 0",
    "total": "100000",
    "window": "2027-02-06 09:00 - 2027-02-07 00:00 (Asia/Shanghai)",
}

# Manager-report sample values: formatted numbers and dates (the same in every language).
_REPORT_SAMPLES: Mapping[str, str] = {
    "breached": "1,234",
    "calls_done": "1,990",
    "complaint_rate": "12.5%",
    "complaints": "12,345",
    "csat_average": "4.62",
    "csat_response_rate": "38.5%",
    "customers": "98,765",
    "days": "30",
    "first_day": "2026-11-01",
    "frt_median": "1 h 25 min",
    "frt_met": "91.2%",
    "generated_at": "2026-12-01 09:00",
    "last_day": "2026-11-30",
    "minutes": "1,440",
    "opened": "100,000",
    "period": "2026-11-01 - 2026-11-30 (30 days), compared with 2026-10-02 - 2026-10-31",
    "previous_complaint_rate": "13.0%",
    "previous_customers": "97,531",
    "previous_first_day": "2026-10-02",
    "previous_last_day": "2026-10-31",
    "recipients": "100,000",
    "repeat_rate": "41.7%",
    "resolved": "99,000",
    "timezone": "Asia/Shanghai",
    "value": "1,234.5",
}

# Staff-takeover sample values: the same in every language (codes and quoted user text).
_STAFF_SAMPLES: Mapping[str, str] = {
    "comment": "Service was quick, thank you / 服务很快，谢谢",
    "customer_ref": "@montgomery_smith_alexandra · id 5000000001",
    "deadline_kind": "first_response",
    "history": "10:02 ← 我的快递三天还没到\n10:02 → 非常抱歉给您带来不便",
    "intents": "complaint.delivery_late (92)",
    "kind": "complaint",
    "message": "您好，我们已经为您加急处理，今天内给您答复。",
    "note": "Called the courier; parcel is at the depot. 已联系快递。",
    "priority": "urgent",
    "reason": "推卸责任",
    "phrase": "亲",
    "clause": "亲，在的",
    "stars": "★★★★☆",
    "staff_name": "Wang Fang",
    "status": "waiting_customer",
    "suggestion": "“我来帮您想办法，最晚今天内给您答复”",
    "tier": "gold",
    "new_deadline": "2026-11-25 18:00",
    "order_number": "SO-2026112200012345",
    "groups": "delivery: delivery.late · delay.apology\nrefund: refund.status · refund.confirm",
    "language": "zh-Hant",
    "page": "2",
    "pages": "3",
    "script_id": "macro.complaint.rude_staff",
    "unknown": "macro.no_such_thing",
    "variable": "new_deadline",
}

# Follow-up sample values (care.desk.details): what a customer's follow-up may carry.
_FOLLOWUP_SAMPLES: Mapping[str, str] = {
    "orders": "SF1234567890, JD0012345678",
    "phones": "+852 9123 4567",
    "amounts": "¥1,299.50",
    "dates": "2026-11-28",
    "photos": "2",
}

DEFAULT_OPENERS: tuple[str, ...] = (
    "非常抱歉",
    "十分抱歉",
    "很抱歉",
    "真的很抱歉",
    "抱歉",
    "对不起",
    "理解您",
    "我们非常理解",
    "非常理解",
    "i'm so sorry",
    "i am so sorry",
    "i'm sorry",
    "i am sorry",
    "i'm very sorry",
    "we're sorry",
    "we're so sorry",
    "we are sorry",
    "we apologise",
    "we apologize",
    "i apologise",
    "i apologize",
    "i understand",
    "we understand",
    "sorry",
)

# Long but realistic values: a compound surname, a double-barrelled English one, a long
# shop name. A greeting that fits 70 characters with these fits with anyone's.
SAMPLE_VALUES: Mapping[str, Mapping[str, str]] = {
    "zh-Hans": {
        "salutation": "欧阳女士",
        "first_name": "欣怡",
        "ticket_number": "C-20261122-0001",
        "first_response_due": "今天 18:30 前",
        "resolution_due": "11月23日 18:00 前",
        "business_name": "星河湾旗舰店",
        "business_hours": "周一至周六 09:00-21:00",
        "back_at": "明天09:00",
        **_STAFF_SAMPLES,
        **_FOLLOWUP_SAMPLES,
        **_ADMIN_SAMPLES,
        **_REPORT_SAMPLES,
    },
    "zh-Hant": {
        "salutation": "歐陽女士",
        "first_name": "欣怡",
        "ticket_number": "C-20261122-0001",
        "first_response_due": "今天 18:30 前",
        "resolution_due": "11月23日 18:00 前",
        "business_name": "星河灣旗艦店",
        "business_hours": "週一至週六 09:00-21:00",
        "back_at": "明天09:00",
        **_STAFF_SAMPLES,
        **_FOLLOWUP_SAMPLES,
        **_ADMIN_SAMPLES,
        **_REPORT_SAMPLES,
    },
    "en": {
        "salutation": "Ms. Montgomery-Smith",
        "first_name": "Alexandra",
        "ticket_number": "C-20261122-0001",
        "first_response_due": "by 18:30 today",
        "resolution_due": "by 18:00 on 23 November",
        "business_name": "Harbour City Store",
        "business_hours": "Monday to Saturday 09:00-21:00",
        "back_at": "at 09:00 tomorrow",
        **_STAFF_SAMPLES,
        **_FOLLOWUP_SAMPLES,
        **_ADMIN_SAMPLES,
        **_REPORT_SAMPLES,
    },
}

_SENTENCE_END = re.compile(r"[\u3002\uff01\uff1f\uff1b!?;\n]|[.](?:\s|$)")  # 。！？； !?; .
_LEADING_JUNK = re.compile(r"^[\s,\uff0c\u3001:\uff1a.\u3002!\uff01~\uff5e-]+")  # ，、：。！～


@dataclass(frozen=True)
class LintProblem:
    """One lint finding; `kind` lets `approve` ignore the stale-approval finding it fixes."""

    file: Path
    line: int
    message: str
    script_id: str | None = None
    kind: str = "script"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def _first_sentence(plain: str, salutation: str) -> str:
    # The salutation ("Ms. Montgomery-Smith,") may precede the opener and its "." is no
    # sentence end; drop it before splitting.
    text = plain.replace(salutation, " ") if salutation else plain
    text = _LEADING_JUNK.sub("", text)
    for prefix in ("dear ", "hello ", "hi ", "您好", "你好"):
        if text.casefold().startswith(prefix):
            text = _LEADING_JUNK.sub("", text[len(prefix) :])
    match = _SENTENCE_END.search(text)
    return text[: match.start()] if match else text


def _opens_with_empathy(sentence: str, openers: Iterable[str]) -> bool:
    folded = sentence.casefold().replace("\u2019", "'")
    for opener in openers:
        candidates = {opener.casefold(), to_traditional(opener).casefold()}
        if any(candidate and candidate in folded for candidate in candidates):
            return True
    return False


def _languages_of(script: Script, languages: Sequence[str]) -> list[str]:
    return [
        lang
        for lang in languages
        if lang in script.templates or (lang == "zh-Hant" and "zh-Hans" in script.templates)
    ]


def lint_script(
    script: Script,
    guard: Guard,
    languages: Sequence[str],
    openers: Sequence[str] = DEFAULT_OPENERS,
    *,
    known_variables: Collection[str] = KNOWN_VARIABLES,
    default_language: str = "zh-Hans",
    budget: RenderBudget = DEFAULT_BUDGET,
) -> list[LintProblem]:
    """Every problem of one script (retired scripts are not linted: they are never served)."""
    problems: list[LintProblem] = []

    def report(key: str, message: str, kind: str = "script") -> None:
        problems.append(
            LintProblem(
                script.file, script.line_of(key), f"{script.id}: {message}", script.id, kind
            )
        )

    if script.status == "retired":
        return problems
    if script.status == "approved" and script.approved_version != script.version:
        report(
            "approved_version",
            f"edited after approval (approved {script.approved_version}, now {script.version}); "
            f"run `carebot scripts approve {script.id} --by NAME`",
            kind="approval",
        )
    elif script.status == "approved" and not script.servable:
        report(
            "status",
            "approval is not signed (status: approved written by hand?); "
            f"run `carebot scripts approve {script.id} --by NAME`",
            kind="approval",
        )
    if script.when and script.channel != "staff":
        report("when", "when examples rank staff macros only: use channel: staff or drop them")
    if script.channel == "staff" and len(set(script.when)) != len(script.when):
        report("when", "when lists an example twice")
    for lang in languages:
        if lang not in _languages_of(script, [lang]):
            report("text", f"missing the {lang} text")
    declared = set(script.variables)
    for name in sorted(declared - set(known_variables)):
        report(
            "variables",
            f"unknown variable {name!r} (care passes: {', '.join(sorted(known_variables))})",
        )
    for lang, source in script.templates.items():
        used = template_variables(source)
        for name in sorted(used - declared):
            report(f"text.{lang}", f"{lang} text uses undeclared variable {name!r}")
        for name in sorted(declared - used):
            report(f"text.{lang}", f"{lang} text does not use declared variable {name!r}")

    for lang in _languages_of(script, languages) or list(script.templates):
        source, used_lang = variant_source(script, lang, default_language)
        key = f"text.{used_lang}" if used_lang in script.templates else "text.zh-Hans"
        values = SAMPLE_VALUES.get(lang, SAMPLE_VALUES["en"])
        try:
            plain = html_to_plain(render_html(source, values, budget))
        except TemplateBudgetError as exc:
            report(key, f"{lang} text {exc} with sample values")
            continue
        except RecursionError:
            report(key, f"{lang} text recurses without end (a macro or loop calling itself)")
            continue
        except Exception as exc:  # whatever a template can raise, lint reports it as one line
            kind = "" if isinstance(exc, TemplateError) else f"{type(exc).__name__}: "
            report(key, f"{lang} text does not render with sample values: {kind}{exc}")
            continue
        verdict = guard.check(plain)
        if not verdict.allowed:
            report(
                key,
                f"{lang} text contains forbidden phrase {verdict.phrase!r} ({verdict.reason}); "
                f"suggestion: {verdict.suggestion}",
            )
        if script.channel == "greeting":
            if "salutation" not in template_variables(source):
                report(
                    key,
                    f"{lang} greeting must address the customer by surname + title: "
                    "use {{ salutation }}",
                )
            if len(plain) > GREETING_MAX_CHARS:
                report(
                    key,
                    f"{lang} greeting is {len(plain)} characters with long values "
                    f"(at most {GREETING_MAX_CHARS})",
                )
        if script.purpose == "complaint":
            sentence = _first_sentence(plain, values.get("salutation", ""))
            if not _opens_with_empathy(sentence, openers):
                report(
                    key,
                    f"{lang} complaint script must open with empathy or an apology before any "
                    f"action (first sentence: {sentence!r})",
                )
    return problems


def lint_library(
    library: ScriptLibrary,
    guard: Guard,
    languages: Sequence[str],
    openers: Sequence[str] = DEFAULT_OPENERS,
    *,
    ids: Collection[str] | None = None,
    known_variables: Collection[str] = KNOWN_VARIABLES,
) -> list[LintProblem]:
    """Problems of every script in service (or only `ids`), broken files first."""
    problems = [
        LintProblem(p.file, p.line, p.message, None, "file")
        for p in library.file_problems
        if ids is None
    ]
    for script_id, script in sorted(library.scripts.items()):
        if ids is not None and script_id not in ids:
            continue
        problems.extend(
            lint_script(
                script,
                guard,
                languages,
                openers,
                known_variables=known_variables,
                default_language=library.default_language,
            )
        )
    return problems

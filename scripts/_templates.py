"""The one Jinja2 environment (sandboxed, strict, autoescaping) and template helpers.

Values are HTML-escaped because replies go out with Telegram `parse_mode=HTML`; the
sandbox plus the fact that values are never re-parsed as templates is what makes a
customer called ``{{ 7*7 }}`` render literally.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import opencc
from jinja2 import StrictUndefined, Template, meta

from scripts._budget import DEFAULT_BUDGET, BudgetedEnvironment, RenderBudget, metered_render

_TAG = re.compile(r"<[^>]*>")
_WIDE = "\u201c\u201d\u2460-\u24ff\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
# YAML folds a line break into a space; between two CJK characters that space is noise.
_CJK_FOLD = re.compile(f"(?<=[{_WIDE}]) (?=[{_WIDE}])")


@lru_cache(maxsize=1)
def environment() -> BudgetedEnvironment:
    # trim_blocks/lstrip_blocks: `{% if %}` lines in YAML block scalars leave no blank lines.
    return BudgetedEnvironment(
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


#: Which Traditional Chinese a derived zh-Hant text is written in (OpenCC configurations).
#: OpenCC's own standard (s2t) writes forms few readers use (審覈, 裏面, 着急); Taiwan's
#: (審核, 裡面, 著急) is the default, Hong Kong's (審核, 裏面, 着急) the other common choice.
TRADITIONAL_VARIANTS: Mapping[str, str] = {"tw": "s2tw", "hk": "s2hk", "standard": "s2t"}
DEFAULT_TRADITIONAL = "tw"


@lru_cache(maxsize=len(TRADITIONAL_VARIANTS))
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


#: OpenCC's reviewed one-to-many mistakes (as converted -> correct), see the file's header.
TRADITIONAL_FIXES_FILE = Path(__file__).with_name("traditional_fixes.tsv")


@lru_cache(maxsize=1)
def traditional_fixes() -> tuple[tuple[str, str], ...]:
    """The rows of `traditional_fixes.tsv` (as converted, correct); longest phrase first."""
    rows: list[tuple[str, str]] = []
    for raw in TRADITIONAL_FIXES_FILE.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        converted, correct, *_ = raw.split("\t")
        rows.append((converted, correct))
    return tuple(sorted(rows, key=lambda row: -len(row[0])))


@lru_cache(maxsize=2048)
def to_traditional(text: str, variant: str = DEFAULT_TRADITIONAL) -> str:
    """Simplified -> Traditional in `variant` (a TRADITIONAL_VARIANTS key), with OpenCC's
    reviewed mistakes fixed; Jinja syntax is ASCII so it survives intact."""
    converted = str(_converter(TRADITIONAL_VARIANTS[variant]).convert(text))
    for wrong, right in traditional_fixes():
        if wrong != right:
            converted = converted.replace(wrong, right)
    return converted


def parse_template(source: str) -> None:
    """Raise `TemplateSyntaxError` (with `lineno`) if the source does not parse."""
    environment().parse(source)


@lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    # Only the approved source is touched here, never the values rendered into it.
    return environment().from_string(_CJK_FOLD.sub("", source))


def template_variables(source: str) -> set[str]:
    """Names the template reads from its context (jinja2 meta)."""
    return set(meta.find_undeclared_variables(environment().parse(source)))


def render_html(
    source: str, context: Mapping[str, object], budget: RenderBudget = DEFAULT_BUDGET
) -> str:
    """Render under `budget`; raises `TemplateError` (budget included), `RecursionError`, ..."""
    template = compile_template(source)
    values = dict(context)
    return metered_render(lambda: template.generate(values), budget).strip()


def html_to_plain(text: str) -> str:
    """What the customer reads: template tags dropped, entities decoded.

    Customer values arrive escaped (``&lt;b&gt;``) so stripping tags only removes markup
    the approved template itself wrote.
    """
    return html.unescape(_TAG.sub("", text))

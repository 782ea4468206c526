"""Case details in a customer's follow-up: order / tracking numbers, phones, amounts, dates.

Pure text in, `Details` out; what the reply says about them comes from an approved script.
Numbers are kept as the customer wrote them (staff search for them verbatim).

>>> found = extract("订单号是 SF1234567890，电话 13812345678，付了¥299.5，3月5日下的单")
>>> found.orders, found.phones, found.amounts, found.dates
(('SF1234567890',), ('13812345678',), ('¥299.5',), ('3月5日',))
>>> extract("my order #4821-77 arrived broken, I paid $45 on 2026-11-28").orders
('4821-77',)
>>> extract("你好").found
False
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Details", "extract"]

# Phones first: a mainland mobile, a Hong Kong / Macau / Taiwan number, or +country.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[ -]?)?"
    r"(?:1[3-9]\d{9}|[2-9]\d{3}[ -]?\d{4}|09\d{2}[ -]?\d{3}[ -]?\d{3})(?!\w)"
)
# Order / tracking numbers: letters + digits (SF1234567890, JD0012345678), or a run of
# digits after a word that says so, or a long bare digit run.
_ORDER_WORD = re.compile(
    r"(?:订单|訂單|单号|單號|运单|運單|快递|快遞|物流|order|tracking|parcel|ref(?:erence)?)"
    r"(?:号码|號碼|编号|編號|号|號)?\s*(?:no\.?|number|id|#)?\s*"
    r"(?:is|was|[:：]|是|为|為|係|系)?\s*[#:：]?\s*([A-Za-z]{0,4}\d[A-Za-z0-9-]{3,30})",
    re.IGNORECASE,
)
_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,4}\d{6,24}[A-Za-z]{0,3})(?![A-Za-z0-9])")
_LONG_DIGITS = re.compile(r"(?<![\d.])(\d{10,24})(?![\d.])")
_AMOUNT = re.compile(
    r"(?:[¥￥$€£]|HK\$|US\$|RMB ?|HKD ?|USD ?)\d[\d,]*(?:\.\d{1,2})?"
    r"|\d[\d,]*(?:\.\d{1,2})? ?"
    r"(?:元|块|塊|蚊|港币|港幣|港元|美元|人民币|人民幣|dollars?|bucks|yuan|euros?|rmb|hkd|usd)",
    re.IGNORECASE,
)
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE = re.compile(
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}[日号號]?"
    r"|\d{1,2}月\d{1,2}[日号號]"
    r"|(?<![\d/])\d{1,2}/\d{1,2}(?![\d/])"
    rf"|\b\d{{1,2}} ?(?:{_MONTHS})[a-z]*\b|\b(?:{_MONTHS})[a-z]* ?\d{{1,2}}(?:st|nd|rd|th)?\b"
    r"|大前天|前天|昨天|今天|上周[一二三四五六日天]?|上星期[一二三四五六日天]?|上个月|上個月|尋日|琴日|前日"
    r"|\byesterday\b"
    r"|\blast (?:week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Details:
    """What a message added to a case (each tuple in the order written, no repeats)."""

    orders: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    photos: int = 0

    @property
    def found(self) -> bool:
        return bool(self.orders or self.phones or self.amounts or self.dates or self.photos)

    def context(self) -> dict[str, object]:
        """Script variables: each list joined with ", " ('' when none), photos as a number."""
        return {
            "orders": ", ".join(self.orders),
            "phones": ", ".join(self.phones),
            "amounts": ", ".join(self.amounts),
            "dates": ", ".join(self.dates),
            "photos": self.photos,
        }


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in items if item.strip()))


def extract(text: str | None, *, photos: int = 0) -> Details:
    """The details written in `text` (full-width digits and letters read as ASCII)."""
    if not text:
        return Details(photos=photos)
    text = unicodedata.normalize("NFKC", text)
    phones = [m.group() for m in _PHONE.finditer(text)]
    rest = _PHONE.sub(" ", text)
    amounts = [m.group() for m in _AMOUNT.finditer(rest)]
    rest = _AMOUNT.sub(" ", rest)
    orders: list[str] = []
    for pattern in (_ORDER_WORD, _CODE, _LONG_DIGITS):
        found = [m.group(1).rstrip("-") for m in pattern.finditer(rest)]
        for order in found:
            rest = rest.replace(order, " ")
        orders += found
    dates = [m.group() for m in _DATE.finditer(rest)]
    return Details(
        orders=_unique(orders),
        phones=_unique(phones),
        amounts=_unique(amounts),
        dates=_unique(dates),
        photos=photos,
    )

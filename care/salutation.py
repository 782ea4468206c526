"""How the bot addresses a customer: surname + title (梁小姐, Ms. Liang), or a polite fallback.

Care practice (see shared domain notes) is to address customers by surname and title.
Telegram only gives us a first name, so until a profile carries a surname the bot
uses the first name, and if even that is empty, a generic polite form.  The result
is a plain value: the script renderer escapes it, so a name such as `<b>{{7*7}}` is
shown literally.
"""

from __future__ import annotations

import re

__all__ = ["salutation"]

_ZH_TO_EN_TITLE = {"先生": "Mr.", "女士": "Ms.", "小姐": "Ms.", "太太": "Mrs."}
_EN_TO_ZH_TITLE = {
    "mr": "先生",
    "mr.": "先生",
    "ms": "女士",
    "ms.": "女士",
    "mrs": "女士",
    "mrs.": "女士",
    "miss": "小姐",
    "dr": "博士",
    "dr.": "博士",
}
_GENERIC = {"zh-Hans": "尊敬的顾客", "zh-Hant": "尊敬的顧客", "en": "valued customer"}
_CJK = re.compile(r"[\u3400-\u9fff]")


def salutation(
    language: str,
    *,
    surname: str | None = None,
    title: str | None = None,
    first_name: str | None = None,
) -> str:
    """The form of address for `language`.

    >>> salutation("zh-Hans", surname="梁", title="小姐")
    '梁小姐'
    >>> salutation("en", surname="Liang", title="小姐")
    'Ms. Liang'
    >>> salutation("zh-Hans", surname="Smith", title="Mr.")
    'Smith先生'
    >>> salutation("en", first_name="")
    'valued customer'
    """
    surname = (surname or "").strip()
    title = (title or "").strip()
    if surname and title:
        if language == "en":
            en_title = _ZH_TO_EN_TITLE.get(title, title)
            return f"{en_title} {surname}"
        zh_title = _EN_TO_ZH_TITLE.get(title.casefold(), title)
        return f"{surname}{zh_title}"
    name = (first_name or "").strip()
    if name:
        return name
    return _GENERIC.get(language, _GENERIC["zh-Hans"])

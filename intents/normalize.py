"""Text normalisation shared by the matcher and (injected) the forbidden-phrase guard.

One function decides what "the same text" means everywhere: NFKC folds full-width
forms to half-width, casefold removes case, OpenCC maps Traditional to Simplified,
and punctuation, symbols, emoji and control characters are dropped.  Whitespace
between Latin words survives as a single space (word boundaries carry meaning in
English); whitespace touching CJK characters is dropped (it carries none there).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc

__all__ = ["detect_language", "normalize", "squash", "to_simplified", "well_formed"]

_KEEP_CATEGORIES = ("L", "N", "M")
_SPACES = re.compile(r"\s+")
_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uf900-\ufaff]) | (?=[\u3000-\u9fff\uf900-\ufaff])")
_UNSAFE_FOR_OPENCC = re.compile("[\x00\ud800-\udfff]")
_APOSTROPHES = re.compile(r"(?<=\w)['\u2019](?=\w)")  # "that's" -> "thats", not "that s"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@lru_cache(maxsize=1)
def _simplifier() -> opencc.OpenCC:
    # tw2s, not t2s: it also folds Taiwan's character forms (著急) that t2s leaves alone, so
    # a Taiwanese customer's message - and a staff reply checked by the guard - meets the
    # same Simplified text as the catalog and the forbidden list. Hong Kong and OpenCC's
    # standard forms (裏面, 着急) fold the same way.
    return opencc.OpenCC("tw2s")


def well_formed(text: str) -> str:
    """`text` as valid Unicode: surrogate pairs joined, lone surrogates as U+FFFD.

    A JSON update may carry ``"\\ud83d"`` alone; such a string cannot be encoded as UTF-8
    (OpenCC, the database and the Bot API all need that), so it is repaired once, here.

    >>> well_formed("你好\\ud83d") == "你好\\ufffd"
    True
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (other scripts pass through).

    OpenCC works on C strings: a NUL would end the text there, so parts are converted
    one by one and the NULs kept.
    """
    converter = _simplifier()
    return "\x00".join(str(converter.convert(part)) for part in well_formed(text).split("\x00"))


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Canonical form used for matching.

    >>> normalize("請問　你們幾點關門？？")
    '请问你们几点关门'
    >>> normalize("  WHERE is   my ORDER?! 😡 ")
    'where is my order'
    """
    # Lone surrogates (Telegram, bytes decoded with surrogateescape) cannot reach OpenCC's
    # UTF-8 encoder, and OpenCC's C string would end at a NUL: both become spaces first.
    text = _UNSAFE_FOR_OPENCC.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    text = to_simplified(_APOSTROPHES.sub("", text))
    kept = [ch if unicodedata.category(ch)[0] in _KEEP_CATEGORIES else " " for ch in text]
    text = _SPACES.sub(" ", "".join(kept)).strip()
    return _CJK_SPACE.sub("", text)


def squash(text: str) -> str:
    """`normalize` with every space removed: survives 'c o m p a n y' style spacing."""
    return normalize(text).replace(" ", "")


def detect_language(text: str, default: str = "zh-Hans") -> str:
    """Best guess of the writer's language and script: 'zh-Hans', 'zh-Hant' or 'en'.

    Chinese wins as soon as a CJK ideograph appears; Traditional when converting to
    Simplified changes the text.  Text with no letters at all (emoji, digits) returns
    `default` so the conversation keeps the customer's previous language.  Control
    characters (a trailing NUL...) and broken surrogates do not count.
    """
    text = well_formed(text)
    if _CJK.search(text):
        return "zh-Hant" if to_simplified(text) != text else "zh-Hans"
    if any(unicodedata.category(ch).startswith("L") for ch in text):
        return "en"
    return default

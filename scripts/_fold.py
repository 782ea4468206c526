"""The guard's own folding: what a staff member can type to hide a phrase, undone.

`prefold` runs before the injected (shared) normaliser and removes what only a disguise
needs: invisible and decorative code points (format characters, variation selectors,
emoji modifiers, keycaps, tag characters, combining marks on any letter), look-alike
letters (Cyrillic/Greek/math letters folded to Latin, katakana look-alikes to the Han
character they imitate, from the Unicode confusables data shipped by
`confusable_homoglyphs`), long-vowel dashes used as separators (ｰ ー 〜) and the
common Cantonese function words (係 冇 唔 咗 嘅 哋 …) folded to their Mandarin twins,
so one Mandarin phrase on the list also catches its Cantonese wording.

`units` then turns the normaliser's output into the matcher's alphabet: English
contractions and chat shorthand written one way ("do not" -> "dont", "idk" -> "i dont
know"), filler words dropped ("really", "just", 也, 真的, 都 …), 们/哋 and 这个 folded
(我们 -> 我), 您 -> 你, doubled characters (看看) collapsed.  The same pipeline runs over
the forbidden list, so both sides meet in one form.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Folded", "fold", "is_cjk", "pinyin_of", "prefold"]

# Invisible or decorative code points beyond category Cf (which is dropped wholesale):
# variation selectors, the combining grapheme joiner, Hangul fillers, emoji modifiers.
_INVISIBLE_RANGES = (
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x3164, 0x3164),
    (0xFFA0, 0xFFA0),
    (0x1F3FB, 0x1F3FF),
    (0x180B, 0x180F),
)
_KEYCAP = re.compile("[0-9#*]\u20e3")
# Long-vowel marks and wave dashes staff slip between characters: never part of a Chinese word.
_DASH_LETTERS = frozenset("ー\u30fc\uff70〜～\u31d0\u2e3a\u2e3b")
# Cantonese written forms -> Mandarin, applied before Traditional->Simplified conversion.
_CANTONESE = (
    ("呢個", "这个"), ("呢个", "这个"), ("嗰個", "那个"), ("嗰个", "那个"), ("乜嘢", "什么"),
    ("點樣", "怎样"), ("嚟㗎", ""), ("嚟架", ""), ("点样", "怎样"), ("係", "是"), ("冇", "没"),
    ("唔", "不"), ("咗", "了"),
    ("嘅", "的"), ("哋", "们"), ("睇", "看"), ("搵", "找"), ("佢", "他"), ("俾", "给"),
    ("喺", "在"), ("啲", "些"), ("嚟", "来"),
)  # fmt: skip
_CANTONESE_PATTERN = re.compile("|".join(re.escape(a) for a, _ in _CANTONESE))
_CANTONESE_MAP = dict(_CANTONESE)

# English: the normaliser leaves "don't" as "dont"; both are written out ("do not"), as is
# chat shorthand ("idk", "u").
_CONTRACTIONS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("dont",): ("do", "not"), ("doesnt",): ("does", "not"), ("didnt",): ("did", "not"),
    ("isnt",): ("is", "not"), ("arent",): ("are", "not"), ("cant",): ("can", "not"),
    ("cannot",): ("can", "not"), ("wont",): ("will", "not"), ("thats",): ("that", "is"),
    ("its",): ("it", "is"), ("theres",): ("there", "is"), ("whats",): ("what", "is"),
    ("im",): ("i",), ("i", "am"): ("i",), ("youre",): ("you", "are"), ("ive",): ("i",),
    ("i", "have"): ("i",), ("weve",): ("we",), ("we", "have"): ("we",), ("ill",): ("i", "will"),
    ("idk",): ("i", "do", "not", "know"), ("dunno",): ("do", "not", "know"),
    ("dnt",): ("do", "not"), ("u",): ("you",), ("ur",): ("your",), ("r",): ("are",),
    ("pls",): ("please",), ("plz",): ("please",), ("thx",): ("thanks",), ("ya",): ("you",),
    ("tho",): ("though",), ("nothin",): ("nothing",),
}  # fmt: skip
_LATIN_FILLERS = frozenset((
    "really", "just", "honestly", "simply", "actually", "totally", "literally", "truly", "very",
    "so", "um", "uh", "uhm", "basically", "seriously", "have", "has", "had",
))  # fmt: skip
# Han fillers, longest first; dropping them never removes a negation or a person.
_CJK_FILLERS = (
    "是真的", "真的是", "真的", "实在是", "实在", "确实是", "确实", "其实", "根本就", "根本",
    "完全", "真是", "就是", "这边", "那边", "一下", "本来", "也", "都", "真", "就", "还", "又",
    "有", "的", "滴", "了", "啊", "呀", "嘛", "呢", "吧", "哦", "喔", "啦", "哈", "很", "太", "嘅",
    "㗎", "喎", "啰", "囉", "咯", "噢", "诶", "哎", "呐", "么",
)  # fmt: skip
_CJK_FOLDS = (
    ("我们公司", "公司"), ("我公司", "公司"), ("本公司", "公司"), ("我司", "公司"),
    ("这个", "这"), ("那个", "那"), ("这些", "这"), ("们", ""), ("您", "你"),
)  # fmt: skip
_CJK_PATTERN = re.compile(
    "|".join(
        re.escape(f)
        for f in sorted({*(a for a, _ in _CJK_FOLDS), *_CJK_FILLERS}, key=len, reverse=True)
    )
)
_CJK_REPLACE = dict(_CJK_FOLDS) | dict.fromkeys(_CJK_FILLERS, "")
_HAN = "\u3400-\u9fff\uf900-\ufaff"
_BETWEEN_HAN = re.compile(f"(?<=[{_HAN}])[\\W_]+(?=[{_HAN}])")
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+")


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) == "Cf":
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Look-alike -> what it imitates: Latin letters and digits, or a Han character.

    From `confusable_homoglyphs` (the Unicode confusables table, UTS #39).  Han characters
    themselves are never folded (一 and ー look alike, but 一 is a word)."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, homoglyphs in confusables_data.items():
        if len(char) != 1 or char.isascii() or is_cjk(char):
            continue
        for glyph in homoglyphs:
            target = glyph["c"]
            if len(target) == 1 and target.isascii() and target.isalnum():
                table[char] = target.lower()
                break
            if len(target) == 1 and is_cjk(target):
                table[char] = target
                break
    return table


@lru_cache(maxsize=4096)
def prefold(text: str) -> str:
    """Invisible/decorative code points removed, look-alikes and Cantonese forms folded."""
    text = "".join(ch for ch in text if not _invisible(ch))
    text = _KEYCAP.sub(" ", text)  # after the invisibles: 1<CGJ><VS16>⃣ is a keycap too
    # NFKD splits accents and compatibility forms off; marks go, NFKC puts the rest back.
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] != "M")
    text = unicodedata.normalize("NFKC", text)
    table = _confusables()
    text = "".join(" " if ch in _DASH_LETTERS else table.get(ch, ch) for ch in text)
    text = _BETWEEN_HAN.sub("", text)  # 呢 個 -> 呢個, so the Cantonese folding sees words
    return _CANTONESE_PATTERN.sub(lambda m: _CANTONESE_MAP[m.group(0)], text)


@dataclass(frozen=True)
class Folded:
    """A text in the matcher's alphabet: squashed, with word boundaries and pinyin."""

    squashed: str
    bounds: frozenset[int]
    pinyin: str
    pinyin_starts: tuple[int, ...]  # where squashed[i] starts in `pinyin`
    pinyin_bounds: frozenset[int]


def _latin_words(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        spelled = len(words[i]) == 1 and any(
            len(w) == 1 for w in words[max(0, i - 1) : i] + words[i + 1 : i + 2]
        )
        for size in () if spelled else (2, 1):  # "r e a d": letters, not "are"
            key = tuple(words[i : i + size])
            if len(key) == size and key in _CONTRACTIONS:
                out.extend(_CONTRACTIONS[key])
                i += size
                break
        else:
            out.append(words[i])
            i += 1
    return [w for w in out if w not in _LATIN_FILLERS]


def _cjk_run(run: str) -> str:
    folded = _CJK_PATTERN.sub(lambda m: _CJK_REPLACE[m.group(0)], run)
    out: list[str] = []
    for ch in folded:
        if not out or out[-1] != ch:
            out.append(ch)  # 看看 -> 看, 不不不 -> 不
    return "".join(out)


def _tokens(normalized: str, *, defill: bool) -> list[str]:
    """Latin words (contractions written one way) and CJK characters, fillers dropped."""
    tokens: list[str] = []
    latin: list[str] = []
    cjk: list[str] = []

    def flush_latin() -> None:
        if latin:
            tokens.extend(_latin_words(latin) if defill else latin)
            latin.clear()

    def flush_cjk() -> None:
        if cjk:
            run = "".join(cjk)
            tokens.extend(_cjk_run(run) if defill else run)
            cjk.clear()

    for token in _TOKEN.findall(normalized):
        if is_cjk(token):
            flush_latin()
            cjk.append(token)
        else:
            flush_cjk()
            latin.append(token)
    flush_latin()
    flush_cjk()
    return tokens


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[int, str]:
    """pypinyin's per-character readings, read from its data file.

    Importing `pypinyin` (even `pypinyin.pinyin_dict`) first runs the package's __init__,
    which loads its 400,000-phrase dictionary: ~0.2 s and ~50 MB in every process that
    checks a text, for a table the guard never uses.  The per-character table is one JSON
    file of the package; the import is the fallback should a release move it."""
    spec = importlib.util.find_spec("pypinyin")  # finds the package without running it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        try:
            with open(os.path.join(folder, "pinyin_dict.json"), encoding="utf-8") as handle:
                raw: dict[str, str] = json.load(handle)
        except (OSError, ValueError):
            continue
        return {int(code): readings for code, readings in raw.items()}
    from pypinyin.pinyin_dict import pinyin_dict

    table: dict[int, str] = pinyin_dict
    return table


@lru_cache(maxsize=8192)
def pinyin_of(ch: str) -> str:
    """Toneless pinyin of one Han character's first reading (itself for anything else)."""
    if not is_cjk(ch):
        return ch
    readings = _pinyin_table().get(ord(ch))
    if not readings:
        return ch
    first = unicodedata.normalize("NFKD", readings.split(",")[0])
    syllable = "".join(c for c in first if not unicodedata.combining(c)).replace("ü", "v")
    return syllable if syllable.isascii() and syllable.isalpha() else ch


def fold(text: str, normalize: Callable[[str], str], *, defill: bool = True) -> Folded:
    """`text` in the matcher's alphabet (see the module docstring)."""
    return _fold(text, normalize, defill)


@lru_cache(maxsize=4096)
def _fold(text: str, normalize: Callable[[str], str], defill: bool) -> Folded:
    tokens = _tokens(normalize(prefold(text)), defill=defill)
    squashed_parts: list[str] = []
    bounds = {0}
    at = 0
    for token in tokens:
        squashed_parts.append(token)
        at += len(token)
        bounds.add(at)
    squashed = "".join(squashed_parts)
    pinyin_parts: list[str] = []
    starts: list[int] = []
    pinyin_bounds = {0}
    offset = 0
    for index, ch in enumerate(squashed):
        starts.append(offset)
        piece = pinyin_of(ch)
        pinyin_parts.append(piece)
        offset += len(piece)
        if is_cjk(ch) or index + 1 in bounds:
            pinyin_bounds.add(offset)
    return Folded(squashed, frozenset(bounds), "".join(pinyin_parts), tuple(starts),
                  frozenset(pinyin_bounds))  # fmt: skip

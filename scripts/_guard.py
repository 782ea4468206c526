"""The forbidden-phrase guard: every outgoing text (bot, staff, greeting) passes `Guard.check`.

Matching works on the injected normaliser's output with all spaces squashed, so inserted
spaces/punctuation, full-width forms and Traditional characters are already gone.  Then:

* exact substring of the squashed phrase (Latin phrases must start and end on word
  boundaries, so "no way" does not fire inside "know a way");
* fuzzy match (`rapidfuzz.fuzz.partial_ratio_alignment`) tolerating a number of typos that
  grows with the phrase's length: none for short phrases such as 不可能 / 我不知道 / calm down,
  whose one-character variants are ordinary polite words;
* a fuzzy hit must keep the phrase's *anchors* - its negations (不/没/无/别…, not/nothing/
  don't…) and its person (你/您 vs 我): "这是我们的责任" is one edit away from
  "这不是我们的责任" but means the opposite, and "我去找别的部门" is the agent taking it on;
* an `allow` column lists contexts in which a phrase is fine (e.g. 并非不可能).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from scripts._model import LibraryError, LibraryProblem

_CJK_NEGATIONS = "不没无别非未莫勿"
_CJK_PERSONS: tuple[frozenset[str], ...] = (frozenset("你您"), frozenset("我"))
_LATIN_NEGATIONS: dict[str, frozenset[str]] = {
    "not": frozenset({"not", "nt"}),
    "no": frozenset({"no"}),
    "nothing": frozenset({"nothing"}),
    "never": frozenset({"never"}),
    "nobody": frozenset({"nobody"}),
    "dont": frozenset({"dont", "donot"}),
    "cant": frozenset({"cant", "cannot"}),
    "cannot": frozenset({"cant", "cannot"}),
    "wont": frozenset({"wont"}),
    "isnt": frozenset({"isnt", "isnot"}),
}


@dataclass(frozen=True)
class ForbiddenPhrase:
    """One row of the forbidden list: what not to say, why, and what to say instead."""

    phrase: str
    reason: str
    suggestion: str
    allow: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True)
class GuardVerdict:
    """`allowed` or the phrase that blocked the text with its reason and suggested wording."""

    allowed: bool
    phrase: str | None = None
    reason: str | None = None
    suggestion: str | None = None


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _squash_with_boundaries(normalized: str) -> tuple[str, frozenset[int]]:
    """Spaces removed, remembering where words started/ended (for Latin exact matches)."""
    out: list[str] = []
    bounds = {0}
    previous: bool | None = None
    for ch in normalized:
        if ch == " ":
            bounds.add(len(out))
            previous = None
            continue
        latin = ch.isascii() and ch.isalnum()
        if previous is not None and latin != previous:
            bounds.add(len(out))
        out.append(ch)
        previous = latin
    bounds.add(len(out))
    return "".join(out), frozenset(bounds)


def _allowed_edits(squashed: str, latin: bool) -> int:
    n = len(squashed)
    if latin:
        return 0 if n <= 9 else 1 if n <= 15 else 2 if n <= 24 else 3
    return 0 if n <= 5 else 1 if n <= 12 else 2


@dataclass(frozen=True)
class _Compiled:
    source: ForbiddenPhrase
    squashed: str
    latin: bool
    edits: int
    cutoff: float
    anchors: tuple[frozenset[str], ...]
    allow: tuple[str, ...]


def _compile(phrase: ForbiddenPhrase, normalize: Callable[[str], str]) -> _Compiled | None:
    normalized = normalize(phrase.phrase)
    squashed = normalized.replace(" ", "")
    if not squashed:
        return None
    latin = not any(_is_cjk(ch) for ch in squashed)
    anchors: list[frozenset[str]] = []
    if latin:
        for word in normalized.split():
            if word in _LATIN_NEGATIONS and _LATIN_NEGATIONS[word] not in anchors:
                anchors.append(_LATIN_NEGATIONS[word])
    else:
        for ch in squashed:
            if ch in _CJK_NEGATIONS and frozenset(ch) not in anchors:
                anchors.append(frozenset(ch))
        anchors.extend(group for group in _CJK_PERSONS if group & set(squashed))
    edits = _allowed_edits(squashed, latin)
    allow = tuple(a for a in (normalize(context).replace(" ", "") for context in phrase.allow) if a)
    return _Compiled(
        source=phrase,
        squashed=squashed,
        latin=latin,
        edits=edits,
        cutoff=100.0 * (len(squashed) - edits) / len(squashed) - 0.01,
        anchors=tuple(anchors),
        allow=allow,
    )


def _excused(compiled: _Compiled, text: str, start: int, end: int) -> bool:
    """True if an allow-context covers the span [start, end) of the squashed text."""
    for context in compiled.allow:
        at = text.find(context)
        while at != -1:
            if at <= start and end <= at + len(context):
                return True
            at = text.find(context, at + 1)
    return False


def _exact_hit(compiled: _Compiled, text: str, bounds: frozenset[int]) -> bool:
    width = len(compiled.squashed)
    at = text.find(compiled.squashed)
    while at != -1:
        on_words = not compiled.latin or (at in bounds and at + width in bounds)
        if on_words and not _excused(compiled, text, at, at + width):
            return True
        at = text.find(compiled.squashed, at + 1)
    return False


def _fuzzy_hit(compiled: _Compiled, text: str) -> bool:
    width = len(compiled.squashed)
    if compiled.edits == 0 or len(text) < width - compiled.edits:
        return False
    spans: list[tuple[int, int]] = []
    alignment = fuzz.partial_ratio_alignment(compiled.squashed, text, score_cutoff=compiled.cutoff)
    if alignment is not None:
        spans.append((alignment.dest_start, alignment.dest_end))
    # A text about as long as the phrase with a letter dropped scores better as a whole.
    if (
        len(text) <= width + compiled.edits
        and fuzz.ratio(compiled.squashed, text) >= compiled.cutoff
    ):
        spans.append((0, len(text)))
    for start, end in spans:
        # partial_ratio may align a window shorter than the phrase, leaving out the very
        # character that differs (您 for 你); widen it before looking for the anchors.
        missing = max(0, width - (end - start))
        window = text[max(0, start - missing) : end + missing]
        if not all(any(token in window for token in group) for group in compiled.anchors):
            continue
        if not _excused(compiled, text, start, end):
            return True
    return False


def load_forbidden(path: Path) -> list[ForbiddenPhrase]:
    """Read the TSV list (phrase, reason, suggestion[, allow1|allow2]); `#` starts a comment.

    Raises `LibraryError` listing every malformed row with its line.
    """
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError([LibraryProblem(Path(path), 1, f"cannot read file: {exc}")]) from None
    phrases: list[ForbiddenPhrase] = []
    problems: list[LibraryProblem] = []
    seen: dict[str, int] = {}
    first_row = True
    for number, raw in enumerate(source.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        columns = [column.strip() for column in raw.split("\t")]
        if first_row and columns[0].lower() == "phrase":
            first_row = False
            continue  # optional header row
        first_row = False
        if len(columns) < 3 or len(columns) > 4 or not all(columns[:3]):
            problems.append(
                LibraryProblem(
                    Path(path),
                    number,
                    "expected 3 or 4 tab-separated columns: phrase, reason, suggestion[, allow]",
                )
            )
            continue
        phrase = columns[0]
        if phrase in seen:
            problems.append(
                LibraryProblem(
                    Path(path), number, f"{phrase!r} already listed on line {seen[phrase]}"
                )
            )
            continue
        seen[phrase] = number
        allow = (
            tuple(a.strip() for a in columns[3].split("|") if a.strip())
            if len(columns) == 4
            else ()
        )
        phrases.append(ForbiddenPhrase(phrase, columns[1], columns[2], allow, number))
    if problems:
        raise LibraryError(problems)
    return phrases


class Guard:
    """Checks text against the forbidden list; `normalize` is injected (care passes intents')."""

    def __init__(self, phrases: Sequence[ForbiddenPhrase], normalize: Callable[[str], str]) -> None:
        self._normalize = normalize
        self._path: Path | None = None
        self._set(phrases)

    @classmethod
    def from_file(cls, path: Path, normalize: Callable[[str], str]) -> Guard:
        """A guard that can `reload` its file; raises `LibraryError` if it is broken."""
        guard = cls(load_forbidden(path), normalize)
        guard._path = Path(path)
        return guard

    @property
    def phrases(self) -> list[ForbiddenPhrase]:
        return [compiled.source for compiled in self._compiled]

    def _set(self, phrases: Sequence[ForbiddenPhrase]) -> None:
        compiled = (_compile(phrase, self._normalize) for phrase in phrases)
        self._compiled = tuple(c for c in compiled if c is not None)

    def source_files(self) -> list[Path]:
        """The forbidden-list file, if the guard was loaded from one (what a watch watches)."""
        return [] if self._path is None else [self._path]

    def reload(self) -> list[LibraryProblem]:
        """Re-read the file; on problems keep the current list and return them."""
        if self._path is None:
            return []
        try:
            phrases = load_forbidden(self._path)
        except LibraryError as exc:
            return exc.problems
        self._set(phrases)
        return []

    def check(self, text: str) -> GuardVerdict:
        """Allowed, or the first forbidden phrase found (in list order) with reason and advice."""
        squashed, bounds = _squash_with_boundaries(self._normalize(text))
        if not squashed:
            return GuardVerdict(allowed=True)
        for compiled in self._compiled:
            if _exact_hit(compiled, squashed, bounds) or _fuzzy_hit(compiled, squashed):
                source = compiled.source
                return GuardVerdict(False, source.phrase, source.reason, source.suggestion)
        return GuardVerdict(allowed=True)

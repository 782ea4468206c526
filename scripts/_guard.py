"""The forbidden-phrase guard: every outgoing text (bot, staff, greeting) passes `Guard.check`.

Two layers, the second optional:

* **lexical** - the text goes through the guard's own folding (`scripts._fold`: invisible
  and decorative code points, look-alike letters, Cantonese function words, filler words,
  contractions) and then the injected normaliser; each phrase and variant of the list is
  folded the same way and found
  - exactly (English phrases start and end on word boundaries: "calm down" does not fire
    inside "calmed down", "policy" phrases not inside "policy allows");
  - by sound: a Han character may be replaced by a homophone (我不知到, 规订), and a whole
    phrase may be typed in pinyin ("wo ye mei banfa"); negations and persons must be exact;
  - with typos in longer phrases, as long as the phrase's *anchors* survive - its negations
    (不/没/无…, not/nothing/don't…) and its person (你 vs 我): "这是我们的责任" is one edit
    from "这不是我们的责任" but means the opposite;
  and a hit inside one of the entry's `allow` contexts (并非不可能) does not count.
* **semantic** - with a sentence encoder (`embed`, handed in by care), each clause of the
  text is compared with the entry's meanings (phrase, variants and paraphrase `examples`)
  and with the allowed contexts; a clause blocks only when it is clearly closer to a
  forbidden meaning than to any allowed one.  Without an encoder the guard is lexical only
  and says so (`Guard.mode`).  Only clauses that share a word with the list's meanings
  reach the encoder (`scripts._gate`): the encoder is most of a check's time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from scripts._fold import Folded, fold, is_cjk, prefold
from scripts._gate import bundled_reply_texts, risk_terms, terms
from scripts._model import LibraryError, LibraryProblem

__all__ = [
    "Embed",
    "ForbiddenPhrase",
    "Guard",
    "GuardVerdict",
    "load_forbidden",
    "split_clauses",
]

#: The encoder callable: texts -> L2-normalised float32 rows (one per text).
Embed = Callable[[Sequence[str]], "np.ndarray[Any, np.dtype[np.float32]]"]

COLUMNS = ("phrase", "reason", "suggestion", "allow", "variants", "examples")
_CJK_NEGATIONS = frozenset("不没无别非未莫勿")
_CJK_PERSONS = frozenset("你我他")
_LATIN_PERSONS = ("i", "my", "me", "we", "our", "us", "you", "your")
_LATIN_NEGATIONS = ("not", "no", "nothing", "never", "nobody")
_CONTINUED = ("…", "...")
# after clause punctuation (a full stop only before a space: "3.5", "e.g" stay whole)
_CLAUSE_END = re.compile(r"(?<=[。！？!?；;，,、\n…:：])(?![。！？!?；;，,、\n…:：])|(?<=\.)(?=\s)")


@dataclass(frozen=True)
class ForbiddenPhrase:
    """One row of the forbidden list: what not to say, why, and what to say instead.

    `allow`: contexts in which the phrase is harmless; `variants`: other wordings matched
    like the phrase; `examples`: paraphrases that teach the semantic layer the meaning."""

    phrase: str
    reason: str
    suggestion: str
    allow: tuple[str, ...] = ()
    line: int = 0
    variants: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class GuardVerdict:
    """`allowed`, or what blocked the text: the list entry, why, what to say instead.

    `matched` is the wording or meaning that fired (a variant, a paraphrase example, or the
    phrase itself), `clause` the part of the text it fired on, `layer` "lexical" or
    "semantic", `score` the semantic similarity (None for lexical hits)."""

    allowed: bool
    phrase: str | None = None
    reason: str | None = None
    suggestion: str | None = None
    matched: str | None = None
    clause: str | None = None
    layer: str | None = None
    score: float | None = None

    def explain(self) -> str:
        """One line for staff: what fired, where, and (if any) the approved wording."""
        if self.allowed:
            return "allowed"
        what = f"{self.phrase!r}"
        if self.matched and self.matched != self.phrase:
            kind = "means the same as" if self.layer == "semantic" else "matches"
            what = f"{self.matched!r} ({kind} {self.phrase!r})"
        where = f" in {self.clause!r}" if self.clause else ""
        return f"forbidden phrase {what}{where}"


_Vectors = tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any]"]


def _load_vectors(path: Path | None, n_bad: int, n_good: int) -> _Vectors | None:
    if path is None:
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            bad = np.asarray(data["bad"], dtype=np.float32)
            good = np.asarray(data["good"], dtype=np.float32)
    except (OSError, KeyError, ValueError):
        return None  # missing or corrupt: encode again (and rewrite it)
    if bad.shape[0] != n_bad or good.shape[0] != n_good:
        return None
    return bad, good


def _save_vectors(path: Path | None, vectors: _Vectors) -> None:
    """Write then rename (a concurrent reader never sees half a file); a cache that cannot be
    written costs the next start some encoder time, nothing else."""
    if path is None:
        return
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, bad=vectors[0], good=vectors[1])
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def split_clauses(text: str) -> list[str]:
    """The text cut after clause punctuation (。！？，; …), pieces stripped, empties dropped."""
    return [piece.strip() for piece in _CLAUSE_END.split(text) if piece.strip()]


def _budget(squashed: str, latin: bool, words: int) -> int:
    n = len(squashed)
    if latin and words < 2:
        return 0  # one word: "impossible" is one letter from "if possible"
    if latin:
        return 0 if n < 8 else 1 if n <= 15 else 2 if n <= 24 else 3
    return 0 if n <= 5 else 1 if n <= 12 else 2


def _words(folded: Folded) -> set[str]:
    cuts = sorted(folded.bounds)
    return {folded.squashed[a:b] for a, b in itertools.pairwise(cuts)}


def _latin_anchors(folded: Folded) -> tuple[str, ...]:
    words = _words(folded)
    return tuple(word for word in (*_LATIN_NEGATIONS, *_LATIN_PERSONS) if word in words)


@dataclass(frozen=True)
class _Pattern:
    """One wording of an entry, folded, with what a fuzzy or homophone hit must keep."""

    entry: int
    wording: str
    folded: Folded
    latin: bool
    budget: int
    cutoff: float
    anchors: tuple[str, ...]
    continued: bool = False  # fine when the clause goes on after it (see `_Entry`)
    chars: frozenset[str] = frozenset()  # a text lacking more than `budget` of them can't hit


@dataclass(frozen=True)
class _Entry:
    source: ForbiddenPhrase
    allow: tuple[Folded, ...]
    #: wordings (folded) written in `allow` as "wording…": fine when the clause goes on
    #: after them (我不知道您等了这么久 / I don't know what we'd do without you)
    continued: frozenset[str]


@dataclass(frozen=True)
class _Hit:
    entry: int
    wording: str


class _Compiled:
    """The list in matching form: folded patterns, allow contexts, semantic exemplars."""

    def __init__(self, phrases: Sequence[ForbiddenPhrase], normalize: Callable[[str], str]):
        self.entries: list[_Entry] = []
        self.patterns: list[_Pattern] = []
        for phrase in phrases:
            index = len(self.entries)
            contexts = [a for a in phrase.allow if not a.endswith(_CONTINUED)]
            continued = [a.rstrip("….") for a in phrase.allow if a.endswith(_CONTINUED)]
            allow = tuple(
                folded for folded in (fold(a, normalize) for a in contexts) if folded.squashed
            )
            self.entries.append(
                _Entry(phrase, allow, frozenset(fold(a, normalize).squashed for a in continued))
            )
            seen: set[str] = set()
            for wording in (phrase.phrase, *phrase.variants):
                # as folded (fillers dropped) and as written ("idk", "wo ye mei banfa");
                # 是 may go too (这真是公司的规定: 真是 is filler, the copula went with it)
                spare = prefold(wording).replace("是", "")
                forms = [(wording, True), (wording, False)]
                if spare != prefold(wording) and len(fold(spare, normalize).squashed) >= 4:
                    forms.append((spare, True))
                goes_on = fold(wording, normalize).squashed in self.entries[index].continued
                for form, defill in forms:
                    pattern = _compile(index, form, normalize, defill, wording)
                    if pattern is not None and wording != phrase.phrase:
                        pattern = replace(pattern, budget=0)  # typos: the phrase itself only
                    if pattern is not None and pattern.folded.squashed not in seen:
                        seen.add(pattern.folded.squashed)
                        self.patterns.append(replace(pattern, continued=goes_on))
        self.exemplars: list[tuple[int, str]] = [
            (index, text)
            for index, entry in enumerate(self.entries)
            for text in (entry.source.phrase, *entry.source.variants, *entry.source.examples)
            if not text.isascii() or " " in text.strip()  # one-word variants carry no meaning
        ]
        self.allowed_exemplars: list[str] = sorted(
            {text for entry in self.entries for text in entry.source.allow if len(text) >= 4}
        )
        self._normalize = normalize
        self.vectors: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]] | None = None
        self.vectors_lock = threading.Lock()  # one embedding pass, however many callers

    @functools.cached_property
    def risk_terms(self) -> frozenset[str]:
        """The semantic layer's gate (scripts._gate): a clause without one of these terms
        cannot be a paraphrase of the list and is not sent to the encoder.  Worked out on
        first use: a lexical-only guard (and the one-entry lists `_clause_of` builds for
        every hit) never needs it."""
        ordinary = (*bundled_reply_texts(), *self.allowed_exemplars)
        return risk_terms(
            (text for _, text in self.exemplars),
            (clause for text in ordinary for clause in split_clauses(text)),
            self._normalize,
        )


def _compile(
    entry: int, form: str, normalize: Callable[[str], str], defill: bool, wording: str
) -> _Pattern | None:
    folded = fold(form, normalize, defill=defill)
    squashed = folded.squashed
    if not squashed:
        return None
    latin = not any(is_cjk(ch) for ch in squashed)
    if latin:
        anchors = _latin_anchors(folded)
    else:
        anchors = tuple(ch for ch in squashed if ch in _CJK_NEGATIONS or ch in _CJK_PERSONS)
    budget = _budget(squashed, latin, len(folded.bounds) - 1)
    return _Pattern(
        chars=frozenset(squashed),
        entry=entry,
        wording=wording,
        folded=folded,
        latin=latin,
        budget=budget,
        cutoff=100.0 * (len(squashed) - budget) / len(squashed) - 0.01,
        anchors=anchors,
    )


def _excused(entry: _Entry, text: Folded, start: int, end: int) -> bool:
    """True if an allow context of the entry covers the hit [start, end) of the folded text."""
    for context in entry.allow:
        at = text.squashed.find(context.squashed)
        while at != -1:
            if at <= start and end <= at + len(context.squashed):
                return True
            at = text.squashed.find(context.squashed, at + 1)
    return False


def _exact(pattern: _Pattern, entry: _Entry, text: Folded) -> int:
    """Where the last exact hit ends in the folded text, -1 for none (so are the others)."""
    needle = pattern.folded.squashed
    found = -1
    at = text.squashed.find(needle)
    while at != -1:
        end = at + len(needle)
        on_words = not pattern.latin or (at in text.bounds and end in text.bounds)
        if on_words and not _excused(entry, text, at, end):
            found = end
        at = text.squashed.find(needle, at + 1)
    return found


def _by_sound(pattern: _Pattern, entry: _Entry, text: Folded) -> int:
    """Homophones (我不知到) and pinyin typing (wo ye mei banfa) of a Chinese pattern."""
    found = -1
    if pattern.latin or len(pattern.folded.squashed) < 3:
        return found
    needle = pattern.folded.pinyin
    starts = text.pinyin_starts
    at = text.pinyin.find(needle)
    while at != -1:
        end = at + len(needle)
        if at in text.pinyin_bounds and end in text.pinyin_bounds and at in starts:
            first = starts.index(at)
            last = first
            while last < len(starts) and starts[last] < end:
                last += 1
            span = text.squashed[first:last]
            if _sound_alike(pattern, span) and not _excused(entry, text, first, last):
                found = last
        at = text.pinyin.find(needle, at + 1)
    return found


def _find(pattern: _Pattern, entry: _Entry, text: Folded) -> int:
    """Where the pattern's last hit in the folded text ends (-1: none).

    A typo-tolerant alignment may swallow the next character, so it only counts when
    neither the exact nor the homophone match found the pattern."""
    end = max(_exact(pattern, entry, text), _by_sound(pattern, entry, text))
    return end if end >= 0 else _fuzzy(pattern, entry, text)


def _sound_alike(pattern: _Pattern, span: str) -> bool:
    phrase = pattern.folded.squashed
    if span.isascii():
        # typed in pinyin: only phrases long enough not to be an English word by chance
        return len(pattern.folded.pinyin) >= 8
    if len(span) != len(phrase) or not all(is_cjk(ch) for ch in span):
        return False
    changed = [(a, b) for a, b in zip(phrase, span, strict=True) if a != b]
    if len(changed) > (1 if len(phrase) <= 5 else 2):
        return False
    return not any(a in _CJK_NEGATIONS or a in _CJK_PERSONS for a, _ in changed)


def _fuzzy(pattern: _Pattern, entry: _Entry, text: Folded) -> int:
    needle = pattern.folded.squashed
    width = len(needle)
    haystack = text.squashed
    found = -1
    if pattern.budget == 0 or len(haystack) < width - pattern.budget:
        return found
    spans: list[tuple[int, int]] = []
    alignment = fuzz.partial_ratio_alignment(needle, haystack, score_cutoff=pattern.cutoff)
    if alignment is not None:
        spans.append((alignment.dest_start, alignment.dest_end))
    if len(haystack) <= width + pattern.budget and fuzz.ratio(needle, haystack) >= pattern.cutoff:
        spans.append((0, len(haystack)))
    for start, end in spans:
        if pattern.latin:
            snapped = _snap(pattern, haystack, text.bounds, start, end)
            if snapped is None:
                continue
            start, end = snapped
        # partial_ratio may align a window shorter than the phrase, leaving out the very
        # character that differs; widen it before looking for the anchors.
        missing = max(0, width - (end - start))
        window = haystack[max(0, start - missing) : end + missing]
        if not pattern.latin and not all(anchor in window for anchor in pattern.anchors):
            continue
        if not _excused(entry, text, start, end):
            found = max(found, end)
    return found


def _snap(
    pattern: _Pattern, haystack: str, bounds: frozenset[int], start: int, end: int
) -> tuple[int, int] | None:
    """A Latin fuzzy hit moved onto word boundaries, within the typo budget, anchors kept."""
    needle = pattern.folded.squashed
    slack = pattern.budget + 2
    starts = [b for b in bounds if abs(b - start) <= slack]
    ends = [b for b in bounds if abs(b - end) <= slack]
    best: tuple[int, int, int] | None = None
    for s in starts:
        for e in ends:
            if e - s < len(needle) - pattern.budget or e - s > len(needle) + pattern.budget:
                continue
            distance = OSA.distance(needle, haystack[s:e], score_cutoff=pattern.budget)
            if distance <= pattern.budget and (best is None or distance < best[0]):
                best = (distance, s, e)
    if best is None:
        return None
    # negations and persons must survive as whole words ("cant" -> "can", "our" -> "your")
    cuts = sorted(b for b in bounds if best[1] <= b <= best[2])
    words = {haystack[a:b] for a, b in itertools.pairwise(cuts)}
    for anchor in pattern.anchors:
        if anchor not in words:
            return None
    return best[1], best[2]


def _parse_list(cell: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in cell.split("|") if item.strip())


def load_forbidden(path: Path) -> list[ForbiddenPhrase]:
    """Read the TSV list; `#` starts a comment.

    Columns: phrase, reason, suggestion, then optionally allow, variants, examples (each a
    `|`-separated list).  A header row naming the columns may reorder the optional ones.
    Raises `LibraryError` listing every malformed row with its line.
    """
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError([LibraryProblem(Path(path), 1, f"cannot read file: {exc}")]) from None
    phrases: list[ForbiddenPhrase] = []
    problems: list[LibraryProblem] = []
    seen: dict[str, int] = {}
    order = list(COLUMNS)
    first_row = True
    for number, raw in enumerate(source.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        columns = [column.strip() for column in raw.split("\t")]
        if first_row and columns[0].lower() == "phrase":
            first_row = False
            names = [c.lower() for c in columns]
            unknown = [n for n in names if n not in COLUMNS]
            if unknown or names[:3] != list(COLUMNS[:3]) or len(set(names)) != len(names):
                problems.append(
                    LibraryProblem(
                        Path(path),
                        number,
                        "header must start with phrase, reason, suggestion and may add "
                        f"allow, variants, examples (got {', '.join(columns)})",
                    )
                )
            else:
                order = names
            continue
        first_row = False
        if len(columns) < 3 or len(columns) > len(order) or not all(columns[:3]):
            problems.append(
                LibraryProblem(
                    Path(path),
                    number,
                    f"expected 3 to {len(order)} tab-separated columns: "
                    f"{', '.join(order[:3])}[, {', '.join(order[3:])}]",
                )
            )
            continue
        row = dict(zip(order, columns, strict=False))
        phrase = row["phrase"]
        if phrase in seen:
            problems.append(
                LibraryProblem(
                    Path(path), number, f"{phrase!r} already listed on line {seen[phrase]}"
                )
            )
            continue
        seen[phrase] = number
        phrases.append(
            ForbiddenPhrase(
                phrase,
                row["reason"],
                row["suggestion"],
                _parse_list(row.get("allow", "")),
                number,
                _parse_list(row.get("variants", "")),
                _parse_list(row.get("examples", "")),
            )
        )
    if problems:
        raise LibraryError(problems)
    return phrases


class Guard:
    """Checks text against the forbidden list.

    `normalize` is injected (care passes intents'); `embed`, if given, turns texts into
    L2-normalised rows and switches the semantic layer on.  `threshold` is the similarity a
    clause needs to a forbidden meaning, `margin` how much closer it must be to it than to
    the nearest allowed context.  With `cache_dir`, the vectors of the list's meanings are
    kept there, keyed by a hash of `embed_model` and the texts: a restart or a reload of an
    unchanged list does not spend seconds of encoder time on them again."""

    def __init__(
        self,
        phrases: Sequence[ForbiddenPhrase],
        normalize: Callable[[str], str],
        *,
        embed: Embed | None = None,
        threshold: float = 0.93,
        margin: float = 0.05,
        cache_dir: Path | None = None,
        embed_model: str = "",
    ) -> None:
        self._normalize = normalize
        self._embed = embed
        self._cache_dir = cache_dir
        self._embed_model = embed_model
        self.threshold = threshold
        self.margin = margin
        self._path: Path | None = None
        self._clause_cache: OrderedDict[str, np.ndarray[Any, Any]] = OrderedDict()
        self._cache_lock = threading.Lock()  # staff replies are checked from worker threads
        self._set(phrases)

    @classmethod
    def from_file(
        cls,
        path: Path,
        normalize: Callable[[str], str],
        *,
        embed: Embed | None = None,
        threshold: float = 0.93,
        margin: float = 0.05,
        cache_dir: Path | None = None,
        embed_model: str = "",
    ) -> Guard:
        """A guard that can `reload` its file; raises `LibraryError` if it is broken."""
        guard = cls(
            load_forbidden(path),
            normalize,
            embed=embed,
            threshold=threshold,
            margin=margin,
            cache_dir=cache_dir,
            embed_model=embed_model,
        )
        guard._path = Path(path)
        return guard

    @property
    def phrases(self) -> list[ForbiddenPhrase]:
        return [entry.source for entry in self._compiled.entries]

    @property
    def mode(self) -> str:
        """ "lexical+semantic" with a sentence encoder, else "lexical"."""
        return "lexical+semantic" if self._embed is not None else "lexical"

    def _set(self, phrases: Sequence[ForbiddenPhrase]) -> None:
        self._compiled = _Compiled(phrases, self._normalize)

    def source_files(self) -> list[Path]:
        """The forbidden-list file, if the guard was loaded from one (what a watch watches)."""
        return [] if self._path is None else [self._path]

    def reload(self) -> list[LibraryProblem]:
        """Re-read the file; on problems keep the current list and return them (the watch
        in care logs them as file:line: message)."""
        if self._path is None:
            return []
        try:
            phrases = load_forbidden(self._path)
        except LibraryError as exc:
            return exc.problems
        self._set(phrases)
        return []

    # -- checking ----------------------------------------------------------------------

    def check(self, text: str, *, semantic: bool = True) -> GuardVerdict:
        """Allowed, or the first forbidden phrase found (lexical first, in list order).

        `semantic=False` skips the encoder even when there is one (approved scripts)."""
        if any("\ud800" <= ch <= "\udfff" for ch in text):
            # lone surrogates (undecodable bytes smuggled through) would break the encoders
            text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
        compiled = self._compiled
        hit = self._lexical(compiled, text)
        if hit is not None:
            return self._verdict(compiled, hit, self._clause_of(compiled, hit, text), None)
        if semantic and self._embed is not None:
            return self._semantic(compiled, text)
        return GuardVerdict(allowed=True)

    def _lexical(self, compiled: _Compiled, text: str) -> _Hit | None:
        folded = fold(text, self._normalize)
        if not folded.squashed:
            return None
        squashed, pinyin, chars = folded.squashed, folded.pinyin, set(folded.squashed)
        for pattern in compiled.patterns:
            # cheap C-level tests first: most patterns are nowhere near most texts
            needle = pattern.folded.squashed
            entry = compiled.entries[pattern.entry]
            hit = needle in squashed and _exact(pattern, entry, folded) >= 0
            if not hit and not pattern.latin and pattern.folded.pinyin in pinyin:
                hit = _by_sound(pattern, entry, folded) >= 0
            if not hit and pattern.budget and len(pattern.chars - chars) <= pattern.budget:
                hit = _fuzzy(pattern, entry, folded) >= 0
            if hit and not (pattern.continued and self._goes_on(pattern, entry, text)):
                return _Hit(pattern.entry, pattern.wording)
        return None

    def _goes_on(self, pattern: _Pattern, entry: _Entry, text: str) -> bool:
        """True unless some run of the text's clauses ends with the pattern.

        "我不知道。" and "不，可，能！" end a clause with the phrase; "我不知道您等了这么久"
        goes on after it, so the phrase is part of a longer, different sentence."""
        clauses = split_clauses(text)
        for end in range(1, len(clauses) + 1):
            # the text up to the end of a clause: a hit ending there ends that clause
            run = fold("".join(clauses[:end]), self._normalize)
            if run.squashed and _find(pattern, entry, run) == len(run.squashed):
                return False
        return True

    def _clause_of(self, compiled: _Compiled, hit: _Hit, text: str) -> str:
        """The shortest run of the text's clauses on which the same wording still fires."""
        clauses = split_clauses(text)
        one = _Compiled([], self._normalize)
        one.entries = [compiled.entries[hit.entry]]
        one.patterns = [
            replace(p, entry=0)
            for p in compiled.patterns
            if p.entry == hit.entry and p.wording == hit.wording
        ]
        # the first clause where the text so far fires, then the last start that still fires
        for end in range(1, len(clauses) + 1):
            if self._lexical(one, "".join(clauses[:end])) is not None:
                for start in range(end - 1, -1, -1):
                    run = "".join(clauses[start:end])
                    if self._lexical(one, run) is not None:
                        return run
        return text.strip()

    @staticmethod
    def _verdict(
        compiled: _Compiled, hit: _Hit, clause: str | None, score: float | None
    ) -> GuardVerdict:
        source = compiled.entries[hit.entry].source
        return GuardVerdict(
            allowed=False,
            phrase=source.phrase,
            reason=source.reason,
            suggestion=source.suggestion,
            matched=hit.wording,
            clause=clause,
            layer="lexical" if score is None else "semantic",
            score=score,
        )

    # -- semantic layer ----------------------------------------------------------------

    def _exemplar_vectors(
        self, compiled: _Compiled
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        with compiled.vectors_lock:
            if compiled.vectors is None:
                bad_texts = [prefold(text) for _, text in compiled.exemplars]
                good_texts = [prefold(text) for text in compiled.allowed_exemplars]
                path = self._meaning_file(bad_texts, good_texts)
                cached = _load_vectors(path, len(bad_texts), len(good_texts))
                if cached is None:
                    cached = (self._encode(bad_texts), self._encode(good_texts))
                    _save_vectors(path, cached)
                compiled.vectors = cached
            return compiled.vectors

    def _meaning_file(self, bad: Sequence[str], good: Sequence[str]) -> Path | None:
        if self._cache_dir is None or not self._embed_model:
            return None  # no stable model name: vectors of another model must never load
        digest = hashlib.sha256(self._embed_model.encode("utf-8"))
        for texts in (bad, good):
            digest.update(b"\x1e" + "\x1f".join(texts).encode("utf-8", "surrogatepass"))
        return self._cache_dir / f"meanings-{digest.hexdigest()[:24]}.npz"

    def warm_up(self) -> None:
        """Embed the list's meanings now (seconds of encoder time, or a cache read) and work
        out the encoder gate's terms, rather than on the first staff reply (~0.3 s more).

        Blocking: run it in a worker thread. A no-op without an encoder."""
        if self._embed is not None:
            self._exemplar_vectors(self._compiled)
            _ = self._compiled.risk_terms

    def _encode(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        assert self._embed is not None
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.asarray(self._embed(list(texts)), dtype=np.float32)

    def _clause_vectors(self, clauses: list[str]) -> np.ndarray[Any, Any]:
        with self._cache_lock:
            found = {c: self._clause_cache[c] for c in clauses if c in self._clause_cache}
        missing = [c for c in dict.fromkeys(clauses) if c not in found]
        if missing:
            found.update(zip(missing, self._encode(missing), strict=True))
            with self._cache_lock:
                for clause in missing:
                    self._clause_cache[clause] = found[clause]
                while len(self._clause_cache) > 4096:
                    self._clause_cache.popitem(last=False)
        return np.stack([found[c] for c in clauses])

    def _semantic(self, compiled: _Compiled, text: str) -> GuardVerdict:
        if not compiled.exemplars:
            return GuardVerdict(allowed=True)
        pairs = [(c, prefold(c)) for c in split_clauses(text)]
        pairs = [
            (c, f)
            for c, f in pairs
            if sum(ch.isalnum() for ch in f) >= 2
            and not compiled.risk_terms.isdisjoint(terms(f, self._normalize))
        ]
        if not pairs:
            return GuardVerdict(allowed=True)
        originals = [c for c, _ in pairs]
        clauses = [f for _, f in pairs]
        bad, good = self._exemplar_vectors(compiled)
        vectors = self._clause_vectors(clauses)
        bad_scores = vectors @ bad.T
        good_best = (vectors @ good.T).max(axis=1) if good.shape[0] else np.zeros(len(clauses))
        best: tuple[float, int, int] | None = None
        for row in range(len(clauses)):
            column = int(bad_scores[row].argmax())
            score = float(bad_scores[row, column])
            if score < self.threshold or score - float(good_best[row]) < self.margin:
                continue
            if best is None or score > best[0]:
                best = (score, row, column)
        if best is None:
            return GuardVerdict(allowed=True)
        score, row, column = best
        entry, wording = compiled.exemplars[column]
        return self._verdict(compiled, _Hit(entry, wording), originals[row], round(score, 3))

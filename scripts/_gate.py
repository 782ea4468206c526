"""Which clauses of a reply are worth the sentence encoder: the semantic layer's gate.

One encoder call costs ~10 ms before the first token (the engine unpacks its 4-bit weights
on every call) plus ~0.6 ms per token, and every clause brings four tokens of its own
(prefix and markers).  A four-clause helpful reply therefore cost ~45 ms to clear, most of
it on clauses like "我已为您登记" that cannot mean "not my problem".

The gate keeps a clause for the encoder only when it shares a *risk term* with the list's
meanings: a Han bigram or an English word that the forbidden phrases, variants and
paraphrase examples use at least half as often as ordinary helpful replies do (the
bundled approved scripts and the list's own `allow` contexts).  Terms every reply uses
(您的, 我们, "your", "the") drop out by that ratio, words that carry a refusal, a blame or
a brush-off (规定, 别人, 说过, 办法, "policy", "someone", "told") stay.  The terms are
derived from the list, so an operator who adds a paraphrase example widens the gate too.

Measured when it was introduced (validation part of tests/data/guard_redteam.csv, and
leave-one-out over the list's 351 meanings: a meaning counts as missed when the terms
built without it share nothing with it): 74% of clauses still reach the encoder, no
helpful reply sends more than two, and 6 of 351 held-out meanings would not pass the gate
(one-word leftovers such as "chill out", which the lexical layer matches anyway).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from scripts._fold import prefold
from scripts._library import parse_file

__all__ = ["RISK_RATIO", "bundled_reply_texts", "risk_terms", "terms"]

#: A term is a risk term when its count in ordinary replies is at most this many times its
#: count in the list's meanings (chosen on the validation part; 1 lost twice as many
#: held-out meanings, 4 kept 7% more clauses for the same held-out recall).
RISK_RATIO = 2.0

_HAN_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z]+")
_LIBRARY = Path(__file__).resolve().parent / "library"


def terms(text: str, normalize: Callable[[str], str]) -> set[str]:
    """Han bigrams and lower-case English words of `text`, after the guard's folding."""
    folded = normalize(prefold(text)).lower()
    found = set(_LATIN_WORD.findall(folded))
    for run in _HAN_RUN.findall(folded):
        found.update(run[i : i + 2] for i in range(len(run) - 1))
    return found


def risk_terms(
    meanings: Iterable[str],
    ordinary: Iterable[str],
    normalize: Callable[[str], str],
    ratio: float = RISK_RATIO,
) -> frozenset[str]:
    """The terms of `meanings` that ordinary replies use at most `ratio` times as often."""
    risky: Counter[str] = Counter()
    for text in meanings:
        risky.update(terms(text, normalize))
    common: Counter[str] = Counter()
    for text in ordinary:
        common.update(terms(text, normalize))
    return frozenset(term for term, count in risky.items() if common[term] <= ratio * count)


@functools.cache
def bundled_reply_texts() -> tuple[str, ...]:
    """Every template of the bundled approved library: what helpful replies look like."""
    texts: list[str] = []
    for path in sorted(_LIBRARY.glob("*.yaml")):
        scripts, _problems = parse_file(path)
        for script in scripts:
            texts.extend(script.templates.values())
    return tuple(texts)

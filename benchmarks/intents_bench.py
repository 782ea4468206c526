"""Intent-matching benchmark on the public sets in ../shared/eval-data (read at run time only).

Rows: Banking77 and CLINC150 (10-shot and full train as the catalog), Chinese FAQ
retrieval (Jining bank, Samsung phones, UnionPay), coarse complaint-vs-praise with
the *bundled* catalog, and speed (bundled catalog, a 10,000-example catalog and its
load time from YAML).  Each accuracy row is run twice where it matters: "rapidfuzz
only" (max `fuzz.ratio` over every example) and the shipped matcher (TF-IDF
char/word n-grams in numpy + rapidfuzz re-ranking), so the gain of each part shows.
A missing dataset folder yields a "skipped" row, never a crash.  Nothing is
downloaded and no data is copied into the project.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import yaml

from intents import Encoder, IntentEngine, IntentSpec, Matcher, MatcherConfig, load_encoder
from intents.engine import BACKGROUND_TRAINING_ABOVE, PRODUCT_CONFIG, vector_cache_key

__all__ = ["BenchRow", "Tracker", "Vectors", "render_markdown", "run_all", "section_header"]

T = TypeVar("T")
Tracker = Callable[[Sequence[T], str], Iterable[T]]
_BUNDLED = Path(__file__).resolve().parent.parent / "intents" / "catalog"

# Top-1 retrieval: no fallback, no cues (a dataset catalog has none).  TOP1 is the shipped
# scorer (kNN TF-IDF + rapidfuzz + LinearSVC); KNN and FUZZY_ONLY drop parts to show each gain.
TOP1 = MatcherConfig(threshold=0.0, min_gap=0.0, confident=0.0, evidence=0.0)
KNN = dataclasses.replace(TOP1, linear_weight=0.0)
FUZZY_ONLY = dataclasses.replace(TOP1, use_tfidf=False)
VARIANTS = (
    ("rapidfuzz only", FUZZY_ONLY),
    ("rapidfuzz + n-gram TF-IDF kNN", KNN),
    ("+ LinearSVC ensemble (scikit-learn, shipped)", TOP1),
)
# Extra 10-shot rows (never replacing the plain ones): the intent names as one more example.
_NAMED = "10-shot + intent names as examples (extra row)"
# CLINC150 rejection threshold: the best validation in-scope accuracy among thresholds that
# keep validation out-of-scope recall >= this: 10 points above issue 13's 70% target (it was
# 10 above the earlier 60%), because oos_val has only 100 rows and its recall varies by
# several points from test's.  Chosen on val only; test is scored once.
OOS_RECALL_FLOOR = 0.80


@dataclass
class BenchRow:
    """One line of the results table."""

    dataset: str
    setting: str
    metric: str
    value: str
    anchor: str = ""
    note: str = ""
    with_encoder: str = ""  # the same row with the sentence encoder blended in ("" = n/a)


def _identity(items: Sequence[T], _label: str) -> Iterable[T]:
    return items


#: Texts a row may encode beyond what the vector cache holds; bigger rows say "not run".
#: Encoding costs ~15-25 ms of CPU per text here: 6,000 texts ~ 2-3 minutes on two threads.
ENCODE_BUDGET = int(os.environ.get("CAREBOT_BENCH_ENCODE_BUDGET", "6000"))
_CACHE = Path(__file__).resolve().parent.parent / "data" / "cache" / "bench-vectors.npz"


class Vectors:
    """The encoder for the benchmark, with its vectors cached on disk by text.

    Rerunning the benchmark re-encodes nothing it has seen (data/cache/, never committed).
    """

    def __init__(self, encoder: Encoder, path: Path = _CACHE) -> None:
        self.encoder = encoder
        self.path = path
        self._rows: dict[str, npt.NDArray[np.float32]] = {}
        self._dirty = False
        if path.is_file():
            with np.load(path, allow_pickle=False) as stored:
                for key, row in zip(stored["keys"], stored["vectors"], strict=True):
                    self._rows[str(key)] = row

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()

    def missing(self, texts: Iterable[str]) -> int:
        return len({self._key(t) for t in texts} - self._rows.keys())

    def affordable(self, texts: Iterable[str]) -> bool:
        return self.missing(texts) <= ENCODE_BUDGET

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        keys = [self._key(t) for t in texts]
        todo = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self._rows}.items()
        )
        if todo:
            chunks = [todo[i : i + 32] for i in range(0, len(todo), 32)]
            with ThreadPoolExecutor(max_workers=2) as pool:  # the foreign call frees the GIL
                for chunk, rows in zip(
                    chunks,
                    pool.map(lambda c: self.encoder.encode([t for _, t in c]), chunks),
                    strict=True,
                ):
                    for (key, _), row in zip(chunk, rows, strict=True):
                        self._rows[key] = row
            self._dirty = True
        if not keys:
            return np.zeros((0, self.encoder.dim), dtype=np.float32)
        return np.vstack([self._rows[k] for k in keys])

    def attach(self, matcher: Matcher) -> Matcher:
        matcher.attach_vectors(self.encode(matcher.vector_texts))
        return matcher

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._rows)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.vstack([self._rows[k] for k in keys]))
        os.replace(tmp, self.path)
        self._dirty = False


def _not_run(texts: Iterable[str], vectors: Vectors | None) -> str:
    if vectors is None:
        return "n/a (no encoder)"
    return f"not run ({vectors.missing(texts):,} texts to encode > budget {ENCODE_BUDGET:,})"


def _specs(pairs: Iterable[tuple[str, str]], kind: str = "faq") -> list[IntentSpec]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in pairs:
        grouped[label].append(text)
    return [
        IntentSpec(id=label, kind=kind, script=label, examples={"en": tuple(texts)})
        for label, texts in grouped.items()
    ]


def _top1(
    matcher: Matcher,
    tests: Sequence[tuple[str, str]],
    track: Tracker[tuple[str, str]],
    label: str,
    vectors: Vectors | None = None,
) -> tuple[float, list[float]]:
    correct = 0
    latencies: list[float] = []
    encode = None
    if vectors is not None:
        vectors.encode([t for t, _ in tests])  # in bulk, on two threads; decide() hits the cache
        encode = vectors.encode
    for text, gold in track(tests, label):
        start = time.perf_counter()
        decision = matcher.decide(text, encode)
        latencies.append((time.perf_counter() - start) * 1000.0)
        correct += decision.intent == gold
    return correct / max(len(tests), 1), latencies


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def _few_shot(pairs: Sequence[tuple[str, str]], k: int, seed: int = 0) -> list[tuple[str, str]]:
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for pair in pairs:
        grouped[pair[1]].append(pair)
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for label in sorted(grouped):
        rows = grouped[label]
        out.extend(rng.sample(rows, min(k, len(rows))))
    return out


def _with_names(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """`pairs` plus each intent's name as one more example ("card_arrival" -> "card arrival").

    Only for the clearly labelled extra rows: an operator names every intent anyway, but the
    published 10-shot anchors use the 10 utterances alone, so the plain rows stay as they are.
    """
    labels = sorted({label for _, label in pairs})
    return [*pairs, *((re.sub(r"[_?]+", " ", label).strip(), label) for label in labels)]


# -- datasets ------------------------------------------------------------------------------


def _read_csv_pairs(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def bench_banking77(
    data: Path, track: Tracker[tuple[str, str]], vectors: Vectors | None = None
) -> list[BenchRow]:
    folder = data / "banking77"
    train, test = _read_csv_pairs(folder / "train.csv"), _read_csv_pairs(folder / "test.csv")
    rows: list[BenchRow] = []
    shot = _few_shot(train, 10)
    # Validation for the 10-shot setting: 2,000 of the train rows *not* in the catalog.
    # Design choices (features, weights, C, the encoder's blend) were made on it; test is
    # only reported.
    chosen = set(shot)
    val = random.Random(1).sample([p for p in train if p not in chosen], 2000)
    shipped = VARIANTS[-1:]
    for setting, catalog, anchor, variants in (
        ("10-shot", shot, "85.19% (USE+ConveRT, 10-shot)", VARIANTS),
        ("full train", train, "93.36% (USE+ConveRT, full)", VARIANTS),
        (_NAMED, _with_names(shot), "", shipped),
    ):
        specs = _specs(catalog)
        for name, cfg in variants:
            matcher = Matcher(specs, cfg)
            acc, _ = _top1(matcher, test, track, f"banking77 {setting} {name}")
            note = ""
            if setting != "full train":
                val_acc, _ = _top1(matcher, val, track, f"banking77 {setting} {name} val")
                note = f"validation (2,000 unused train rows): {_pct(val_acc)}"
            with_encoder = ""
            if cfg is TOP1:
                texts = [*matcher.example_texts, *(t for t, _ in test)]
                if setting != "full train":
                    texts += [t for t, _ in val]
                if vectors is None or not vectors.affordable(texts):
                    with_encoder = _not_run(texts, vectors)
                else:
                    vectors.attach(matcher)
                    enc_acc, _ = _top1(
                        matcher, test, track, f"banking77 {setting} + encoder", vectors
                    )
                    with_encoder = _pct(enc_acc)
                    if setting != "full train":
                        enc_val, _ = _top1(matcher, val, track, "banking77 + encoder val", vectors)
                        note += f"; with encoder: {_pct(enc_val)}"
            rows.append(
                BenchRow(
                    "Banking77",
                    f"{setting}, {name}",
                    "accuracy",
                    _pct(acc),
                    anchor,
                    note,
                    with_encoder,
                )
            )
    rows.extend(_product_rows("Banking77", _specs(shot), test, track, vectors, "10-shot"))
    return rows


def _product_rows(
    dataset: str,
    specs: list[IntentSpec],
    tests: Sequence[tuple[str, str]],
    track: Tracker[tuple[str, str]],
    vectors: Vectors | None,
    setting: str,
) -> list[BenchRow]:
    """The bot's real settings (fallback on): right answers, fallback share, encoder share."""
    rows: list[BenchRow] = []
    results: dict[bool, tuple[float, float, float]] = {}
    for use in (False, True):
        matcher = Matcher(specs, PRODUCT_CONFIG)
        if use:
            if vectors is None or not vectors.affordable(
                [*matcher.example_texts, *(t for t, _ in tests)]
            ):
                continue
            vectors.attach(matcher)
            vectors.encode([t for t, _ in tests])
        right = fallback = encoded = 0
        for text, gold in track(tests, f"{dataset} product settings{' + encoder' if use else ''}"):
            scored = matcher.lexical(text)
            vector = None
            if use and vectors is not None and matcher.needs_vector(scored):
                encoded += 1
                vector = vectors.encode([scored.text])[0]
            decision = matcher.finish(scored, vector)
            # CLINC150's out-of-scope rows are right when they go to the fallback.
            right += decision.intent == gold or (gold == "oos" and decision.intent is None)
            fallback += decision.intent is None
        n = max(len(tests), 1)
        results[use] = (right / n, fallback / n, encoded / n)
    lexical = results[False]
    enc = results.get(True)
    rows.append(
        BenchRow(
            dataset,
            f"{setting}, product settings (fallback on)",
            "correct answers",
            _pct(lexical[0]),
            "target >= 80% with <= 10% to fallback" if dataset == "Banking77" else "",
            f"sent to fallback: {_pct(lexical[1])} lexical"
            + (
                f", {_pct(enc[1])} with encoder; {_pct(enc[2])} of messages reached the encoder "
                "(the rest were clear lexically)"
                if enc
                else ""
            ),
            _pct(enc[0]) if enc else _not_run([t for t, _ in tests], vectors),
        )
    )
    return rows


def _clinc_eval(
    matcher: Matcher, tests: Sequence[tuple[str, str]], threshold: float
) -> tuple[float, float]:
    in_ok = in_n = oos_ok = oos_n = 0
    for text, gold in tests:
        decision = matcher.decide(text)
        predicted = decision.intent if decision.score >= threshold else "oos"
        if gold == "oos":
            oos_n += 1
            oos_ok += predicted == "oos"
        else:
            in_n += 1
            in_ok += predicted == gold
    return in_ok / max(in_n, 1), oos_ok / max(oos_n, 1)


def _clinc_scores(
    matcher: Matcher, tests: Sequence[tuple[str, str]], vectors: Vectors | None = None
) -> list[tuple[str, str, float]]:
    out = []
    encode = None
    if vectors is not None:
        vectors.encode([t for t, _ in tests])
        encode = vectors.encode
    for text, gold in tests:
        d = matcher.decide(text, encode)
        out.append((gold, d.intent or "", d.score))
    return out


def bench_clinc150(
    data: Path, track: Tracker[tuple[str, str]], vectors: Vectors | None = None
) -> list[BenchRow]:
    raw = json.loads((data / "clinc150" / "data_full.json").read_text(encoding="utf-8"))

    def pairs(key: str) -> list[tuple[str, str]]:
        return [(str(text), str(label)) for text, label in raw[key]]

    train, val, test = pairs("train"), pairs("val") + pairs("oos_val"), pairs("test")
    test = test + pairs("oos_test")
    rows: list[BenchRow] = []
    shot = _few_shot(train, 10)
    for setting, catalog, variants in (
        ("10-shot", shot, VARIANTS[1:]),
        ("full train", train, VARIANTS[1:]),
        (_NAMED, _with_names(shot), VARIANTS[-1:]),
    ):
        for name, cfg in variants:
            matcher = Matcher(_specs(catalog), cfg)
            scored = _clinc_scores(matcher, list(track(val, f"clinc150 {setting} {name} val")))
            best_t = _oos_threshold(scored)
            in_acc, oos_rec = _clinc_eval(
                matcher, list(track(test, f"clinc150 {setting} {name} test")), best_t
            )
            enc_in = enc_oos = ""
            enc_note = ""
            if cfg is TOP1:
                texts = [*matcher.example_texts, *(t for t, _ in val), *(t for t, _ in test)]
                if vectors is None or not vectors.affordable(texts):
                    enc_in = enc_oos = _not_run(texts, vectors)
                else:
                    vectors.attach(matcher)
                    enc_scored = _clinc_scores(matcher, val, vectors)
                    enc_t = _oos_threshold(enc_scored)
                    enc_val_in, _ = _clinc_eval_scored(enc_scored, enc_t)
                    a, b = _clinc_eval_scored(_clinc_scores(matcher, test, vectors), enc_t)
                    enc_in, enc_oos = _pct(a), _pct(b)
                    enc_note = (
                        f"; with encoder: validation in-scope {_pct(enc_val_in)}, "
                        f"reject below {enc_t:g}"
                    )
            anchor = "93.26% in-scope (USE+ConveRT, 10-shot)" if setting == "10-shot" else ""
            val_in, _ = _clinc_eval_scored(scored, best_t)
            label = f"{setting}, {name}"
            rows.append(
                BenchRow(
                    "CLINC150",
                    label,
                    "in-scope accuracy",
                    _pct(in_acc),
                    anchor,
                    f"validation in-scope: {_pct(val_in)}; reject below score {best_t:g}: best "
                    f"val in-scope accuracy with val oos recall >= {OOS_RECALL_FLOOR:.0%}"
                    + enc_note,
                    enc_in,
                )
            )
            rows.append(
                BenchRow(
                    "CLINC150",
                    label,
                    "out-of-scope recall",
                    _pct(oos_rec),
                    "~40-66% (Larson et al. 2019)",
                    with_encoder=enc_oos,
                )
            )
    rows.extend(_product_rows("CLINC150", _specs(shot), test, track, vectors, "10-shot"))
    return rows


def _clinc_eval_scored(
    scored: Sequence[tuple[str, str, float]], threshold: float
) -> tuple[float, float]:
    """In-scope accuracy and oos recall of already scored rows (the validation figure)."""
    ins = [(g, p, sc) for g, p, sc in scored if g != "oos"]
    oos = [sc for g, _, sc in scored if g == "oos"]
    in_ok = sum(1 for g, p, sc in ins if sc >= threshold and p == g)
    return in_ok / max(len(ins), 1), sum(1 for sc in oos if sc < threshold) / max(len(oos), 1)


def _oos_threshold(scored: Sequence[tuple[str, str, float]]) -> float:
    """Rejection threshold from validation rows (gold, predicted, score) - never from test."""
    in_n = max(sum(1 for g, _, _ in scored if g != "oos"), 1)
    oos_n = max(sum(1 for g, _, _ in scored if g == "oos"), 1)
    best_t, best = 0.0, -1.0
    for t in [x / 2 for x in range(0, 201)]:
        in_ok = sum(1 for g, p, s in scored if g != "oos" and s >= t and p == g)
        oos_ok = sum(1 for g, _, s in scored if g == "oos" and s < t)
        if oos_ok / oos_n >= OOS_RECALL_FLOOR and in_ok / in_n > best:
            best, best_t = in_ok / in_n, t
    return best_t


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            out.append((parts[0].strip(), parts[1].strip()))
    return out


def bench_chinese_faq(
    data: Path, track: Tracker[tuple[str, str]], vectors: Vectors | None = None
) -> list[BenchRow]:
    rows: list[BenchRow] = []
    sets: list[tuple[str, Callable[[], tuple[list[tuple[str, str]], list[tuple[str, str]]]]]] = [
        (
            "jining_bank_faq",
            lambda: (
                _read_tsv(data / "jining_bank_faq" / "train.txt")[2:],
                _read_tsv(data / "jining_bank_faq" / "test.txt"),
            ),
        ),
        (
            "samsung_phone_faq",
            lambda: (
                _read_tsv(data / "samsung_phone_faq" / "origin_train.txt"),
                _read_tsv(data / "samsung_phone_faq" / "origin_test.txt"),
            ),
        ),
        ("unionpay_faq", lambda: _unionpay_split(data / "unionpay_faq" / "data.txt")),
    ]
    for name, load in sets:
        if not (data / name).is_dir():
            rows.append(
                BenchRow(name, "", "top-1 accuracy", "skipped", note=f"{data / name} missing")
            )
            continue
        train, test = load()
        specs = _specs(train)
        # Validation: the catalog without one example of each answer that has several,
        # scored on those examples.  Settings for FAQ catalogs are chosen on it; test is
        # only reported.
        val_train, val = _faq_validation(train)
        # The LinearSVC part is skipped on these catalogs (hundreds of answers with one to
        # a few paraphrases each: > `linear_max_intents`), so the shipped scorer is the kNN.
        for setting, cfg in VARIANTS[:2]:
            matcher = Matcher(specs, cfg)
            acc, _ = _top1(matcher, test, track, f"{name} {setting}")
            note = f"{len(specs)} answers, {len(train)} examples, {len(test)} tests"
            with_encoder = ""
            if cfg is KNN:
                val_matcher = Matcher(_specs(val_train), cfg)
                val_acc, _ = _top1(val_matcher, val, track, f"{name} {setting} val")
                note += f"; validation ({len(val):,} held-out examples): {_pct(val_acc)}"
                texts = [*matcher.example_texts, *(t for t, _ in test)]
                texts += [*val_matcher.example_texts, *(t for t, _ in val)]
                if vectors is None or not vectors.affordable(texts):
                    with_encoder = _not_run(texts, vectors)
                else:
                    vectors.attach(matcher)
                    enc_acc, _ = _top1(matcher, test, track, f"{name} + encoder", vectors)
                    with_encoder = _pct(enc_acc)
                    vectors.attach(val_matcher)
                    enc_val, _ = _top1(val_matcher, val, track, f"{name} + encoder val", vectors)
                    note += f"; with encoder: {_pct(enc_val)}"
            rows.append(
                BenchRow(
                    name,
                    setting,
                    "top-1 accuracy",
                    _pct(acc),
                    "target with encoder: " + _FAQ_TARGETS.get(name, "-"),
                    note,
                    with_encoder,
                )
            )
    return rows


def _faq_validation(
    pairs: Sequence[tuple[str, str]], seed: int = 0
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(catalog, validation): one example of each answer with several held out, seeded."""
    rows: dict[str, list[int]] = defaultdict(list)
    for i, (_, label) in enumerate(pairs):
        rows[label].append(i)
    rng = random.Random(seed)
    held = {rng.choice(rows[label]) for label in sorted(rows) if len(rows[label]) >= 2}
    catalog = [pair for i, pair in enumerate(pairs) if i not in held]
    return catalog, [pair for i, pair in enumerate(pairs) if i in held]


_FAQ_TARGETS = {"jining_bank_faq": ">= 95%", "unionpay_faq": ">= 80%"}


def _unionpay_split(path: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Per standard question with >= 2 paraphrases, the last one is held out as a test."""
    text = path.read_text(encoding="utf-8")
    questions = re.findall(r"question :(.*)\n\s*answer ID.*\n.*\n\s*label ID:(\d+)", text)
    grouped: dict[str, list[str]] = defaultdict(list)
    for question, label in questions:
        q = question.strip().lstrip("\ufeff")
        if q and q not in grouped[label]:
            grouped[label].append(q)
    train: list[tuple[str, str]] = []
    test: list[tuple[str, str]] = []
    for label, qs in grouped.items():
        if len(qs) >= 2:
            test.append((qs[-1], label))
            qs = qs[:-1]
        train.extend((q, label) for q in qs)
    return train, test


#: Reviews and tweets classified with the encoder: a seeded sample per set (encoding all
#: 23,000 would take most of an hour here); the lexical figure on the same sample is noted.
COARSE_SAMPLE = 1000
#: Where the coarse-kind head's settings (intents.matcher.MatcherConfig.head_*) came from:
#: never from the scored sample above.
_HEAD_NOTE = (
    "the coarse-kind head answered {share} of the sample; its settings were chosen on the "
    "catalog and 400 other rows per set (random.Random(13) over the rows this sample does "
    "not score), never on this sample"
)


def _coarse_matchers(
    vectors: Vectors | None,
) -> tuple[IntentEngine, Matcher | None, Matcher | None]:
    """The lexical engine, the bot's matcher with the encoder, and the same without the head."""
    engine = IntentEngine([_BUNDLED])
    if vectors is None:
        return engine, None, None
    matcher = Matcher(engine.specs, PRODUCT_CONFIG)
    headless = Matcher(engine.specs, dataclasses.replace(PRODUCT_CONFIG, head_confidence=2.0))
    return engine, vectors.attach(matcher), vectors.attach(headless)


def _coarse_label(
    matcher: Matcher, by_id: dict[str, IntentSpec], text: str, vectors: Vectors
) -> str | None:
    decision = matcher.decide(text, vectors.encode)
    if decision.intent is None:
        return None
    spec = by_id[decision.intent]
    return spec.coarse


def bench_coarse(
    data: Path, track: Tracker[tuple[str, str]], vectors: Vectors | None = None
) -> list[BenchRow]:
    """Complaint vs praise with the bundled catalog (what the bot would do, fallback on)."""
    engine, enc_matcher, headless = _coarse_matchers(vectors)
    by_id = {spec.id: spec for spec in engine.specs}
    rows: list[BenchRow] = []
    review_sets = [
        ("ChnSentiCorp_htl_all", data / "ChnSentiCorp_htl_all" / "ChnSentiCorp_htl_all.csv"),
        ("waimai_10k", data / "waimai_10k" / "waimai_10k.csv"),
    ]
    for name, path in review_sets:
        if not path.exists():
            rows.append(BenchRow(name, "", "accuracy", "skipped", note=f"{path.parent} missing"))
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            tests = [
                ((r["review"] or ""), "complaint" if r["label"] == "0" else "feedback")
                for r in csv.DictReader(handle)
            ]
        correct = decided = 0
        for text, gold in track(tests, name):
            coarse = engine.match(text).coarse
            decided += coarse in ("complaint", "feedback")
            correct += coarse == gold
        note = (
            f"{_pct(decided / len(tests))} classified complaint or feedback; "
            "none/inquiry count as wrong"
        )
        with_encoder = "n/a (no encoder)"
        if vectors is not None and enc_matcher is not None and headless is not None:
            sample = random.Random(7).sample(tests, min(COARSE_SAMPLE, len(tests)))
            vectors.encode([t for t, _ in sample])
            enc_ok = lex_ok = plain_ok = by_head = 0
            for text, gold in track(sample, f"{name} + encoder"):
                label = _coarse_label(enc_matcher, by_id, text, vectors)
                plain = _coarse_label(headless, by_id, text, vectors)
                enc_ok += label == gold
                plain_ok += plain == gold
                by_head += label != plain
                lex_ok += engine.match(text).coarse == gold
            with_encoder = _pct(enc_ok / len(sample))
            note += (
                f"; with encoder: a seeded sample of {len(sample):,} "
                f"(lexical on that sample: {_pct(lex_ok / len(sample))}; encoder without the "
                f"head: {_pct(plain_ok / len(sample))}); "
                + _HEAD_NOTE.format(share=_pct(by_head / len(sample)))
                + "; target >= 85%"
            )
        rows.append(
            BenchRow(
                name,
                "bundled catalog",
                "complaint/feedback accuracy",
                _pct(correct / len(tests)),
                note=note,
                with_encoder=with_encoder,
            )
        )
        # Forced choice between the two: how well the signal separates when the bot must pick.
        matcher = Matcher(engine.specs, TOP1)
        idx = {i: n for n, i in enumerate(matcher.ids)}
        forced = 0
        for text, gold in tests:
            s = matcher.scores(text)
            pick = "complaint" if s[idx["complaint"]] >= s[idx["feedback"]] else "feedback"
            forced += pick == gold
        rows.append(
            BenchRow(
                name,
                "bundled catalog, forced choice",
                "accuracy",
                _pct(forced / len(tests)),
                note="complaint score vs feedback score",
            )
        )
    path = data / "twitter_complaints" / "complaints-data.csv"
    if not path.exists():
        rows.append(
            BenchRow("twitter_complaints", "", "F1", "skipped", note=f"{path.parent} missing")
        )
        return rows
    with path.open(encoding="utf-8", newline="") as handle:
        tweets = [
            (re.sub(r"@\w+|https?://\S+", " ", r[1]), r[2])
            for r in csv.reader(handle)
            if len(r) >= 3
        ]
    lexical = _complaint_f1(tweets, lambda t: engine.match(t).coarse, track, "twitter_complaints")
    note = f"accuracy {_pct(lexical[1])}, precision {lexical[2]:.3f}, recall {lexical[3]:.3f}"
    with_encoder = "n/a (no encoder)"
    if vectors is not None and enc_matcher is not None and headless is not None:
        sample = random.Random(7).sample(tweets, min(COARSE_SAMPLE, len(tweets)))
        vectors.encode([t for t, _ in sample])
        enc = _complaint_f1(
            sample,
            lambda t: _coarse_label(enc_matcher, by_id, t, vectors),
            track,
            "twitter_complaints + encoder",
        )
        lex_sample = _complaint_f1(sample, lambda t: engine.match(t).coarse, _identity, "")
        plain = _complaint_f1(
            sample, lambda t: _coarse_label(headless, by_id, t, vectors), _identity, ""
        )
        by_head = sum(
            _coarse_label(enc_matcher, by_id, t, vectors)
            != _coarse_label(headless, by_id, t, vectors)
            for t, _ in sample
        )
        with_encoder = f"{enc[0]:.3f}"
        note += (
            f"; with encoder: a seeded sample of {len(sample):,} (lexical F1 on that sample "
            f"{lex_sample[0]:.3f}; encoder without the head {plain[0]:.3f}), precision "
            f"{enc[2]:.3f}, recall {enc[3]:.3f}; "
            + _HEAD_NOTE.format(share=_pct(by_head / len(sample)))
            + "; target >= 0.75"
        )
    rows.append(
        BenchRow(
            "twitter_complaints",
            "bundled catalog",
            "complaint F1",
            f"{lexical[0]:.3f}",
            "F1 0.780 (Preoțiuc-Pietro et al. 2019, best model)",
            note,
            with_encoder,
        )
    )
    return rows


def _complaint_f1(
    tweets: Sequence[tuple[str, str]],
    coarse: Callable[[str], str | None],
    track: Tracker[tuple[str, str]],
    label: str,
) -> tuple[float, float, float, float]:
    """F1, accuracy, precision, recall of "complaint" against the 0/1 gold labels."""
    tp = fp = fn = correct = 0
    for text, gold in track(tweets, label):
        predicted = "1" if coarse(text) == "complaint" else "0"
        correct += predicted == gold
        tp += predicted == "1" and gold == "1"
        fp += predicted == "1" and gold == "0"
        fn += predicted == "0" and gold == "1"
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return f1, correct / max(len(tweets), 1), precision, recall


# -- speed ---------------------------------------------------------------------------------


def _latency(
    match: Callable[[str], object], texts: Sequence[str], repeat: int = 1
) -> tuple[float, float]:
    samples: list[float] = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            match(text)
            samples.append((time.perf_counter() - start) * 1000.0)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return p50, p99


def _encoder_speed(encoder: Encoder, probes: Sequence[str], data: Path) -> list[BenchRow]:
    """The encoder alone, the bot's matcher with it, a warm 10,000-example load, and RSS."""
    rows: list[BenchRow] = []
    load_note = (
        "shared 2-core machine under heavy load from other jobs while measured "
        f"(load average {os.getloadavg()[0]:.1f}): times are pessimistic"
    )
    short = [t for t in probes if 0 < len(t) <= 200]
    encoder.encode(short[:5])
    cpu_start = time.process_time()
    p50, p99 = _latency(lambda t: encoder.encode([t]), short)
    cpu_ms = (time.process_time() - cpu_start) * 1000.0 / max(len(short), 1)
    rows.append(
        BenchRow(
            "speed: sentence encoder",
            f"{encoder.name}, batch 1, one thread, {len(short)} held-out messages",
            "encode p50 / p99",
            f"{p50:.1f} / {p99:.1f} ms",
            "",
            f"CPU {cpu_ms:.1f} ms per message; {load_note}",
        )
    )
    with tempfile.TemporaryDirectory() as cache:
        engine = IntentEngine([_BUNDLED], encoder=encoder, cache_dir=Path(cache))
        engine.wait_until_vectors()
        for text in probes:
            engine.match(text)
        engine.matches = engine.encoded = 0
        p50, p99 = _latency(engine.match, probes)
        share = engine.encoded / max(engine.matches, 1)
        rows.append(
            BenchRow(
                "speed: bundled catalog",
                f"{len(engine.specs)} intents, bot settings, with the encoder",
                "match p50 / p99 (encoding included)",
                f"{p50:.2f} / {p99:.2f} ms",
                "target p99 <= 30 ms",
                f"{_pct(share)} of messages reached the encoder (cascade); {load_note}",
            )
        )
        rows.extend(_rss_rows(Path(cache)))
    folder = data / "banking77"
    if folder.is_dir():
        rows.append(_warm_load_row(encoder, _read_csv_pairs(folder / "train.csv")[:10_000]))
    return rows


def _warm_load_row(encoder: Encoder, train: Sequence[tuple[str, str]]) -> BenchRow:
    """Load time of a 10,000-example catalog whose vectors are already cached.

    Load time does not depend on the vectors' values, so the cache file is filled with
    random unit rows under the catalog's real key (encoding 10,000 texts takes minutes).
    """
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in train:
        grouped[label].append(text)
    entries = [
        {"id": label, "kind": "faq", "script": label, "examples": {"en": texts}}
        for label, texts in grouped.items()
    ]
    with (
        tempfile.TemporaryDirectory() as tmp,
        tempfile.TemporaryDirectory() as weights,
        tempfile.TemporaryDirectory() as vcache,
    ):
        (Path(tmp) / "big.yaml").write_text(
            yaml.safe_dump({"intents": entries}, allow_unicode=True), encoding="utf-8"
        )
        cfg = dataclasses.replace(PRODUCT_CONFIG, model_cache=Path(weights))
        first = IntentEngine([Path(tmp)], config=cfg)
        first.wait_until_trained()
        matcher = first._state[0]
        rng = np.random.default_rng(0)
        fake = rng.standard_normal((len(matcher.vector_texts), encoder.dim)).astype(np.float32)
        fake /= np.linalg.norm(fake, axis=1, keepdims=True)
        name = f"vectors-{vector_cache_key(matcher.vector_texts, encoder)}.npy"
        np.save(Path(vcache) / name, fake)
        loads = []
        for _ in range(3):
            start = time.perf_counter()
            warm = IntentEngine([Path(tmp)], config=cfg, encoder=encoder, cache_dir=Path(vcache))
            ready = warm.wait_until_vectors(timeout=0)
            loads.append(time.perf_counter() - start)
            assert ready, "the cached vectors were not used"
    return BenchRow(
        "speed: 10,000 examples",
        "Banking77 train as one YAML file, with the encoder, warm: weights and vectors cached",
        "load until matching with vectors",
        f"{min(loads):.3f} s",
        "target <= 2 s",
        "restart / unchanged reload; a cold load serves lexically while the vectors are built",
    )


_RSS_SCRIPT = """
import json, sys
import psutil
from care.runtime.services import build_services
from care.runtime.settings import load_settings
services = build_services(load_settings())
engine = services.intents
if engine.encoder is not None:
    assert engine.wait_until_vectors(timeout=600)
for text in ["你们几点开门", "我要投诉", "想問下點樣申請退款?", "where is my order", "呵呵"] * 4:
    engine.match(text)
print(json.dumps({"rss": psutil.Process().memory_info().rss, "backend": engine.backend}))
"""


def _rss_rows(cache: Path) -> list[BenchRow]:
    """Resident memory of the services `carebot run` builds, with and without the encoder."""
    import subprocess
    import sys

    results: dict[str, tuple[float, str]] = {}
    for setting in ("off", "auto"):
        env = {**os.environ, "INTENT_ENCODER": setting, "INTENTS_CACHE_DIR": str(cache)}
        with tempfile.TemporaryDirectory() as cwd:
            done = subprocess.run(
                [sys.executable, "-c", _RSS_SCRIPT],
                env=env,
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
        if done.returncode != 0:
            results[setting] = (float("nan"), done.stderr.strip().splitlines()[-1:][0][:120])
            continue
        out = json.loads(done.stdout.strip().splitlines()[-1])
        results[setting] = (out["rss"] / 2**20, out["backend"])
    off, auto = results["off"], results["auto"]
    return [
        BenchRow(
            "memory: carebot run",
            "services as `carebot run` builds them, after a few messages",
            "RSS",
            f"{off[0]:.0f} MB",
            "",
            f"INTENT_ENCODER=auto: {auto[1]}",
            f"{auto[0]:.0f} MB",
        )
    ]


def _probe_texts() -> list[str]:
    heldout = Path(__file__).resolve().parent.parent / "tests" / "data" / "intents_heldout.csv"
    texts: list[str] = []
    if heldout.exists():
        with heldout.open(encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle)]
    texts += ["", "😀" * 50, "1234567890", "我的快递还没到" * 600, "x" * 10_000]
    return texts


def bench_speed(
    data: Path, track: Tracker[tuple[str, str]], vectors: Vectors | None = None
) -> list[BenchRow]:
    rows: list[BenchRow] = []
    probes = _probe_texts()
    if vectors is not None:
        rows.extend(_encoder_speed(vectors.encoder, probes, data))
    engine = IntentEngine([_BUNDLED])
    for text in probes:  # warm caches the way a running bot would be warm
        engine.match(text)
    n_ex = sum(len(s.all_examples()) for s in engine.specs)
    p50, p99 = _latency(engine.match, probes, repeat=5)
    rows.append(
        BenchRow(
            "speed: bundled catalog",
            f"{len(engine.specs)} intents, {n_ex} examples",
            "match p50 / p99",
            f"{p50:.3f} / {p99:.3f} ms",
            "target p99 <= 1 ms",
        )
    )
    folder = data / "banking77"
    if not folder.is_dir():
        rows.append(BenchRow("speed: 10,000 examples", "", "", "skipped", note=f"{folder} missing"))
        return rows
    train, test = _read_csv_pairs(folder / "train.csv"), _read_csv_pairs(folder / "test.csv")
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in train[:10_000]:
        grouped[label].append(text)
    entries = [
        {"id": label, "kind": "faq", "script": label, "examples": {"en": texts}}
        for label, texts in grouped.items()
    ]
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        (Path(tmp) / "big.yaml").write_text(
            yaml.safe_dump({"intents": entries}, allow_unicode=True), encoding="utf-8"
        )
        cached = dataclasses.replace(TOP1, model_cache=Path(cache))
        IntentEngine([Path(tmp)], config=cached)  # fills the weight cache (first start)
        background = dataclasses.replace(TOP1, background_training_above=BACKGROUND_TRAINING_ABOVE)
        for setting, cfg, note in (
            ("kNN + rapidfuzz (no linear model)", KNN, ""),
            ("shipped, cold: trains LinearSVC", TOP1, "first load of a new catalog"),
            ("shipped, warm: weights cached", cached, "restart / unchanged reload"),
            ("production default: SVM trains in background", background, ""),
        ):
            loads, ready = [], []
            for _ in range(3):
                start = time.perf_counter()
                big = IntentEngine([Path(tmp)], config=cfg)
                loads.append(time.perf_counter() - start)
                big.wait_until_trained()
                ready.append(time.perf_counter() - start)
            if cfg is background:
                note = f"in service at once; SVM in use after {min(ready):.2f} s"
            rows.append(
                BenchRow(
                    "speed: 10,000 examples",
                    f"Banking77 train as one YAML file, {setting}",
                    "load until matching",
                    f"{min(loads):.3f} s",
                    "target <= 1 s",
                    note,
                )
            )
    texts = [t for t, _ in test[:1000]]
    for text in texts[:50]:
        big.match(text)
    p50, p99 = _latency(big.match, texts)
    rows.append(
        BenchRow(
            "speed: 10,000 examples",
            "shipped: kNN TF-IDF + rapidfuzz + LinearSVC",
            "match p50 / p99",
            f"{p50:.3f} / {p99:.3f} ms",
            "target p99 <= 5 ms",
        )
    )
    fuzzy = Matcher(big.specs, FUZZY_ONLY)
    p50, p99 = _latency(fuzzy.decide, texts[:300])
    rows.append(
        BenchRow(
            "speed: 10,000 examples",
            "rapidfuzz only (cdist over all examples)",
            "match p50 / p99",
            f"{p50:.3f} / {p99:.3f} ms",
        )
    )
    return rows


# -- driver --------------------------------------------------------------------------------

_Bench = Callable[[Path, Tracker[tuple[str, str]], "Vectors | None"], list[BenchRow]]
_BENCHES: list[tuple[str, str, _Bench]] = [
    ("banking77", "Banking77", bench_banking77),
    ("clinc150", "CLINC150", bench_clinc150),
    ("", "Chinese FAQ", bench_chinese_faq),
    ("", "coarse complaint vs praise", bench_coarse),
    ("", "speed", bench_speed),
]


def run_all(
    data: Path,
    track: Tracker[tuple[str, str]] = _identity,
    only: Sequence[str] = (),
    log: Callable[[str], None] = print,
    encoder: str = "auto",
) -> list[BenchRow]:
    """Run every benchmark (or those whose title contains one of `only`).

    Each row is measured lexical-only and, where the encoder applies, with the encoder
    (`encoder`: an `INTENT_ENCODER` value; `off` leaves that column empty).
    """
    loaded = load_encoder(encoder) if encoder != "off" else None
    vectors = Vectors(loaded) if loaded is not None else None
    rows: list[BenchRow] = []
    try:
        for folder, title, bench in _BENCHES:
            if only and not any(o.lower() in title.lower() for o in only):
                continue
            if folder and not (data / folder).is_dir():
                message = f"{data / folder} not found: skipping {title}"
                log(message)
                rows.append(BenchRow(title, "", "", "skipped", note=message))
                continue
            rows.extend(bench(data, track, vectors))
            if vectors is not None:
                vectors.save()
    finally:
        if vectors is not None:
            vectors.save()
    return rows


def section_header(data_name: str, machine_line: str) -> str:
    """The heading and preamble of the BENCHMARKS.md section."""
    return (
        "## Intent matching (`carebot bench intents`)\n\n" + machine_line + "\n\n"
        f"Data read at run time from `{data_name}/` (never copied into the project). "
        "Accuracy rows without fallback are top-1; the bundled-catalog rows and the "
        "'product settings' rows run the bot's real settings (fallback on). Each row is "
        "measured lexical-only and, in the same run, with the sentence encoder blended in "
        "(INTENT_ENCODER; 'not run' = more texts to encode than the run's budget, "
        "CAREBOT_BENCH_ENCODE_BUDGET; vectors are cached in data/cache/ for the next run). "
        "The machine is a shared 2-core box that other jobs kept loaded (load average 10-25) "
        "during this run: latencies are pessimistic."
    )


def render_markdown(rows: Sequence[BenchRow], header: str) -> str:
    lines = [
        header,
        "",
        "| dataset | setting | metric | lexical | with encoder | target / published anchor "
        "| note |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.dataset} | {r.setting} | {r.metric} | {r.value} | {r.with_encoder} | {r.anchor} "
        f"| {r.note} |"
        for r in rows
    ]
    return "\n".join(lines)

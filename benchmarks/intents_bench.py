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
import json
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml

from intents import IntentEngine, IntentSpec, Matcher, MatcherConfig
from intents.engine import BACKGROUND_TRAINING_ABOVE

__all__ = ["BenchRow", "Tracker", "render_markdown", "run_all"]

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
# keep validation out-of-scope recall >= this (10 points above the 60% target, because
# oos_val has only 100 rows).  Chosen on val only; test is scored once.
OOS_RECALL_FLOOR = 0.70


@dataclass
class BenchRow:
    """One line of the results table."""

    dataset: str
    setting: str
    metric: str
    value: str
    anchor: str = ""
    note: str = ""


def _identity(items: Sequence[T], _label: str) -> Iterable[T]:
    return items


def _specs(pairs: Iterable[tuple[str, str]], kind: str = "faq") -> list[IntentSpec]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for text, label in pairs:
        grouped[label].append(text)
    return [
        IntentSpec(id=label, kind=kind, script=label, examples={"en": tuple(texts)})
        for label, texts in grouped.items()
    ]


def _top1(
    matcher: Matcher, tests: Sequence[tuple[str, str]], track: Tracker[tuple[str, str]], label: str
) -> tuple[float, list[float]]:
    correct = 0
    latencies: list[float] = []
    for text, gold in track(tests, label):
        start = time.perf_counter()
        decision = matcher.decide(text)
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


def bench_banking77(data: Path, track: Tracker[tuple[str, str]]) -> list[BenchRow]:
    folder = data / "banking77"
    train, test = _read_csv_pairs(folder / "train.csv"), _read_csv_pairs(folder / "test.csv")
    rows: list[BenchRow] = []
    shot = _few_shot(train, 10)
    # Validation for the 10-shot setting: 2,000 of the train rows *not* in the catalog.
    # Design choices (features, weights, C) were made on it; test is only reported.
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
            rows.append(
                BenchRow("Banking77", f"{setting}, {name}", "accuracy", _pct(acc), anchor, note)
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
    matcher: Matcher, tests: Sequence[tuple[str, str]]
) -> list[tuple[str, str, float]]:
    out = []
    for text, gold in tests:
        d = matcher.decide(text)
        out.append((gold, d.intent or "", d.score))
    return out


def bench_clinc150(data: Path, track: Tracker[tuple[str, str]]) -> list[BenchRow]:
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
                    f"val in-scope accuracy with val oos recall >= {OOS_RECALL_FLOOR:.0%}",
                )
            )
            rows.append(
                BenchRow(
                    "CLINC150",
                    label,
                    "out-of-scope recall",
                    _pct(oos_rec),
                    "~40-66% (Larson et al. 2019)",
                )
            )
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


def bench_chinese_faq(data: Path, track: Tracker[tuple[str, str]]) -> list[BenchRow]:
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
        # The LinearSVC part is skipped on these catalogs (hundreds of answers with one to
        # a few paraphrases each: > `linear_max_intents`), so the shipped scorer is the kNN.
        for setting, cfg in VARIANTS[:2]:
            acc, _ = _top1(Matcher(specs, cfg), test, track, f"{name} {setting}")
            rows.append(
                BenchRow(
                    name,
                    setting,
                    "top-1 accuracy",
                    _pct(acc),
                    note=f"{len(specs)} answers, {len(train)} examples, {len(test)} tests",
                )
            )
    return rows


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


def bench_coarse(data: Path, track: Tracker[tuple[str, str]]) -> list[BenchRow]:
    """Complaint vs praise with the bundled catalog (what the bot would do, fallback on)."""
    engine = IntentEngine([_BUNDLED])
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
        rows.append(
            BenchRow(
                name,
                "bundled catalog",
                "complaint/feedback accuracy",
                _pct(correct / len(tests)),
                note=f"{_pct(decided / len(tests))} classified complaint or feedback; "
                "none/inquiry count as wrong",
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
        tweets = [(r[1], r[2]) for r in csv.reader(handle) if len(r) >= 3]
    tp = fp = fn = correct = 0
    for text, gold in track(tweets, "twitter_complaints"):
        clean = re.sub(r"@\w+|https?://\S+", " ", text)
        predicted = "1" if engine.match(clean).coarse == "complaint" else "0"
        correct += predicted == gold
        tp += predicted == "1" and gold == "1"
        fp += predicted == "1" and gold == "0"
        fn += predicted == "0" and gold == "1"
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    rows.append(
        BenchRow(
            "twitter_complaints",
            "bundled catalog",
            "complaint F1",
            f"{f1:.3f}",
            "F1 0.780 (Preoțiuc-Pietro et al. 2019, best model)",
            f"accuracy {_pct(correct / len(tweets))}, precision {precision:.3f}, "
            f"recall {recall:.3f}",
        )
    )
    return rows


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


def _probe_texts() -> list[str]:
    heldout = Path(__file__).resolve().parent.parent / "tests" / "data" / "intents_heldout.csv"
    texts: list[str] = []
    if heldout.exists():
        with heldout.open(encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle)]
    texts += ["", "😀" * 50, "1234567890", "我的快递还没到" * 600, "x" * 10_000]
    return texts


def bench_speed(data: Path, track: Tracker[tuple[str, str]]) -> list[BenchRow]:
    rows: list[BenchRow] = []
    probes = _probe_texts()
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

_BENCHES: list[tuple[str, str, Callable[[Path, Tracker[tuple[str, str]]], list[BenchRow]]]] = [
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
) -> list[BenchRow]:
    """Run every benchmark (or those whose title contains one of `only`)."""
    rows: list[BenchRow] = []
    for folder, title, bench in _BENCHES:
        if only and not any(o.lower() in title.lower() for o in only):
            continue
        if folder and not (data / folder).is_dir():
            message = f"{data / folder} not found: skipping {title}"
            log(message)
            rows.append(BenchRow(title, "", "", "skipped", note=message))
            continue
        rows.extend(bench(data, track))
    return rows


def render_markdown(rows: Sequence[BenchRow], header: str) -> str:
    lines = [
        header,
        "",
        "| dataset | setting | metric | result | published anchor | note |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.dataset} | {r.setting} | {r.metric} | {r.value} | {r.anchor} | {r.note} |"
        for r in rows
    ]
    return "\n".join(lines)

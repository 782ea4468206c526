"""A discriminative linear model (LinearSVC over sparse n-gram TF-IDF) trained at catalog load.

Why it exists beside the kNN similarity in `matcher`: with ten examples per intent
a nearest-example or centroid score weighs every shared n-gram by IDF alone, so
"card" counts as much in "my card has not arrived" for `card_arrival` as for
`card_not_working`.  A linear classifier learns, per intent, which n-grams
*separate* it from the others (measured on the validation splits of the
benchmark: Banking77 10-shot +7 points, CLINC150 10-shot +4 points over kNN).

Design choices:

* Features are sklearn's classic strong text-classification set, computed by our
  own code so a query costs microseconds, not a vectoriser call: stemmed word
  unigrams and bigrams, unordered pairs of the first 16 words ("biterms"), and
  `char_wb`-style 2-5-grams for Latin script (typos, inflections); character
  1-3-grams inside CJK runs (no segmenter needed).  Sublinear tf, smoothed IDF,
  L2-normalised rows.  Tried on validation and left out: word trigrams, char
  1-grams or 6-grams, stop-word removal, word-dropout/word-swap augmentation (all
  flat or worse).  LogisticRegression (+1.5 points on Banking77, 25x the training
  time) and Crammer-Singer (+0.6, 2.5x) were not worth their training cost.
* liblinear's LinearSVC (one-vs-rest, dual coordinate descent) because it trains
  a 10,000-example catalog in about a second where LogisticRegression's solvers
  take 7-20 s for a ~1 point gain on validation.
* Weights are stored transposed and dense (features x intents, float32), so a
  query is one row gather and a sum over its ~150 features.  Catalogs with very
  many intents (FAQ sets with one or two paraphrases per answer) skip the model:
  there it has nothing to generalise from and its matrix would be large.
* Training is deterministic (`random_state=0`) and its weights can be cached on
  disk keyed by a hash of the examples, so a restart or an unchanged reload does
  not retrain.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from intents.array_cache import load_arrays, save_arrays
from intents.tokens import base_counts

__all__ = ["LinearModel", "linear_features"]

# Bump when the features or the training change: cached weights of an older version
# must not be reused with a different feature space.
_VERSION = "linear-v3"
# liblinear stopping rule: loose, because ranking needs no exact optimum (see `_train`).
_TOL = 1e-3
_MAX_ITER = 200
# Distinct words of a message that form unordered pairs (see `linear_features`).
_BITERM_WORDS = 16

FloatArray = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]


@lru_cache(maxsize=65536)
def _char_grams(token: str) -> tuple[str, ...]:
    # `char_wb` 2-5-grams of one word, space-padded like scikit-learn's.  Words repeat
    # across a catalog and across messages, so caching per word makes load ~3x faster.
    padded = f" {token} "
    size = len(padded)
    return tuple("c" + padded[i : i + n] for n in range(2, 6) for i in range(size - n + 1))


def linear_features(norm: str) -> dict[str, float]:
    """Sublinear-tf features of a normalised text (before IDF)."""
    counts, words = base_counts(norm)
    for token in words:
        counts.update(_char_grams(token))
    feats = {feat: 1.0 + math.log(tf) for feat, tf in counts.items()}
    # Unordered word pairs ("biterms") of the opening words: "card" + "arrive" anywhere in
    # the message, whatever lies between or the order ("when will my card arrive" /
    # "has the card i ordered arrived").  Adjacent pairs (`p`) miss those; +0.3 points on
    # Banking77 10-shot validation with the stemmer.  Capped because pairs grow
    # quadratically and the opening says what a message is about.
    stems = [feat[1:] for feat in counts if feat[0] == "w"][:_BITERM_WORDS]
    for i, first in enumerate(stems):
        for second in stems[i + 1 :]:
            a, b = (first, second) if first < second else (second, first)
            feats[f"q{a} {b}"] = 1.0
    return feats


class LinearModel:
    """One-vs-rest linear SVM over the catalog's examples; `decision(norm)` per intent."""

    def __init__(
        self,
        texts: Sequence[str],
        owners: Sequence[int],
        n_intents: int,
        *,
        c: float = 1.0,
        cache_dir: Path | None = None,
    ) -> None:
        self.n_intents = n_intents
        n_docs = max(len(texts), 1)
        self._unknown_idf = math.log(1 + n_docs) + 1.0
        self._vocab: dict[str, int] = {}
        self._idf: FloatArray = np.ones(0, dtype=np.float64)
        # weights: features x intents.  Intents without examples keep zero weights and a
        # negative bias, so they never win on the linear score.
        self._weights: Float32Array = np.zeros((0, n_intents), dtype=np.float32)
        self._bias: FloatArray = np.full(n_intents, -1.0, dtype=np.float64)
        classes = sorted({o for o, t in zip(owners, texts, strict=True) if t})
        if len(classes) < 2:
            return
        key = _cache_key(texts, owners, n_intents, c)
        if self._load(cache_dir, key):
            return  # the cache holds vocabulary, IDF and weights: no feature pass at all

        rows = [linear_features(text) for text in texts]
        counted: Counter[str] = Counter()
        for row in rows:
            counted.update(row.keys())
        vocab: dict[str, int] = {}
        df: Counter[int] = Counter()
        encoded: list[dict[int, float]] = []
        for row in rows:
            # A word pair seen in one example only is dropped: pairs would otherwise triple
            # the vocabulary (and the weight matrix a query gathers from) for no accuracy.
            enc = {
                vocab.setdefault(f, len(vocab)): w
                for f, w in row.items()
                if f[0] != "q" or counted[f] > 1
            }
            df.update(enc.keys())
            encoded.append(enc)
        idf = np.ones(len(vocab), dtype=np.float64)
        for col, count in df.items():
            idf[col] = math.log((1 + n_docs) / (1 + count)) + 1.0
        self._vocab = vocab
        self._idf = idf
        self._weights = np.zeros((len(vocab), n_intents), dtype=np.float32)
        self._train(encoded, owners, texts, c)
        self._save(cache_dir, key)

    def _train(
        self,
        encoded: Sequence[dict[int, float]],
        owners: Sequence[int],
        texts: Sequence[str],
        c: float,
    ) -> None:
        # Imported here: scikit-learn/scipy cost ~0.3 s to import, paid only when a model
        # is actually trained (not on a cache hit, not for catalogs that skip the model).
        from scipy import sparse
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.svm import LinearSVC

        indptr = [0]
        cols: list[int] = []
        vals: list[float] = []
        labels: list[int] = []
        for enc, owner, text in zip(encoded, owners, texts, strict=True):
            if not text:
                continue
            weighted = {col: w * float(self._idf[col]) for col, w in enc.items()}
            norm = math.sqrt(sum(v * v for v in weighted.values())) or 1.0
            cols.extend(weighted.keys())
            vals.extend(v / norm for v in weighted.values())
            indptr.append(len(cols))
            labels.append(owner)
        matrix = sparse.csr_matrix(
            (np.asarray(vals), np.asarray(cols, dtype=np.int64), np.asarray(indptr)),
            shape=(len(labels), len(self._vocab)),
        )
        model = LinearSVC(C=c, tol=_TOL, max_iter=_MAX_ITER, random_state=0)
        with warnings.catch_warnings():
            # A few hundred liblinear iterations are plenty for ranking; exact convergence
            # on a 10,000-example catalog would cost seconds for no accuracy.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(matrix, np.asarray(labels, dtype=np.int64))
        coef = np.asarray(model.coef_, dtype=np.float64)
        intercept = np.asarray(model.intercept_, dtype=np.float64)
        fitted = [int(x) for x in model.classes_]
        if len(fitted) == 2:
            # Binary liblinear keeps one hyperplane for the second class.
            coef = np.vstack([-coef[0], coef[0]])
            intercept = np.asarray([-intercept[0], intercept[0]])
        for row, intent in enumerate(fitted):
            self._weights[:, intent] = coef[row].astype(np.float32)
            self._bias[intent] = intercept[row]
        self._weights = np.ascontiguousarray(self._weights)

    def decision(self, norm: str) -> FloatArray:
        """Signed distance to each intent's hyperplane (about -1.5..1.5; > 0 = this intent)."""
        raw = linear_features(norm)
        cols: list[int] = []
        vals: list[float] = []
        unknown = 0.0
        for feat, w in raw.items():
            col = self._vocab.get(feat)
            if col is None:
                # Unseen n-grams still count in the norm: text the catalog never talks
                # about shrinks towards the (negative) biases, which helps out-of-scope.
                unknown += (w * self._unknown_idf) ** 2
            else:
                cols.append(col)
                vals.append(w * float(self._idf[col]))
        norm2 = sum(v * v for v in vals) + unknown
        if not cols or norm2 <= 0.0:
            return self._bias.copy()
        x = np.asarray(vals, dtype=np.float32) / np.float32(math.sqrt(norm2))
        out = x @ self._weights[np.asarray(cols, dtype=np.int64)]
        return out.astype(np.float64) + self._bias

    def _load(self, cache_dir: Path | None, key: str) -> bool:
        if cache_dir is None:
            return False
        data = load_arrays(cache_dir / f"{key}.npz", ("vocab", "idf", "weights", "bias"))
        if data is None:
            return False  # missing or corrupt: retrain (and rewrite it)
        vocab = [str(f) for f in data["vocab"]]
        idf = data["idf"].astype(np.float64)
        weights = np.ascontiguousarray(data["weights"], dtype=np.float32)
        bias = data["bias"].astype(np.float64)
        n = len(vocab)
        if (
            idf.shape != (n,)
            or weights.shape != (n, self.n_intents)
            or bias.shape != (self.n_intents,)
        ):
            return False
        self._vocab = {feat: i for i, feat in enumerate(vocab)}
        self._idf, self._weights, self._bias = idf, weights, bias
        return True

    def _save(self, cache_dir: Path | None, key: str) -> None:
        if cache_dir is None:
            return
        arrays = {"vocab": np.asarray(list(self._vocab), dtype=str), "idf": self._idf}
        save_arrays(
            cache_dir / f"{key}.npz", arrays | {"weights": self._weights, "bias": self._bias}
        )


def _cache_key(texts: Sequence[str], owners: Sequence[int], n_intents: int, c: float) -> str:
    digest = hashlib.sha256(f"{_VERSION}\0{c!r}\0{n_intents}\0{len(texts)}".encode())
    for text, owner in zip(texts, owners, strict=True):
        digest.update(f"{owner}\0{text}\n".encode())
    return digest.hexdigest()[:32]

"""A per-intent head: logistic regression over the sentence encoder's example vectors.

Why it exists beside the encoder's nearest-example and centroid cosines (`matcher`): with
ten examples per intent, cosine to an example weighs every direction of the embedding
alike, so two near-synonym intents ("card arrival" / "card delivery estimate") sit at the
same distance from most messages.  A linear classifier over the same vectors learns, per
intent, the directions that *separate* it from the others - the same reason the LinearSVC
sits beside the lexical kNN (`intents.linear`).

Design choices (Banking77 / CLINC150 10-shot validation, see BENCHMARKS.md):

* Features are the unit vectors standardised per dimension with the catalog's mean and
  spread (e5 vectors share a large common component; as in `intents.head`).
* scikit-learn's `LogisticRegression` (lbfgs, multinomial, balanced class weights).
* Only the weights are kept (intents x dims, float32): a query is one small matrix
  product, no scikit-learn call.  Weights are cached on disk keyed by a hash of the
  vectors and the owners, so a restart or an unchanged reload does not retrain.
* Unlike the LinearSVC, FAQ catalogs (hundreds of answers) get a head too when they have a
  few paraphrases per answer: with sparse n-grams there is little to separate, but the
  encoder's paraphrases of one answer cluster, and the head learns their directions
  (Jining bank / UnionPay validation +2.6 / +12 points, see `MatcherConfig`).  Catalogs
  with very many intents or about one example per intent get none: training cost grows
  with intents x examples, and with one example per answer there is nothing to generalise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from intents.array_cache import load_arrays, save_arrays
from intents.logistic import fit_standardised

__all__ = ["IntentHead"]

Float32Array = npt.NDArray[np.float32]
FloatArray = npt.NDArray[np.float64]

# Bump when the features or the training change: cached weights must not be reused.
_VERSION = "intent-head-v1"
_MAX_ITER = 300


class IntentHead:
    """Multinomial logistic regression over standardised example vectors, per intent."""

    def __init__(
        self, mean: Float32Array, scale: Float32Array, weights: Float32Array, bias: Float32Array
    ) -> None:
        self.mean = mean
        self.scale = scale
        self.weights = weights  # intents x dims
        self.bias = bias

    @classmethod
    def build(
        cls,
        vectors: Float32Array,
        owners: Sequence[int],
        n_intents: int,
        *,
        c: float,
        cache_dir: Path | None = None,
    ) -> IntentHead | None:
        """Train (or load from `cache_dir`) a head; None when fewer than two intents have rows.

        `owners[i]` is the intent of vector row i; rows with a zero vector (empty examples)
        are left out.
        """
        labels = np.asarray(owners, dtype=np.int64)
        if vectors.ndim != 2 or vectors.shape[0] != labels.size:
            return None
        keep = np.flatnonzero(np.abs(vectors).sum(axis=1) > 0.0)
        vectors, labels = vectors[keep], labels[keep]
        if np.unique(labels).size < 2:
            return None
        key = _cache_key(vectors, labels, n_intents, c)
        path = cache_dir / f"intent-head-{key}.npz" if cache_dir is not None else None
        if path is not None:
            loaded = cls._load(path, vectors.shape[1], n_intents)
            if loaded is not None:
                return loaded
        head = cls._train(vectors, labels, n_intents, c)
        if path is not None:
            head._save(path)
        return head

    @classmethod
    def _train(
        cls, vectors: Float32Array, labels: npt.NDArray[np.int64], n_intents: int, c: float
    ) -> IntentHead:
        # Ranking needs no exact optimum: a few hundred lbfgs steps are plenty.
        fitted = fit_standardised(
            vectors, labels, n_intents, c, max_iter=_MAX_ITER, tolerate_unconverged=True
        )
        return cls(*fitted)

    def probabilities(self, vector: Float32Array) -> FloatArray:
        """P(intent) for one message's unit vector, in catalog order."""
        x = (np.asarray(vector, dtype=np.float32).reshape(-1) - self.mean) / self.scale
        logits = (self.weights @ x + self.bias).astype(np.float64)
        logits -= logits.max()
        exp = np.exp(logits)
        out: FloatArray = exp / exp.sum()
        return out

    @classmethod
    def _load(cls, path: Path, dims: int, n_intents: int) -> IntentHead | None:
        data = load_arrays(path, ("mean", "scale", "w", "b"))
        if data is None:
            return None  # missing or corrupt: retrain (and rewrite it)
        mean, scale, weights, bias = (
            data[n].astype(np.float32) for n in ("mean", "scale", "w", "b")
        )
        if mean.shape != (dims,) or scale.shape != (dims,):
            return None
        if weights.shape != (n_intents, dims) or bias.shape != (n_intents,):
            return None
        return cls(mean, scale, np.ascontiguousarray(weights), bias)

    def _save(self, path: Path) -> None:
        save_arrays(
            path, {"mean": self.mean, "scale": self.scale, "w": self.weights, "b": self.bias}
        )


def _cache_key(
    vectors: Float32Array, labels: npt.NDArray[np.int64], n_intents: int, c: float
) -> str:
    digest = hashlib.sha256(f"{_VERSION}\0{c!r}\0{n_intents}\0{vectors.shape}".encode())
    digest.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    digest.update(labels.tobytes())
    return digest.hexdigest()[:32]

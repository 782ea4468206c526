"""Standardised multinomial logistic regression over sentence vectors: the heads' one fit.

Both heads over the encoder's vectors (`intents.head.CoarseHead` for the coarse kinds,
`intents.intent_head.IntentHead` per intent) are this model: inputs standardised per
dimension, scikit-learn's lbfgs `LogisticRegression` with balanced class weights, kept as
dense float32 arrays so that scoring a message is one matrix-vector product.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt

__all__ = ["Fitted", "fit_standardised"]

Float32Array = npt.NDArray[np.float32]
#: mean, scale, weights (n_classes x dims) and bias (n_classes) of a fitted model.
Fitted = tuple[Float32Array, Float32Array, Float32Array, Float32Array]


def fit_standardised(
    vectors: Float32Array,
    labels: npt.NDArray[np.int64],
    n_classes: int,
    c: float,
    *,
    max_iter: int,
    tolerate_unconverged: bool = False,
) -> Fitted:
    """Fit on `vectors` (rows) with class `labels` in 0..n_classes-1.

    A class without rows never wins: zero weights and a very negative bias.
    `tolerate_unconverged` silences lbfgs's convergence warning (a ranking needs no exact
    optimum); otherwise it surfaces like any warning."""
    # Imported here: scikit-learn costs ~0.3 s to import, paid only when training.
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x = np.asarray(vectors, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, max_iter=max_iter, class_weight="balanced")
    # One BLAS thread: the products are small, and on a busy machine a thread pool
    # spinning against the other processes made training 30x slower (0.07 s -> 2 s).
    with threadpool_limits(limits=1), warnings.catch_warnings():
        if tolerate_unconverged:
            warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit((x - mean) / scale, labels)
    weights = np.zeros((n_classes, vectors.shape[1]), dtype=np.float64)
    bias = np.full(n_classes, -1e4, dtype=np.float64)
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    fitted = [int(k) for k in model.classes_]
    if len(fitted) == 2:
        # Binary lbfgs keeps one hyperplane for the second class.
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.asarray([-intercept[0] / 2, intercept[0] / 2])
    for row, label in enumerate(fitted):
        weights[label] = coef[row]
        bias[label] = intercept[row]
    return (
        mean.astype(np.float32),
        scale.astype(np.float32),
        np.ascontiguousarray(weights, dtype=np.float32),
        bias.astype(np.float32),
    )

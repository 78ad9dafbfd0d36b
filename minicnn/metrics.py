"""Classification metrics, equal to scikit-learn's on the same input (host code, NumPy).

Labels are class indices: integers ``0 .. num_classes - 1``, as a network's ``argmax`` gives
them. Every function takes NumPy arrays, lists or Tensors (copied to the host) of shape (N,).

Where scikit-learn would look at the labels that happen to occur, these functions use the
classes ``0 .. num_classes - 1`` (by default the largest label + 1), so the results equal
scikit-learn's called with ``labels=range(num_classes)``: a class that occurs nowhere still
gets its row of the confusion matrix and its line in the report. A label outside that range
is an error here (scikit-learn would silently leave it out).

Undefined ratios (the precision of a class that is never predicted, the recall of a class
that never occurs) follow ``zero_division`` as in scikit-learn: ``"warn"`` (the default) gives
0.0 and an :class:`UndefinedMetricWarning` with scikit-learn's message, ``0.0`` or ``1.0``
give that value silently, and ``numpy.nan`` gives NaN, which the macro and weighted averages
then leave out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = [
    "UndefinedMetricWarning",
    "accuracy",
    "balanced_accuracy",
    "classification_report",
    "confusion_matrix",
    "precision_recall_f1",
    "top_k_accuracy",
]

AVERAGES = (None, "micro", "macro", "weighted")


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined (a ratio 0/0) and was set by ``zero_division``."""


# --- input checks --------------------------------------------------------------------------


def _host(value: Any) -> np.ndarray:
    return backend.to_host(value.data if isinstance(value, Tensor) else value)


def _labels(owner: str, name: str, value: Any) -> np.ndarray:
    """``value`` as a non-empty (N,) int64 array of non-negative class indices."""
    array = _host(value)
    if array.ndim != 1:
        raise ValueError(f"{owner}: {name} must be a 1-D array of labels, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{owner}: {name} is empty")
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.all(np.isfinite(array) & (array == np.round(array))):
            array = array.astype(np.int64)  # whole numbers stored as floats
        else:
            raise TypeError(f"{owner}: {name} must hold integer class labels, got {array.dtype}")
    if array.min() < 0:
        raise ValueError(f"{owner}: {name} must be class indices >= 0, got {array.min()}")
    return array.astype(np.int64, copy=False)


def _pair(owner: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _labels(owner, "y_true", y_true), _labels(owner, "y_pred", y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"{owner}: y_true and y_pred must have the same length, got {len(y_true)} "
            f"and {len(y_pred)}"
        )
    return y_true, y_pred


def _num_classes(owner: str, num_classes: int | None, *labels: np.ndarray) -> int:
    largest = max(int(y.max()) for y in labels)
    if num_classes is None:
        return largest + 1
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"{owner}: num_classes must be an int, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"{owner}: num_classes must be positive, got {num_classes}")
    if largest >= num_classes:
        raise ValueError(
            f"{owner}: labels must lie in [0, {num_classes}) for num_classes={num_classes}, "
            f"got {largest}"
        )
    return int(num_classes)


def _zero_division(owner: str, zero_division: Any) -> float:
    """The value a 0/0 ratio takes: 0.0 for "warn", else 0.0, 1.0 or NaN as given."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, (int, float, np.number)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1) or np.isnan(zero_division):
            return float(zero_division)
    raise ValueError(
        f'{owner}: zero_division must be "warn", 0.0, 1.0 or numpy.nan, got {zero_division!r}'
    )


# --- metrics -------------------------------------------------------------------------------


def accuracy(y_true: Any, y_pred: Any) -> float:
    """The fraction of labels predicted exactly (``sklearn.metrics.accuracy_score``)."""
    y_true, y_pred = _pair("accuracy", y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def top_k_accuracy(y_true: Any, y_score: Any, k: int = 2) -> float:
    """The fraction of samples whose true class is among the ``k`` highest scores.

    ``y_score`` is (N, num_classes): logits or probabilities, column c for class c. Ties are
    broken as in ``sklearn.metrics.top_k_accuracy_score`` (which this equals, with
    ``labels=range(num_classes)``): among equal scores the larger class index ranks first.
    ``k`` defaults to scikit-learn's 2; ImageNet-style reports use ``k=5``.
    """
    owner = "top_k_accuracy"
    y_true = _labels(owner, "y_true", y_true)
    scores = _host(y_score)
    if scores.ndim != 2 or len(scores) != len(y_true):
        raise ValueError(
            f"{owner}: y_score must have shape (N, num_classes) with N = {len(y_true)} "
            f"(the length of y_true), got {scores.shape}"
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{owner}: k must be a positive int, got {k!r}")
    _num_classes(owner, scores.shape[1], y_true)
    # a stable ascending sort, reversed: the larger index wins a tie (scikit-learn's order)
    ranked = np.argsort(scores, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return float(np.mean((ranked == y_true[:, None]).any(axis=1)))


def confusion_matrix(
    y_true: Any, y_pred: Any, num_classes: int | None = None, normalize: str | None = None
) -> np.ndarray:
    """``C[i, j]``: how many samples of true class i were predicted as class j.

    Rows are true classes, columns predicted ones (``sklearn.metrics.confusion_matrix``).
    int64 counts, or float64 with ``normalize``: ``"true"`` (each row sums to 1: the recall
    of each class on the diagonal), ``"pred"`` (each column sums to 1: the precision) or
    ``"all"``; an empty row or column stays 0.
    """
    owner = "confusion_matrix"
    y_true, y_pred = _pair(owner, y_true, y_pred)
    n = _num_classes(owner, num_classes, y_true, y_pred)
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(
            f'{owner}: normalize must be None, "true", "pred" or "all", got {normalize!r}'
        )
    counts = np.bincount(y_true * n + y_pred, minlength=n * n).reshape(n, n).astype(np.int64)
    if normalize is None:
        return counts
    total = {
        "true": counts.sum(axis=1, keepdims=True),
        "pred": counts.sum(axis=0, keepdims=True),
        "all": counts.sum(),
    }[normalize]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(counts / total)


def _divide(
    numerator: np.ndarray,
    denominator: np.ndarray,
    value: float,
    warn: bool,
    what: str,
    modifier: str,
    size: int,
) -> np.ndarray:
    """``numerator / denominator`` with ``value`` where the denominator is 0, and
    scikit-learn's warning if ``warn``."""
    empty = denominator == 0
    result = numerator.astype(np.float64) / np.where(empty, 1, denominator)
    if empty.any():
        result[empty] = value
        if warn:
            where = "due to" if size == 1 else "in labels with"
            warnings.warn(
                f"{what} is ill-defined and being set to 0.0 {where} no {modifier} samples. "
                "Use `zero_division` parameter to control this behavior.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
    return result


def _nanaverage(values: np.ndarray, weights: np.ndarray | None) -> float:
    """The (weighted) mean of the values that are not NaN; NaN if all are."""
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    if weights is None or weights[keep].sum() == 0:
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=weights[keep]))


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    num_classes: int | None = None,
    average: str | None = None,
    zero_division: str | float = "warn",
) -> tuple[Any, Any, Any, np.ndarray | None]:
    """Precision, recall, F1 score and support (``precision_recall_fscore_support``).

    For class c: precision = TP / (TP + FP) (of the samples predicted c, how many are c),
    recall = TP / (TP + FN) (of the samples of class c, how many were found),
    F1 = 2 TP / (2 TP + FP + FN) (their harmonic mean), support = TP + FN.

    ``average=None`` returns four (num_classes,) arrays. ``"macro"`` averages the classes
    with equal weight, ``"weighted"`` by their support, ``"micro"`` pools the counts of all
    classes (which gives the accuracy); these return three floats and ``None`` for support.
    """
    owner = "precision_recall_f1"
    y_true, y_pred = _pair(owner, y_true, y_pred)
    n = _num_classes(owner, num_classes, y_true, y_pred)
    if average not in AVERAGES:
        raise ValueError(
            f'{owner}: average must be None, "micro", "macro" or "weighted", got {average!r}'
        )
    value = _zero_division(owner, zero_division)
    warn = isinstance(zero_division, str)  # "warn", the only string _zero_division accepts
    counts = confusion_matrix(y_true, y_pred, n)
    tp, predicted, true = np.diag(counts), counts.sum(axis=0), counts.sum(axis=1)
    if average == "micro":
        tp, predicted, true = (
            tp.sum(keepdims=True),
            predicted.sum(keepdims=True),
            true.sum(keepdims=True),
        )
    size = len(tp)
    precision = _divide(tp, predicted, value, warn, "Precision", "predicted", size)
    recall = _divide(tp, true, value, warn, "Recall", "true", size)
    f1 = _divide(
        2.0 * tp, true.astype(np.float64) + predicted, value, warn, "F-score",
        "true nor predicted", size,
    )  # fmt: skip
    if average is None:
        return precision, recall, f1, true
    weights = true if average == "weighted" else None
    return (
        _nanaverage(precision, weights),
        _nanaverage(recall, weights),
        _nanaverage(f1, weights),
        None,
    )


def balanced_accuracy(y_true: Any, y_pred: Any, adjusted: bool = False) -> float:
    """The mean recall over the classes that occur in ``y_true``, the course's "macro
    average accuracy" (``sklearn.metrics.balanced_accuracy_score``).

    Unlike the accuracy it does not favour the frequent classes: a model that always answers
    the majority class scores 1 / (number of classes). ``adjusted=True`` rescales so that
    chance scores 0 and perfect 1. A predicted class that never occurs in ``y_true`` has no
    recall: it is left out, with a warning (as in scikit-learn).
    """
    y_true, y_pred = _pair("balanced_accuracy", y_true, y_pred)
    counts = confusion_matrix(y_true, y_pred)
    support = counts.sum(axis=1)
    if adjusted and (support > 0).sum() < 2:
        raise ValueError(
            "balanced_accuracy: adjusted=True needs at least two classes in y_true, "
            "got one (chance would be a perfect score)"
        )
    if (support == 0).any() and np.isin(np.flatnonzero(support == 0), y_pred).any():
        warnings.warn("y_pred contains classes not in y_true", UserWarning, stacklevel=2)
    recall = np.diag(counts)[support > 0] / support[support > 0]
    score = float(np.mean(recall))
    if adjusted:
        chance = 1 / len(recall)
        score = (score - chance) / (1 - chance)
    return score


def classification_report(
    y_true: Any,
    y_pred: Any,
    target_names: Sequence[str] | None = None,
    output_dict: bool = False,
    digits: int = 2,
    num_classes: int | None = None,
    zero_division: str | float = "warn",
) -> str | dict[str, Any]:
    """Precision, recall, F1 and support of every class, then the accuracy and the macro and
    weighted averages, in ``sklearn.metrics.classification_report``'s layout::

                      precision    recall  f1-score   support

                 0       1.00      0.67      0.80         3
                 ...
          accuracy                           0.80        10
         macro avg       0.83      0.80      0.79        10
      weighted avg       0.85      0.80      0.80        10

    ``target_names`` names the classes (and without ``num_classes`` sets how many there are).
    ``output_dict=True`` returns the same numbers as ``{name: {"precision": ..., "recall":
    ..., "f1-score": ..., "support": ...}, "accuracy": float, "macro avg": {...},
    "weighted avg": {...}}`` with every value a float, as scikit-learn does.
    """
    owner = "classification_report"
    y_true, y_pred = _pair(owner, y_true, y_pred)
    n = _num_classes(owner, num_classes, y_true, y_pred)
    if num_classes is None and target_names is not None:
        n = max(n, len(target_names))  # the names may include classes that do not occur
    if target_names is None:
        target_names = [str(c) for c in range(n)]
    elif len(target_names) != n:
        raise ValueError(
            f"{owner}: {len(target_names)} target_names for {n} classes (num_classes={n})"
        )
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or digits < 0:
        raise ValueError(f"{owner}: digits must be a non-negative int, got {digits!r}")
    p, r, f1, support = precision_recall_f1(y_true, y_pred, n, None, zero_division)
    headers = ["precision", "recall", "f1-score", "support"]
    rows = [
        (str(name), *values) for name, *values in zip(target_names, p, r, f1, support, strict=True)
    ]
    total = int(support.sum())
    averages = {
        "accuracy": [*precision_recall_f1(y_true, y_pred, n, "micro", zero_division)[:3], total],
        "macro avg": [*precision_recall_f1(y_true, y_pred, n, "macro", zero_division)[:3], total],
        "weighted avg": [
            *precision_recall_f1(y_true, y_pred, n, "weighted", zero_division)[:3], total,
        ],
    }  # fmt: skip
    if output_dict:
        report: dict[str, Any] = {
            name: dict(zip(headers, [float(v) for v in values], strict=True))
            for name, *values in rows
        }
        for name, values in averages.items():
            report[name] = dict(zip(headers, [float(v) for v in values], strict=True))
        report["accuracy"] = report["accuracy"]["precision"]
        return report
    width = max(max(len(name) for name, *_ in rows), len("weighted avg"), digits)
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", *headers, width=width) + "\n\n"
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for values in rows:
        text += row.format(*values, width=width, digits=digits)
    text += "\n"
    accuracy_row = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
    text += accuracy_row.format(
        "accuracy", "", "", *averages["accuracy"][2:], width=width, digits=digits
    )
    for name in ("macro avg", "weighted avg"):
        text += row.format(name, *averages[name], width=width, digits=digits)
    return text

"""minicnn.metrics equals scikit-learn's metrics (with labels=range(num_classes)) on
hypothesis-generated labels, warnings of undefined ratios included."""

import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn import metrics

sk = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the oracle of these tests")

ZERO_DIVISION = ["warn", 0.0, 1.0, np.nan]


@st.composite
def labelled(draw, min_classes=1, max_classes=6):
    """(y_true, y_pred, num_classes): class indices in [0, num_classes)."""
    n_classes = draw(st.integers(min_classes, max_classes))
    n = draw(st.integers(1, 40))
    labels = st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)
    return np.array(draw(labels)), np.array(draw(labels)), n_classes


def messages(call):
    """The result of ``call()`` and the set of warning messages it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, {str(w.message) for w in caught if "single label" not in str(w.message)}


def same(a, b):
    """Equal floats, arrays or dicts of them, NaN equal to NaN."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is b
    return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)


@given(labelled())
def test_accuracy(case):
    y, p, _ = case
    assert metrics.accuracy(y, p) == sk.accuracy_score(y, p)
    assert metrics.accuracy(mc.tensor(y), list(p)) == sk.accuracy_score(y, p)


@given(labelled(), st.sampled_from([None, "true", "pred", "all"]))
def test_confusion_matrix(case, normalize):
    y, p, n = case
    labels = list(range(n))
    theirs, _ = messages(lambda: sk.confusion_matrix(y, p, labels=labels, normalize=normalize))
    ours = metrics.confusion_matrix(y, p, num_classes=n, normalize=normalize)
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    # without num_classes: classes 0 .. the largest label
    largest = max(y.max(), p.max())
    theirs, _ = messages(lambda: sk.confusion_matrix(y, p, labels=list(range(largest + 1))))
    assert np.array_equal(metrics.confusion_matrix(y, p), theirs)


def test_confusion_matrix_rows_are_true_classes():
    counts = metrics.confusion_matrix([0, 0, 1, 2], [1, 1, 1, 0], num_classes=4)
    assert counts.tolist() == [[0, 2, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]


@given(
    labelled(),
    st.sampled_from([None, "micro", "macro", "weighted"]),
    st.sampled_from(ZERO_DIVISION),
)
def test_precision_recall_f1(case, average, zero_division):
    y, p, n = case
    theirs, their_warnings = messages(
        lambda: sk.precision_recall_fscore_support(
            y, p, labels=list(range(n)), average=average, zero_division=zero_division
        )
    )
    ours, our_warnings = messages(
        lambda: metrics.precision_recall_f1(y, p, n, average=average, zero_division=zero_division)
    )
    assert all(same(a, b) for a, b in zip(ours, theirs, strict=True)), (ours, theirs)
    assert our_warnings == their_warnings
    if zero_division != "warn":
        assert not our_warnings


def test_undefined_precision_warns_as_scikit_learn():
    with pytest.warns(metrics.UndefinedMetricWarning, match="Precision is ill-defined"):
        precision, recall, f1, support = metrics.precision_recall_f1([0, 1, 1], [0, 0, 0])
    assert precision.tolist() == [1 / 3, 0.0] and support.tolist() == [1, 2]
    assert metrics.precision_recall_f1([0, 1], [0, 0], zero_division=1.0)[0].tolist() == [0.5, 1.0]


@given(labelled(), st.booleans())
def test_balanced_accuracy(case, adjusted):
    y, p, _ = case
    if adjusted and len(np.unique(y)) < 2:
        with pytest.raises(ValueError, match="at least two classes"):
            metrics.balanced_accuracy(y, p, adjusted=True)
        return
    theirs, their_warnings = messages(lambda: sk.balanced_accuracy_score(y, p, adjusted=adjusted))
    ours, our_warnings = messages(lambda: metrics.balanced_accuracy(y, p, adjusted=adjusted))
    assert math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=1e-15)
    assert our_warnings == their_warnings


def test_balanced_accuracy_is_the_mean_recall():
    # class 0: 3 of 4 right, class 1: 1 of 1; accuracy 0.8 but balanced 0.875
    y, p = [0, 0, 0, 0, 1], [0, 0, 0, 1, 1]
    assert metrics.accuracy(y, p) == 0.8
    assert metrics.balanced_accuracy(y, p) == 0.875


@given(
    st.integers(3, 6).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.integers(1, 30).flatmap(
                lambda n: st.tuples(
                    st.lists(st.integers(0, c - 1), min_size=n, max_size=n),
                    # small integers: many ties, broken as scikit-learn breaks them
                    st.lists(
                        st.lists(st.integers(-2, 2), min_size=c, max_size=c),
                        min_size=n,
                        max_size=n,
                    ),
                )
            ),
        )
    ),
    st.integers(1, 6),
)
def test_top_k_accuracy(case, k):
    n, (y, scores) = case
    y, scores = np.array(y), np.array(scores, dtype=np.float32)
    theirs, _ = messages(lambda: sk.top_k_accuracy_score(y, scores, k=k, labels=list(range(n))))
    assert metrics.top_k_accuracy(y, scores, k=k) == theirs
    assert metrics.top_k_accuracy(mc.tensor(y), mc.tensor(scores), k) == theirs


@given(
    labelled(),
    st.integers(0, 4),
    st.booleans(),
    st.booleans(),
    st.sampled_from(ZERO_DIVISION),
)
def test_classification_report(case, digits, named, output_dict, zero_division):
    y, p, n = case
    names = [f"class-{'x' * c}" for c in range(n)] if named else None
    theirs, their_warnings = messages(
        lambda: sk.classification_report(
            y,
            p,
            labels=list(range(n)),
            target_names=names,
            digits=digits,
            output_dict=output_dict,
            zero_division=zero_division,
        )
    )
    ours, our_warnings = messages(
        lambda: metrics.classification_report(
            y, p, names, output_dict, digits, num_classes=n, zero_division=zero_division
        )
    )
    if output_dict:
        assert same(ours, theirs) and list(ours) == list(theirs)
    else:
        if not (y == p).any():
            # scikit-learn's counts turn float when no prediction is right, and it writes
            # the support as "3.0"; minicnn writes counts as integers always
            theirs = re.sub(r"(\d+)\.0$", lambda m: m[1].rjust(len(m[0])), theirs, flags=re.M)
        assert ours == theirs
    assert our_warnings == their_warnings


def test_classification_report_classes_from_target_names():
    report, caught = messages(
        lambda: metrics.classification_report([0, 1], [0, 1], target_names=["cat", "dog", "emu"])
    )
    assert "emu" in report and report.count("\n") == 9
    assert len(caught) == 3 and any("labels with no true samples" in m for m in caught)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: metrics.accuracy([0, 1], [0]), ValueError, "same length, got 2 and 1"),
        (lambda: metrics.accuracy([[0, 1]], [[0, 1]]), ValueError, "1-D array of labels"),
        (lambda: metrics.accuracy([], []), ValueError, "y_true is empty"),
        (lambda: metrics.accuracy([0.5], [0]), TypeError, "integer class labels, got float64"),
        (lambda: metrics.accuracy([0], [-1]), ValueError, "y_pred must be class indices >= 0"),
        (
            lambda: metrics.confusion_matrix([0, 3], [0, 1], num_classes=3),
            ValueError,
            r"labels must lie in \[0, 3\) for num_classes=3, got 3",
        ),
        (lambda: metrics.confusion_matrix([0], [0], normalize="rows"), ValueError, "normalize"),
        (
            lambda: metrics.precision_recall_f1([0], [0], average="binary"),
            ValueError,
            "average must be",
        ),
        (
            lambda: metrics.precision_recall_f1([0], [0], zero_division=0.5),
            ValueError,
            "zero_division must be",
        ),
        (
            lambda: metrics.classification_report([0, 1], [0, 1], target_names=["a"]),
            ValueError,
            "1 target_names for 2 classes",
        ),
        (
            lambda: metrics.top_k_accuracy([0, 1], np.zeros((3, 4))),
            ValueError,
            r"y_score must have shape \(N, num_classes\) with N = 2",
        ),
        (lambda: metrics.top_k_accuracy([0], np.zeros((1, 4)), k=0), ValueError, "k must be"),
        (
            lambda: metrics.top_k_accuracy([5], np.zeros((1, 4))),
            ValueError,
            r"labels must lie in \[0, 4\)",
        ),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()

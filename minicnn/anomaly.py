"""``detect_anomaly()``: find the first op whose output or gradient is NaN or infinite.

A NaN loss says only that something went wrong somewhere. Inside ``with detect_anomaly():``
every op checks what it computes: the output of its ``forward`` and, during the backward pass,
the gradients its ``backward`` returns. The first op that produces a NaN or an infinity
raises :class:`AnomalyError`, naming the op, the shapes and dtypes of its inputs, and the layer
whose ``forward`` called it (``features.3 (Conv2d(...))``) with the line of your code it ran
from. It also says whether the op's own inputs were already non-finite: if they were, the bad
values came in from outside the graph (the data, a parameter, the initial gradient)::

    with minicnn.detect_anomaly():
        loss = loss_fn(model(x), y)   # forward checks
        loss.backward()               # backward checks; layer names come from the forward

Run the forward inside the block too: the layer that called an op is recorded when the op
runs forward. Checking every array is slow (each one is scanned, and on a GPU the answer is
copied to the host), so switch it on to debug, not to train. Off, each op pays one test.
As grad mode, anomaly mode is per thread.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from . import backend
from .autograd import _anomaly_mode
from .nn.module import Module, _running_layers

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(RuntimeError):
    """An op produced a NaN or an infinity inside ``detect_anomaly()``."""


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly()`` is on in this thread."""
    return _anomaly_mode.check is not None


class detect_anomaly:  # noqa: N801 (named like PyTorch's)
    """Context manager and decorator: every op checks its outputs and gradients for NaN/inf.

    ``with detect_anomaly():`` or ``@detect_anomaly()``; blocks may nest.
    """

    def __init__(self) -> None:
        self._previous: list[Callable | None] = []  # a stack, so one instance can be re-entered

    def __enter__(self) -> None:
        self._previous.append(_anomaly_mode.check)
        _anomaly_mode.check = _check

    def __exit__(self, *exc_info: object) -> None:
        _anomaly_mode.check = self._previous.pop()

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return func(*args, **kwargs)

        return wrapper


# --- the check the engine calls ------------------------------------------------------------


def _is_float_array(a: Any) -> bool:
    return a is not None and hasattr(a, "dtype") and a.dtype.kind in "fc"


def _all_finite(a: Any) -> bool:
    xp = backend.get_array_module(a)
    return bool(backend.to_host(xp.isfinite(a).all()))


def _describe_bad(a: Any) -> str:
    """``"NaN (3 of 128 elements)"``, ``"infinity (1 of 4 elements)"`` or both."""
    xp = backend.get_array_module(a)
    nan = int(backend.to_host(xp.isnan(a).sum()))
    inf = int(backend.to_host(xp.isinf(a).sum()))
    parts = [f"NaN ({nan} of {a.size} elements)"] if nan else []
    parts += [f"infinity ({inf} of {a.size} elements)"] if inf else []
    return " and ".join(parts)


def _caller() -> str | None:
    """``file:line in function`` of the innermost frame outside minicnn: the user's code."""
    frame = sys._getframe(2)
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if not path.startswith(_PACKAGE_DIR + os.sep):
            return f"{os.path.basename(path)}:{frame.f_lineno} in {frame.f_code.co_name}"
        frame = frame.f_back
    return None


def _layer_name(stack: Sequence[Module]) -> str:
    """The innermost running layer, by its dotted name in the outermost one."""
    if not stack:
        return "outside any layer"
    root, path = stack[0], []
    for parent, child in zip(stack, stack[1:], strict=False):
        name = next((n for n, m in parent.named_modules() if m is child), None)
        path.append(type(child).__name__ if name is None else name)
    layer = stack[-1]
    text = f"{type(layer).__name__}({layer.extra_repr()})"
    if path:
        return f"by layer '{'.'.join(path)}' ({text}) of {type(root).__name__}"
    return f"by {text}"


def _shapes(tensors: Sequence[Any]) -> str:
    parts = ["None" if t is None else f"{tuple(t.shape)} {t.dtype}" for t in tensors]
    return ", ".join(parts) if parts else "none"


def _non_finite_inputs(inputs: Sequence[Any], stack: Sequence[Module]) -> str:
    """Which inputs already held NaN/inf, naming those that are the layer's parameters."""
    own = {id(p): n for n, p in stack[-1].named_parameters(recurse=False)} if stack else {}
    bad = []
    for i, t in enumerate(inputs):
        if t is not None and _is_float_array(t.data) and not _all_finite(t.data):
            bad.append(f"{i} (parameter '{own[id(t)]}')" if id(t) in own else str(i))
    if not bad:
        return ""
    return (
        f"; but its input {', '.join(bad)} already held NaN or inf: the bad values came in from "
        "outside the graph (the data, a parameter) or from an op run outside detect_anomaly()"
    )


def _check(stage: str, fn: Any, inputs: Sequence[Any], arrays: Sequence[Any]) -> None:
    """Raise if one of ``arrays`` (the op's outputs, or in backward its inputs' gradients) holds
    NaN or inf. In forward, first remember where the op was called, for a later backward."""
    if stage == "forward":
        fn._anomaly_where = (tuple(_running_layers.stack), _caller())
    for i, a in enumerate(arrays):
        if not _is_float_array(a) or _all_finite(a):
            continue
        op = type(fn).__name__
        stack, line = getattr(fn, "_anomaly_where", (None, None))
        if stack is None:
            called = "run forward outside detect_anomaly(), so its layer is unknown"
        else:
            called = f"called {_layer_name(stack)}" + (f", at {line}" if line else "")
        if stage == "forward":
            what = f"{op} forward produced {_describe_bad(a)} in its output {i} of shape {a.shape}"
            came_in = _non_finite_inputs(inputs, stack)
        else:
            what = (
                f"{op} backward returned {_describe_bad(a)} in the gradient of its input {i} "
                f"of shape {a.shape}"
            )
            came_in = ""
        raise AnomalyError(
            f"detect_anomaly: {what}; its inputs: {_shapes(inputs)}; the op was {called}{came_in}"
        )

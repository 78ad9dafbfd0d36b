"""The autograd engine: ``Function`` (one differentiable op) and the backward pass.

A ``Function`` computes its ``forward`` on raw arrays and keeps on ``self`` what its
``backward`` needs. Calling an instance on Tensors records it in the graph::

    class Cube(Function):
        '''y = x**3;  dL/dx = dL/dy * 3 x**2'''
        def forward(self, x):
            self.x = x
            return x**3
        def backward(self, grad):
            return grad * 3 * self.x**2

    y = Cube()(x)

**A context per call.** Calling an instance runs ``forward`` on a fresh copy of it, which
becomes the graph node (``y.grad_fn``) and holds what that call saved; the instance itself
keeps only its options. So one instance may be called many times (``sq(a) + sq(b)``), each
call with its own saved values, as PyTorch's ``ctx`` gives each call its own.

**Saved values are guarded.** Every Tensor has a version counter that each in-place write
bumps (``x[...] = v``, ``x.add_(y)``, an optimizer step). A call remembers the version of each
input and output whose array it saved; if one has changed when ``backward`` needs it, the
gradient would be wrong, and backward raises instead, naming the op and the tensor.

The graph is made of Functions; each output Tensor points at the Function that made it.
``backward`` visits the Functions in topological order (every consumer of a tensor before the
tensor's producer), so a gradient is complete when it is passed on. The walk uses an explicit
stack, not recursion, so a chain of thousands of ops works.

Grad mode (``no_grad``, ``enable_grad``) is per thread, as in PyTorch: an evaluation thread
under ``no_grad`` does not switch off recording for a training thread beside it.
"""

from __future__ import annotations

import functools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import backend

if TYPE_CHECKING:
    from .tensor import Tensor


class _GradModeState(threading.local):
    enabled = True  # each thread starts with grad mode on


_grad_mode = _GradModeState()


class _AnomalyModeState(threading.local):
    """``minicnn.detect_anomaly()`` (minicnn/anomaly.py) sets ``check`` for its thread. While it
    is None, anomaly detection costs each op this one test and nothing more."""

    check: Callable | None = None  # check(stage, fn, inputs, arrays) raises on NaN or inf


_anomaly_mode = _AnomalyModeState()


def is_grad_enabled() -> bool:
    """Whether ops currently record a graph in this thread (False inside ``no_grad``)."""
    return _grad_mode.enabled


class _GradMode:
    """Context manager and decorator that sets whether ops record a graph."""

    enabled: bool

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so one instance can be entered twice

    def __enter__(self) -> None:
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self.enabled

    def __exit__(self, *exc_info: object) -> None:
        _grad_mode.enabled = self._previous.pop()

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):  # noqa: N801 (named like PyTorch's)
    """Build no graph: for evaluation and for parameter updates. ``with no_grad():`` or ``@no_grad()``."""

    enabled = False


class enable_grad(_GradMode):  # noqa: N801
    """Record a graph again inside a ``no_grad`` block."""

    enabled = True


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` back to ``shape``: the backward of NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1, so each
    copy's gradient adds up: sum over the leading axes, then over the axes that were 1.
    """
    ### BEGIN SOLUTION
    ### HINT: sum over the leading axes that ``shape`` does not have, then (keepdims=True)
    ### HINT: over the axes where ``shape`` has a 1 and ``grad`` does not.
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad.reshape(shape)
    ### END SOLUTION


class Function(ABC):
    """Base class of every differentiable op.

    Subclasses implement ``forward(self, *arrays)`` returning an array (or a tuple of arrays),
    and ``backward(self, *grad_outputs)`` returning one gradient per input (``None`` for an
    input that needs none). Options go to ``__init__``; Tensors go to the call. An input given as
    ``None`` (an absent bias, say) reaches ``forward`` as ``None``.
    ``self.needs_input_grad`` tells backward which gradients are wanted.

    Each call runs on its own copy of the instance (see the module docstring), so what
    ``forward`` keeps on ``self`` belongs to that call alone.
    """

    @abstractmethod
    def forward(self, *arrays: Any) -> Any:
        """The op on raw arrays; keep on ``self`` what ``backward`` needs."""

    @abstractmethod
    def backward(self, *grad_outputs: Any) -> Any:
        """One gradient array per input (``None`` where none is needed), from the outputs'."""

    def __call__(self, *inputs: Any) -> Any:
        from .tensor import Tensor, as_tensor

        ctx = object.__new__(type(self))  # this call's context: a copy holding the options
        ctx.__dict__.update(self.__dict__)
        tensors = [None if x is None else as_tensor(x) for x in inputs]
        ctx.needs_input_grad = tuple(t is not None and t.requires_grad for t in tensors)
        _check_same_device(ctx, tensors)
        options = set(vars(ctx))
        output = ctx.forward(*(None if t is None else t.data for t in tensors))

        record = _grad_mode.enabled and any(ctx.needs_input_grad)
        outputs = output if isinstance(output, tuple) else (output,)
        results = tuple(
            Tensor._from_op(o, ctx if record else None, i) for i, o in enumerate(outputs)
        )
        if record:
            ctx.inputs = tensors
            ctx._saved = set(vars(ctx)) - options  # what forward kept for backward
            ctx._versions = _versions_now(tensors, results)
            ctx._output_meta = [(o.shape, o.dtype) for o in outputs]
            ctx._output_hooks: dict[int, list[Callable]] = {}
            ctx._retained: dict[int, Tensor] = {}  # outputs that keep their .grad
        if _anomaly_mode.check is not None:  # detect_anomaly(): a NaN/inf output raises here
            _anomaly_mode.check("forward", ctx, tensors, outputs)
        return results if isinstance(output, tuple) else results[0]

    def _release(self) -> None:
        """Drop the inputs and everything forward saved: the graph behind is freed."""
        for name in self._saved:
            delattr(self, name)
        self.inputs, self._versions = None, ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backward>"


def _versions_now(inputs: list[Tensor | None], outputs: tuple[Tensor, ...]) -> list:
    """(what, array, version counter, version now) of every input and output of a call.

    Kept cheaply for every call; only when a version has changed does backward look at whether
    the call saved that array (the counter, a one-element list shared by a tensor and its
    ``detach()``, is kept rather than the tensor, so that the graph keeps no output alive).
    """
    now = [
        (("input", i), t.data, t._version_counter, t._version_counter[0])
        for i, t in enumerate(inputs)
        if t is not None
    ]
    now += [(("output", i), t.data, t._version_counter, 0) for i, t in enumerate(outputs)]
    return now


def _saved(fn: Function, array: Any) -> bool:
    """Whether ``fn``'s forward kept ``array``, or a view of its memory, for the backward."""
    xp = backend.get_array_module(array)
    for name in fn._saved:
        value = getattr(fn, name)
        for a in value if isinstance(value, (tuple, list)) else (value,):
            if a is array or (hasattr(a, "strides") and xp.may_share_memory(a, array)):
                return True
    return False


def _check_versions(fn: Function) -> None:
    for (kind, index), array, counter, version in fn._versions:
        if counter[0] != version and _saved(fn, array):
            raise RuntimeError(
                f"{type(fn).__name__} backward: one of the tensors it saved for the gradient, "
                f"its {kind} {index} of shape {tuple(array.shape)} and dtype {array.dtype}, was "
                f"modified by an in-place operation (it is at version {counter[0]}, saved at "
                f"version {version}); the gradient would be wrong. Change it only after "
                f"backward, or .clone() it first"
            )


def _check_same_device(fn: Function, tensors: list[Tensor | None]) -> None:
    devices = {t.device for t in tensors if t is not None}
    if len(devices) > 1:
        raise RuntimeError(
            f"{type(fn).__name__}: all inputs must be on one device, got {sorted(devices)}"
        )


_FREED_GRAPH = (
    "trying to backward through the graph a second time: its intermediate values were "
    "freed; call backward(retain_graph=True) the first time"
)


def _topological_order(root: Function) -> list[Function]:
    """Functions reachable from ``root``, each before the producers of its inputs.

    A depth-first search that appends a Function once all its inputs' producers are appended
    (post-order); reversed, every consumer comes before its producers. A Function is marked
    visited when it is expanded, not when it is pushed: it may be pushed again by another
    consumer before then, and it must then be finished after that consumer's other inputs.
    """
    ### BEGIN SOLUTION
    ### HINT: a depth-first search with a stack of (fn, children_done) pairs, no recursion (a
    ### HINT: chain of thousands of ops must work). Append fn when its children are done, and
    ### HINT: reverse at the end. fn.inputs are Tensors (or None); t.grad_fn is the producer.
    ### HINT: A Function whose inputs are None was freed: raise RuntimeError(_FREED_GRAPH).
    order: list[Function] = []
    expanded: set[int] = set()
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if id(fn) in expanded:
            continue
        if fn.inputs is None:
            raise RuntimeError(_FREED_GRAPH)
        expanded.add(id(fn))
        stack.append((fn, True))
        for t in fn.inputs:
            child = None if t is None else t.grad_fn
            if child is not None and id(child) not in expanded:
                stack.append((child, False))
    order.reverse()  # post-order reversed: consumers first
    return order
    ### END SOLUTION


def _run_hooks(hooks: Iterable[Callable], grad: Any) -> Any:
    from .tensor import Tensor

    for hook in hooks:
        result = hook(Tensor._from_op(grad, None, 0))
        if result is not None:
            grad = result.data if isinstance(result, Tensor) else result
    return grad


def run_backward(root: Tensor, grad: Any, retain_graph: bool = False) -> None:
    """Backpropagate ``grad`` (an array shaped like ``root``) through the graph behind ``root``.

    ``pending`` holds, for each Function not yet visited, the gradients of its outputs summed
    over all their consumers so far; the topological order guarantees that they are complete
    when the Function's turn comes.
    """
    if root.grad_fn is None:
        if root.requires_grad:  # a leaf: its gradient is the given one
            root._accumulate(_run_hooks(root._hooks, grad))
        return
    pending: dict[int, list[Any]] = {id(root.grad_fn): _empty_slots(root.grad_fn)}
    pending[id(root.grad_fn)][root._output_index] = grad
    for fn in _topological_order(root.grad_fn):
        grads = pending.pop(id(fn), None)
        if grads is not None:  # else reachable, but no gradient flowed into it
            _backward_through(fn, grads, pending)
        if not retain_graph:
            fn._release()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _empty_slots(fn: Function) -> list[Any]:
    return [None] * len(fn._output_meta)


def _backward_through(fn: Function, grads: list[Any], pending: dict[int, list[Any]]) -> None:
    """Run ``fn.backward`` on its outputs' gradients and hand the results to its inputs."""
    _check_versions(fn)
    for i, hooks in fn._output_hooks.items():
        if grads[i] is not None:
            grads[i] = _run_hooks(hooks, grads[i])
    for i, t in fn._retained.items():  # after the hooks, as in PyTorch
        if grads[i] is not None:
            t._accumulate(grads[i])
    xp = backend.get_array_module(*(g for g in grads if g is not None))
    grads = [
        xp.zeros(shape, dtype) if g is None else g
        for g, (shape, dtype) in zip(grads, fn._output_meta, strict=True)
    ]
    input_grads = fn.backward(*grads)
    if not isinstance(input_grads, (tuple, list)):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.inputs):
        raise RuntimeError(
            f"{type(fn).__name__}.backward returned {_count(len(input_grads), 'gradient')} "
            f"for {_count(len(fn.inputs), 'input')}: return one per input of forward, in "
            f"order (None for an input that needs none)"
        )
    if _anomaly_mode.check is not None:  # detect_anomaly(): a NaN/inf gradient raises here
        _anomaly_mode.check("backward", fn, fn.inputs, input_grads)
    ### BEGIN SOLUTION
    ### HINT: for each input t and its gradient g (skip None and inputs without requires_grad):
    ### HINT: a leaf (t.grad_fn is None) accumulates g (t._accumulate, after t's hooks); else
    ### HINT: add g into slot t._output_index of pending[id(t.grad_fn)] (see _empty_slots).
    for t, g in zip(fn.inputs, input_grads, strict=True):
        if t is None or g is None or not t.requires_grad:
            continue
        if g.shape != t.shape:
            raise RuntimeError(
                f"{type(fn).__name__}.backward returned a gradient of shape {g.shape} "
                f"for an input of shape {t.shape}"
            )
        if g.dtype != t.dtype:  # an op that mixed dtypes: the gradient takes the input's
            g = g.astype(t.dtype)
        if t.grad_fn is None:
            t._accumulate(_run_hooks(t._hooks, g))
        else:
            slot = pending.setdefault(id(t.grad_fn), _empty_slots(t.grad_fn))
            i = t._output_index
            slot[i] = g if slot[i] is None else slot[i] + g
    ### END SOLUTION

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

The graph is made of Functions; each output Tensor points at the Function that made it.
``backward`` visits the Functions in topological order (every consumer of a tensor before the
tensor's producer), so a gradient is complete when it is passed on. The walk uses an explicit
stack, not recursion, so a chain of thousands of ops works.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import backend

if TYPE_CHECKING:
    from .tensor import Tensor

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether ops currently record a graph (False inside ``no_grad``)."""
    return _grad_enabled


class _GradMode:
    """Context manager and decorator that sets whether ops record a graph."""

    enabled: bool

    def __init__(self) -> None:
        self._previous: list[bool] = []  # a stack, so one instance can be entered twice

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous.append(_grad_enabled)
        _grad_enabled = self.enabled

    def __exit__(self, *exc_info: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous.pop()

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
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad.reshape(shape)


class Function(ABC):
    """Base class of every differentiable op.

    Subclasses implement ``forward(self, *arrays)`` returning an array (or a tuple of arrays),
    and ``backward(self, *grad_outputs)`` returning one gradient per input (``None`` for an
    input that needs none). Options go to ``__init__``; Tensors go to the call. An input given as
    ``None`` (an absent bias, say) reaches ``forward`` as ``None``.
    ``self.needs_input_grad`` tells backward which gradients are wanted.
    """

    @abstractmethod
    def forward(self, *arrays: Any) -> Any:
        """The op on raw arrays; keep on ``self`` what ``backward`` needs."""

    @abstractmethod
    def backward(self, *grad_outputs: Any) -> Any:
        """One gradient array per input (``None`` where none is needed), from the outputs'."""

    def __call__(self, *inputs: Any) -> Any:
        from .tensor import Tensor, as_tensor

        tensors = [None if x is None else as_tensor(x) for x in inputs]
        self.needs_input_grad = tuple(t is not None and t.requires_grad for t in tensors)
        _check_same_device(self, tensors)
        attributes_before = set(vars(self))
        output = self.forward(*(None if t is None else t.data for t in tensors))

        record = _grad_enabled and any(self.needs_input_grad)
        outputs = output if isinstance(output, tuple) else (output,)
        if record:
            self.inputs = tensors
            self._saved = set(vars(self)) - attributes_before  # what forward kept for backward
            self._output_meta = [(o.shape, o.dtype) for o in outputs]
            self._output_hooks: dict[int, list[Callable]] = {}
            self._retained: dict[int, Tensor] = {}  # outputs that keep their .grad
        results = tuple(
            Tensor._from_op(o, self if record else None, i) for i, o in enumerate(outputs)
        )
        return results if isinstance(output, tuple) else results[0]

    def _release(self) -> None:
        """Drop the inputs and everything forward saved: the graph behind is freed."""
        for name in self._saved:
            delattr(self, name)
        self.inputs = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backward>"


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


def _empty_slots(fn: Function) -> list[Any]:
    return [None] * len(fn._output_meta)


def _backward_through(fn: Function, grads: list[Any], pending: dict[int, list[Any]]) -> None:
    """Run ``fn.backward`` on its outputs' gradients and hand the results to its inputs."""
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
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(fn.inputs):
        raise RuntimeError(
            f"{type(fn).__name__}.backward returned {len(input_grads)} gradients "
            f"for {len(fn.inputs)} inputs"
        )
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

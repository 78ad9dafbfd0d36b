"""``Tensor``: an array plus what autograd needs to compute its gradient.

A Tensor holds ``.data`` (a NumPy or CuPy array), ``.requires_grad``, ``.grad`` (a Tensor,
filled by ``backward``) and ``.grad_fn`` (the Function that made it, ``None`` for a leaf).
Every operator below is a ``Function`` from ``minicnn.ops``: this file only wires them up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import backend
from .autograd import run_backward
from .ops import math as M
from .ops import reduce as R
from .ops import shape as S

Dims = int | tuple[int, ...] | None


def _default_dtype(data: Any, dtype: Any) -> Any:
    """PyTorch's defaults: Python floats become float32; arrays keep their dtype."""
    if dtype is not None or hasattr(data, "dtype"):
        return dtype
    array = backend.asarray(data)
    return backend.float32 if array.dtype == backend.float64 else None


class _RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` takes the hook off again."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor:
    """An n-dimensional array that records the ops applied to it, for backpropagation."""

    __array_ufunc__ = None  # NumPy defers to Tensor's reflected operators: array + tensor works
    __hash__ = object.__hash__  # == is elementwise, so hash by identity as PyTorch does

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        dtype: Any = None,
        device: str | None = None,
    ):
        if isinstance(data, Tensor):
            data = data.data
        device = backend.device_of(data) if device is None else device
        # a copy, as torch.tensor makes: later in-place updates never reach the caller's array
        self.data = backend.array(data, dtype=_default_dtype(data, dtype), device=device)
        if self.data.dtype.kind not in "biuf":
            raise TypeError(
                f"tensors hold booleans or numbers, got data of dtype {self.data.dtype}"
            )
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, got {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self.grad_fn = None
        self._output_index = 0
        self._hooks: list[Callable] = []

    @classmethod
    def _from_op(cls, data: Any, grad_fn: Any, index: int) -> Tensor:
        """Wrap an op's output array without copying or converting it."""
        t = cls.__new__(cls)
        t.data, t.grad, t.grad_fn, t._output_index, t._hooks = data, None, grad_fn, index, []
        t.requires_grad = grad_fn is not None
        return t

    # --- properties ---------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.permute(*reversed(range(self.ndim)))

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # --- autograd -----------------------------------------------------------------------

    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``grad`` is the upstream gradient dL/dself; it may be left out for a one-element tensor
        (it is then 1). Gradients add up in the leaves' ``.grad`` across calls.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no graph)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element tensor, got shape "
                    f"{self.shape}; pass grad= with that shape"
                )
            grad = backend.get_array_module(self.data).ones_like(self.data)
        grad = (
            grad.data
            if isinstance(grad, Tensor)
            else backend.asarray(grad, self.dtype, self.device)
        )
        if grad.shape != self.data.shape:
            raise RuntimeError(
                f"backward(): grad of shape {grad.shape} for a tensor of shape {self.shape}"
            )
        run_backward(self, grad.astype(self.dtype, copy=False), retain_graph)

    def _accumulate(self, grad: Any) -> None:
        # A copy: backward may hand the same array to several inputs (the two sides of a + b).
        total = grad.copy() if self.grad is None else self.grad.data + grad
        self.grad = Tensor._from_op(total, None, 0)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> _RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient that flows on."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that does not require grad")
        if self.grad_fn is None:
            hooks = self._hooks
        else:
            hooks = self.grad_fn._output_hooks.setdefault(self._output_index, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep the gradient of this intermediate (non-leaf) tensor in ``.grad``."""
        if self.grad_fn is not None:
            self.grad_fn._retained[self._output_index] = self

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory)."""
        return Tensor._from_op(self.data, None, 0)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    # --- conversion ---------------------------------------------------------------------

    def numpy(self) -> Any:
        """The data as a NumPy array (a host copy for GPU tensors)."""
        return backend.to_host(self.data)

    def item(self) -> int | float | bool:
        if self.data.size != 1:
            raise ValueError(f"item() needs a one-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        """``numpy.asarray(t)`` gives the values (a host copy for GPU tensors)."""
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, got {self.dtype}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        return format(self.item(), spec) if spec and self.data.size == 1 else repr(self)

    def to(self, target: Any) -> Tensor:
        """Move to a device (``"cpu"``, ``"cuda"``) or convert to a dtype; differentiable."""
        if isinstance(target, str):
            device = backend.normalize_device(target)
            return self if device == self.device else M.ToDevice(device)(self)
        return self if self.dtype == target else M.Cast(target)(self)

    def float(self) -> Tensor:
        return self.to(backend.float32)

    def double(self) -> Tensor:
        return self.to(backend.float64)

    def __repr__(self) -> str:
        extras = []
        if self.dtype != backend.float32:
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        body = backend.array_to_string(self.data, prefix="tensor(")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    # --- arithmetic ---------------------------------------------------------------------

    def _cast(self, dtype: Any) -> Tensor:
        return self if self.dtype == dtype else Tensor._from_op(self.data.astype(dtype), None, 0)

    def _pair(self, other: Any) -> tuple[Tensor, Tensor]:
        """``self`` and ``other`` as two Tensors whose dtypes combine as in PyTorch.

        A number (Python or NumPy, or a 0-d array) adapts to the tensor: it takes the
        tensor's dtype when that is floating, so float32 stays float32; a float number with an
        integer tensor gives float32. Between tensors, an integer one takes the floating one's
        dtype. (NumPy alone would promote both cases to float64.)
        """
        value = other.item() if hasattr(other, "item") and getattr(other, "ndim", 1) == 0 else other
        if isinstance(value, (bool, int, float)) and not isinstance(other, Tensor):
            a = self
            if a.dtype.kind not in "fc" and isinstance(value, float):
                a = a._cast(backend.float32)
            elif a.dtype.kind == "b" and not isinstance(value, bool):
                a = a._cast(backend.int64)
            return a, Tensor._from_op(backend.asarray(value, a.dtype, a.device), None, 0)
        a, b = self, other if isinstance(other, Tensor) else Tensor(other, device=self.device)
        if a.dtype.kind == "f" and b.dtype.kind != "f":
            b = b._cast(a.dtype)
        elif b.dtype.kind == "f" and a.dtype.kind != "f":
            a = a._cast(b.dtype)
        return a, b

    def __add__(self, other: Any) -> Tensor:
        return M.Add()(*self._pair(other))

    def __radd__(self, other: Any) -> Tensor:
        return M.Add()(*reversed(self._pair(other)))

    def __sub__(self, other: Any) -> Tensor:
        return M.Sub()(*self._pair(other))

    def __rsub__(self, other: Any) -> Tensor:
        return M.Sub()(*reversed(self._pair(other)))

    def __mul__(self, other: Any) -> Tensor:
        return M.Mul()(*self._pair(other))

    def __rmul__(self, other: Any) -> Tensor:
        return M.Mul()(*reversed(self._pair(other)))

    def _float_pair(self, other: Any) -> tuple[Tensor, Tensor]:
        """As ``_pair``, then float32 for two integers: true division gives floats."""
        a, b = self._pair(other)
        if a.dtype.kind != "f":
            a, b = a._cast(backend.float32), b._cast(backend.float32)
        return a, b

    def __truediv__(self, other: Any) -> Tensor:
        return M.Div()(*self._float_pair(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return M.Div()(*reversed(self._float_pair(other)))

    def __matmul__(self, other: Any) -> Tensor:
        return M.MatMul()(*self._pair(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return M.MatMul()(*reversed(self._pair(other)))

    def __pow__(self, other: Any) -> Tensor:
        return M.Pow()(*self._pair(other))

    def __rpow__(self, other: Any) -> Tensor:
        return M.Pow()(*reversed(self._pair(other)))

    def __neg__(self) -> Tensor:
        return M.Neg()(self)

    def __abs__(self) -> Tensor:
        return self.abs()

    # Comparisons give boolean tensors and are not differentiable.
    def _compare(self, other: Any, op: Callable[[Any, Any], Any]) -> Tensor:
        a, b = self._pair(other)
        return Tensor._from_op(op(a.data, b.data), None, 0)

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, lambda a, b: a != b)

    def __bool__(self) -> bool:
        return bool(self.item())

    # --- elementwise functions and reductions --------------------------------------------

    def exp(self) -> Tensor:
        return M.Exp()(self)

    def log(self) -> Tensor:
        return M.Log()(self)

    def sqrt(self) -> Tensor:
        return M.Sqrt()(self)

    def tanh(self) -> Tensor:
        return M.Tanh()(self)

    def abs(self) -> Tensor:
        return M.Abs()(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        return M.Clip(min, max)(self)

    clamp = clip

    def sum(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        return R.Sum(dim, keepdim)(self)

    def mean(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        if self.dtype.kind != "f":
            raise TypeError(f"mean() needs a floating-point tensor, got {self.dtype}: use .float()")
        return R.Mean(dim, keepdim)(self)

    def max(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Largest values over ``dim`` (the values only, like ``torch.amax``)."""
        return R.Max(dim, keepdim)(self)

    def min(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Smallest values over ``dim`` (the values only, like ``torch.amin``)."""
        return R.Min(dim, keepdim)(self)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Indices of the largest values (not differentiable)."""
        return Tensor._from_op(self.data.argmax(axis=dim, keepdims=keepdim), None, 0)

    # --- shape ----------------------------------------------------------------------------

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return S.Reshape(tuple(shape))(self)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge dimensions ``start_dim..end_dim`` into one, as ``torch.flatten``."""
        rank = max(self.ndim, 1)
        for d in (start_dim, end_dim):
            if not -rank <= d < rank:
                raise IndexError(f"flatten: dimension {d} is out of range for {self.ndim} dims")
        start, end = start_dim % rank, end_dim % rank
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        if self.ndim == 0:
            return self.reshape(1)
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1 :])

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        if len(dims) == 1 and not isinstance(dims[0], int):
            dims = tuple(dims[0])
        return S.Permute(tuple(dims))(self)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Swap two dimensions (PyTorch's ``transpose``; use ``permute`` for a full order)."""
        dims = list(range(self.ndim))
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return S.Permute(tuple(dims))(self)

    def __getitem__(self, index: Any) -> Tensor:
        return S.GetItem(_index_arrays(index))(self)


def _index_arrays(index: Any) -> Any:
    """Replace Tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(_index_arrays(i) for i in index)
    return index.data if isinstance(index, Tensor) else index


def as_tensor(data: Any) -> Tensor:
    """``data`` itself if it is a Tensor, else a new Tensor that does not require grad."""
    if isinstance(data, Tensor):
        return data
    return Tensor._from_op(backend.asarray(data, dtype=_default_dtype(data, None)), None, 0)


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, device: str = "cpu"
) -> Tensor:
    """Create a leaf Tensor from a list, a number or an array (floats default to float32)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)

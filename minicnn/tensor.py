"""``Tensor``: an array plus what autograd needs to compute its gradient.

A Tensor holds ``.data`` (a NumPy or CuPy array), ``.requires_grad``, ``.grad`` (a Tensor,
filled by ``backward``) and ``.grad_fn`` (the Function that made it, ``None`` for a leaf).
Every operator below is a ``Function`` from ``minicnn.ops``: this file only wires them up.

In-place writes (``t[...] = v``, ``t.add_(u)``, ``t.zero_()``, ...) bump the tensor's version
counter, so that a backward pass that needs the old values raises instead of computing a wrong
gradient (see :mod:`minicnn.autograd`). As in PyTorch, a tensor that requires grad can be
changed in place only under ``no_grad`` (the way an optimizer updates its parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from . import backend
from .autograd import is_grad_enabled, run_backward
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


def _number(value: Any) -> int | float | bool | None:
    """``value`` as a Python number if it is one (or a NumPy scalar or 0-d host array), else None.

    A number in arithmetic stays a Python number all the way to the kernel: no array is made
    for it, so a GPU tensor plus 1 copies nothing to the device.
    """
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()  # NumPy's float64 is a float, but would make float32 float64
    if isinstance(value, (bool, int, float)):
        return value
    return None


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` and ``min(dim)`` return, as PyTorch's: ``values, indices = t.max(1)``."""

    values: Tensor
    indices: Tensor


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
        device = backend.device_of(data) if device is None else device  # stays where it is
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
        self._version_counter = [0]

    @classmethod
    def _from_op(
        cls, data: Any, grad_fn: Any, index: int, version_counter: list | None = None
    ) -> Tensor:
        """Wrap an op's output array without copying or converting it."""
        t = cls.__new__(cls)
        t.data, t.grad, t.grad_fn, t._output_index, t._hooks = data, None, grad_fn, index, []
        t.requires_grad = grad_fn is not None
        t._version_counter = [0] if version_counter is None else version_counter
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
    def _version(self) -> int:
        """How many in-place writes this tensor's data has had (shared with ``detach()``)."""
        return self._version_counter[0]

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 (PyTorch's name)
        return self.permute(*reversed(range(self.ndim)))

    def numel(self) -> int:
        return int(self.data.size)

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape, or its length along ``dim`` (PyTorch's ``size()``)."""
        if dim is None:
            return self.shape
        if not -self.ndim <= dim < max(self.ndim, 1):
            raise IndexError(f"size: dimension {dim} is out of range for {self.ndim} dims")
        return self.shape[dim]

    def dim(self) -> int:
        return self.ndim

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
        """The same data, cut from the graph (shares memory and the version counter)."""
        return Tensor._from_op(self.data, None, 0, self._version_counter)

    def clone(self) -> Tensor:
        """A copy with its own memory; differentiable (the gradient passes through)."""
        return M.Clone()(self)

    # --- in-place writes ------------------------------------------------------------------

    def _write_in_place(self, op: str) -> Any:
        """Check that ``op`` may change this tensor in place, and count the change.

        Returns the array to write into. As in PyTorch, a tensor that requires grad can be
        changed in place only under ``no_grad``: autograd would not know of the change.
        """
        if self.requires_grad and is_grad_enabled():
            kind = "a leaf tensor" if self.grad_fn is None else "a tensor computed from one"
            raise RuntimeError(
                f"{op}: {kind} that requires grad cannot be changed in place while grad mode "
                f"is on; wrap the update in `with minicnn.no_grad():` (as an optimizer does) "
                f"or use an out-of-place op (x = x + y)"
            )
        self._version_counter[0] += 1
        return self.data

    def __setitem__(self, index: Any, value: Any) -> None:
        value = value.data if isinstance(value, Tensor) else value
        self._write_in_place("__setitem__")[_index_arrays(index)] = value

    def zero_(self) -> Tensor:
        self._write_in_place("zero_")[...] = 0
        return self

    def fill_(self, value: float) -> Tensor:
        self._write_in_place("fill_")[...] = value
        return self

    def copy_(self, source: Any) -> Tensor:
        """Copy ``source``'s values (broadcast to this shape) into this tensor."""
        source = source.data if isinstance(source, Tensor) else source
        self._write_in_place("copy_")[...] = source
        return self

    def add_(self, other: Any, alpha: float = 1) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        data = self._write_in_place("add_")
        data += other if alpha == 1 else other * alpha
        return self

    def sub_(self, other: Any, alpha: float = 1) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        data = self._write_in_place("mul_")
        data *= other
        return self

    def div_(self, other: Any) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        data = self._write_in_place("div_")
        data /= other
        return self

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        data = self._write_in_place("clamp_")
        backend.get_array_module(data).clip(data, min, max, out=data)
        return self

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
        """``numpy.asarray(t)`` of a CPU tensor. For a tensor on another device it raises,
        as CuPy does: a copy to the host is slow, so it must be asked for with ``.numpy()``."""
        if self.device != "cpu":
            raise TypeError(
                f"cannot convert a tensor on '{self.device}' to a NumPy array implicitly; "
                f"use .numpy() (an explicit copy to the host)"
            )
        array = self.data if dtype is None else self.data.astype(dtype)
        return array.copy() if copy and array is self.data else array

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

    def _for_number(self, c: int | float | bool) -> Tensor:
        """This tensor in the dtype it takes when combined with the number ``c``, as PyTorch:
        a float number adapts to a floating tensor (float32 stays float32) and turns an
        integer one into float32; a bool tensor with an int number becomes int64."""
        if self.dtype.kind not in "fc" and isinstance(c, float):
            return self._cast(backend.float32)
        if self.dtype.kind == "b" and not isinstance(c, bool):
            return self._cast(backend.int64)
        return self

    def _pair(self, other: Any) -> tuple[Tensor, Tensor]:
        """``self`` and ``other`` (not a number) as two Tensors whose dtypes combine as in
        PyTorch: an integer tensor takes the floating one's dtype. (NumPy would promote an
        int64 and a float32 array to float64.)"""
        a, b = self, other if isinstance(other, Tensor) else Tensor(other, device=self.device)
        if a.dtype.kind == "f" and b.dtype.kind != "f":
            b = b._cast(a.dtype)
        elif b.dtype.kind == "f" and a.dtype.kind != "f":
            a = a._cast(b.dtype)
        elif a.dtype != b.dtype and a.dtype.kind == b.dtype.kind == "f":
            # a 0-d tensor adapts to the other, like a number: float32 stays float32
            if b.ndim == 0 < a.ndim:
                b = b.to(a.dtype)
            elif a.ndim == 0 < b.ndim:
                a = a.to(b.dtype)
        return a, b

    def __add__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.AddScalar(c)(self._for_number(c))
        return M.Add()(*self._pair(other))

    def __radd__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.AddScalar(c)(self._for_number(c))
        return M.Add()(*reversed(self._pair(other)))

    def __sub__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.AddScalar(-c)(self._for_number(c))
        return M.Sub()(*self._pair(other))

    def __rsub__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.RSubScalar(c)(self._for_number(c))
        return M.Sub()(*reversed(self._pair(other)))

    def __mul__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.MulScalar(c)(self._for_number(c))
        return M.Mul()(*self._pair(other))

    def __rmul__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.MulScalar(c)(self._for_number(c))
        return M.Mul()(*reversed(self._pair(other)))

    def _as_float(self) -> Tensor:
        """True division gives floats: an integer tensor becomes float32 first."""
        return self if self.dtype.kind == "f" else self._cast(backend.float32)

    def _float_pair(self, other: Any) -> tuple[Tensor, Tensor]:
        a, b = self._pair(other)
        return a._as_float(), b._as_float()

    def __truediv__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.DivScalar(c)(self._as_float())
        return M.Div()(*self._float_pair(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.RDivScalar(c)(self._as_float())
        return M.Div()(*reversed(self._float_pair(other)))

    def __matmul__(self, other: Any) -> Tensor:
        return M.MatMul()(*self._pair(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return M.MatMul()(*reversed(self._pair(other)))

    def __pow__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.PowScalar(c)(self._for_number(c))
        return M.Pow()(*self._pair(other))

    def __rpow__(self, other: Any) -> Tensor:
        c = _number(other)
        if c is not None:
            return M.RPowScalar(c)(self._for_number(c))
        return M.Pow()(*reversed(self._pair(other)))

    def __neg__(self) -> Tensor:
        return M.Neg()(self)

    def __abs__(self) -> Tensor:
        return self.abs()

    # Comparisons give boolean tensors and are not differentiable.
    def _compare(self, other: Any, op: Callable[[Any, Any], Any]) -> Tensor:
        c = _number(other)
        if c is not None:
            return Tensor._from_op(op(self.data, c), None, 0)
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

    def max(self, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
        """The largest value; with ``dim``, the pair ``(values, indices)`` along it, as PyTorch.

        ``values`` gets the gradient at ``indices`` (the first maximum); ``amax`` shares it
        among ties instead and takes several dims.
        """
        return self._extremum("max", dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Tensor | ValuesIndices:
        """The smallest value; with ``dim``, the pair ``(values, indices)`` along it."""
        return self._extremum("min", dim, keepdim)

    def _extremum(self, name: str, dim: int | None, keepdim: bool) -> Tensor | ValuesIndices:
        if dim is None:
            return (R.Max if name == "max" else R.Min)(None, keepdim)(self)
        if isinstance(dim, bool) or not hasattr(dim, "__index__"):
            raise TypeError(
                f"{name}: dim must be an int, got {dim!r}; for several dims use a{name}(dims)"
            )
        axis = R.normalize_dims(int(dim), self.ndim)
        axis = axis[0] if axis else 0
        arg = self.data.argmax if name == "max" else self.data.argmin
        indices = arg(axis=axis, keepdims=True) if self.ndim else arg(keepdims=True)
        values = R.TakeAlongDim(indices, axis, keepdim or self.ndim == 0)(self)
        if not keepdim and self.ndim:
            indices = indices.squeeze(axis)
        return ValuesIndices(values, Tensor._from_op(indices.astype(backend.int64), None, 0))

    def amax(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Largest values over ``dim`` (an int, a tuple or all); the gradient is shared
        evenly among ties, as ``torch.amax``."""
        return R.Max(dim, keepdim)(self)

    def amin(self, dim: Dims = None, keepdim: bool = False) -> Tensor:
        """Smallest values over ``dim``; the gradient is shared evenly among ties."""
        return R.Min(dim, keepdim)(self)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Indices (int64) of the largest values, in the flattened tensor if ``dim`` is None."""
        return self._arg(self.data.argmax, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        """Indices (int64) of the smallest values (not differentiable)."""
        return self._arg(self.data.argmin, dim, keepdim)

    def _arg(self, arg: Callable, dim: int | None, keepdim: bool) -> Tensor:
        if dim is not None:
            axes = R.normalize_dims(dim, self.ndim)
            dim = axes[0] if axes else None
        indices = arg(axis=dim, keepdims=keepdim and dim is not None)
        return Tensor._from_op(indices.astype(backend.int64), None, 0)

    # --- shape ----------------------------------------------------------------------------

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return S.Reshape(tuple(shape))(self)

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        """The same memory seen with another shape; an error where that needs a copy (a
        transposed tensor, say), as in PyTorch: use ``reshape`` there."""
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return S.View(tuple(shape))(self)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a dimension of size 1 at ``dim`` (negative counts from the end)."""
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dimension {dim} is out of range for {self.ndim} dims")
        dim %= self.ndim + 1
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim: int | tuple[int, ...] | None = None) -> Tensor:
        """Remove dimensions of size 1: all of them, or those of ``dim`` that have size 1."""
        axes = R.normalize_dims(dim, self.ndim)
        return self.reshape(*(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

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
    """``data`` itself if it is a Tensor, else a Tensor on ``data``'s device (no copy where
    possible) that does not require grad."""
    if isinstance(data, Tensor):
        return data
    array = backend.asarray(data, _default_dtype(data, None), backend.device_of(data))
    return Tensor._from_op(array, None, 0)


def tensor(
    data: Any, requires_grad: bool = False, dtype: Any = None, device: str | None = None
) -> Tensor:
    """Create a leaf Tensor from a list, a number or an array (floats default to float32).

    It is a copy, on ``device``: by default the device of ``data`` (the CPU for lists)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)

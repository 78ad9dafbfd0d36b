"""Elementwise arithmetic, matrix product and elementwise functions.

Binary ops broadcast like NumPy; their backward sums each gradient back to its input's shape
(``unbroadcast``). In every docstring ``g`` is the gradient of the loss with respect to the
op's output, and ``y`` is the output.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Function, unbroadcast


class Add(Function):
    """y = a + b;  da = g,  db = g (each summed back to its shape)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, g: Any) -> tuple[Any, Any]:
        return unbroadcast(g, self.a_shape), unbroadcast(g, self.b_shape)


class Sub(Function):
    """y = a - b;  da = g,  db = -g."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b_shape = a.shape, b.shape
        return a - b

    def backward(self, g: Any) -> tuple[Any, Any]:
        return unbroadcast(g, self.a_shape), unbroadcast(-g, self.b_shape)


class Mul(Function):
    """y = a * b;  da = g * b,  db = g * a."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a * b

    def backward(self, g: Any) -> tuple[Any, Any]:
        ### BEGIN SOLUTION
        ### HINT: da = g * b and db = g * a, each summed back to its input's shape (unbroadcast);
        ### HINT: None for an input whose self.needs_input_grad is False.
        da = unbroadcast(g * self.b, self.a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(g * self.a, self.b.shape) if self.needs_input_grad[1] else None
        return da, db
        ### END SOLUTION


class Div(Function):
    """y = a / b;  da = g / b,  db = -g * a / b**2 = -g * y / b."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a_shape, self.b = a.shape, b
        self.y = a / b
        return self.y

    def backward(self, g: Any) -> tuple[Any, Any]:
        ### BEGIN SOLUTION
        ### HINT: da = g / b and db = -g * y / b, each summed back to its input's shape.
        da = unbroadcast(g / self.b, self.a_shape) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * self.y / self.b, self.b.shape) if self.needs_input_grad[1] else None
        return da, db
        ### END SOLUTION


class Neg(Function):
    """y = -x;  dx = -g."""

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, g: Any) -> Any:
        return -g


class Pow(Function):
    """y = a ** b;  da = g * b * a**(b-1),  db = g * y * log(a) (taken as 0 where a == 0)."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, g: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g * b * a ** (b - 1), a.shape)
        if self.needs_input_grad[1]:
            xp = backend.get_array_module(a)
            log_a = xp.log(xp.where(a == 0, 1, a))
            db = unbroadcast(g * self.y * log_a, b.shape)
        return da, db


class MatMul(Function):
    """y = a @ b (batched, broadcast, 1-D operands as in NumPy);  da = g @ b^T,  db = a^T @ g.

    A 1-D ``a`` acts as a row (1, n) and a 1-D ``b`` as a column (n, 1); the gradient is
    computed for those 2-D views and reshaped back.
    """

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a @ b

    def backward(self, g: Any) -> tuple[Any, Any]:
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(a2.swapaxes(-1, -2) @ g, b2.shape).reshape(b.shape)
        return da, db


# --- with a number: ``x + 2``, ``1 / x``. The number reaches the kernel as a Python scalar,
# never as an array, so no copy to the device is made for it.


class AddScalar(Function):
    """y = x + c for a number c;  dx = g.  (x - c is x + (-c), exactly.)"""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        return x + self.c

    def backward(self, g: Any) -> Any:
        return g


class RSubScalar(Function):
    """y = c - x for a number c;  dx = -g."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        return self.c - x

    def backward(self, g: Any) -> Any:
        return -g


class MulScalar(Function):
    """y = c * x for a number c;  dx = c * g."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        return x * self.c

    def backward(self, g: Any) -> Any:
        return g * self.c


class DivScalar(Function):
    """y = x / c for a number c;  dx = g / c."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        return x / self.c

    def backward(self, g: Any) -> Any:
        return g / self.c


class RDivScalar(Function):
    """y = c / x for a number c;  dx = -g * c / x**2 = -g * y / x."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        self.x = x
        self.y = self.c / x
        return self.y

    def backward(self, g: Any) -> Any:
        return -g * self.y / self.x


class PowScalar(Function):
    """y = x ** c for a number c;  dx = g * c * x**(c-1)."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        self.x = x
        return x**self.c

    def backward(self, g: Any) -> Any:
        return g * self.c * self.x ** (self.c - 1)


class RPowScalar(Function):
    """y = c ** x for a number c;  dx = g * y * log(c)."""

    def __init__(self, c: float):
        self.c = c

    def forward(self, x: Any) -> Any:
        self.y = self.c**x
        return self.y

    def backward(self, g: Any) -> Any:
        log_c = math.log(self.c) if self.c > 0 else -math.inf if self.c == 0 else math.nan
        return g * self.y * log_c


class Clone(Function):
    """y = a copy of x;  dx = g."""

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, g: Any) -> Any:
        return g


class Exp(Function):
    """y = exp(x);  dx = g * y."""

    def forward(self, x: Any) -> Any:
        self.y = backend.get_array_module(x).exp(x)
        return self.y

    def backward(self, g: Any) -> Any:
        ### BEGIN SOLUTION
        ### HINT: the derivative of exp is exp itself, which forward kept as self.y.
        return g * self.y
        ### END SOLUTION


class Log(Function):
    """y = log(x);  dx = g / x."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, g: Any) -> Any:
        return g / self.x


class Sqrt(Function):
    """y = sqrt(x);  dx = g / (2 y)."""

    def forward(self, x: Any) -> Any:
        self.y = backend.get_array_module(x).sqrt(x)
        return self.y

    def backward(self, g: Any) -> Any:
        return g / (2 * self.y)


class Tanh(Function):
    """y = tanh(x);  dx = g * (1 - y**2)."""

    def forward(self, x: Any) -> Any:
        self.y = backend.get_array_module(x).tanh(x)
        return self.y

    def backward(self, g: Any) -> Any:
        ### BEGIN SOLUTION
        ### HINT: d tanh(x) / dx = 1 - tanh(x)**2, and forward kept y = tanh(x).
        return g * (1 - self.y * self.y)
        ### END SOLUTION


class Abs(Function):
    """y = |x|;  dx = g * sign(x) (0 at x = 0, as PyTorch)."""

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.sign = xp.sign(x)
        return xp.abs(x)

    def backward(self, g: Any) -> Any:
        return g * self.sign


class Clip(Function):
    """y = min(max(x, low), high);  dx = g where low <= x <= high, else 0 (as torch.clamp)."""

    def __init__(self, low: float | None, high: float | None):
        self.low, self.high = low, high

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        self.inside = inside
        return xp.clip(x, self.low, self.high).astype(x.dtype, copy=False)

    def backward(self, g: Any) -> Any:
        return g * self.inside


class Cast(Function):
    """y = x converted to another dtype;  dx = g converted back to x's dtype."""

    def __init__(self, dtype: Any):
        self.dtype = dtype

    def forward(self, x: Any) -> Any:
        self.x_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g: Any) -> Any:
        return g.astype(self.x_dtype)


class ToDevice(Function):
    """y = x copied to another device;  dx = g copied back to x's device."""

    def __init__(self, device: str):
        self.device = device

    def forward(self, x: Any) -> Any:
        self.x_device = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g: Any) -> Any:
        return backend.to_device(g, self.x_device)

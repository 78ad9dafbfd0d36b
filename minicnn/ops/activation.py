"""Activation functions: relu, leaky_relu, elu, gelu, sigmoid, silu, relu6, hardswish, softplus,
mish, softmax, log_softmax (tanh's Function lives in ``minicnn.ops.math``).

Every op here is elementwise (or, for the softmaxes, works along one axis), so the gradient
has the shape of the input: ``dx = g * f'(x)``. In every docstring ``g`` is the gradient of the
loss with respect to the output ``y``. The Functions trust their settings: the public functions
of ``minicnn.functional.activation`` check them.

NumPy has no ``erf``, which the exact GELU needs, so this module carries a vectorised one:
W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969; the CALERF routine of
SPECFUN), accurate to about 1e-16 relative in float64 on the whole real line.
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd import Function, is_grad_enabled

# --- erf and erfc (Cody 1969) ----------------------------------------------------------------
# Three ranges of y = |x|, each with its own rational function:
#   y < 0.5:      erf(x)  = x * R1(x^2)
#   0.5 <= y < 4: erfc(y) = exp(-y^2) * R2(y)
#   y >= 4:       erfc(y) = exp(-y^2) / y * (1/sqrt(pi) - R3(1/y^2) / y^2)
# exp(-y^2) is computed as exp(-a^2) * exp(-(y-a)(y+a)) with a = y rounded down to 1/16, so
# that the rounding error of y^2 is not amplified by the steep exponential.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02)
_A += (3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03)
_B += (2.84423683343917062e03,)
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01)
_C += (2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03)
_C += (2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02)
_D += (1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03)
_D += (3.43936767414372164e03, 1.23033935480374942e03)
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1)
_P += (1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1)
_Q += (6.05183413124413191e-2, 2.33520497626869185e-3)
_SQRT_1_PI = 5.6418958354775628695e-1  # 1 / sqrt(pi)


def _rational(
    t: Any, top: float, nums: tuple, dens: tuple, num_last: float, den_last: float
) -> Any:
    """(((top t + n1) t + n2) t ... + num_last) / (((t + d1) t + d2) t ... + den_last).

    Horner's rule, updating two arrays in place: no temporary array per coefficient.
    """
    num, den = top * t, t.copy()
    for n, d in zip(nums, dens, strict=True):
        num += n
        num *= t
        den += d
        den *= t
    num += num_last
    den += den_last
    num /= den
    return num


def _erf_small(x: Any) -> Any:
    """erf(x) for |x| < 0.5."""
    return x * _rational(x * x, _A[4], _A[:3], _B[:3], _A[3], _B[3])


def _exp_minus_square(xp: Any, y: Any) -> Any:
    """exp(-y^2), split as exp(-a^2) exp(-(y - a)(y + a)) with a = floor(16 y) / 16."""
    a = xp.trunc(y * 16) / 16
    return xp.exp(-a * a) * xp.exp(-(y - a) * (y + a))


def _erfc_mid(xp: Any, y: Any) -> Any:
    """erfc(y) for 0.5 <= y < 4."""
    return _exp_minus_square(xp, y) * _rational(y, _C[8], _C[:7], _D[:7], _C[7], _D[7])


def _erfc_big(xp: Any, y: Any) -> Any:
    """erfc(y) for y >= 4 (0 from y = 40 on, where it underflows; clipping avoids inf - inf)."""
    y = xp.minimum(y, 40)
    z = 1 / (y * y)
    r = _rational(z, _P[5], _P[:4], _Q[:4], _P[4], _Q[4])
    return _exp_minus_square(xp, y) * (_SQRT_1_PI - z * r) / y


def _erfc_tail(xp: Any, y: Any) -> Any:
    """erfc(y) for y >= 0.5: both ranges' formulas on clipped arguments, then picked per element
    (cheaper in NumPy than gathering each range's elements)."""
    return xp.where(y < 4, _erfc_mid(xp, xp.clip(y, 0.5, 4)), _erfc_big(xp, xp.maximum(y, 4)))


def erf(x: Any) -> Any:
    """The error function of a raw array, elementwise (Cody's approximation, see the top)."""
    xp = backend.get_array_module(x)
    y = xp.abs(x)
    small = _erf_small(xp.clip(x, -0.5, 0.5))
    large = xp.copysign(1 - _erfc_tail(xp, xp.maximum(y, 0.5)), x)
    return xp.where(y < 0.5, small, large)


def erfc(x: Any) -> Any:
    """The complementary error function 1 - erf(x) of a raw array, accurate in both tails."""
    xp = backend.get_array_module(x)
    y = xp.abs(x)
    small = 1 - _erf_small(xp.clip(x, -0.5, 0.5))
    tail = _erfc_tail(xp, xp.maximum(y, 0.5))
    return xp.where(y < 0.5, small, xp.where(x > 0, tail, 2 - tail))


# --- stable building blocks on raw arrays ----------------------------------------------------


def sigmoid(x: Any) -> Any:
    """1 / (1 + e^-x) from e = exp(-|x|) <= 1, which never overflows:
    1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
    xp = backend.get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x: Any) -> Any:
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow, and no rounding of 1 + e^x
    to 1 for very negative x (log1p)."""
    xp = backend.get_array_module(x)
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


# --- Functions -------------------------------------------------------------------------------


class ReLU(Function):
    """y = max(x, 0);  dx = g where x > 0, else 0 (0 at x = 0, as PyTorch). Shapes: any."""

    def forward(self, x: Any) -> Any:
        self.positive = x > 0
        return backend.get_array_module(x).maximum(x, 0)

    def backward(self, g: Any) -> Any:
        return g * self.positive


class LeakyReLU(Function):
    """y = x if x > 0 else s x;  dx = g if x > 0 else s g (s = negative_slope). Shapes: any."""

    def __init__(self, negative_slope: float = 0.01):
        self.slope = negative_slope

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.positive = x > 0
        return xp.where(self.positive, x, x * self.slope)

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        return xp.where(self.positive, g, g * self.slope)


class ELU(Function):
    """y = x if x > 0 else alpha (e^x - 1);  dx = g if x > 0 else g (y + alpha). Shapes: any."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.positive = x > 0
        negative = self.alpha * xp.expm1(xp.minimum(x, 0))  # no overflow for large x
        self.y = xp.where(self.positive, x, negative)
        return self.y

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        return xp.where(self.positive, g, g * (self.y + self.alpha))


def _gelu_block(xp: Any, x: Any) -> tuple[Any, Any]:
    """Phi(x) and the slope Phi(x) + x phi(x) of one block of x (see :class:`GELU`).

    Phi(x) = erfc(z) / 2 with z = -x / sqrt 2 and y = |z|, by Cody's three ranges (see the top).
    Each range's formula runs once over the whole block on arguments clipped into its range,
    and the results are combined by 0/1 masks: in NumPy a per-element choice (``where``,
    boolean indexing) costs more than a short formula. The y >= 4 range (|x| > 5.66, rare in
    practice) runs only when some element of the block needs it. exp(-y^2) = exp(-x^2 / 2)
    is computed once and serves both erfc and the pdf phi of the slope.
    """
    z = x * (-1 / math.sqrt(2))
    y = xp.abs(z)
    e = _exp_minus_square(xp, xp.clip(y, 0, 40))  # exp(-y^2); 0 from y = 40 on
    tail = e * _rational(xp.clip(y, 0.5, 4), _C[8], _C[:7], _D[:7], _C[7], _D[7])  # erfc(y)
    if backend.any_true(y >= 4):
        yb = xp.clip(y, 4, 40)
        w = 1 / (yb * yb)
        big = e * (_SQRT_1_PI - w * _rational(w, _P[5], _P[:4], _Q[:4], _P[4], _Q[4])) / yb
        tail = xp.where(y < 4, tail, big)
    half = 0.5 * tail
    phi_tail = half + (z < 0) * (1 - 2 * half)  # erfc(z)/2: half for z > 0, 1 - half for z < 0
    small = (y < 0.5).astype(x.dtype)
    phi_small = 0.5 - 0.5 * _erf_small(xp.clip(z, -0.5, 0.5))
    # a 0/1 mask times a finite number is exact, so this picks one of the two exactly
    phi = small * phi_small + (1 - small) * phi_tail
    slope = phi + xp.clip(x, -50, 50) * e * (1 / math.sqrt(2 * math.pi))
    return phi, slope


# Abramowitz & Stegun 7.1.26: erfc(a) ~ t (A1 + t (A2 + ... + t A5)) exp(-a^2), t = 1 / (1 + P a),
# for a >= 0, with an absolute error below 1.5e-7 in erfc (7.5e-8 in Phi = erfc / 2).
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _gelu_block_float32(xp: Any, x: Any) -> tuple[Any, Any]:
    """Phi(x) and the slope Phi(x) + x phi(x) of one float32 block, by A&S 7.1.26 (above).

    Phi(x) = erfc(a) / 2 for x < 0 and 1 - erfc(a) / 2 for x >= 0, with a = |x| / sqrt 2.
    About 26 passes instead of Cody's 60, with PyTorch's float32 accuracy: Phi within 3e-7 of
    the exact value (the formula's 7.5e-8, and float32's rounding in the Horner sum, whose
    terms near t = 1 cancel), so for x << 0 the tiny y = x Phi(x) is not accurate relative
    to itself (as in PyTorch, which gives 0 from x = -5.54 on).
    exp(-a^2) = exp(-x^2 / 2) serves both erfc and the pdf phi. x is clipped to [-50, 50],
    where Phi is already 0 or 1 and phi 0, so that x^2 never overflows (nor x phi is inf * 0).
    """
    x = xp.clip(x, -50, 50)
    t = xp.abs(x)
    t *= _AS_P / math.sqrt(2)
    t += 1
    xp.reciprocal(t, out=t)
    half_erfc = t * (0.5 * _AS_A[4])  # the 1/2 of erfc(a) / 2 is folded into the coefficients
    for a in reversed(_AS_A[:4]):
        half_erfc += 0.5 * a
        half_erfc *= t
    e = xp.multiply(x, x, out=t)
    e *= -0.5
    xp.exp(e, out=e)
    half_erfc *= e
    # a 0/1 mask times a number is exact: half_erfc where x < 0, 1 - half_erfc where x >= 0
    phi = half_erfc
    phi += (x >= 0) * (1 - 2 * half_erfc)
    e *= x
    e *= 1 / math.sqrt(2 * math.pi)
    e += phi
    return phi, e


class GELU(Function):
    """y = x Phi(x), Phi the standard normal CDF;  dx = g (Phi(x) + x phi(x)). Shapes: any.

    Exact: Phi(x) = erfc(-x / sqrt 2) / 2 and phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    ``approximate="tanh"``: Phi(x) ~ (1 + t) / 2 with t = tanh(u), u = k (x + c x^3),
    k = sqrt(2/pi), c = 0.044715, so dx = g ((1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2).

    The exact form is computed block by block (:func:`minicnn.backend.blocks`), so that its
    passes run on data in the CPU's cache; the forward keeps the slope Phi + x phi itself, so
    the backward is one product. float64 takes Cody's erfc (some 60 NumPy passes, accurate to
    float64's rounding, :func:`_gelu_block`); float32 takes A&S 7.1.26 (about 20 passes, Phi
    within 3e-7, PyTorch's float32 accuracy, :func:`_gelu_block_float32`). The plain version,
    which the tests hold these to, is ``gelu_forward``/``gelu_backward`` in
    :mod:`minicnn.ops.reference`.
    """

    _K = math.sqrt(2 / math.pi)
    _C = 0.044715

    def __init__(self, approximate: str = "none"):
        self.approximate = approximate  # "none" or "tanh"

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        if self.approximate == "tanh":
            self.x = x
            xc = xp.clip(x, -50, 50)  # tanh(u) is exactly +-1 beyond; avoids overflow of x^3
            self.t = xp.tanh(self._K * (xc + self._C * xc * xc * xc))
            return 0.5 * x * (1 + self.t)
        flat = x.reshape(-1)
        y = xp.empty_like(flat)
        slope = xp.empty_like(flat) if self.needs_input_grad[0] and is_grad_enabled() else None
        gelu_block = _gelu_block_float32 if x.dtype == xp.float32 else _gelu_block
        for block in backend.blocks(flat):
            phi, slope_block = gelu_block(xp, flat[block])
            xp.multiply(flat[block], phi, out=y[block])
            if slope is not None:
                slope[block] = slope_block
        if slope is not None:
            self.slope = slope.reshape(x.shape)
        return y.reshape(x.shape)

    def backward(self, g: Any) -> Any:
        if self.approximate == "none":
            return g * self.slope
        xp = backend.get_array_module(g)
        xc = xp.clip(self.x, -50, 50)  # the terms below are exactly 0 beyond (x^2 overflows)
        t = self.t
        slope = 0.5 * (1 + t) + 0.5 * xc * (1 - t * t) * self._K * (1 + 3 * self._C * xc * xc)
        return g * slope


class Sigmoid(Function):
    """y = 1 / (1 + e^-x) (computed by :func:`sigmoid` without overflow);  dx = g y (1 - y).
    Shapes: any."""

    def forward(self, x: Any) -> Any:
        self.y = sigmoid(x)
        return self.y

    def backward(self, g: Any) -> Any:
        return g * self.y * (1 - self.y)


class Softmax(Function):
    """y_i = exp(x_i) / sum_j exp(x_j) along ``axis``;  dx = y (g - sum_j g_j y_j). Shapes: any.

    exp is taken of x - max(x), which is <= 0: the same y, without overflow.
    """

    def __init__(self, axis: int):
        self.axis = axis  # in [0, ndim), or 0 for a 0-d input

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, g: Any) -> Any:
        y = self.y
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y_i = x_i - log sum_j exp(x_j) along ``axis``;  dx = g - softmax(x) sum_j g_j.

    Stable: log sum_j exp(x_j) = m + log sum_j exp(x_j - m) with m = max(x). Shapes: any.
    """

    def __init__(self, axis: int):
        self.axis = axis  # in [0, ndim), or 0 for a 0-d input

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        return g - xp.exp(self.y) * g.sum(axis=self.axis, keepdims=True)


class SiLU(Function):
    """y = x s(x), s the sigmoid ("swish");  dx = g s (1 + x (1 - s)), since s' = s (1 - s).
    Shapes: any."""

    def forward(self, x: Any) -> Any:
        self.x, self.s = x, sigmoid(x)
        return x * self.s

    def backward(self, g: Any) -> Any:
        s = self.s
        return g * s * (1 + self.x * (1 - s))


class ReLU6(Function):
    """y = min(max(x, 0), 6);  dx = g where 0 < x < 6, else 0 (0 at both kinks, as PyTorch).
    Shapes: any."""

    def forward(self, x: Any) -> Any:
        self.inside = (x > 0) & (x < 6)
        return backend.get_array_module(x).clip(x, 0, 6)

    def backward(self, g: Any) -> Any:
        return g * self.inside


class Hardswish(Function):
    """y = x relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3, x (x + 3) / 6 between;
    dx = 0 for x <= -3, g for x >= 3, g (2x + 3) / 6 = g (x/3 + 1/2) between (PyTorch's
    choices at the kinks). Shapes: any."""

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        self.x = x
        return x * (xp.clip(x + 3, 0, 6) / 6)  # not (x * clip) / 6, which overflows for huge x

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        x = self.x
        return xp.where(x <= -3, 0, xp.where(x < 3, g * (x / 3 + 0.5), g))


class Softplus(Function):
    """y = log(1 + exp(beta x)) / beta, a smooth relu; y = x where beta x > threshold (as
    PyTorch, for speed and accuracy);  dx = g s(beta x), s the sigmoid (g above threshold).
    Shapes: any. ``beta`` is non-zero (checked by the caller).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Any) -> Any:
        xp = backend.get_array_module(x)
        xc = x
        if x.dtype.kind == "f":  # beta x within the dtype's range: no overflow for huge x
            limit = float(xp.finfo(x.dtype).max) / abs(self.beta)
            xc = xp.clip(x, -limit, limit)
        self.bx = bx = xc * self.beta
        self.linear = bx > self.threshold
        return xp.where(self.linear, x, softplus(bx) / self.beta)

    def backward(self, g: Any) -> Any:
        xp = backend.get_array_module(g)
        return xp.where(self.linear, g, g * sigmoid(self.bx))


class Mish(Function):
    """y = x t, t = tanh(softplus(x));  dx = g (t + x (1 - t^2) s(x)), since
    softplus'(x) = s(x), the sigmoid. Shapes: any."""

    def forward(self, x: Any) -> Any:
        self.x = x
        self.t = backend.get_array_module(x).tanh(softplus(x))
        return x * self.t

    def backward(self, g: Any) -> Any:
        x, t = self.x, self.t
        return g * (t + x * (1 - t * t) * sigmoid(x))

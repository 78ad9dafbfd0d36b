"""What the autograder compares, and the cases it compares on.

A check takes the student's module and one case (drawn by hypothesis) and raises
:class:`Mismatch` with a sentence naming the output, the first wrong element, the expected and
the received value: ``at dx[0, 0, 2, 1] expected 0.52, got 0.0``. The grader prefixes it with
the test's name and the case: ``conv2d backward, dx: fails for input (1, 1, 3, 4), kernel 2x3,
stride 2, padding 1; ...``. Arrays are float64; their values come from a NumPy generator seeded
by the assignment's seed and the case, so a grading run is repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..testing import ConvConfig, PoolConfig

RTOL, ATOL = 1e-6, 1e-8
FD_EPS = 1e-6


class Mismatch(AssertionError):
    """The student's output differs from the reference: the message says where and how."""


def number(value: Any) -> str:
    """A short form of a number: 0.52, 0.0, -1.3e-05, nan."""
    value = float(value) + 0.0  # no -0.0
    return repr(float(f"{value:.4g}") + 0.0) if np.isfinite(value) else repr(value)


def shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(int(n) for n in shape))


def pair_text(pair: tuple[int, int]) -> str:
    """``2`` for (2, 2), ``(2, 1)`` otherwise."""
    return str(pair[0]) if pair[0] == pair[1] else str(tuple(pair))


def as_array(label: str, value: Any) -> np.ndarray:
    """The student's output as a NumPy array, or a Mismatch saying what it was instead."""
    if value is None:
        raise Mismatch(f"{label} is None: return an array")
    if hasattr(value, "data") and hasattr(value, "grad_fn"):  # a minicnn Tensor
        value = value.data
    if not hasattr(value, "shape") and not isinstance(value, (int, float)):
        raise Mismatch(f"{label} is a {type(value).__name__}, expected an array")
    return np.asarray(value)


def compare(
    label: str,
    got: Any,
    expected: Any,
    finite_difference: Callable[[tuple[int, ...]], float] | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> None:
    """Raise Mismatch unless ``got`` equals ``expected`` (shape and values, to rtol/atol).

    The message names the first wrong element in row-major order; ``finite_difference(index)``,
    when given, adds what central differences of the reference forward give there.
    """
    got, expected = as_array(label, got), np.asarray(expected)
    if got.shape != expected.shape:
        raise Mismatch(
            f"{label} has shape {shape_text(got.shape)}, expected {shape_text(expected.shape)}"
        )
    if got.dtype.kind not in "fiub":
        raise Mismatch(f"{label} has dtype {got.dtype}, expected numbers")
    bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"at {label}[{', '.join(map(str, index))}]" if index else label
    message = f"{where} expected {number(expected[index])}, got {number(got[index])}"
    if finite_difference is not None:
        message += f" (finite differences of the forward give {number(finite_difference(index))})"
    if bad.size > 1:
        message += f"; {int(bad.sum())} of {bad.size} elements are wrong"
    raise Mismatch(message)


def finite_difference(
    forward: Callable[..., Any], arrays: list[np.ndarray], which: int, upstream: Any
) -> Callable[[tuple[int, ...]], float]:
    """d sum(upstream * forward(*arrays)) / d arrays[which][index], by central differences."""

    def at(index: tuple[int, ...]) -> float:
        values = []
        for step in (FD_EPS, -FD_EPS):
            moved = [a.copy() for a in arrays]
            moved[which][index] += step
            values.append(float((np.asarray(upstream) * forward(*moved)).sum()))
        return (values[0] - values[1]) / (2 * FD_EPS)

    return at


def tiny_values(label: str, array: np.ndarray, limit: int = 16) -> str:
    """``x = [[1.0, 2.0]]`` for a small array (to reproduce a failure by hand), else ""."""
    if array.size > limit:
        return ""
    values = np.array2string(np.asarray(array), precision=3, separator=", ", max_line_width=200)
    return f"{label} = {' '.join(values.split())}"


def generator(seed: int, data_seed: int) -> np.random.Generator:
    """The NumPy generator of one case: the assignment's seed and the case's own."""
    return np.random.default_rng([seed, data_seed])


def strategies() -> Any:
    try:
        from hypothesis import strategies as st
    except ImportError as error:  # pragma: no cover
        raise ImportError(
            "minicnn's autograder needs hypothesis: pip install 'minicnn[assignment]'"
        ) from error
    return st


# --- cases: a setting drawn by hypothesis, plus a seed for the values ---------------------------


@dataclass(frozen=True)
class Case:
    """A drawn setting (``config``) with the seed of its values; ``describe()`` says it."""

    config: Any
    data_seed: int = 0
    text: str = ""

    def describe(self) -> str:
        return self.text


def conv_text(c: ConvConfig, bias: bool | None = None) -> str:
    """``input (1, 1, 3, 4), kernel 2x3, stride 2, padding 1`` (+ the settings that are not 1)."""
    kh, kw = c.kernel_size
    text = f"input {shape_text(c.input_shape)}, kernel {kh}x{kw}"
    if c.out_channels != 1:
        text += f", {c.out_channels} output channels"
    text += f", stride {pair_text(c.stride)}, padding {pair_text(c.padding)}"
    if c.dilation != (1, 1):
        text += f", dilation {pair_text(c.dilation)}"
    if c.groups != 1:
        text += f", groups {c.groups}"
    if bias is not None:
        text += ", with bias" if bias else ", no bias"
    return text


def pool_text(c: PoolConfig, extra: str = "") -> str:
    kh, kw = c.kernel_size
    return (
        f"input {shape_text(c.input_shape)}, kernel {kh}x{kw}, stride {pair_text(c.stride)}, "
        f"padding {pair_text(c.padding)}{extra}"
    )


def conv_cases(bias: bool = True) -> Any:
    """Small convolutions (the shapes hypothesis shrinks), with or without a bias when ``bias``
    (a backward takes none)."""
    from ..testing import conv2d_configs

    st = strategies()
    configs = conv2d_configs(
        max_batch=2, max_channels_per_group=2, max_groups=2, max_kernel=3, max_stride=2,
        max_padding=1, max_dilation=2, max_extra_size=2,
    )  # fmt: skip
    if not bias:
        return st.builds(
            lambda c, seed: Case((c, False), seed, conv_text(c)), configs, st.integers(0, 3)
        )
    return st.builds(
        lambda c, bias, seed: Case((c, bias), seed, conv_text(c, bias)),
        configs,
        st.booleans(),
        st.integers(0, 3),
    )


def im2col_cases() -> Any:
    """A convolution's geometry with padding given per side (``same`` pads one more at the end)."""
    from ..testing import conv2d_configs

    st = strategies()
    configs = conv2d_configs(
        max_batch=2, max_channels_per_group=2, max_groups=1, max_kernel=3, max_stride=2,
        max_padding=1, max_dilation=2, max_extra_size=2,
    )  # fmt: skip

    def case(c: ConvConfig, extra: tuple[int, int], seed: int) -> Case:
        (ph, pw), (eh, ew) = c.padding, extra
        padding = ((ph, ph + eh), (pw, pw + ew))
        kh, kw = c.kernel_size
        text = (
            f"input {shape_text(c.input_shape)}, kernel {kh}x{kw}, stride {pair_text(c.stride)}, "
            f"padding {padding}, dilation {pair_text(c.dilation)}"
        )
        return Case((c, padding), seed, text)

    return st.builds(
        case, configs, st.tuples(st.integers(0, 1), st.integers(0, 1)), st.integers(0, 3)
    )


def pool_cases(count_include_pad: bool = False) -> Any:
    """Small pooling windows; for average pooling also ``count_include_pad``."""
    from ..testing import pool2d_configs

    st = strategies()
    configs = pool2d_configs(
        max_batch=2, max_channels=2, max_kernel=3, max_stride=3, max_extra_size=2
    )
    if not count_include_pad:
        return st.builds(lambda c, s: Case(c, s, pool_text(c)), configs, st.integers(0, 3))

    def case(c: PoolConfig, include: bool, seed: int) -> Case:
        text = pool_text(c, "" if include else ", count_include_pad=False")
        return Case((c, include), seed, text)

    return st.builds(case, configs, st.booleans(), st.integers(0, 3))


def batch_norm_cases() -> Any:
    """Inputs (N, C) or (N, C, H, W), at least two values per channel."""
    st = strategies()

    def case(shape: tuple[int, ...], seed: int) -> Case:
        return Case(shape, seed, f"input {shape_text(shape)}")

    flat = st.tuples(st.integers(2, 4), st.integers(1, 3))
    images = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
    shapes = st.one_of(flat, images.filter(lambda s: s[0] * s[2] * s[3] >= 2))
    return st.builds(case, shapes, st.integers(0, 3))


def cross_entropy_cases() -> Any:
    """Logits (N, C) of a modest or a large size (1000: exp overflows without the max shift)."""
    st = strategies()

    def case(n: int, c: int, scale: float, seed: int) -> Case:
        target = generator(0, seed).integers(0, c, size=n)
        text = f"logits ({n}, {c})" + (f" of size about {scale:g}" if scale != 1 else "")
        return Case((n, c, scale, target), seed, f"{text}, targets {target.tolist()}")

    return st.builds(
        case,
        st.integers(1, 3),
        st.integers(2, 4),
        st.sampled_from([1.0, 1000.0]),
        st.integers(0, 3),
    )


def broadcast_shapes() -> Any:
    """(shape, broadcast shape): ``shape`` broadcasts to the second (leading axes, 1s)."""
    st = strategies()

    @st.composite
    def draw(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
        shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
        lead = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        wide = tuple(draw(st.integers(1, 3)) if n == 1 else n for n in shape)
        return shape, lead + wide

    return draw()

"""The model-parameter randomisation test of Adebayo et al. (2018), "Sanity checks for
saliency maps".

An explanation should depend on what the model learned. Re-initialise its layers one by one
from the top (the output layer first, then the one below, cumulatively) and compare each new
map with the original one by Spearman's rank correlation: maps that stay alike while the
weights behind them become random explain the input (its edges, say), not the model. A method
is *flagged* when, with every layer randomised, its maps still correlate above ``threshold``
(0.5 by default) on average.

The model is restored afterwards, and so is minicnn's random generator (the re-initialisation
draws from ``seed``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..functional._args import real
from ..nn import Module, init
from ._core import (
    BlankMapWarning,
    Target,
    as_images,
    conv_layers,
    forward_hooks,
    inspection_mode,
    record,
)
from .guided import guided_backprop
from .layers import gradcam_layers
from .saliency import saliency

Method = str | Callable[[Module, Any, np.ndarray], np.ndarray]
SANITY_THRESHOLD = 0.5


@dataclass
class SanityCheck:
    """``randomized[i]``: the layers re-initialised at step i (cumulative, top first);
    ``correlations`` (steps, N): the rank correlation of each image's map with its original;
    ``mean`` (steps,): their mean over the images; ``flagged``: the maps did not change."""

    randomized: list[list[str]]
    correlations: np.ndarray
    mean: np.ndarray
    threshold: float
    flagged: bool
    original: np.ndarray


def _rank(values: np.ndarray) -> np.ndarray:
    """Ranks from 0, ties sharing their mean rank (as ``scipy.stats.rankdata`` minus 1)."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends - 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation of each pair of maps (N, ...): 1 for two constant maps,
    0 for one constant map and one that is not."""
    out = np.empty(len(a))
    for i, (u, v) in enumerate(zip(a.reshape(len(a), -1), b.reshape(len(b), -1), strict=True)):
        ru, rv = _rank(u) - (len(u) - 1) / 2, _rank(v) - (len(v) - 1) / 2
        nu, nv = np.sqrt(ru @ ru), np.sqrt(rv @ rv)
        if nu == 0 or nv == 0:
            out[i] = 1.0 if nu == nv else 0.0
        else:
            out[i] = (ru @ rv) / (nu * nv)
    return out


def _method(method: Method, model: Module) -> Callable[[Module, Any, np.ndarray], np.ndarray]:
    if callable(method):
        return method
    if method == "saliency":
        return lambda m, x, t: saliency(m, x, t)
    if method == "guided_backprop":
        return lambda m, x, t: np.abs(guided_backprop(m, x, t)).max(axis=1)
    from .cam import FORMULAS

    if method in FORMULAS:
        convs = conv_layers(model)
        if not convs:
            raise ValueError(f"sanity_check: {type(model).__name__} has no Conv2d for {method!r}")
        last = convs[-1][0]
        return lambda m, x, t: gradcam_layers(m, x, t, [last], method)[last]
    names = ", ".join(repr(n) for n in ["saliency", "guided_backprop", *FORMULAS])
    raise ValueError(
        f"sanity_check: method must be a function (model, x, targets) -> maps or one of "
        f"{names}, got {method!r}"
    )


def _layers_top_first(model: Module, x: Any) -> list[tuple[str, Module]]:
    """The modules with parameters of their own, in the reverse of the order they run."""
    owners = {m: n for n, m in model.named_modules() if any(True for _ in m.parameters(False))}
    ran: list[Module] = []

    def seen(module: Module, _inputs: tuple, _output: Any) -> None:
        if module not in ran:
            ran.append(module)

    with inspection_mode(model), forward_hooks(dict.fromkeys(owners, seen)), no_grad():
        model(as_images(model, x, "sanity_check"))
    return [(owners[m], m) for m in reversed(ran)]


def _reinitialise(module: Module) -> None:
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    for p in module.parameters(recurse=False):
        init.normal_(p, 0.0, 0.1)


def sanity_check(
    method: Method,
    model: Module,
    x: Any,
    target: Target = None,
    threshold: float = SANITY_THRESHOLD,
    seed: int = 0,
) -> SanityCheck:
    """Cascading randomisation of ``model``'s layers, from the top, and the rank correlation
    of ``method``'s maps with the original ones after each step (see the module doc).

    ``method``: ``"saliency"``, ``"guided_backprop"`` (absolute values, max over channels), a
    CAM method of :func:`gradcam_layers` (at the last ``Conv2d``), or a function
    ``(model, x, targets) -> maps (N, H, W)``. The targets are the original model's classes
    (its predictions for ``target=None``) throughout.
    """
    threshold = real("sanity_check", "threshold", threshold)
    explain = _method(method, model)
    targets = record(model, x, {}, target, "sanity_check", backward=False).targets
    original = np.asarray(explain(model, x, targets))
    layers = _layers_top_first(model, x)
    saved = {k: v.copy() for k, v in model.state_dict().items()}
    rng_states = backend.get_rng_states()
    randomized, correlations = [], []
    try:
        backend.manual_seed(seed)
        done: list[str] = []
        for name, module in layers:
            with no_grad():
                _reinitialise(module)
            done.append(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", BlankMapWarning)
                maps = np.asarray(explain(model, x, targets))
            randomized.append(list(done))
            correlations.append(spearman(original, maps))
    finally:
        model.load_state_dict(saved)
        backend.set_rng_states(rng_states)
    correlations = np.array(correlations).reshape(len(layers), len(original))
    mean = correlations.mean(axis=1)
    flagged = bool(len(mean) and mean[-1] > threshold)
    return SanityCheck(randomized, correlations, mean, threshold, flagged, original)

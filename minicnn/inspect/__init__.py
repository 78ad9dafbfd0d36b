"""Instruments for looking inside a network while it learns.

- ``gradient_flow(model)``, after ``loss.backward()``: the size of the gradient per layer,
  from the input to the output (vanishing or exploding gradients), as a table or a plot;
- ``record_activations(model, x)``: each layer's output statistics (mean, std, the fraction
  of zeros and of dead units).

See also ``minicnn.viz.graph`` (the computation graph), ``minicnn.detect_anomaly`` (the first
NaN) and ``minicnn.receptive_field``.
"""

from .activations import ActivationStats, LayerActivation, record_activations
from .gradients import GradientFlow, LayerGradient, gradient_flow

__all__ = [
    "ActivationStats",
    "GradientFlow",
    "LayerActivation",
    "LayerGradient",
    "gradient_flow",
    "record_activations",
]

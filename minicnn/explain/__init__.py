"""Interpretability from minicnn's own gradients: where a network looks, at which depth it
starts to look at the wrong place, and whether the explanation can be trusted.

Everything is read through public hooks (``register_forward_hook``, ``retain_grad``,
``register_hook``); the model is left as it was found. Maps are NumPy arrays (N, H, W) at the
input's size, scaled to [0, 1] per image.

- Class-activation maps, ``cam = GradCAM(model, "features.3"); maps = cam(x, target)``:
  ``GradCAM``, ``HiResCAM``, ``GradCAMPlusPlus``, ``LayerCAM``, ``XGradCAM``, ``EigenCAM``,
  ``AblationCAM``, ``ScoreCAM`` and ``CAM`` (see :mod:`minicnn.explain.cam`);
- ``gradcam_layers``: the maps of every convolutional layer from one forward and one backward
  pass (Grad-CAM intra-layer); ``divergence``: layer by layer, how far the predicted class's
  map is from the true class's, and the first layer where they part;
- input gradients: ``saliency``, ``smoothgrad``, ``integrated_gradients``,
  ``guided_backprop``, ``guided_gradcam``; ``deconvnet`` (Zeiler and Fergus);
  ``activation_maximization``;
- measures: ``pointing_game``, ``energy_in_box``, ``confidence_drop``,
  ``pointing_game_by_layer``; ``sanity_check`` (Adebayo et al.'s randomisation test);
- figures: ``explain_figures``, ``misclassification_report_figures``,
  ``misclassification_gallery`` (drawn with :mod:`minicnn.plot`).

A map that comes out blank (all zero or constant) comes with a ``BlankMapWarning`` saying why.
"""

from ._core import BlankMapWarning, normalize_maps, upsample
from .analysis import explain_figures, misclassification_gallery, misclassification_report_figures
from .cam import (
    CAM,
    AblationCAM,
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from .deconvnet import deconvnet
from .divergence import DIVERGENCE_THRESHOLD, Divergence, divergence
from .guided import guided_backprop, guided_gradcam
from .layers import gradcam_layers
from .maximize import activation_maximization
from .metrics import confidence_drop, energy_in_box, pointing_game, pointing_game_by_layer
from .saliency import integrated_gradients, saliency, smoothgrad
from .sanity import SanityCheck, sanity_check

__all__ = [
    "CAM", "AblationCAM", "BlankMapWarning", "DIVERGENCE_THRESHOLD", "Divergence", "EigenCAM",
    "GradCAM", "GradCAMPlusPlus", "HiResCAM", "LayerCAM", "SanityCheck", "ScoreCAM", "XGradCAM",
    "activation_maximization", "confidence_drop", "deconvnet", "divergence", "energy_in_box",
    "explain_figures", "gradcam_layers", "guided_backprop", "guided_gradcam",
    "integrated_gradients", "misclassification_gallery", "misclassification_report_figures",
    "normalize_maps", "pointing_game", "pointing_game_by_layer", "saliency", "sanity_check",
    "smoothgrad", "upsample",
]  # fmt: skip

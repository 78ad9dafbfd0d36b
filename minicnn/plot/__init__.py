"""Plots (matplotlib, Agg canvas): each function returns a ``Figure`` and, given ``path``,
also writes it as a PNG file; ``save(figure, path)`` writes any of them later.

- ``training_curves(history)``: loss and accuracy per epoch, training and validation;
- ``confusion_matrix(matrix)``: heat map with the counts in the cells, optionally normalised;
- ``misclassified(images, y_true, y_pred)``: the mistakes with their true and predicted labels;
- ``filters(model)``: the first convolution's filters;
- ``activation_maps(model, layer, image)``: a layer's feature maps for one image;
- ``overlay``, ``cam_overlay``, ``intra_layer_grid``, ``cam_gallery``, ``divergence_curves``:
  class-activation maps over their images (computed by ``minicnn.explain``).

In a Jupyter notebook the returned figure shows itself when it is the cell's last value.
"""

from ._figure import save
from .cam import cam_gallery, cam_overlay, divergence_curves, intra_layer_grid, overlay
from .classification import confusion_matrix
from .curves import training_curves
from .images import activation_maps, filters, misclassified

__all__ = [
    "cam_gallery",
    "cam_overlay",
    "divergence_curves",
    "intra_layer_grid",
    "overlay",
    "activation_maps",
    "confusion_matrix",
    "filters",
    "misclassified",
    "save",
    "training_curves",
]

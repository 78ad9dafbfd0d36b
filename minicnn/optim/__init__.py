"""Optimizers (``SGD``, ``RMSprop``, ``Adam``, ``AdamW``) and learning-rate schedulers
(``minicnn.optim.lr_scheduler``), with PyTorch's update rules and API."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]

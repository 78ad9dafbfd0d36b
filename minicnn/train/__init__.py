"""Training: ``fit`` (the one training loop), ``evaluate``, callbacks and ``History``.

::

    from minicnn.train import fit, evaluate, EarlyStopping, ModelCheckpoint

    history = fit(model, train_loader, epochs=10, optimizer=optim.Adam(model.parameters()),
                  val_loader=val_loader,
                  callbacks=[EarlyStopping("val_loss", patience=3),
                             ModelCheckpoint("best.safetensors")])
    result = evaluate(model, test_loader)   # result.accuracy, result.predictions, ...
"""

from .callbacks import Callback, EarlyStopping, ModelCheckpoint, TrainState
from .history import KEYS, History
from .loop import EvalResult, NonFiniteLossError, evaluate, fit, model_device

__all__ = [
    "KEYS",
    "Callback",
    "EarlyStopping",
    "EvalResult",
    "History",
    "ModelCheckpoint",
    "NonFiniteLossError",
    "TrainState",
    "evaluate",
    "fit",
    "model_device",
]

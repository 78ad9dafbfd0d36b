"""Training checkpoints: everything needed to stop training and resume it exactly.

``save_checkpoint`` writes one safetensors file holding

- the model's ``state_dict()`` (tensors named ``model.<name>``, so PyTorch tools can read them),
- the optimizer's state (``optimizer.state.<index>.<name>``, e.g. momentum buffers),
- the scheduler's state, the epoch, the random generators' states, the state of the data
  ``loaders`` given (their shuffling and augmentation) and any ``**extra`` values (e.g. the
  best validation accuracy so far),

with every array stored as a tensor and everything else (numbers, strings, the nesting) as
JSON in the file's metadata. ``load_checkpoint`` puts it all back, so that training continued
from a checkpoint, even in a new process, gives bit-for-bit the same parameters as training
that never stopped::

    save_checkpoint("ckpt.safetensors", model, optimizer, scheduler, epoch=epoch,
                    loaders=train_loader, best_acc=acc)
    ...
    info = load_checkpoint("ckpt.safetensors", model, optimizer, scheduler, loaders=train_loader)
    start_epoch = info["epoch"] + 1

The random state restored is the seed and every device generator's state
(``minicnn.backend.get_rng_states``), which dropout and unseeded loaders draw from; a seeded
``DataLoader`` has its own generator, saved through ``loaders``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy

from . import backend
from .serialization import CheckpointError, PathLike, load_with_metadata, save
from .tensor import Tensor

_KEY = "minicnn.checkpoint"
_VERSION = 1
# A one-key dict with one of these keys marks a value JSON cannot hold directly.
_TENSOR, _TUPLE, _ITEMS = "__tensor__", "__tuple__", "__items__"


def _is_array(value: Any) -> bool:
    return isinstance(value, (Tensor, numpy.ndarray)) or backend.device_of(value) == "cuda"


def encode(value: Any, name: str, tensors: dict[str, Any]) -> Any:
    """Turn nested state (dicts, lists, tuples, numbers, strings, arrays) into JSON data.

    Each array is moved into ``tensors`` under ``name`` (its path, joined by dots) and
    replaced by ``{"__tensor__": name}``; tuples become ``{"__tuple__": [...]}`` and dicts
    whose keys are not all strings (an optimizer's state is keyed by parameter index)
    ``{"__items__": [[key, value], ...]}``.
    """
    if _is_array(value):
        if name in tensors:
            raise ValueError(f"save_checkpoint: two arrays would both be stored as {name!r}")
        tensors[name] = value
        return {_TENSOR: name}
    if isinstance(value, numpy.generic):  # a NumPy scalar, e.g. numpy.float32(0.5)
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [encode(v, f"{name}.{i}", tensors) for i, v in enumerate(value)]
        return {_TUPLE: items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        plain = all(isinstance(k, str) for k in value) and not (
            len(value) == 1 and next(iter(value)) in (_TENSOR, _TUPLE, _ITEMS)
        )
        if plain:
            return {k: encode(v, f"{name}.{k}", tensors) for k, v in value.items()}
        return {
            _ITEMS: [
                [encode(k, name, {}), encode(v, f"{name}.{k}", tensors)] for k, v in value.items()
            ]
        }
    raise TypeError(f"save_checkpoint: cannot store {name} of type {type(value).__name__}")


def decode(data: Any, tensors: dict[str, Any]) -> Any:
    """Inverse of :func:`encode`: rebuild the nested state, arrays taken from ``tensors``."""
    if isinstance(data, list):
        return [decode(v, tensors) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        [(key, inner)] = data.items()
        if key == _TENSOR:
            if inner not in tensors:
                raise CheckpointError(f"checkpoint refers to a missing tensor {inner!r}")
            return tensors[inner]
        if key == _TUPLE:
            return tuple(decode(v, tensors) for v in inner)
        if key == _ITEMS:
            return {decode(k, tensors): decode(v, tensors) for k, v in inner}
    return {k: decode(v, tensors) for k, v in data.items()}


def _as_list(loaders: Any) -> list[Any]:
    """``loaders`` (None, one loader, or a list or tuple of them) as a list."""
    if loaders is None:
        return []
    return list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]


def save_checkpoint(
    path: PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    epoch: int = 0,
    *,
    loaders: Any = None,
    **extra: Any,
) -> None:
    """Save a training checkpoint (atomically) to the safetensors file ``path``.

    Args:
        model: a Module; its ``state_dict()`` is saved.
        optimizer, scheduler: saved through their ``state_dict()`` when given.
        epoch: the last finished epoch.
        loaders: a DataLoader, or a list of them, saved through their ``state_dict()`` (a
            seeded loader's generator; its position in the middle of an epoch).
        extra: further values to keep (numbers, strings, arrays, lists and dicts of them).
    """
    loaders = _as_list(loaders)
    state = {
        "version": _VERSION,
        "epoch": epoch,
        "model": dict(model.state_dict()),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng_states": backend.get_rng_states(),
        "loaders": [loader.state_dict() for loader in loaders] if loaders else None,
        "extra": extra,
    }
    tensors: dict[str, Any] = {}
    data = {key: encode(value, key, tensors) for key, value in state.items()}
    save(tensors, path, metadata={_KEY: json.dumps(data)})


def load_checkpoint(
    path: PathLike,
    model: Any,
    optimizer: Any = None,
    scheduler: Any = None,
    *,
    loaders: Any = None,
) -> dict[str, Any]:
    """Restore a checkpoint written by :func:`save_checkpoint` into ``model`` (and the
    optimizer, scheduler and data loaders, when given), and restore the random generators.

    ``loaders`` must be the same number of loaders, in the same order, as were saved.
    Returns ``{"epoch": epoch, **extra}``.
    """
    tensors, metadata = load_with_metadata(path)
    if _KEY not in metadata:
        raise CheckpointError(
            f"{path!r} is a safetensors file but not a minicnn training checkpoint "
            "(use minicnn.load for plain tensor files)"
        )
    try:
        state = decode(json.loads(metadata[_KEY]), tensors)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path!r}: the checkpoint metadata is corrupt ({error})") from None
    if state.get("version") != _VERSION:
        raise CheckpointError(f"{path!r}: unknown checkpoint version {state.get('version')!r}")
    for name, target in (("optimizer", optimizer), ("scheduler", scheduler)):
        if target is not None and state[name] is None:
            raise CheckpointError(f"{path!r} holds no {name} state, but a {name} was given")
    loaders = _as_list(loaders)
    saved_loaders = state.get("loaders") or []
    if loaders and not saved_loaders:
        raise CheckpointError(f"{path!r} holds no data loader state, but loaders were given")
    if loaders and len(loaders) != len(saved_loaders):
        raise CheckpointError(
            f"{path!r} holds the state of {len(saved_loaders)} data loaders, but "
            f"{len(loaders)} {'was' if len(loaders) == 1 else 'were'} given"
        )
    model.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    for loader, saved in zip(loaders, saved_loaders if loaders else [], strict=True):
        loader.load_state_dict(saved)
    if "rng_states" in state:
        backend.set_rng_states(state["rng_states"])
    else:  # a checkpoint written before the other devices' generators were saved
        backend.set_rng_state(state["rng_state"])
    return {"epoch": state["epoch"], **state["extra"]}

"""``Optimizer``: the machinery every optimizer shares.

An optimizer owns *parameter groups* and a per-parameter *state*:

- ``param_groups`` is a list of dicts, each holding ``"params"`` (a list of Tensors) and that
  group's options (``"lr"``, ``"momentum"``, ...). Options a group leaves out come from the
  optimizer's ``defaults``, so one optimizer can give, say, a pretrained base a smaller learning
  rate than a new head::

      SGD([{"params": base.parameters(), "lr": 1e-3}, {"params": head.parameters()}], lr=1e-2)

- ``state[p]`` is a dict of what the update rule remembers about parameter ``p`` between steps
  (a velocity, running averages, a step count).

``step()`` walks every parameter that has a gradient and calls the subclass's
``_update(param, grad, state, group)`` on the raw arrays; a subclass only writes that one rule.
Parameters whose ``.grad`` is ``None`` (frozen, or not used in the loss) are skipped.
Updates are made *in place* on ``p.data``, so every module holding ``p`` sees the new values.

``state_dict()`` numbers the parameters 0, 1, 2, ... in group order (as PyTorch does), so the
state can be saved to a file and loaded into a new optimizer built over a new model of the same
architecture: training then resumes exactly where it stopped. Unlike PyTorch's, it also names
the optimizer (``"optimizer": "Adam"``), and loading it into another kind raises a ValueError.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from .. import backend
from ..autograd import enable_grad, no_grad
from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]]


def _is_array(value: Any) -> bool:
    """Whether ``value`` is a NumPy/CuPy array (not a Python number)."""
    return hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "copy")


def check_non_negative(name: str, value: float, label: str | None = None) -> None:
    """Raise PyTorch's ``Invalid <label>: <value>`` error when ``value`` is negative."""
    if not value >= 0.0:  # also rejects NaN
        raise ValueError(f"Invalid {label or name + ' value'}: {value}")


def zeros_state(state: dict[str, Any], name: str, like: Any) -> Any:
    """``state[name]``, created as an array of zeros shaped like ``like`` on first use."""
    if name not in state:
        state[name] = backend.get_array_module(like).zeros_like(like)
    return state[name]


class Optimizer(ABC):
    """Base class of all optimizers: parameter groups, state, ``step``, ``zero_grad``,
    ``state_dict`` / ``load_state_dict``.

    Subclasses call ``super().__init__(params, defaults)`` and implement
    ``_update(param, grad, state, group)``, which changes the array ``param`` in place from
    the gradient array ``grad`` (which it must not modify), and ``_check_group(group)``,
    which validates a group's options.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._step_count = 0
        if isinstance(params, (Tensor, dict)):
            raise TypeError(
                f"{type(self).__name__}: params should be an iterable of Tensors or of dicts "
                f"(parameter groups), but got a {type(params).__name__}; "
                "wrap it in a list or pass model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # --- parameter groups ------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing options take the defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name} can only optimize Tensors, but one of the params is {type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: can only optimize floating-point Tensors, got {p.dtype}")
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same parameter twice")
        if any(id(p) in ids for group in self.param_groups for p in group["params"]):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = {"params": params, **{k: v for k, v in param_group.items() if k != "params"}}
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    @abstractmethod
    def _check_group(self, group: dict[str, Any]) -> None:
        """Raise a ValueError for invalid options (each optimizer checks its own)."""

    # --- the update ------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward pass (they would otherwise add up).

        ``set_to_none=True`` (the default, as in PyTorch) sets ``p.grad = None``, so a
        parameter that gets no gradient next time is skipped by ``step``; ``False`` fills
        the gradients with zeros instead.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # a new array: gradient arrays may be shared between tensors
                    xp = backend.get_array_module(p.grad.data)
                    p.grad = Tensor(xp.zeros_like(p.grad.data))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, once.

        ``closure``, if given, recomputes the loss (with gradients) and returns it; ``step``
        returns that loss.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.setdefault(p, {})
                    self._update(
                        p._write_in_place(f"{type(self).__name__}.step"), p.grad.data, state, group
                    )
        self._step_count += 1
        return loss

    @abstractmethod
    def _update(self, param: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Change the array ``param`` in place, given its gradient array ``grad``."""

    # --- saving and resuming -----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data: ``{"state": {index: {name: array or number}},
        "param_groups": [{options..., "params": [index, ...]}], "optimizer": class name}``.

        Parameters are numbered in the order of ``param_groups``. The arrays are copies, so the
        dict is a snapshot that later steps do not change.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, values in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {
                    k: v.copy() if _is_array(v) else v for k, v in values.items()
                }
        return {
            "state": dict(sorted(state.items())),
            "param_groups": groups,
            "optimizer": type(self).__name__,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()`` (of an optimizer over parameters of the same shapes).

        State arrays are copied onto each parameter's device and dtype; the group options
        (learning rates included) are taken from ``state_dict``. The state of another kind of
        optimizer (SGD's into Adam) raises a ValueError; so does a state dict without the
        ``"optimizer"`` entry whose groups lack some of this optimizer's options.
        """
        name = type(self).__name__
        kind = state_dict.get("optimizer")
        if kind is not None and kind != name:
            raise ValueError(
                f"{name}.load_state_dict: cannot load the state dict of a {kind} optimizer "
                f"into a {name}; build a {kind} to resume it"
            )
        saved_groups = state_dict["param_groups"]
        missing = sorted(
            {key for group in saved_groups for key in self.defaults.keys() - group.keys()}
        )
        if kind is None and missing:
            raise ValueError(
                f"{name}.load_state_dict: the state dict's parameter groups lack the {name} "
                f"options {missing}: it is the state of another kind of optimizer"
            )
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: loaded state dict has {len(saved_groups)} parameter "
                f"groups, the optimizer has {len(self.param_groups)}"
            )
        params: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} of the loaded state dict has "
                    f"{len(saved['params'])} parameters, the optimizer's has "
                    f"{len(group['params'])}"
                )
            params.update(zip(saved["params"], group["params"], strict=True))
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, values in state_dict["state"].items():
            if int(key) not in params:
                raise ValueError(f"{name}.load_state_dict: state for unknown parameter {key}")
            p = params[int(key)]
            new_state[p] = {k: self._state_value(v, p, f"{key}.{k}") for k, v in values.items()}
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

    def _state_value(self, value: Any, param: Tensor, where: str) -> Any:
        """A loaded state entry: arrays are copied to the parameter's device and dtype."""
        if isinstance(value, Tensor):
            value = value.data
        if not _is_array(value):
            return value
        if value.ndim == 0 and param.ndim != 0:  # a counter such as PyTorch's step tensor
            return value.item()
        if tuple(value.shape) != param.shape:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: state {where} has shape "
                f"{tuple(value.shape)} but its parameter has shape {param.shape}"
            )
        return backend.asarray(value, dtype=param.dtype, device=param.device).copy()

"""``Module``: the base class of every layer and model.

A Module holds three ordered registries, filled by plain attribute assignment:

* ``_parameters``: the learnable ``Parameter``s (``self.weight = Parameter(...)``);
* ``_buffers``: state that is saved but not learned, e.g. BatchNorm's running mean
  (``self.register_buffer("running_mean", minicnn.zeros(c))``);
* ``_modules``: sub-modules (``self.conv1 = Conv2d(...)``).

From these it derives everything else: ``parameters()`` for the optimizer, ``state_dict()`` with
dotted names (``"features.0.weight"``), ``train()``/``eval()``, dtype and device moves, and
``repr``. A plain Tensor assigned to an attribute is *not* registered (as in PyTorch): wrap
learnable tensors in ``Parameter`` and register the rest with ``register_buffer``.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from .. import backend
from ..autograd import _anomaly_mode, no_grad
from ..tensor import Tensor
from .parameter import Parameter

_hook_ids = itertools.count()


class _RunningLayers(threading.local):
    """The layers whose ``forward`` is running in this thread, outermost first. Kept only while
    ``minicnn.detect_anomaly()`` is on: it names the layer that called a failing op."""

    def __init__(self) -> None:
        self.stack: list[Module] = []


_running_layers = _RunningLayers()


class RemovableHandle:
    """Returned by ``register_forward_hook``: ``handle.remove()`` takes the hook off again."""

    def __init__(self, hooks: dict[int, Callable]):
        self._hooks = hooks
        self.id = next(_hook_ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )


def _quoted(keys: list[str]) -> str:
    return ", ".join(f'"{key}"' for key in keys)


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (how PyTorch nests child reprs)."""
    first, *rest = text.split("\n")
    return "\n".join([first, *(" " * spaces + line for line in rest)])


def _name_the_layer(error: Exception, layer: Module) -> None:
    """Prefix an argument error with the innermost layer it came from, once.

    Arguments are checked in ``minicnn.functional`` (``"conv2d: expected ..."``); the layer
    that called it adds its own description, so the user sees which ``Conv2d`` failed.
    """
    if (
        getattr(error, "_minicnn_layer", False)
        or not error.args
        or not isinstance(error.args[0], str)
    ):
        return
    error.args = (f"{type(layer).__name__}({layer.extra_repr()}): {error.args[0]}", *error.args[1:])
    error._minicnn_layer = True  # type: ignore[attr-defined]


class Module:
    """Base class of layers and models: subclass it, register parts in ``__init__``, and
    write ``forward``. Call the module (``model(x)``), not ``forward``, so hooks run."""

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist already.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the "forward" method')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        try:
            if _anomaly_mode.check is None:
                output = self.forward(*args, **kwargs)
            else:  # detect_anomaly(): the ops run inside know this layer called them
                _running_layers.stack.append(self)
                try:
                    output = self.forward(*args, **kwargs)
                finally:
                    _running_layers.stack.pop()
        except (ValueError, TypeError) as error:
            _name_the_layer(error, self)
            raise
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    # --- registration ---------------------------------------------------------------------

    def _check_new_name(self, name: str, kind: str, registry: str) -> None:
        if registry not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "" or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a learnable Parameter (or None: a declared but absent one, like a bias)."""
        self._check_new_name(name, "parameter", "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(minicnn.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a Tensor that is state but not learned (saved in ``state_dict`` unless
        ``persistent=False``; moved by ``to()``; never returned by ``parameters()``)."""
        self._check_new_name(name, "buffer", "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(minicnn Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a sub-module under ``name`` (what ``self.name = module`` does)."""
        self._check_new_name(name, "module", "_modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        registries = ("_parameters", "_buffers", "_modules")
        if isinstance(value, (Parameter, Module)):
            registry = "_parameters" if isinstance(value, Parameter) else "_modules"
            if registry not in self.__dict__:
                kind = "parameters" if registry == "_parameters" else "module"
                raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
            self.__dict__.pop(name, None)
            for other in registries:
                if other != registry:
                    self.__dict__[other].pop(name, None)
            self._non_persistent_buffers.discard(name)
            self.__dict__[registry][name] = value
            return
        for registry, expected in zip(
            registries, ("minicnn.nn.Parameter", "minicnn Tensor", "Module"), strict=True
        ):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                if value is not None and not (registry == "_buffers" and isinstance(value, Tensor)):
                    raise TypeError(
                        f"cannot assign '{type(value).__name__}' as {registry[1:-1]} '{name}' "
                        f"({expected} or None expected)"
                    )
                table[name] = value
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, ()):
                del self.__dict__[registry][name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        names = [*super().__dir__(), *self._parameters, *self._buffers, *self._modules]
        return sorted(set(names))

    # --- iteration ------------------------------------------------------------------------

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first, with dotted names ("" for self)."""
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                child_prefix = f"{prefix}.{name}" if prefix else name
                yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules (each once) with their names."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        if recurse:
            modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        else:
            modules = iter([(prefix, self)])
        for module_prefix, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, Parameter)`` pairs; a Parameter shared by two layers comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The learnable Parameters (give them to an optimizer)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # --- state_dict -----------------------------------------------------------------------

    def state_dict(
        self, *, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Any]:
        """Every parameter and persistent buffer, by dotted name, in registration order.

        Values are the raw arrays (NumPy or CuPy), sharing memory with the module as in
        PyTorch: copy them (``{k: v.copy() for k, v in sd.items()}``) to keep a snapshot.
        ``keep_vars=True`` gives the Tensors themselves.
        """
        destination = OrderedDict() if destination is None else destination
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.data
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.data
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(
                    destination=destination, prefix=f"{prefix}{name}.", keep_vars=keep_vars
                )
        return destination

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy arrays (or Tensors) from ``state_dict`` into this module's parameters and buffers.

        Values are converted to each parameter's dtype and device (a NumPy array loads into a
        GPU model). Shapes must match. With ``strict=True`` the keys must match exactly; all
        problems are reported in one ``RuntimeError`` and nothing is copied. ``strict=False``
        loads what matches and returns the ``(missing_keys, unexpected_keys)`` named tuple
        (shape mismatches are still an error, as in PyTorch).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"expected a mapping of names to arrays, got {type(state_dict).__name__}"
            )
        expected = self.state_dict(keep_vars=True)
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in expected]
        errors, copies = [], []
        for key, target in expected.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value.data if isinstance(value, Tensor) else value
            if not hasattr(value, "shape"):  # a list or a number: a host array
                value = backend.asarray(value)
            if tuple(value.shape) != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} "
                    f"from checkpoint, the shape in current model is {target.shape}."
                )
            else:
                copies.append((target, value))
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}.")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}.")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for target, value in copies:  # straight to the target's device, never via the host
                target.copy_(backend.to_device(value, target.device))
        return IncompatibleKeys(missing, unexpected)

    # --- modes, dtypes, devices, gradients ------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=True``) or evaluation mode here and in every sub-module.
        Dropout and BatchNorm behave differently in the two."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be a bool, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def _convert(self, convert: Callable[[Any], Any], floating_only: bool) -> Module:
        """Replace the array of every parameter, buffer and gradient by ``convert(array)``.

        The Tensor objects stay the same, so an optimizer holding the Parameters still works.
        """
        for module in self.modules():
            for t in [*module._parameters.values(), *module._buffers.values()]:
                if t is None or (floating_only and t.dtype.kind != "f"):
                    continue
                t.data = convert(t.data)
                if t.grad is not None:
                    t.grad.data = convert(t.grad.data)
        return self

    def to(self, target: Any) -> Module:
        """Move to a device (``"cpu"``, ``"cuda"``) or convert floating tensors to a dtype,
        in place; returns ``self``."""
        if isinstance(target, str):
            device = backend.normalize_device(target)
            return self._convert(lambda a: backend.to_device(a, device), floating_only=False)
        if backend.asarray(0, dtype=target).dtype.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are allowed, got {target}")
        return self._convert(lambda a: a.astype(target, copy=False), floating_only=True)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    def double(self) -> Module:
        """Convert floating parameters and buffers to float64 (in place; returns self)."""
        return self.to(backend.float64)

    def float(self) -> Module:
        """Convert floating parameters and buffers to float32 (in place; returns self)."""
        return self.to(backend.float32)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None``, or zeros with ``set_to_none=False``)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad = Tensor(backend.get_array_module(param.data).zeros_like(param.data))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter: ``requires_grad_(False)`` freezes them."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    # --- hooks and apply ------------------------------------------------------------------

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after every forward (``inputs`` is the tuple
        of positional arguments). A non-None return value replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before every forward; a non-None return value (a
        tuple, or a single value) replaces the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on ``self``, e.g. for a
        custom initialisation."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --- repr -----------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The layer's settings, shown inside its ``repr`` (override in subclasses)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + _addindent(repr(module), 2) for name, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if len(extra_lines) == 1 and not child_lines:
            text += extra_lines[0]
        elif lines:
            text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

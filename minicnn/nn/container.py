"""Containers: ``Sequential`` (a chain of layers), ``ModuleList`` (a list of layers) and
``ModuleDict`` (layers by name)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import ItemsView, Iterable, Iterator, KeysView, Mapping, ValuesView
from typing import Any

from .module import Module, _addindent


def _index(index: int, length: int, owner: str) -> int:
    """A non-negative position for ``index`` (negative counts from the end)."""
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for {owner} of length {length}")
    return index % length


class Sequential(Module):
    """Apply modules one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Children are named ``"0"``, ``"1"``, ... (so a state_dict has keys like ``"0.weight"``),
    or take the names of an ``OrderedDict`` given as the only argument. Indexing with an int
    (negative too) gives a layer; a slice gives a Sequential of those layers, keeping names.
    """

    def __init__(self, *args: Module | OrderedDict[str, Module]):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_index(index, len(items), "Sequential")][1]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[_index(index, len(self), "Sequential")]
        setattr(self, name, module)

    def __delitem__(self, index: int | slice) -> None:
        names = list(self._modules)
        if isinstance(index, slice):
            doomed = names[index]
        else:
            doomed = [names[_index(index, len(names), "Sequential")]]
        modules = [m for name, m in self._modules.items() if name not in doomed]
        self._modules.clear()
        for i, module in enumerate(modules):  # renumber "0", "1", ... as PyTorch does
            self._modules[str(i)] = module

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position)."""
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain Python list's would not be).

    Supports ``append``, ``extend``, ``insert``, indexing (slices give a ModuleList), ``len``
    and iteration. It has no ``forward``: the owner decides how to call its entries.
    """

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_index(index, len(modules), "ModuleList")]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, str(_index(index, len(self), "ModuleList")), module)

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), "ModuleList")]
        self._modules.clear()
        self.extend(modules)  # renumber "0", "1", ... as PyTorch does

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)

    def __repr__(self) -> str:
        """Like PyTorch: runs of identical entries are shown once, as ``(0-2): 3 x Linear(...)``."""
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        runs: list[list[Any]] = []  # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = []
        for start, end, text in runs:
            label = (
                f"({start}): {text}"
                if start == end
                else f"({start}-{end}): {end - start + 1} x {text}"
            )
            lines.append(_addindent(label, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """An ordered dict of modules whose parameters are registered, keyed by name: the keys are
    the names in ``state_dict`` (``"encoder.weight"``). Like PyTorch's: indexing,
    assignment, ``del``, ``in``, ``len``, iteration over the keys in insertion order,
    ``keys``/``values``/``items``, ``update``, ``pop`` and ``clear``. A key must be a valid
    module name (a string without ".", not an attribute of the ModuleDict such as ``"keys"``).
    It has no ``forward``: the owner decides how to call its entries.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> KeysView[str]:
        return self._modules.keys()

    def values(self) -> ValuesView[Module]:
        return self._modules.values()

    def items(self) -> ItemsView[str, Module]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) the entries of a mapping (a dict, an OrderedDict, a ModuleDict), in
        its order, or of an iterable of (key, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        if not isinstance(modules, Iterable) or isinstance(modules, (str, Module)):
            raise TypeError(
                f"ModuleDict.update: expected a mapping or an iterable of (key, module) pairs, "
                f"got {type(modules).__name__}"
            )
        for i, pair in enumerate(modules):
            if not isinstance(pair, Iterable) or isinstance(pair, (str, Module)):
                raise TypeError(
                    f"ModuleDict.update: element #{i} must be a (key, module) pair, got "
                    f"{type(pair).__name__}"
                )
            pair = tuple(pair)
            if len(pair) != 2:
                raise ValueError(
                    f"ModuleDict.update: element #{i} must be a (key, module) pair, got "
                    f"{len(pair)} items"
                )
            self[pair[0]] = pair[1]

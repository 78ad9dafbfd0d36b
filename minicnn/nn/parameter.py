"""``Parameter``: a Tensor that a Module learns.

Assigning a Parameter to a Module attribute (``self.weight = Parameter(...)``) registers it,
so ``module.parameters()`` hands it to the optimizer and ``state_dict()`` saves it.
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that requires grad by default and that Modules register as a learnable weight.

    ``Parameter(data)`` shares ``data``'s array when ``data`` is a Tensor (as PyTorch does).
    """

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = Tensor([])
        super().__init__(data, requires_grad=requires_grad)
        if isinstance(data, Tensor):
            self.data = data.data  # share the array, not the copy Tensor() makes
            self._version_counter = data._version_counter

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

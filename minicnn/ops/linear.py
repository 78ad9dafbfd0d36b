"""The fully connected (affine) layer's op: y = x W^T + b."""

from __future__ import annotations

from typing import Any

from ..autograd import Function


class Linear(Function):
    """y = x W^T + b over the last axis of x;  dx = g W,  dW = g^T x,  db = sum of g.

    dW and db add up over every leading position (batch, sequence...): with x and g flattened
    to (M, in) and (M, out), dW = g^T x is an (out, in) matrix product and db = g.sum(0).
    Shapes: x (..., in), W (out, in), b (out,) -> y (..., out).
    """

    def forward(self, x: Any, weight: Any, bias: Any) -> Any:
        self.x, self.weight = x, weight
        y = x @ weight.T
        return y if bias is None else y + bias

    def backward(self, g: Any) -> tuple[Any, Any, Any]:
        x, weight = self.x, self.weight
        dx = g @ weight if self.needs_input_grad[0] else None
        dweight = dbias = None
        if self.needs_input_grad[1]:
            dweight = g.reshape(-1, g.shape[-1]).T @ x.reshape(-1, x.shape[-1])
        if self.needs_input_grad[2]:
            dbias = g.reshape(-1, g.shape[-1]).sum(axis=0)
        return dx, dweight, dbias

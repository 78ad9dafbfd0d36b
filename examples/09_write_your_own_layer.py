# %% [markdown]
# # 09 - Write your own layer
#
# Every op in minicnn is a `Function` with a `forward` and a hand-written `backward` on
# plain arrays. Here we write a new one, PReLU (a ReLU whose slope for negative inputs is
# learned, one slope per channel), check its backward against finite differences, wrap it
# in a layer, and check the layer. The last cells are the pattern of a coursework
# autograder: the same checks, run on a student's `Function`, turned into points.

# %%
import numpy as np

import minicnn as mc
from minicnn import nn
from minicnn.backend import get_array_module
from minicnn.nn.init import constant_
from minicnn.testing import check_layer

# %% [markdown]
# ## The op
# `y = x` where `x > 0`, `y = a x` elsewhere, with `a` of shape (C,) broadcast over
# (N, C, H, W). The gradients, with `g = dL/dy`:
#
# - `dL/dx = g` where `x > 0`, `a g` elsewhere;
# - `dL/da[c] = sum of g x` over the positions of channel c where `x <= 0` (every output
#   that used `a[c]` contributes: broadcasting in forward is a sum in backward).
#
# Forward keeps on `self` what backward needs; `self.needs_input_grad` says which
# gradients are wanted. The array module (`xp`: NumPy, or CuPy on a GPU) comes from the
# arrays themselves.


class PReLUFunction(mc.Function):
    """y = max(x, 0) + a * min(x, 0), a per channel (dim 1);
    dx = g * (1 if x > 0 else a),  da[c] = sum over channel c of g * min(x, 0)."""

    def forward(self, x, a):
        xp = get_array_module(x)
        self.positive = x > 0
        self.x, self.a = x, a
        shape = (1, -1) + (1,) * (x.ndim - 2)  # (C,) -> (1, C, 1, 1)
        self.a_view = a.reshape(shape)
        return xp.where(self.positive, x, self.a_view * x)

    def backward(self, g):
        xp = get_array_module(g)
        dx = da = None
        if self.needs_input_grad[0]:
            dx = xp.where(self.positive, g, self.a_view * g)
        if self.needs_input_grad[1]:
            axes = (0, *range(2, g.ndim))  # every axis but the channels
            da = xp.where(self.positive, 0, g * self.x).sum(axis=axes)
        return dx, da


x = mc.tensor([[[-2.0, 1.0]], [[3.0, -0.5]]])  # (N=2, C=1, 2)
a = mc.tensor([0.25], requires_grad=True)
y = PReLUFunction()(x, a)
print(y.numpy().ravel())  # [-0.5, 1, 3, -0.125]
y.sum().backward()
print("dL/da =", a.grad.numpy())  # -2 + -0.5

# %% [markdown]
# ## Check the backward with finite differences
# `gradcheck` (in float64) perturbs every element of every input by +-eps and compares the
# numerical slope with the backward pass, through a random projection of the output.
# Avoid inputs at the kink (x = 0), where the derivative does not exist.

# %%
rng = np.random.default_rng(0)
x64 = rng.standard_normal((3, 4, 5, 5))
x64[np.abs(x64) < 0.05] = 0.1  # stay away from the kink
x64 = mc.tensor(x64, requires_grad=True, dtype=mc.float64)
a64 = mc.tensor(rng.uniform(0.1, 0.3, 4), requires_grad=True, dtype=mc.float64)
print("gradcheck:", mc.gradcheck(lambda x, a: PReLUFunction()(x, a), [x64, a64]))

# %% [markdown]
# ## The layer
# A layer holds the parameter (one slope per channel, 0.25 as PyTorch's `nn.PReLU`) and
# calls the Function in `forward`. `check_layer` gradient-checks the layer's input and each
# of its parameters in float64, and names the one that fails.


class PReLU(nn.Module):
    """PReLU with ``num_parameters`` learned slopes (one per channel)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        self.weight = nn.Parameter(mc.zeros(num_parameters))
        constant_(self.weight, init)

    def forward(self, x):
        return PReLUFunction()(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.weight.shape[0]}"


layer = PReLU(4)
check_layer(layer, (2, 4, 3, 3))
print(layer, "passes check_layer")
model = nn.Sequential(nn.Conv2d(1, 4, 3), PReLU(4), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
print(model(mc.randn(5, 1, 6, 6)).shape)

# %% [markdown]
# ## What a wrong backward looks like
# A classic mistake: forgetting that the slope was broadcast, and returning `g * x` of the
# input's shape instead of summing it per channel; or a sign slip. The engine catches a
# wrongly shaped gradient at once; `gradcheck` catches wrong values and says where.


class BuggyPReLU(PReLUFunction):
    def backward(self, g):
        dx, da = super().backward(g)
        return dx, None if da is None else -da  # wrong sign


try:
    mc.gradcheck(lambda x, a: BuggyPReLU()(x, a), [x64, a64])
except mc.GradcheckError as error:
    print("gradcheck caught it:", str(error)[:300])

# %% [markdown]
# ## An autograder
# Coursework can hand out the `Function` with `backward` left blank and grade it with the
# same checks: each passing check earns its points, each failing one reports its message.


def grade(function: type[mc.Function]) -> tuple[int, list[str]]:
    """Points out of 3 for a student's PReLU ``Function``, and the reasons for lost points."""
    points, notes = 0, []

    def check(name, test):
        nonlocal points
        try:
            test()
            points += 1
        except Exception as error:  # any failure costs the point
            notes.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")

    def forward_values():
        y = function()(mc.tensor([[-2.0, 3.0]]).reshape(1, 1, 2), mc.tensor([0.5]))
        np.testing.assert_allclose(y.numpy().ravel(), [-1.0, 3.0])

    check("forward", forward_values)
    check("gradient of x", lambda: mc.gradcheck(lambda x: function()(x, a64.detach()), [x64]))
    check("gradient of a", lambda: mc.gradcheck(lambda a: function()(x64.detach(), a), [a64]))
    return points, notes


for student in (PReLUFunction, BuggyPReLU):
    points, notes = grade(student)
    print(f"{student.__name__}: {points}/3", *notes, sep="\n  ")
assert grade(PReLUFunction)[0] == 3 and grade(BuggyPReLU)[0] == 2

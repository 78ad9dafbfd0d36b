# %% [markdown]
# # 01 - Autograd by hand
#
# A neuron `y = sigmoid(w*x + b)` with a squared error `L = (y - t)**2` is a graph of four
# ops. We draw that graph, compute `dL/dw` and `dL/db` by hand with the chain rule, and
# compare with what `backward()` computes and with finite differences (`gradcheck`).
#
# Run it as a script (`python examples/01_autograd_by_hand.py`) or open it as a notebook
# (Jupyter with jupytext, or VS Code): each `# %%` line starts a cell.

# %%
import os
from pathlib import Path

import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn import viz

OUT = Path(os.environ.get("MINICNN_OUT", "output"))  # where the figures are written
OUT.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The forward pass builds a graph
# Every op on tensors that require grad records itself (its `grad_fn`) and the tensors it was
# called on. `viz.graph` follows those links back from the loss.

# %%
x = mc.tensor(1.5)
t = mc.tensor(1.0)  # the target
w = mc.tensor(0.8, requires_grad=True)
b = mc.tensor(-0.5, requires_grad=True)

z = w * x + b
y = F.sigmoid(z)
loss = (y - t) ** 2
graph = viz.graph(loss, {"x": x, "t": t, "w": w, "b": b})
print(graph)  # the DOT text: ops (boxes) and tensors (ovals) with their shapes

# %% [markdown]
# With Graphviz installed (`apt install graphviz`), the graph can be drawn; without it, the
# `.dot` file can be pasted into any Graphviz viewer.

# %%
graph.render(OUT / "01_graph.dot")
try:
    print("drawn:", graph.render(OUT / "01_graph.svg"))
except RuntimeError as error:
    print(error)
graph  # noqa: B018 (a notebook cell shows its last value)

# %% [markdown]
# ## The chain rule by hand
# `L = (y - t)^2`, `y = s(z)` with `s' = s (1 - s)`, `z = w x + b`:
#
# `dL/dw = 2 (y - t) * y (1 - y) * x`,  `dL/db = 2 (y - t) * y (1 - y) * 1`.

# %%
y_value = 1 / (1 + np.exp(-(0.8 * 1.5 - 0.5)))
dL_dy = 2 * (y_value - 1.0)
dy_dz = y_value * (1 - y_value)
by_hand = {"w": dL_dy * dy_dz * 1.5, "b": dL_dy * dy_dz * 1.0}

loss.backward()  # walks the graph from the loss back to w and b (and then frees it)
print(f"dL/dw by hand {by_hand['w']:+.6f}, by backward {w.grad.item():+.6f}")
print(f"dL/db by hand {by_hand['b']:+.6f}, by backward {b.grad.item():+.6f}")
assert np.isclose(w.grad.item(), by_hand["w"], rtol=1e-5)
assert np.isclose(b.grad.item(), by_hand["b"], rtol=1e-5)

# %% [markdown]
# ## The same with matrices
# For a layer `h = tanh(W x + c)` and `L = sum(h)`, the upstream gradient `g = dL/dh = 1`
# flows back as `dL/da = g * (1 - h^2)` through tanh, then `dL/dW = outer(dL/da, x)`,
# `dL/dc = dL/da` and `dL/dx = W^T dL/da`.

# %%
rng = np.random.default_rng(0)
W = mc.tensor(rng.standard_normal((3, 2)), requires_grad=True, dtype=mc.float64)
c = mc.tensor(rng.standard_normal(3), requires_grad=True, dtype=mc.float64)
xv = mc.tensor(rng.standard_normal(2), requires_grad=True, dtype=mc.float64)
h = mc.tanh(W @ xv + c)
h.sum().backward()

da = 1 - h.numpy() ** 2
np.testing.assert_allclose(W.grad.numpy(), np.outer(da, xv.numpy()))
np.testing.assert_allclose(c.grad.numpy(), da)
np.testing.assert_allclose(xv.grad.numpy(), W.numpy().T @ da)
print("dL/dW =\n", W.grad.numpy())

# %% [markdown]
# ## Finite differences agree
# `gradcheck` nudges every input element by +-eps (in float64) and compares
# `(f(x + eps) - f(x - eps)) / 2 eps` with the backward pass.

# %%
ok = mc.gradcheck(lambda W, c, xv: mc.tanh(W @ xv + c).sum(), [W, c, xv])
print("gradcheck:", ok)

# %% [markdown]
# ## Gradients add up
# A tensor used twice receives the sum of both paths' gradients: for `q = a * a`,
# `dq/da = a + a = 2a`. The graph shows the two arrows from `a` into the product.

# %%
a = mc.tensor([3.0], requires_grad=True)
q = a * a
print(viz.graph(q, {"a": a}).source.count("-> f1"), "arrows into the product")
q.backward(mc.ones(1))
print("dq/da =", a.grad.item())
assert a.grad.item() == 6.0

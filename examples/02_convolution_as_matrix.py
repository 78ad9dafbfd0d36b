# %% [markdown]
# # 02 - Convolution as a matrix product
#
# A convolution slides a kernel over the image; written out, each output pixel is the dot
# product of the kernel with one patch. **im2col** copies every patch into a column of a
# matrix, so that the whole convolution becomes one matrix product: this is how minicnn
# (and many frameworks) compute it. We then look at the output-size formula, and at the
# transposed convolution, which is the gradient of a convolution with respect to its input.

# %%
import numpy as np

import minicnn as mc
import minicnn.functional as F
from minicnn.ops.im2col import conv_output_size, im2col

# %% [markdown]
# ## im2col of a small image
# A 4x4 image with the values 0..15, a 3x3 kernel, stride 1, no padding: 2x2 output pixels,
# so 4 patches of 9 values each.

# %%
image = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)  # (N, C, H, W)
kernel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)  # Sobel, x-edges
print(image[0, 0])

cols = im2col(image, (3, 3), stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1))
print("columns as (C, kh, kw, N, OH, OW):", cols.shape)
matrix = cols.reshape(1 * 3 * 3, 1 * 2 * 2)  # (C*kh*kw, N*OH*OW): one patch per column
print(matrix)

# %% [markdown]
# ## The convolution is one matrix product
# The kernel as a row (1 x 9) times the patch matrix (9 x 4) gives the 4 output pixels.
# With `O` kernels the row becomes an `O x (C*kh*kw)` matrix, and a batch of `N` images
# just adds columns.

# %%
by_matrix = (kernel.reshape(1, 9) @ matrix).reshape(1, 1, 2, 2)
by_conv = F.conv2d(mc.tensor(image), mc.tensor(kernel.reshape(1, 1, 3, 3))).numpy()
print(by_matrix[0, 0])
np.testing.assert_allclose(by_matrix, by_conv)

# %% [markdown]
# ## Output-size arithmetic
# Along each axis, `out = floor((in + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1`.

# %%
rows = []
for size, k, s, p, d in [(28, 5, 1, 2, 1), (28, 5, 1, 0, 1), (32, 3, 2, 1, 1), (7, 3, 2, 0, 1),
                         (16, 3, 1, 2, 2), (224, 7, 2, 3, 1)]:  # fmt: skip
    formula = conv_output_size(size, k, s, 2 * p, d)
    x = mc.zeros(1, 1, size, size)
    actual = F.conv2d(x, mc.zeros(1, 1, k, k), stride=s, padding=p, dilation=d).shape[-1]
    assert formula == actual
    rows.append((size, k, s, p, d, formula))
print("in  kernel stride pad dilation -> out")
for row in rows:
    print("{:<4} {:>6} {:>6} {:>3} {:>8} -> {}".format(*row))

# %% [markdown]
# ## The whole convolution as a matrix C
# A convolution is linear in the image, so it is a matrix: `y = C x` with `x` the 16 pixels
# flattened. Its columns are the convolution of the 16 unit images.

# %%
unit_images = np.eye(16, dtype=np.float32).reshape(16, 1, 4, 4)
C = F.conv2d(mc.tensor(unit_images), mc.tensor(kernel.reshape(1, 1, 3, 3))).numpy()
C = C.reshape(16, 4).T  # (outputs, inputs) = (4, 16)
print(C.astype(int))
np.testing.assert_allclose(C @ image.reshape(16), by_conv.reshape(4))

# %% [markdown]
# ## The transposed convolution is the gradient of a convolution
# For `y = C x` and an upstream gradient `g = dL/dy`, `dL/dx = C^T g`. Multiplying by `C^T`
# is exactly what `conv_transpose2d` computes with the same kernel: each output gradient
# scatters a copy of the kernel back onto the pixels it came from. That is also why a
# transposed convolution *upsamples* (2x2 -> 4x4 here).

# %%
g = np.array([[1.0, -1.0], [0.5, 2.0]], dtype=np.float32).reshape(1, 1, 2, 2)
x = mc.tensor(image, requires_grad=True)
F.conv2d(x, mc.tensor(kernel.reshape(1, 1, 3, 3))).backward(mc.tensor(g))
transposed = F.conv_transpose2d(mc.tensor(g), mc.tensor(kernel.reshape(1, 1, 3, 3))).numpy()
np.testing.assert_allclose(x.grad.numpy(), transposed)
np.testing.assert_allclose(transposed.reshape(16), C.T @ g.reshape(4))
print(transposed[0, 0])

# %% [markdown]
# The same holds with strides, padding and several channels: `conv_transpose2d` with the
# convolution's stride and padding maps the output's gradient back to the input's shape
# (`output_padding` picks the size when several input sizes give the same output size).

# %%
mc.manual_seed(0)
x = mc.randn(2, 3, 7, 7, requires_grad=True)
weight = mc.randn(4, 3, 3, 3)
y = F.conv2d(x, weight, stride=2, padding=1)  # (2, 4, 4, 4)
upstream = mc.randn(*y.shape)
y.backward(upstream)
back = F.conv_transpose2d(upstream, weight, stride=2, padding=1)
print(y.shape, "->", back.shape)
np.testing.assert_allclose(x.grad.numpy(), back.numpy(), rtol=1e-5, atol=1e-5)

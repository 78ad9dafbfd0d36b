# %% [markdown]
# # 08 - Grad-CAM on the mistakes: at which depth does the network go wrong?
#
# Grad-CAM (Selvaraju et al., 2017) shows where a convolutional layer finds the evidence for
# a class: the layer's feature maps A[k], each weighted by the mean gradient of the class
# score with respect to it, summed and passed through a ReLU. Computed at *every*
# convolutional layer (the "intra-layer" analysis) for a misclassified digit, once for the
# class the network predicted and once for the true class, it shows at which depth the two
# explanations part: where the network started to look at the wrong evidence.
#
# `minicnn.explain` reads everything through public forward hooks and retained gradients:
# one forward and one backward pass for all the layers.

# %%
import os
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

import minicnn as mc
from minicnn import explain, nn, optim, plot
from minicnn.data import MNIST, DataLoader, random_split
from minicnn.train import evaluate, fit

QUICK = os.environ.get("MINICNN_QUICK") == "1"  # the test suite's small settings
OUT = Path(os.environ.get("MINICNN_OUT", "output"))
OUT.mkdir(parents=True, exist_ok=True)
EPOCHS = 1 if QUICK else 4
mc.set_num_threads(1)  # 8 to 32 channels: one BLAS thread is faster than several

train_set, test_set = MNIST("train"), MNIST("test")
if QUICK:
    train_set = random_split(train_set, [600, 3400], stratified=True)[0]
    test_set = random_split(test_set, [200, 800], stratified=True)[0]

# %% [markdown]
# ## A CNN with five convolutional layers
# More layers than LeNet-5's two, so that there is a depth to look along: 28x28 -> 14x14 ->
# 7x7, then a global average pooling and a linear classifier.

# %%


def conv(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *conv(1, 8), *conv(8, 8), nn.MaxPool2d(2),  # features.0, .2: 28x28
            *conv(8, 16), *conv(16, 16), nn.MaxPool2d(2),  # features.5, .7: 14x14
            *conv(16, 32),  # features.10: 7x7
        )  # fmt: skip
        self.pool = nn.GlobalAvgPool2d()
        self.classifier = nn.Linear(32, 10)

    def forward(self, x: mc.Tensor) -> mc.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))


mc.manual_seed(0)
model = SmallCNN()
history = fit(
    model,
    DataLoader(train_set, batch_size=32, shuffle=True, seed=0),
    epochs=EPOCHS,
    optimizer=optim.Adam(model.parameters(), lr=3e-3),
    progress=not QUICK,
)
test_loader = DataLoader(test_set, batch_size=250)
result = evaluate(model, test_loader)
print(f"test accuracy {result.accuracy:.3f}")

# %% [markdown]
# ## The mistakes

# %%
images = np.stack([test_set[i][0] for i in range(len(test_set))])
wrong = np.flatnonzero(result.predictions != result.targets)
print(len(wrong), "misclassified test digits")
# the first mistake of each true digit (the test digits are sorted by class), up to six
chosen = np.array([wrong[result.targets[wrong] == c][0] for c in np.unique(result.targets[wrong])])
chosen = chosen[:6]
x_wrong, y_true = images[chosen], result.targets[chosen]
y_pred = result.predictions[chosen]
print("true     ", y_true, "\npredicted", y_pred)

# %% [markdown]
# ## Grad-CAM at the last convolution: evidence for the prediction and for the truth

# %%
cam = explain.GradCAM(model, "features.10")
maps_pred = cam(x_wrong, y_pred)  # (N, 28, 28), each scaled to [0, 1]
maps_true = cam(x_wrong, y_true)
plot.cam_gallery(x_wrong, maps_pred, maps_true, y_true, y_pred, path=OUT / "08_gallery.png")

# %% [markdown]
# ## The intra-layer analysis
# `divergence` computes, at every convolutional layer, the maps for the predicted and for
# the true class, and how far apart they are (1 - their correlation: 0 the same picture,
# 1 unrelated). The first layer past the threshold (0.5) is framed in red.

# %%
d = explain.divergence(model, x_wrong, y_true)
print("layers, shallow to deep:", d.layers)
for name, distance, peak in d.table():
    print(f"{name:12s} mean 1 - r = {distance:.2f}, peaks {peak:.1f} pixels apart")
print("first divergent layer per image:", d.first_divergent_layer)
plot.intra_layer_grid(
    x_wrong, d.maps_predicted, d.maps_true, y_true, y_pred,
    first_divergent=d.first_divergent_layer, path=OUT / "08_intra_layer.png",
)  # fmt: skip

# %%
plot.divergence_curves(
    d.layers,
    d.correlation_distance,
    threshold=d.threshold,
    labels=[f"{t} read as {p}" for t, p in zip(y_true, y_pred, strict=True)],
    path=OUT / "08_divergence.png",
)

# %% [markdown]
# ## Over all the mistakes
# Where do the predicted and the true class's evidence first part, over every misclassified
# digit? Read the counts with care: at the shallowest layers Grad-CAM is weak (each
# channel's weight is the mean of gradients that largely cancel), and a blank map, one with
# no positive evidence anywhere, counts as unrelated to the other (1 - r = 1). LayerCAM
# weighs every pixel by its own positive gradient and gives sharper shallow maps: compare
# the two columns. (The blank-map warnings are silenced here; the cells above show them.)

# %%
mistakes = wrong[:24] if QUICK else wrong
with warnings.catch_warnings():
    warnings.simplefilter("ignore", explain.BlankMapWarning)
    by_method = {
        method: explain.divergence(model, images[mistakes], result.targets[mistakes], method=method)
        for method in ("gradcam", "layercam")
    }
counts = {method: Counter(r.first_divergent_layer) for method, r in by_method.items()}
print(f"{'first divergent layer':22s} {'Grad-CAM':>8s} {'LayerCAM':>8s}")
for name in [*d.layers, None]:
    print(f"{name or 'never':22s} {counts['gradcam'][name]:8d} {counts['layercam'][name]:8d}")

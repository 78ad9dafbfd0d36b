# %% [markdown]
# # 07 - U-Net: segmenting synthetic shapes
#
# Segmentation classifies every pixel. `SyntheticShapes` draws one circle, square or triangle
# per image on a noisy background and knows its exact pixel mask, so we can ask a U-Net for
# four classes per pixel: background, circle, square, triangle. The colour tells object
# from background; only the shape of the whole object tells *which* object: the network
# must combine the fine detail of the skip connections with the wide view of its
# bottleneck.

# %%
import os
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

import minicnn as mc
from minicnn import models, optim, plot
from minicnn.data import DataLoader, SyntheticShapes, TensorDataset
from minicnn.train import evaluate, fit

QUICK = os.environ.get("MINICNN_QUICK") == "1"  # the test suite's small settings
OUT = Path(os.environ.get("MINICNN_OUT", "output"))
OUT.mkdir(parents=True, exist_ok=True)
TRAIN, EPOCHS, DEPTH = (64, 1, 2) if QUICK else (512, 6, 3)
CLASSES = ["background", "circle", "square", "triangle"]
mc.set_num_threads(1)  # 8 to 64 channels: one BLAS thread is faster than several


def segmentation_set(n: int, seed: int) -> tuple[SyntheticShapes, TensorDataset]:
    """Images and per-pixel targets: 0 background, 1 + the shape's label on its mask."""
    shapes = SyntheticShapes(n, image_size=32, seed=seed)
    targets = shapes.masks * (shapes.targets[:, None, None] + 1)
    return shapes, TensorDataset(shapes.images.astype(np.float32), targets.astype(np.int64))


train_shapes, train_set = segmentation_set(TRAIN, seed=0)
val_shapes, val_set = segmentation_set(128 if not QUICK else 32, seed=1)
image, target = val_set[0]
print("an image", image.shape, image.dtype, "and its target", target.shape, np.unique(target))

# %% [markdown]
# ## The shapes through the network
# The encoder halves the size and doubles the channels at each level, the decoder undoes
# it; each decoder level concatenates the encoder's maps of its size (the skip). The output
# has the input's height and width, with one score map per class.

# %%
mc.manual_seed(0)
model = models.unet(in_channels=3, num_classes=len(CLASSES), base_channels=8, depth=DEPTH)
shapes_seen = []
handles = [
    module.register_forward_hook(
        lambda m, args, out, name=name: shapes_seen.append((name, args[0].shape, out.shape))
    )
    for name, module in model.named_children()
    if name in ("bottleneck", "head")
]
handles += [
    part.register_forward_hook(
        lambda m, args, out, name=f"{group}[{i}]": shapes_seen.append(
            (name, args[0].shape, out.shape)
        )
    )
    for group in ("encoder", "upsamplers", "decoder")
    for i, part in enumerate(getattr(model, group))
]
with mc.no_grad():
    model(mc.zeros(1, 3, 32, 32))
for handle in handles:
    handle.remove()
for name, shape_in, shape_out in shapes_seen:
    print(f"{name:14s} {str(shape_in):18s} -> {shape_out}")

# %% [markdown]
# ## Training
# The loss is the cross-entropy of every pixel (`F.cross_entropy` takes scores
# (N, C, H, W) and targets (N, H, W)); `fit`'s accuracy is the fraction of pixels right.
# Most pixels are background, so the balanced accuracy (the mean of the per-class recalls)
# tells more.

# %%
history = fit(
    model,
    DataLoader(train_set, batch_size=16, shuffle=True, seed=0),
    epochs=EPOCHS,
    optimizer=optim.Adam(model.parameters(), lr=1e-2),
    val_loader=DataLoader(val_set, batch_size=64),
    progress=not QUICK,
)
plot.training_curves(history, path=OUT / "07_training_curves.png")

# %% [markdown]
# ## Predicted masks
# Intersection over union (IoU) per class: the pixels both the prediction and the truth
# give to the class, over the pixels either gives to it.

# %%
result = evaluate(model, DataLoader(val_set, batch_size=64))
predicted, truth = result.predictions, result.targets
for k, name in enumerate(CLASSES):
    union = np.sum((predicted == k) | (truth == k))
    iou = np.sum((predicted == k) & (truth == k)) / union if union else float("nan")
    print(f"IoU {name:10s} {iou:.3f}")

colours = ListedColormap(["#202020", "#e53935", "#43a047", "#1e88e5"])
shown = 6
figure = Figure(figsize=(1.6 * shown, 5), layout="constrained")
axes = figure.subplots(3, shown)
for j in range(shown):
    axes[0, j].imshow(val_shapes.images[j].transpose(1, 2, 0))
    axes[1, j].imshow(truth[j], cmap=colours, vmin=0, vmax=3, interpolation="nearest")
    axes[2, j].imshow(predicted[j], cmap=colours, vmin=0, vmax=3, interpolation="nearest")
    for i in range(3):
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
for i, label in enumerate(["image", "truth", "prediction"]):
    axes[i, 0].set_ylabel(label)
figure.suptitle("red circle, green square, blue triangle")
figure.savefig(OUT / "07_masks.png", dpi=120)
figure  # noqa: B018 (a notebook cell shows its last value)

# %% [markdown]
# The background is found almost at once (colour is enough); telling the shapes apart
# takes longer. Where a prediction mixes two classes inside one object, neighbouring pixels
# disagree about the object's shape. It is not that they cannot see it: at depth 3 the
# bottleneck's receptive field is 68x68 pixels (`mc.summary(model, (3, 32, 32))` lists it),
# more than the whole image. It is a matter of learning: more epochs or more training images
# make the masks uniform.

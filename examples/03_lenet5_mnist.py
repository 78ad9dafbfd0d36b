# %% [markdown]
# # 03 - LeNet-5 on MNIST
#
# LeNet-5 (LeCun et al., 1998) on the 5,000 real MNIST digits bundled with minicnn (4,000 to
# train, 1,000 to test; no download): train it with `minicnn.train.fit`, plot the training
# curves, the confusion matrix and the digits it gets wrong.
#
# `MINICNN_QUICK=1` (what the test suite sets) trains on a few hundred digits for one epoch.
# On a busy machine, `minicnn.set_num_threads(1)` (or `OPENBLAS_NUM_THREADS=1`) can make
# training several times faster.

# %%
import os
from pathlib import Path

import numpy as np

import minicnn as mc
from minicnn import metrics, models, optim, plot
from minicnn.data import MNIST, DataLoader, random_split
from minicnn.train import evaluate, fit

QUICK = os.environ.get("MINICNN_QUICK") == "1"  # the test suite's small settings
OUT = Path(os.environ.get("MINICNN_OUT", "output"))
OUT.mkdir(parents=True, exist_ok=True)
EPOCHS = 1 if QUICK else 6

mc.manual_seed(0)
train_set, test_set = MNIST("train"), MNIST("test")
if QUICK:  # a few of every digit
    train_set = random_split(train_set, [600, 3400], stratified=True)[0]
    test_set = random_split(test_set, [200, 800], stratified=True)[0]
train_loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0)
test_loader = DataLoader(test_set, batch_size=256)
print(len(train_set), "training digits,", len(test_set), "test digits")

# %% [markdown]
# ## The model
# Two convolution + pooling stages extract strokes and their combinations, three fully
# connected layers classify. The first convolution pads the 28x28 digits to LeNet's 32x32.

# %%
model = models.lenet5(num_classes=10)
print(mc.summary(model, (1, 28, 28)))

# %% [markdown]
# ## Training
# `fit` runs the loop: forward, loss, `zero_grad`, `backward`, `step`, then an evaluation on
# the validation loader after every epoch.

# %%
optimizer = optim.Adam(model.parameters(), lr=2e-3)
history = fit(
    model,
    train_loader,
    epochs=EPOCHS,
    optimizer=optimizer,
    val_loader=test_loader,
    progress=not QUICK,
)
plot.training_curves(history, path=OUT / "03_training_curves.png")

# %% [markdown]
# ## Where does it go wrong?
# The confusion matrix counts, for every true digit (row), what the model predicted
# (column): the off-diagonal cells are the mistakes, e.g. 4s read as 9s.

# %%
result = evaluate(model, test_loader)
print(f"test accuracy {result.accuracy:.3f}")
matrix = metrics.confusion_matrix(result.targets, result.predictions, num_classes=10)
print(matrix)
plot.confusion_matrix(matrix, title="LeNet-5, test digits", path=OUT / "03_confusion.png")

# %% [markdown]
# ## The misclassified digits
# Each is titled with its true and predicted class and the probability the model gave its
# answer: many are digits a person would hesitate over too.

# %%
images = np.stack([test_set[i][0] for i in range(len(test_set))])
plot.misclassified(
    images,
    result.targets,
    result.predictions,
    logits=result.outputs,
    max_images=24,
    path=OUT / "03_misclassified.png",
)

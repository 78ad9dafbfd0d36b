"""minicnn.plot: every function returns a Figure showing what it should, and writes a PNG."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import minicnn as mc
from minicnn import metrics, nn, plot
from minicnn.train import History

PNG = b"\x89PNG\r\n\x1a\n"


def titled_axes(figure):
    return [ax for ax in figure.axes if ax.get_title()]


def history(epochs=3):
    h = History()
    for e in range(1, epochs + 1):
        h.append(e, {"loss": 1 / e, "accuracy": 1 - 0.5 / e, "val_loss": 1.1 / e})
    return h


def test_training_curves(tmp_path):
    figure = plot.training_curves(history(), path=tmp_path / "curves.png")
    assert isinstance(figure, Figure)
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG
    loss, accuracy = figure.axes
    assert loss.get_xlabel() == "epoch" and loss.get_ylabel() == "loss"
    assert [line.get_label() for line in loss.get_lines()] == ["training", "validation"]
    np.testing.assert_allclose(loss.get_lines()[1].get_ydata(), [1.1, 0.55, 1.1 / 3])
    assert [line.get_label() for line in accuracy.get_lines()] == ["training"]
    # a plain dict of lists works too; without accuracy there is one panel
    assert len(plot.training_curves({"loss": [3.0, 2.0]}).axes) == 1
    with pytest.raises(ValueError, match="training_curves: the history has no loss or accuracy"):
        plot.training_curves({"lr": [0.1]})


def test_confusion_matrix_writes_the_counts(tmp_path):
    counts = metrics.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0])
    figure = plot.confusion_matrix(counts, ["a", "b", "c"], path=tmp_path / "cm.png")
    axes = figure.axes[0]
    assert axes.get_xlabel() == "predicted class" and axes.get_ylabel() == "true class"
    assert [t.get_text() for t in axes.texts] == [str(c) for c in counts.ravel()]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["a", "b", "c"]
    assert (tmp_path / "cm.png").read_bytes()[:8] == PNG
    normalised = plot.confusion_matrix(counts, normalize=True).axes[0]
    assert [t.get_text() for t in normalised.texts][:3] == ["0.50", "0.50", "0.00"]
    with pytest.raises(ValueError, match=r"expected a square matrix, got shape \(2, 3\)"):
        plot.confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 class_names for 3 classes"):
        plot.confusion_matrix(counts, ["a", "b"])


def test_misclassified_shows_the_mistakes(tmp_path):
    images = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    y_true = np.arange(10) % 3
    y_pred = y_true.copy()
    y_pred[[2, 5, 7]] = 0
    logits = np.zeros((10, 3))
    figure = plot.misclassified(
        images, y_true, y_pred, ["x", "y", "z"], logits, path=tmp_path / "m.png"
    )
    titles = [ax.get_title() for ax in titled_axes(figure)]
    assert titles == ["true z\npred x (0.33)", "true z\npred x (0.33)", "true y\npred x (0.33)"]
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG
    assert (
        len(titled_axes(plot.misclassified(mc.tensor(images), y_true, y_pred, max_images=2))) == 2
    )
    none = plot.misclassified(images, y_true, y_true)
    assert [t.get_text() for t in none.texts] == ["no misclassified images"]
    with pytest.raises(ValueError, match="10 images, 9 true and 10 predicted labels"):
        plot.misclassified(images, y_true[:9], y_pred)


def small_cnn():
    mc.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 5, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 8 * 8, 2)
    )


def test_filters_of_the_first_convolution(tmp_path):
    figure = plot.filters(small_cnn(), path=tmp_path / "f.png")
    assert len(titled_axes(figure)) == 5
    shown = titled_axes(figure)[0].get_images()[0].get_array()
    np.testing.assert_allclose(shown, small_cnn()[0].weight.numpy()[0, 0])
    colour = plot.filters(np.random.default_rng(0).standard_normal((4, 3, 3, 3)))
    assert titled_axes(colour)[0].get_images()[0].get_array().shape == (3, 3, 3)
    assert (tmp_path / "f.png").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="Linear has no Conv2d layer"):
        plot.filters(nn.Linear(2, 2))


def test_activation_maps_of_a_layer(tmp_path):
    model = small_cnn()
    model.train()
    image = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    figure = plot.activation_maps(model, "1", image, path=tmp_path / "a.png")
    titles = [ax.get_title() for ax in titled_axes(figure)]
    assert titles == ["input"] + [f"channel {k}" for k in range(5)]
    with mc.no_grad():
        expected = model[1](model[0](mc.tensor(image[None]))).numpy()[0, 2]
    np.testing.assert_allclose(titled_axes(figure)[3].get_images()[0].get_array(), expected)
    assert model.training and not model[1]._forward_hooks  # mode restored, hook removed
    assert len(titled_axes(plot.activation_maps(model, model[0], image, max_maps=2))) == 3
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="the model has no layer 'conv1'; it has: 0, 1, 2, 3"):
        plot.activation_maps(model, "conv1", image)
    with pytest.raises(ValueError, match=r"layer '3' gives an output of shape \(1, 2\)"):
        plot.activation_maps(model, "3", image)


def test_save_writes_a_png(tmp_path):
    path = plot.save(plot.training_curves(history()), tmp_path / "sub" / "c.png")
    assert path.read_bytes()[:8] == PNG

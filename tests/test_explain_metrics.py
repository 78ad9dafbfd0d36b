"""minicnn.explain's measures (pointing game, energy in the box, confidence drop, the layer by
layer localisation of a CNN trained on SyntheticShapes), the sanity check, and the figures
(minicnn.plot's CAM pictures and the report's Grad-CAM section)."""

import numpy as np
import pytest

import minicnn as mc
from minicnn import explain as E
from minicnn import nn, optim, plot
from minicnn.data import DataLoader, SyntheticShapes
from minicnn.train import evaluate, fit

pytestmark = pytest.mark.filterwarnings("ignore::minicnn.explain.BlankMapWarning")

PNG = b"\x89PNG\r\n\x1a\n"


def shapes_cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.GlobalAvgPool2d(), nn.Linear(32, 3),
    )  # fmt: skip


@pytest.fixture(scope="module")
def trained():
    """A small CNN trained for a few seconds on 600 SyntheticShapes, and 100 test shapes."""
    mc.manual_seed(0)
    model = shapes_cnn()
    loader = DataLoader(SyntheticShapes(600, 32, seed=1), 32, shuffle=True, seed=0)
    threads = mc.get_num_threads()
    mc.set_num_threads(1)  # small matrices: one BLAS thread is several times faster
    try:
        fit(model, loader, epochs=6, optimizer=optim.Adam(model.parameters(), lr=5e-3),
            progress=False)  # fmt: skip
    finally:
        mc.set_num_threads(threads)
    return model, SyntheticShapes(100, 32, seed=2)


# --- measures --------------------------------------------------------------------------------


def test_pointing_game_and_energy_in_the_box():
    maps = np.zeros((4, 6, 6))
    maps[0, 2, 3] = 1.0  # inside the box x in [1, 4), y in [2, 5)
    maps[1, 2, 4] = 1.0  # column 4 is the box's outer edge: outside
    maps[2, 1, 1], maps[2, 3, 2] = 1.0, 0.5  # the peak above the box, some energy inside
    boxes = np.array([[1, 2, 4, 5]] * 4)  # map 3 is constant: no peak, a miss
    np.testing.assert_array_equal(E.pointing_game(maps, boxes), [True, False, False, False])
    np.testing.assert_allclose(E.energy_in_box(maps, boxes), [1.0, 0.0, 0.5 / 1.5, 0.0])
    with pytest.raises(ValueError, match="pointing_game: boxes must be \\(4, 4\\)"):
        E.pointing_game(maps, boxes[:3])
    with pytest.raises(ValueError, match="energy_in_box: maps must be non-negative"):
        E.energy_in_box(-maps, boxes)


def test_confidence_drop_is_the_share_of_probability_lost_on_the_masked_image():
    mc.manual_seed(3)
    model = shapes_cnn().to(mc.float64)
    x = np.random.default_rng(3).uniform(0, 1, (3, 3, 16, 16))
    maps = np.random.default_rng(4).uniform(0, 1, (3, 16, 16))
    model.eval()
    with mc.no_grad():
        full = model(mc.tensor(x)).numpy()
        masked = model(mc.tensor(x * maps[:, None])).numpy()
    softmax = lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # noqa: E731
    targets = full.argmax(axis=1)
    p, q = softmax(full)[np.arange(3), targets], softmax(masked)[np.arange(3), targets]
    np.testing.assert_allclose(E.confidence_drop(model, x, maps), np.maximum(p - q, 0) / p)
    assert not E.confidence_drop(model, x, np.ones((3, 16, 16))).any()
    with pytest.raises(ValueError, match="confidence_drop: maps must be \\(N, H, W\\)"):
        E.confidence_drop(model, x, maps[:, :8])


def test_localisation_emerges_layer_by_layer_on_synthetic_shapes(trained):
    """The course's question on data with ground truth: at which depth does Grad-CAM point
    at the object? The last convolution's map must point inside the box for 80% of the
    test shapes; the maps also beat a uniform guess on the energy in the box."""
    model, test = trained
    assert evaluate(model, DataLoader(test, 100)).accuracy > 0.7
    by_layer = E.pointing_game_by_layer(model, test.images, test.boxes, target=test.labels)
    assert list(by_layer) == ["0", "3", "6"]
    assert by_layer["6"] >= 0.8
    maps = E.GradCAM(model, "6")(test.images, test.labels)
    assert by_layer["6"] == E.pointing_game(maps, test.boxes).mean()
    box_area = (test.boxes[:, 2] - test.boxes[:, 0]) * (test.boxes[:, 3] - test.boxes[:, 1])
    assert E.energy_in_box(maps, test.boxes).mean() > (box_area / 32**2).mean()
    # what the map shows keeps more confidence than what it hides
    kept = E.confidence_drop(model, test.images, maps, test.labels).mean()
    hidden = E.confidence_drop(model, test.images, 1 - maps, test.labels).mean()
    assert kept < hidden


# --- the sanity check ---------------------------------------------------------------------------


def test_gradcam_passes_the_randomisation_test_and_an_edge_detector_fails_it(trained):
    model, test = trained
    x = test.images[:8]
    before = {k: v.copy() for k, v in model.state_dict().items()}
    rng_state = mc.backend.get_rng_states()
    result = E.sanity_check("gradcam", model, x)
    assert result.randomized[0] == ["9"] and result.randomized[-1] == ["9", "6", "3", "0"]
    assert result.correlations.shape == (4, 8) and not result.flagged
    assert result.mean[-1] < 0.5
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert mc.backend.get_rng_states() == rng_state

    def brightness(m, images, targets):  # looks at the image only, never at the model
        return np.abs(np.asarray(images)).max(axis=1)

    fooled = E.sanity_check(brightness, model, x)
    assert fooled.flagged
    np.testing.assert_allclose(fooled.correlations, 1.0, rtol=1e-12)


def test_spearman_rank_correlation_equals_scipy():
    stats = pytest.importorskip("scipy.stats", reason="SciPy is not installed: comparison skipped")
    from minicnn.explain.sanity import spearman

    rng = np.random.default_rng(0)
    a = np.round(rng.random((5, 4, 4)), 1)  # ties
    b = np.round(rng.random((5, 4, 4)), 1)
    expected = [stats.spearmanr(u.ravel(), v.ravel()).statistic for u, v in zip(a, b, strict=True)]
    np.testing.assert_allclose(spearman(a, b), expected, rtol=1e-12)
    assert spearman(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)))[0] == 1.0
    assert spearman(np.zeros((1, 2, 2)), a[:1, :2, :2])[0] == 0.0


def test_sanity_check_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="sanity_check: method must be a function"):
        E.sanity_check("gradcam+++", shapes_cnn(), np.zeros((1, 3, 8, 8), np.float32))


# --- figures -------------------------------------------------------------------------------------


def test_overlay_blends_the_image_with_the_jet_colormap():
    import matplotlib

    image = np.linspace(-1, 1, 12).reshape(1, 3, 4)  # grey, rescaled to [0, 1]
    heat = np.linspace(0, 1, 12).reshape(3, 4)
    grey = (image[0] + 1) / 2
    np.testing.assert_allclose(plot.overlay(image, heat, alpha=0.0), np.stack([grey] * 3, axis=2))
    jet = matplotlib.colormaps["jet"](heat)[:, :, :3]
    np.testing.assert_allclose(plot.overlay(image, heat, alpha=1.0), jet)
    np.testing.assert_allclose(plot.overlay(image, heat), 0.5 * np.stack([grey] * 3, 2) + 0.5 * jet)
    with pytest.raises(ValueError, match="overlay: the map \\(2, 2\\) must have the image's size"):
        plot.overlay(image, heat[:2, :2])


def test_the_cam_figures_are_written(tmp_path):
    rng = np.random.default_rng(0)
    pictures, maps = rng.random((3, 3, 8, 8)), rng.random((3, 8, 8))
    layers = {"a": maps, "b": maps[::-1]}
    figure = plot.intra_layer_grid(
        pictures, layers, layers, y_true=[0, 1, 2], y_pred=[0, 2, 2],
        first_divergent=[None, "b", None], path=tmp_path / "grid.png",
    )  # fmt: skip
    assert len(figure.axes) == 4 * 3  # image 1 is wrong: two rows; three columns
    plot.cam_overlay(pictures, maps, titles=["x", "y", "z"], path=tmp_path / "overlay.png")
    plot.cam_gallery(pictures, maps, maps, [0, 1, 2], [1, 2, 0], [0.9, 0.8, 0.7],
                     path=tmp_path / "gallery.png")  # fmt: skip
    plot.divergence_curves(["a", "b"], [[0.1, 0.7], [0.9, 0.2]], 0.5, path=tmp_path / "d.png")
    for name in ("grid.png", "overlay.png", "gallery.png", "d.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


def test_report_figures_for_the_mistakes(trained, tmp_path):
    model, test = trained
    predicted = evaluate(model, DataLoader(test, 100)).predictions
    figures = E.misclassification_report_figures(
        model, test.images, test.labels, predicted, tmp_path, max_images=3,
        class_names=test.classes,
    )  # fmt: skip
    wrong = np.flatnonzero(predicted != test.labels)
    assert wrong.size  # a few seconds of training leave some mistakes to explain
    assert [name for name, _ in figures] == ["gradcam_layers.png", "gradcam_divergence.png"]
    first = E.divergence(model, test.images[wrong[:3]], test.labels[wrong[:3]])
    for i, layer in enumerate(first.first_divergent_layer):
        true, pred = test.classes[test.labels[wrong[i]]], test.classes[predicted[wrong[i]]]
        said = f"first diverge at {layer}" if layer else "agree at every layer"
        assert f"image {i} (a {true} read as {pred}): the maps {said}" in figures[0][1]
    for name, _ in figures:
        assert (tmp_path / name).read_bytes()[:8] == PNG
    right = np.flatnonzero(predicted == test.labels)
    images = test.images[right]
    assert E.misclassification_report_figures(model, images, predicted[right],
                                              predicted[right], tmp_path) == []  # fmt: skip
    alone = E.explain_figures(model, test.images[:2], tmp_path / "one", prefix="one")
    assert [name for name, _ in alone] == ["one_layers.png"]


def test_misclassification_gallery_shows_the_most_confident_mistakes(trained, tmp_path):
    model, test = trained
    result = evaluate(model, DataLoader(test, 100))
    logits = result.outputs
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    wrong = np.flatnonzero(result.predictions != test.labels)
    figure = E.misclassification_gallery(
        model, DataLoader(test, 25), max_images=2, class_names=test.classes,
        path=tmp_path / "gallery.png",
    )  # fmt: skip
    confident = wrong[np.argsort(-probabilities[wrong, result.predictions[wrong]])][:2]
    titles = [ax.get_title() for ax in figure.axes[::3]]
    for title, i in zip(titles, confident, strict=True):
        want = f"{probabilities[i, result.predictions[i]]:.2f}"
        assert title.startswith(f"true {test.classes[test.labels[i]]}") and want in title
    assert (tmp_path / "gallery.png").read_bytes()[:8] == PNG

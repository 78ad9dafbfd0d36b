"""minicnn.explain's class-activation maps: each formula against its definition (shared/
REFERENCE.md) computed here from activations and gradients captured by the test's own hooks,
the CAM = Grad-CAM identity, the gradient Grad-CAM uses checked by finite differences, the
one-pass layer sweep, divergence, diagnostics; and every method both libraries have against
pytorch-grad-cam on a PyTorch twin with the same weights."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import explain as E
from minicnn import nn

# Random tiny networks often give blank maps for some image (warned about); the tests of those
# warnings catch them with pytest.warns.
pytestmark = pytest.mark.filterwarnings("ignore::minicnn.explain.BlankMapWarning")

GRADIENT_CAMS = {
    "gradcam": E.GradCAM,
    "hirescam": E.HiResCAM,
    "gradcam++": E.GradCAMPlusPlus,
    "layercam": E.LayerCAM,
    "xgradcam": E.XGradCAM,
}


def tiny_net(seed=0, dtype=mc.float64, classes=3, in_channels=2):
    """conv-relu-pool-conv-relu, global average pooling, one linear layer (as PyTorch's
    Sequential of the same layers: the state_dict keys match)."""
    mc.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 5, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(5, classes),
    )
    return net.to(dtype)


def images(seed=0, n=3, size=12, dtype=np.float64, in_channels=2):
    return np.random.default_rng(seed).uniform(-1, 1, (n, in_channels, size, size)).astype(dtype)


def capture(model, x, layer, targets):
    """The layer's output A and G = d(sum of target logits)/dA, by the test's own hooks."""
    kept = {}
    handle = model[layer].register_forward_hook(lambda m, i, o: kept.setdefault("a", o))
    model.eval()
    out = model(mc.tensor(x))
    handle.remove()
    kept["a"].retain_grad()
    out[np.arange(len(targets)), targets].sum().backward()
    model.zero_grad()
    return kept["a"].numpy().astype(np.float64), kept["a"].grad.numpy().astype(np.float64), out


def reference_map(method, a, g):
    """The definitions of shared/REFERENCE.md, written out in float64."""
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    if method == "gradcam":
        alpha = g.mean(axis=(2, 3))
        return relu(np.einsum("nk,nkij->nij", alpha, a))
    if method == "hirescam":
        return relu((g * a).sum(axis=1))
    if method == "gradcam++":
        s = a.sum(axis=(2, 3), keepdims=True)
        den = 2 * g**2 + s * g**3
        coef = np.where(den != 0, g**2 / np.where(den != 0, den, 1), 0)
        w = (coef * relu(g)).sum(axis=(2, 3))
        return relu(np.einsum("nk,nkij->nij", w, a))
    if method == "layercam":
        return relu((relu(g) * a).sum(axis=1))
    if method == "xgradcam":
        s = a.sum(axis=(2, 3))
        w = np.where(s != 0, (g * a).sum(axis=(2, 3)) / np.where(s != 0, s, 1), 0)
        return relu(np.einsum("nk,nkij->nij", w, a))
    raise AssertionError(method)


def normalized(maps):
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1), 0)


# --- formulas ------------------------------------------------------------------------------


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), method=st.sampled_from(sorted(GRADIENT_CAMS)))
def test_each_gradient_method_follows_its_formula(seed, method):
    model, x = tiny_net(seed), images(seed)
    targets = np.random.default_rng(seed).integers(0, 3, len(x))
    for layer in (1, 4):  # the first ReLU (12 x 12 maps) and the last (6 x 6)
        a, g, _ = capture(model, x, layer, targets)
        cam = GRADIENT_CAMS[method](model, str(layer))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", E.BlankMapWarning)
            raw = cam(x, targets, upsample=False, normalize=False)
        np.testing.assert_allclose(cam.activations, a, rtol=0, atol=0)
        np.testing.assert_allclose(cam.gradients, g, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(raw, reference_map(method, a, g), rtol=1e-10, atol=1e-14)
        np.testing.assert_array_equal(cam.targets, targets)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), method=st.sampled_from(sorted(GRADIENT_CAMS)))
def test_counterfactual_maps_use_the_negated_gradients(seed, method):
    model, x = tiny_net(seed), images(seed)
    a, g, _ = capture(model, x, 4, np.zeros(len(x), dtype=np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", E.BlankMapWarning)
        raw = GRADIENT_CAMS[method](model, "4")(x, 0, False, False, counterfactual=True)
    np.testing.assert_allclose(raw, reference_map(method, a, -g), rtol=1e-10, atol=1e-14)


def test_gradcam_plus_plus_without_epsilon_where_the_denominator_vanishes():
    a = np.zeros((1, 2, 2, 2))
    a[0, 0] = [[1.0, 2.0], [0.0, 1.0]]
    g = np.zeros_like(a)
    g[0, 0] = [[0.5, 0.0], [-0.25, 0.0]]
    g[0, 1] = 1.0  # channel 1 is all zero: S = 0, a_kij = 1/2
    maps, weights = E.cam.gradcam_plus_plus_formula(a, g)
    # channel 0: S = 4; at (0,0): 0.25 / (0.5 + 4 * 0.125) = 0.25, times ReLU(0.5)
    np.testing.assert_allclose(weights, [[0.125, 2.0]])
    np.testing.assert_allclose(maps, 0.125 * a[:, 0])


def test_eigencam_is_the_first_principal_component_growing_with_the_activations():
    rng = np.random.default_rng(3)
    pattern = rng.uniform(0, 1, (5, 5))
    a = np.stack([pattern * s for s in (1.0, 2.0, 0.5)])[None] + 1e-3 * rng.random((1, 3, 5, 5))
    maps, _ = E.cam.eigencam_formula(a)
    centred = pattern - pattern.mean()
    assert np.corrcoef(maps[0].ravel(), np.maximum(centred, 0).ravel())[0, 1] > 0.999


def test_ablation_and_score_cam_weights_from_forward_passes():
    model, x = tiny_net(1), images(1, n=2)
    targets = np.array([2, 0])
    ablation = E.AblationCAM(model, "4", batch_size=2)
    ablation(x, targets)
    score = E.ScoreCAM(model, "4", batch_size=3)
    score(x, targets)
    model.eval()
    a = ablation.activations
    with mc.no_grad():
        base = model(mc.tensor(x)).numpy()[np.arange(2), targets]
        tail = lambda acts: model[7](model[6](model[5](mc.tensor(acts)))).numpy()  # noqa: E731
        for n in range(2):
            for k in range(5):
                ablated = a[n : n + 1].copy()
                ablated[0, k] = 0
                drop = (base[n] - tail(ablated)[0, targets[n]]) / base[n]
                np.testing.assert_allclose(ablation.weights[n, k], drop, rtol=1e-10)
            masks = E.normalize_maps(E.upsample(a[n], (12, 12)))
            masked = mc.tensor(x[n][None] * masks[:, None])
            scores = model(masked).numpy()[:, targets[n]]
            soft = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
            np.testing.assert_allclose(score.weights[n], soft, rtol=1e-10)


def test_cam_equals_gradcam_after_normalisation():
    """On a network that ends in global average pooling and one linear layer,
    dy_c/dA[k,i,j] = W[c,k] / (h w): Grad-CAM is CAM divided by h w."""
    model, x = tiny_net(5), images(5, n=4)
    gradcam = E.GradCAM(model, "4")
    cam = E.CAM(model, "4", "7")
    for target in (None, 0, [2, 1, 0, 1]):
        g_maps, c_maps = gradcam(x, target), cam(x, target)
        np.testing.assert_array_equal(gradcam.targets, cam.targets)
        assert np.abs(g_maps - c_maps).max() <= 1e-12
        raw_g = gradcam(x, target, upsample=False, normalize=False)
        raw_c = cam(x, target, upsample=False, normalize=False)
        np.testing.assert_allclose(raw_g * 36, raw_c, rtol=1e-12, atol=1e-15)
        assert np.ptp(c_maps, axis=(1, 2)).min() > 0  # not a trivial agreement of blank maps


def test_cam_says_when_the_fc_layer_does_not_follow_global_pooling():
    model = tiny_net()
    with pytest.raises(ValueError, match="CAM: fc_layer '7' takes 5 features, but layer '1' has 4"):
        E.CAM(model, "1", "7")(images())
    with pytest.raises(TypeError, match="CAM: fc_layer must be a Linear layer, got ReLU"):
        E.CAM(model, "4", "4")


def test_the_gradient_gradcam_uses_is_checked_by_finite_differences():
    model, x = tiny_net(7), images(7, n=2)
    targets = np.array([1, 2])
    cam = E.GradCAM(model, "3")
    cam(x, targets)
    delta = mc.zeros(cam.activations.shape, dtype=mc.float64, requires_grad=True)

    def score(d):
        handle = model[3].register_forward_hook(lambda m, i, o: o + d)
        try:
            return model(mc.tensor(x))[np.arange(2), targets].sum()
        finally:
            handle.remove()

    model.eval()
    model.requires_grad_(False)
    assert mc.gradcheck(score, [delta], eps=1e-6, atol=1e-8, rtol=1e-6)
    score(delta).backward()
    np.testing.assert_allclose(cam.gradients, delta.grad.numpy(), rtol=1e-12, atol=1e-15)
    model.requires_grad_(True)


# --- the common call -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        *(lambda m, c=c: c(m, "4") for c in GRADIENT_CAMS.values()),
        lambda m: E.EigenCAM(m, "4"),
        lambda m: E.AblationCAM(m, m[4]),
        lambda m: E.ScoreCAM(m, "4"),
        lambda m: E.CAM(m, "4", m[7]),
    ],
)
def test_maps_have_the_input_size_and_lie_in_0_1(make):
    model = tiny_net(2, dtype=mc.float32)
    x = images(2, n=3, dtype=np.float32)
    maps = make(model)(x)
    assert maps.shape == (3, 12, 12) and maps.dtype == np.float32
    assert maps.min() == 0.0 and maps.max() == 1.0
    small = make(model)(x, upsample=False)
    assert small.shape == (3, 6, 6)
    one = make(model)(x[0])  # one (C, H, W) image
    assert one.shape == (1, 12, 12)


def test_different_targets_per_image_in_one_batch():
    model, x = tiny_net(3), images(3, n=3)
    cam = E.GradCAM(model, "4")
    together = cam(x, target=[2, 0, 1])
    for i, c in enumerate([2, 0, 1]):
        np.testing.assert_allclose(together[i], cam(x[i : i + 1], c)[0], rtol=1e-12, atol=1e-14)
    predicted = cam(x)
    np.testing.assert_array_equal(cam.targets, cam.logits.argmax(axis=1))
    np.testing.assert_allclose(predicted, cam(x, cam.logits.argmax(axis=1)))


def test_the_model_is_left_as_it_was():
    model, x = tiny_net(4), images(4)
    model.train()
    model[0].weight.requires_grad_(False)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    for cam in (E.GradCAM(model, "4"), E.ScoreCAM(model, "4"), E.AblationCAM(model, "4")):
        cam(x)
    assert model.training and all(m.training for m in model.modules())
    assert not model[0].weight.requires_grad and model[3].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert all(not model[i]._forward_hooks for i in range(len(model)))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_bad_arguments_are_named():
    model = tiny_net()
    x = images()
    with pytest.raises(
        ValueError, match="GradCAM: the model has no layer 'features.3'; it has: 0, 1"
    ):
        E.GradCAM(model, "features.3")
    with pytest.raises(ValueError, match="GradCAM: the layer Conv2d is not part of the model"):
        E.GradCAM(model, nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="target class 3 is out of range for 3 classes"):
        E.GradCAM(model, "4")(x, 3)
    with pytest.raises(ValueError, match="target must give one class per image \\(3\\), got 2"):
        E.GradCAM(model, "4")(x, [0, 1])
    with pytest.raises(TypeError, match="target must be None, an int or one int per image"):
        E.GradCAM(model, "4")(x, 0.5)
    with pytest.raises(ValueError, match="layer '6' gives an output of shape \\(3, 5\\), not maps"):
        E.GradCAM(model, "6")(x)
    with pytest.raises(ValueError, match="expected images \\(N, C, H, W\\) or one image"):
        E.GradCAM(model, "4")(x[0, 0])
    with pytest.raises(TypeError, match="GradCAM: upsample must be True or False, got 1"):
        E.GradCAM(model, "4")(x, upsample=1)
    with pytest.raises(ValueError, match="must return class scores \\(N, classes\\)"):
        E.GradCAM(model[:5], "4")(x)


# --- diagnostics ---------------------------------------------------------------------------


def test_a_map_after_global_pooling_warns_why():
    model = tiny_net()
    with pytest.warns(
        E.BlankMapWarning, match="layer '5' is blank for image\\(s\\) 0, 1, 2: its maps are 1x1"
    ):
        maps = E.GradCAM(model, "5")(images())
    assert not maps.any()


def test_dead_activations_and_negative_weights_warn_why():
    model = tiny_net(6)
    x = images(6, n=2)
    with mc.no_grad():
        model[3].bias.fill_(-100.0)  # every unit of the last ReLU is off
    with pytest.warns(E.BlankMapWarning, match="layer '4' is blank .*activations are all zero"):
        E.GradCAM(model, "4")(x)
    with pytest.warns(
        E.BlankMapWarning, match="layer '1' is blank .*gradient of the score reaching it is zero"
    ):
        E.GradCAM(model, "1")(x)
    model = tiny_net(6)
    with mc.no_grad():
        model[7].weight.fill_(-1.0)  # every channel speaks against every class
    with pytest.warns(E.BlankMapWarning, match="all its channel weights for class 0 are negative"):
        E.GradCAM(model, "4")(x, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert E.GradCAM(model, "4")(x, 0, counterfactual=True).max() == 1.0


# --- the layer sweep and divergence ---------------------------------------------------------


def counting(model):
    """Count the model's forward passes and the backward passes that reach its output."""
    counts = {"forward": 0, "backward": 0}

    def on_forward(module, inputs, output):
        counts["forward"] += 1

        def on_backward(grad):
            counts["backward"] += 1

        if output.requires_grad:
            output.register_hook(on_backward)

    model.register_forward_hook(on_forward)
    return counts


def test_gradcam_layers_is_one_forward_and_one_backward_pass():
    model, x = tiny_net(8), images(8, n=3)
    counts = counting(model)
    maps = E.gradcam_layers(model, x, target=[0, 1, 2])
    assert counts == {"forward": 1, "backward": 1}
    assert list(maps) == ["0", "3"]  # every Conv2d, shallow to deep
    for name, m in maps.items():
        assert m.shape == (3, 12, 12) and m.min() >= 0 and m.max() <= 1
        np.testing.assert_allclose(m, E.GradCAM(model, name)(x, [0, 1, 2]), rtol=1e-12, atol=1e-14)
    counts.update(forward=0, backward=0)
    E.divergence(model, x, [0, 0, 0])
    assert counts == {"forward": 1, "backward": 1}


@pytest.mark.parametrize("method", ["hirescam", "gradcam++", "layercam", "xgradcam", "eigencam"])
def test_gradcam_layers_with_every_one_pass_method(method):
    model, x = tiny_net(9), images(9)
    layers = [model[4], "1"]
    maps = E.gradcam_layers(model, x, 1, layers, method, upsample=False)
    assert list(maps) == ["1", "4"]  # in the order the layers ran
    cls = {"eigencam": E.EigenCAM, **GRADIENT_CAMS}[method]
    for name, m in maps.items():
        np.testing.assert_allclose(
            m, cls(model, name)(x, 1, upsample=False), rtol=1e-12, atol=1e-14
        )


def test_gradcam_layers_rejects_what_it_cannot_do():
    model, x = tiny_net(), images()
    with pytest.raises(ValueError, match="gradcam_layers: method must be one of 'gradcam', "):
        E.gradcam_layers(model, x, method="scorecam")
    with pytest.raises(ValueError, match="gradcam_layers: Sequential has no Conv2d layer"):
        E.gradcam_layers(nn.Sequential(nn.Flatten(), nn.Linear(288, 3)).to(mc.float64), x)
    with pytest.raises(ValueError, match="layer\\(s\\) '0' did not run"):
        unused = nn.Sequential(nn.Conv2d(2, 2, 1), tiny_net()).to(mc.float64)
        unused.forward = lambda t: unused[1](t)
        E.gradcam_layers(unused, x, layers=["0"])


def test_divergence_of_predicted_and_true_maps():
    model, x = tiny_net(10), images(10, n=4)
    with mc.no_grad():
        predicted = model.eval()(mc.tensor(x)).numpy().argmax(axis=1)
    true = (predicted + np.array([0, 1, 2, 0])) % 3
    result = E.divergence(model, x, true)
    assert result.layers == ["0", "3"]
    np.testing.assert_array_equal(result.predicted, predicted)
    np.testing.assert_array_equal(result.target_true, true)
    for k, name in enumerate(result.layers):
        mp = E.GradCAM(model, name)(x, predicted)
        mt = E.GradCAM(model, name)(x, true)
        np.testing.assert_allclose(result.maps_predicted[name], mp, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(result.maps_true[name], mt, rtol=1e-12, atol=1e-14)
        r = [np.corrcoef(mp[i].ravel(), mt[i].ravel())[0, 1] for i in (1, 2)]
        np.testing.assert_allclose(result.correlation_distance[k, [1, 2]], 1 - np.array(r))
        for i in (1, 2):
            pp = np.unravel_index(mp[i].argmax(), mp[i].shape)
            pt = np.unravel_index(mt[i].argmax(), mt[i].shape)
            assert result.peak_distance[k, i] == pytest.approx(np.hypot(*np.subtract(pp, pt)))
    assert (result.correlation_distance[:, [0, 3]] == 0).all()  # right answers: one map
    for i in range(4):
        past = [n for k, n in enumerate(result.layers) if result.correlation_distance[k, i] > 0.5]
        assert result.first_divergent_layer[i] == (past[0] if past else None)
    assert result.first_divergent_layer[0] is None and result.first_divergent_layer[3] is None
    assert [row[0] for row in result.table()] == ["0", "3"]


def test_correlation_and_peak_distance_of_constant_maps():
    flat, ramp = np.zeros((1, 3, 3)), np.arange(9.0).reshape(1, 3, 3)
    from minicnn.explain.divergence import correlation_distance, peak_distance

    assert correlation_distance(flat, flat)[0] == 0.0
    assert correlation_distance(flat, ramp)[0] == 1.0
    assert correlation_distance(ramp, -ramp)[0] == 2.0
    assert np.isnan(peak_distance(flat, ramp)[0])
    assert peak_distance(ramp, ramp[:, ::-1, ::-1])[0] == pytest.approx(np.hypot(2, 2))


# --- against pytorch-grad-cam ----------------------------------------------------------------


@pytest.fixture(scope="session")
def grad_cam(torch):
    """The ``pytorch_grad_cam`` package (pip install grad-cam), or a skip."""
    try:
        import pytorch_grad_cam
    except ImportError:
        pytest.skip("pytorch-grad-cam is not installed: comparison with pytorch-grad-cam skipped")
    return pytorch_grad_cam


def twins(torch, seed, fc_scale=1.0):
    """A PyTorch network and the minicnn network with the same weights (float32)."""
    tnn = torch.nn
    torch.manual_seed(seed)
    theirs = tnn.Sequential(
        tnn.Conv2d(2, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(4, 5, 3, padding=1), tnn.ReLU(),
        tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(5, 3),
    )  # fmt: skip
    with torch.no_grad():
        theirs[7].weight.mul_(fc_scale)
    theirs.eval()
    ours = tiny_net(dtype=mc.float32)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return theirs, ours


def run_theirs(grad_cam, torch, cls, theirs, x, targets, layer=4, **kwargs):
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    with cls(model=theirs, target_layers=[theirs[layer]], **kwargs) as cam:
        return cam(torch.from_numpy(x), [ClassifierOutputTarget(int(t)) for t in targets])


@pytest.mark.parametrize(
    "name, fc_scale",
    [("GradCAM", 1), ("HiResCAM", 1), ("LayerCAM", 1), ("XGradCAM", 1), ("GradCAMPlusPlus", 1000)],
)
def test_gradient_cams_equal_pytorch_grad_cam(torch, grad_cam, name, fc_scale):
    """Grad-CAM++ with the last layer's weights scaled by 1000: the gradients are then 0.17 to
    7, and pytorch-grad-cam's 1e-6 in the denominator no longer matters (with a scale of 100
    a gradient of 0.017 already moves its map by 3e-4)."""
    spans = []
    for seed in range(3):
        theirs, ours = twins(torch, seed, fc_scale)
        x = images(seed, n=4, size=16, dtype=np.float32)
        targets = np.array([0, 1, 2, seed % 3])
        expected = run_theirs(grad_cam, torch, getattr(grad_cam, name), theirs, x, targets)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", E.BlankMapWarning)
            got = getattr(E, name)(ours, "4")(x, targets)
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5)
        spans.extend(np.ptp(expected, axis=(1, 2)))
    assert np.mean(np.array(spans) > 0) >= 0.5  # mostly real maps, not blank ones agreeing


def test_gradcam_plus_plus_differs_from_pytorch_grad_cam_where_gradients_are_small(torch, grad_cam):
    """With small gradients pytorch-grad-cam's epsilon changes the weights: its maps are the
    formula with 1e-6 added to the denominator, minicnn's the formula itself (both computed
    here in float64)."""
    theirs, ours = twins(torch, 0, fc_scale=0.01)
    x = images(0, n=4, size=16, dtype=np.float32)
    targets = np.array([0, 1, 2, 0])
    expected = run_theirs(grad_cam, torch, grad_cam.GradCAMPlusPlus, theirs, x, targets)
    got = E.GradCAMPlusPlus(ours, "4")(x, targets)
    assert np.abs(got - expected).max() > 1e-2
    a, g, _ = capture(ours.to(mc.float64), x.astype(np.float64), 4, targets)
    paper = normalized(E.upsample(reference_map("gradcam++", a, g), (16, 16)))
    np.testing.assert_allclose(got, paper, rtol=0, atol=1e-5)
    den = 2 * g**2 + a.sum(axis=(2, 3), keepdims=True) * g**3 + 1e-6
    w = (np.where(g != 0, g**2 / den, 0) * np.maximum(g, 0)).sum(axis=(2, 3))
    with_eps = np.maximum(np.einsum("nk,nkij->nij", w, a), 0)
    np.testing.assert_allclose(
        expected, normalized(E.upsample(with_eps, (16, 16))), rtol=0, atol=1e-5
    )


def test_eigencam_equals_pytorch_grad_cam_up_to_the_eigenvector_sign(torch, grad_cam):
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    for seed in range(3):
        theirs, ours = twins(torch, seed)
        x = images(seed, n=4, size=16, dtype=np.float32)
        expected = run_theirs(grad_cam, torch, grad_cam.EigenCAM, theirs, x, [0] * 4)
        got = E.EigenCAM(ours, "4")(x)
        with torch.no_grad():
            acts = theirs[:5](torch.from_numpy(x)).numpy()
        projection = get_2d_projection(acts)  # pytorch-grad-cam's sign: whatever the SVD gave
        for i in range(4):
            grows = (projection[i] * acts[i].sum(axis=0)).sum() >= 0
            sign = 1 if grows else -1
            mine = normalized(E.upsample(np.maximum(sign * projection[i : i + 1], 0), (16, 16)))
            np.testing.assert_allclose(got[i], mine[0], rtol=0, atol=2e-5)
            if grows:
                np.testing.assert_allclose(got[i], expected[i], rtol=0, atol=2e-5)


def test_ablation_cam_equals_pytorch_grad_cam(torch, grad_cam):
    for seed in range(2):
        theirs, ours = twins(torch, seed)
        x = images(seed, n=3, size=16, dtype=np.float32)
        targets = np.array([2, 1, 0])
        expected = run_theirs(
            grad_cam, torch, grad_cam.AblationCAM, theirs, x, targets, batch_size=4
        )
        got = E.AblationCAM(ours, "4", batch_size=3)(x, targets)
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5)


def test_score_cam_equals_pytorch_grad_cam_with_the_same_mask_upsampling(
    torch, grad_cam, monkeypatch
):
    """pytorch-grad-cam upsamples its masks with align_corners=True, minicnn as its maps
    (align_corners=False): the comparison gives pytorch-grad-cam minicnn's upsampling."""

    def upsampling(size):
        return torch.nn.Upsample(size=size, mode="bilinear", align_corners=False)

    monkeypatch.setattr(torch.nn, "UpsamplingBilinear2d", upsampling)
    for seed in range(2):
        theirs, ours = twins(torch, seed)
        x = images(seed, n=2, size=16, dtype=np.float32)
        targets = np.array([1, 2])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tqdm's progress bars
            expected = run_theirs(grad_cam, torch, grad_cam.ScoreCAM, theirs, x, targets)
        got = E.ScoreCAM(ours, "4")(x, targets)
        np.testing.assert_allclose(got, expected, rtol=0, atol=2e-5)


def test_upsampling_equals_pytorch_bilinear_interpolation(torch):
    maps = np.random.default_rng(0).random((2, 5, 7)).astype(np.float32)
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(maps)[:, None], size=(12, 21), mode="bilinear", align_corners=False
    )[:, 0]
    np.testing.assert_allclose(E.upsample(maps, (12, 21)), expected.numpy(), rtol=1e-6, atol=1e-6)


# --- on the device of --device (the CPU by default, the strict stand-in, or a GPU) -----------


def test_explanations_on_the_device_equal_the_cpu_ones(device):
    """Every method on a model moved to ``device`` gives the CPU's maps (host arrays), with
    images given as host arrays."""
    cpu = tiny_net(11, dtype=mc.float32)
    moved = tiny_net(11, dtype=mc.float32).to(device)
    x = images(11, n=3, size=8, dtype=np.float32)
    runs = [
        lambda m: E.GradCAM(m, "4")(x, [0, 1, 2]),
        lambda m: E.GradCAMPlusPlus(m, "4")(x),
        lambda m: E.EigenCAM(m, "4")(x),
        lambda m: E.AblationCAM(m, "4")(x),
        lambda m: E.ScoreCAM(m, "4")(x),
        lambda m: E.CAM(m, "4", "7")(x),
        lambda m: E.gradcam_layers(m, x)["0"],
        lambda m: E.divergence(m, x, [2, 1, 0]).correlation_distance,
        lambda m: E.saliency(m, x),
        lambda m: E.integrated_gradients(m, x, steps=3, baseline=0.5),
        lambda m: E.guided_backprop(m, x),
        lambda m: E.deconvnet(m, x, "4", 1),
        lambda m: E.activation_maximization(m, "3", 1, steps=3, input_shape=(2, 8, 8)),
        lambda m: E.confidence_drop(m, x, np.full((3, 8, 8), 0.5, np.float32)),
    ]
    for run in runs:
        expected, got = run(cpu), run(moved)
        assert isinstance(got, np.ndarray)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

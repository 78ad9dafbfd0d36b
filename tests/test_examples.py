"""The course's examples (examples/NN_*.py) run end to end with small settings.

Each script is run in this process (``runpy``), with ``MINICNN_QUICK=1`` (a few hundred
samples, one epoch) and its figures written to a temporary folder; the test then checks what
the script computed. Running in-process saves re-importing minicnn for every script; they
run on one BLAS thread, and the thread count is restored afterwards.
"""

import runpy
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def run_example(tmp_path, monkeypatch):
    def run(name: str) -> dict:
        monkeypatch.setenv("MINICNN_QUICK", "1")
        monkeypatch.setenv("MINICNN_OUT", str(tmp_path / "output"))
        monkeypatch.chdir(tmp_path)
        threads = mc.get_num_threads()
        mc.set_num_threads(1)  # small batches: one BLAS thread is fastest, and never fights
        try:
            return runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        finally:
            mc.set_num_threads(threads)

    run.out = tmp_path / "output"
    return run


def test_01_autograd_by_hand(run_example):
    ns = run_example("01_autograd_by_hand.py")
    assert np.isclose(ns["w"].grad.item(), ns["by_hand"]["w"], rtol=1e-5)
    assert ns["ok"] is True
    assert "Sigmoid" in ns["graph"].source and (run_example.out / "01_graph.dot").is_file()


def test_02_convolution_as_matrix(run_example):
    ns = run_example("02_convolution_as_matrix.py")
    assert ns["C"].shape == (4, 16)
    np.testing.assert_allclose(ns["by_matrix"], ns["by_conv"])
    assert ns["back"].shape == (2, 3, 7, 7)


@pytest.mark.slow
def test_03_lenet5_mnist(run_example):
    ns = run_example("03_lenet5_mnist.py")
    assert len(ns["history"]["loss"]) == 1
    assert ns["result"].accuracy > 0.2  # one epoch on 600 digits: well above chance (0.1)
    assert ns["matrix"].sum() == 200
    for name in ("03_training_curves.png", "03_confusion.png", "03_misclassified.png"):
        assert (run_example.out / name).stat().st_size > 0


@pytest.mark.slow
def test_04_vanishing_gradients(run_example):
    ns = run_example("04_vanishing_gradients.py")
    flows = ns["flows"]
    ratio = {name: flow[0].mean_abs_grad / flow[-1].mean_abs_grad for name, flow in flows.items()}
    assert ratio["sigmoid"] < 1e-5 < ratio["residual"]  # vanishing vs carried by the skips
    assert ratio["sigmoid"] < ratio["relu"] < ratio["residual"]
    assert set(ns["histories"]) == {"sigmoid", "relu", "residual"}
    assert (run_example.out / "04_gradient_flow.png").stat().st_size > 0


def test_05_inception_cost(run_example):
    ns = run_example("05_inception_cost.py")
    assert ns["direct_cost"].total_macs == 120_422_400
    assert ns["bottleneck_cost"].total_macs == 12_443_648
    assert ns["block_cost"].total_macs < ns["naive_cost"].total_macs / 2
    assert (run_example.out / "05_inception_cost.png").stat().st_size > 0


def test_06_dropout_batchnorm(run_example):
    ns = run_example("06_dropout_batchnorm.py")
    np.testing.assert_allclose(ns["bn"].running_mean.numpy(), [5, -2, 0], atol=0.3)
    assert 0.45 < np.mean(ns["y"] == 0) < 0.55
    assert set(ns["histories"]) == {"plain", "dropout", "batchnorm"}


@pytest.mark.slow
def test_07_unet_shapes(run_example):
    ns = run_example("07_unet_shapes.py")
    assert ns["predicted"].shape == ns["truth"].shape == (32, 32, 32)
    assert ns["shapes_seen"][-1] == ("head", (1, 8, 32, 32), (1, 4, 32, 32))
    assert ns["result"].accuracy > 0.5  # most pixels are background, found at once
    assert (run_example.out / "07_masks.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # blank maps of the one-epoch model
def test_08_gradcam_misclassification(run_example):
    ns = run_example("08_gradcam_misclassification.py")
    d = ns["d"]
    assert d.layers == ["features.0", "features.2", "features.5", "features.7", "features.10"]
    assert d.correlation_distance.shape == (5, len(ns["chosen"]))
    assert (d.predicted != d.target_true).all()  # they are the mistakes
    assert sum(ns["counts"]["gradcam"].values()) == len(ns["mistakes"])
    for name in ("08_gallery.png", "08_intra_layer.png", "08_divergence.png"):
        assert (run_example.out / name).stat().st_size > 0


def test_09_write_your_own_layer(run_example):
    ns = run_example("09_write_your_own_layer.py")
    assert ns["grade"](ns["PReLUFunction"])[0] == 3
    assert ns["grade"](ns["BuggyPReLU"])[0] == 2

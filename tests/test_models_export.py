"""examples/export_torchvision_weights.py: its conversion, run on a randomly initialised
torchvision model (no download), so that the example cannot rot."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc

EXAMPLE = Path(__file__).parent.parent / "examples" / "export_torchvision_weights.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("export_torchvision_weights", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_exported_torchvision_weights_load_into_minicnn(example, torch, torchvision, tmp_path):
    torch.manual_seed(0)
    theirs = torchvision.models.resnet18(num_classes=7)
    theirs.train()
    with torch.no_grad():  # BatchNorm statistics that are not 0 and 1
        theirs(torch.randn(4, 3, 32, 32))
    theirs.eval()
    path = example.export(theirs, "resnet18", tmp_path / "resnet18.safetensors", "random")
    assert mc.serialization.load_metadata(path) == {"model": "resnet18", "source": "random"}
    ours = example.load(path)
    assert not ours.training and ours.fc.out_features == 7
    state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, state[key].numpy(), err_msg=key)
    assert ours.bn1.num_batches_tracked.item() == 1
    assert example.max_difference(theirs, ours, size=64) < 1e-5


def test_the_script_end_to_end_with_random_weights(example, torch, torchvision, tmp_path, capsys):
    out = tmp_path / "r18.safetensors"
    assert example.main(["resnet18", "--weights", "none", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert mc.serialization.load_metadata(out)["model"] == "resnet18"


def test_the_example_knows_every_torchvision_twin(example):
    assert {"vgg16", "vgg16_bn", "resnet50", "resnet152"} <= set(example.CLASSIFIER)
    with pytest.raises(ValueError, match="no torchvision twin for 'unet'"):
        example.build("unet", {})
    with pytest.raises(SystemExit):
        example.main(["alexnet"])

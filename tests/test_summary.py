"""minicnn.summary: the course's multiply-accumulate arithmetic, torchvision's published
figures, output shapes, receptive fields, the rendered table, and that it changes nothing."""

import gc

import numpy as np
import pytest

import minicnn as mc
from minicnn import models, nn
from minicnn.summary import LayerSummary, ModelSummary


def test_one_5x5_convolution_of_the_course():
    s = mc.summary(nn.Conv2d(192, 32, 5, padding=2), (192, 28, 28))
    assert s.total_macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert s.total_params == s.trainable_params == 5 * 5 * 192 * 32 + 32 == 153_632
    (row,) = s.rows
    assert row == LayerSummary("", "Conv2d", (1, 32, 28, 28), 153_632, 120_422_400, (5, 5))


def test_a_1x1_bottleneck_first_costs_ten_times_less():
    model = nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding="same"))
    s = mc.summary(model, (192, 28, 28))
    assert [row.macs for row in s.rows] == [2_408_448, 10_035_200]
    assert [row.params for row in s.rows] == [3_088, 12_832]
    assert s.total_macs == 12_443_648 and s.total_params == 15_920
    assert [row.output_shape for row in s.rows] == [(1, 16, 28, 28), (1, 32, 28, 28)]


def test_the_course_inception_block():
    s = mc.summary(models.InceptionBlock(192, 64, 96, 128, 16, 32, 32), (192, 28, 28))
    convs = [row for row in s.rows if row.type == "Conv2d"]
    assert [row.name for row in convs] == [
        "branch1.0", "branch2.0.0", "branch2.1.0", "branch3.0.0", "branch3.1.0", "branch4.1.0",
    ]  # fmt: skip
    finals = [convs[0], convs[2], convs[4], convs[5]]
    assert [row.output_shape[1] for row in finals] == [64, 128, 32, 32]  # 256 channels in all
    assert all(row.output_shape[2:] == (28, 28) for row in s.rows)
    hw = 28 * 28
    assert s.total_macs == hw * 192 * (64 + 96 + 16 + 32) + hw * (9 * 96 * 128 + 25 * 16 * 32)
    assert [row.receptive_field for row in finals] == [(1, 1), (3, 3), (5, 5), (3, 3)]


def test_lenet5_rows():
    s = mc.summary(models.lenet5(), (1, 28, 28))
    assert s.total_params == 61_706
    assert [(row.name, row.type) for row in s.rows[:4]] == [
        ("features.0", "Conv2d"), ("features.1", "ReLU"), ("features.2", "MaxPool2d"),
        ("features.3", "Conv2d"),
    ]  # fmt: skip
    by_name = {row.name: row for row in s.rows}
    assert by_name["features.0"].macs == 28 * 28 * 6 * 25
    assert by_name["features.3"].macs == 10 * 10 * 16 * 6 * 25
    assert by_name["classifier.0"].macs == 400 * 120
    assert s.total_macs == 117_600 + 240_000 + 400 * 120 + 120 * 84 + 84 * 10
    assert by_name["features.5"].output_shape == (1, 16, 5, 5)
    assert by_name["classifier.4"].output_shape == (1, 10)
    # 5, then a 2x2 pool (+1), a 5x5 at jump 2 (+8), a 2x2 pool at jump 2 (+2)
    fields = [by_name[f"features.{i}"].receptive_field for i in range(6)]
    assert fields == [(5, 5), (5, 5), (6, 6), (14, 14), (14, 14), (16, 16)]
    assert by_name["flatten"].receptive_field is None
    assert by_name["classifier.0"].receptive_field is None
    assert sum(row.params for row in s.rows) == s.total_params


def test_the_table_prints_counts_with_thousands_separators():
    text = str(mc.summary(models.lenet5(), (1, 28, 28)))
    lines = text.splitlines()
    assert lines[0] == 'Model: "LeNet5", input (1, 28, 28)'
    assert lines[2].split() == ["Layer", "(type)", "Output", "shape", "Param", "#", "MACs",
                                "Receptive", "field"]  # fmt: skip
    row = next(line for line in lines if line.startswith("features.3 (Conv2d)"))
    assert row.split() == ["features.3", "(Conv2d)", "(1,", "16,", "10,", "10)", "2,416",
                           "240,000", "14x14"]  # fmt: skip
    assert "Total params: 61,706" in lines
    assert "Trainable params: 61,706" in lines
    assert "Non-trainable params: 0" in lines
    assert "Total MACs: 416,520" in lines


def test_receptive_fields_grow_with_kernels_strides_and_dilations():
    model = nn.Sequential(
        nn.Conv2d(1, 1, 3),  # 3
        nn.Conv2d(1, 1, 3, stride=2),  # 3 + 2 = 5, jump 2
        nn.Conv2d(1, 1, 3, dilation=2),  # 5 + 2*2*2 = 13
        nn.MaxPool2d(2),  # 13 + 1*2 = 15, jump 4
        nn.Conv2d(1, 1, (1, 3)),  # 15 x (15 + 2*4 = 23)
        nn.AdaptiveAvgPool2d(1),
    )
    fields = [row.receptive_field for row in mc.summary(model, (1, 40, 40)).rows]
    assert fields == [(3, 3), (5, 5), (13, 13), (15, 15), (15, 23), None]


def test_a_residual_sum_has_the_receptive_field_of_its_largest_branch():
    s = mc.summary(models.resnet18(num_classes=10, small_input=True, base_channels=4), (3, 16, 16))
    rows = [row for row in s.rows if row.name.startswith("layer1.0.")]
    assert [(row.name, row.receptive_field) for row in rows] == [
        ("layer1.0.conv1", (5, 5)), ("layer1.0.bn1", (5, 5)), ("layer1.0.relu", (5, 5)),
        ("layer1.0.conv2", (7, 7)), ("layer1.0.bn2", (7, 7)),
        ("layer1.0.relu", (7, 7)),  # after the sum: the 3x3 branch, not the shortcut's 3
    ]  # fmt: skip
    assert s.rows[-1].receptive_field is None  # fc


def test_receptive_fields_through_transposed_convolutions_and_skip_connections():
    model = models.unet(base_channels=2, depth=2, batch_norm=False)
    fields = {row.name: row.receptive_field for row in mc.summary(model, (1, 16, 16)).rows}
    assert fields["bottleneck.2"] == (32, 32)  # jump 4
    # a 2x2 transposed convolution of stride 2: each output pixel sees one input pixel, jump 2
    assert fields["upsamplers.0"] == (32, 32)
    assert fields["decoder.0.0"] == (36, 36)  # after the concatenation: 32 + 2 * 2
    assert fields["upsamplers.1"] == (40, 40)  # jump 1
    assert fields["decoder.1.2"] == fields["head"] == (44, 44)


def test_resnet18_layers_at_224():
    s = mc.summary(models.resnet18(), (3, 224, 224))
    by_name = {row.name: row for row in s.rows}
    assert by_name["conv1"].output_shape == (1, 64, 112, 112)
    assert by_name["maxpool"].output_shape == (1, 64, 56, 56)
    assert by_name["layer2.0.downsample.0"].output_shape == (1, 128, 28, 28)
    assert by_name["layer4.1.conv2"].output_shape == (1, 512, 7, 7)
    assert by_name["avgpool"].output_shape == (1, 512, 1, 1)
    assert by_name["fc"].output_shape == (1, 1000)
    assert by_name["conv1"].macs == 112 * 112 * 64 * 3 * 49
    assert s.total_params == 11_689_512
    assert s.total_macs == 1_814_073_344


@pytest.mark.parametrize(
    ("name", "macs"),
    [
        ("resnet34", 3_663_761_408),
        ("resnet50", 4_089_184_256),
        pytest.param("vgg11", 7_609_090_048, marks=pytest.mark.slow),
        pytest.param("vgg16", 15_470_264_320, marks=pytest.mark.slow),
    ],
)
def test_torchvisions_published_multiply_accumulates(name, macs, zero_init):
    model = models.get_model(name)
    s = mc.summary(model, (3, 224, 224))
    assert s.total_macs == macs
    if name == "vgg16":
        assert s.total_params == 138_357_544
        assert "Total params: 138,357,544" in str(s)
        assert "Total MACs: 15,470,264,320" in str(s)
        features = [row for row in s.rows if row.name.startswith("features.")]
        assert features[-1].output_shape == (1, 512, 7, 7)
        assert [row.output_shape for row in s.rows[-7:]][::3] == [(1, 4096), (1, 4096), (1, 1000)]
    del model, s
    gc.collect()


def test_macs_equal_pytorchs_flop_counter(torch, torchvision):
    """torch.utils.flop_counter counts 2 FLOPs per multiply-accumulate of convolutions
    (transposed and grouped too) and matrix products."""
    from torch.utils.flop_counter import FlopCounterMode

    def torch_macs(model, shape):
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.zeros(1, *shape))
        return counter.get_total_flops() // 2

    cases = [
        (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2),
         torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2), (4, 5, 7)),
        (nn.Conv2d(6, 4, (3, 2), stride=(2, 1), groups=2, bias=False),
         torch.nn.Conv2d(6, 4, (3, 2), stride=(2, 1), groups=2, bias=False), (6, 9, 8)),
        (nn.Linear(5, 3), torch.nn.Linear(5, 3), (4, 5)),
        (models.resnet18(), torchvision.models.resnet18(), (3, 40, 40)),
    ]  # fmt: skip
    for ours, theirs, shape in cases:
        assert mc.summary(ours, shape).total_macs == torch_macs(theirs, shape), ours


def test_summary_changes_neither_modes_nor_running_statistics():
    model = models.vgg([4, "M"], num_classes=3, batch_norm=True, hidden=8, pool_size=1)
    model.classifier.eval()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    mc.summary(model, (3, 8, 8))
    assert model.training and model.features[1].training and not model.classifier.training
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_trainable_shared_and_float64_models():
    conv = nn.Conv2d(2, 2, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), conv, nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    model[4].requires_grad_(False)
    s = mc.summary(model.double(), (2, 4, 4))
    assert s.total_params == 2 * 2 * 9 + 2 + 32 * 3 + 3
    assert s.trainable_params == 38 and s.non_trainable_params == 99
    assert [row.params for row in s.rows] == [38, 0, 0, 0, 99]  # the shared conv counted once
    assert [row.macs for row in s.rows] == [16 * 2 * 18, 0, 16 * 2 * 18, 0, 32 * 3]
    assert [row.name for row in s.rows] == ["0", "1", "0", "3", "4"]


def test_layers_with_several_outputs_and_models_without_parameters():
    s = mc.summary(nn.MaxPool2d(2, return_indices=True), (3, 4, 4))
    assert s.rows[0].output_shape == ((1, 3, 2, 2), (1, 3, 2, 2))
    assert "(1, 3, 2, 2), (1, 3, 2, 2)" in str(s)
    assert s.total_params == 0 and s.total_macs == 0
    assert isinstance(s, ModelSummary)


def test_summary_rejects_bad_arguments():
    with pytest.raises(TypeError, match="summary: model must be a minicnn.nn.Module, got int"):
        mc.summary(3, (1, 2, 2))
    with pytest.raises(TypeError, match=r"summary: input_shape must be a tuple of ints, got 28"):
        mc.summary(models.lenet5(), 28)
    with pytest.raises(ValueError, match="summary: input_shape must be a positive int, got 0"):
        mc.summary(models.lenet5(), (1, 0, 28))
    with pytest.raises(ValueError, match="Linear"):  # the forward's own error
        mc.summary(models.lenet5(), (1, 32, 32))

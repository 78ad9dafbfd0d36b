"""receptive_field: the arithmetic per layer, checked against the gradient of one output pixel."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import models, nn


def test_three_stacked_3x3_convolutions_see_3_5_7():
    model = nn.Sequential(*(nn.Conv2d(1, 1, 3, padding=1) for _ in range(3)))
    rows = mc.receptive_field(model, (1, 16, 16)).rows
    assert [r.receptive_field for r in rows] == [(3, 3), (5, 5), (7, 7)]
    assert [r.jump for r in rows] == [(1, 1)] * 3
    assert [r.start for r in rows] == [(0.0, 0.0)] * 3
    assert [r.name for r in rows] == ["0", "1", "2"]


def test_pooling_strides_dilation_and_elementwise_layers():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3),  # r 3, j 1, start 1
        nn.BatchNorm2d(2),
        nn.ReLU(),
        nn.MaxPool2d(2),  # r 4, j 2, start 1.5
        nn.Conv2d(2, 2, (3, 1), dilation=2, padding=(2, 0)),  # r 4+8 / 4, start 1.5 / 1.5
        nn.AvgPool2d(3, stride=1, padding=1),  # r +4 / +4
    )
    result = mc.receptive_field(model, (1, 20, 20))
    assert [(r.type, r.receptive_field, r.jump, r.start) for r in result] == [
        ("Conv2d", (3, 3), (1, 1), (1.0, 1.0)),
        ("BatchNorm2d", (3, 3), (1, 1), (1.0, 1.0)),
        ("ReLU", (3, 3), (1, 1), (1.0, 1.0)),
        ("MaxPool2d", (4, 4), (2, 2), (1.5, 1.5)),
        ("Conv2d", (12, 4), (2, 2), (1.5, 1.5)),
        ("AvgPool2d", (16, 8), (2, 2), (1.5, 1.5)),
    ]
    assert result[-1].output_shape == (2, 9, 9)
    assert "16 x 8" in str(result) and "1.5 x 1.5" in str(result)
    assert model.training and model[1].training  # modes restored


def test_lenet_rows_end_at_flatten():
    result = mc.receptive_field(models.lenet5(), (1, 28, 28))
    assert [r.name for r in result] == [f"features.{i}" for i in range(6)]
    assert result[-1].receptive_field == (16, 16) and result[-1].jump == (4, 4)


def test_not_a_chain_and_unknown_layers():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(x + self.conv(x))

    with pytest.raises(ValueError, match=r"^receptive_field: the model is not a chain.*'relu'"):
        mc.receptive_field(Residual(), (1, 8, 8))
    with pytest.raises(ValueError, match=r"^receptive_field: cannot follow '1' \(Upsample\)"):
        mc.receptive_field(
            nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), (1, 8, 8)
        )
    with pytest.raises(ValueError, match=r"input_shape must be \(channels, height, width\)"):
        mc.receptive_field(nn.Conv2d(1, 1, 3), (8, 8))
    with pytest.raises(TypeError, match="input_shape must be a tuple of ints, got 8"):
        mc.receptive_field(nn.Conv2d(1, 1, 3), 8)
    with pytest.raises(TypeError, match="model must be a minicnn.nn.Module"):
        mc.receptive_field(None, (1, 8, 8))


layer_settings = st.tuples(
    st.sampled_from(["conv", "avg"]),
    st.integers(1, 3),  # kernel
    st.integers(1, 2),  # stride
    st.integers(1, 2),  # dilation (convolutions only)
    st.integers(0, 1),  # padding
)


@settings(max_examples=15)
@given(st.lists(layer_settings, min_size=1, max_size=4))
def test_field_matches_the_gradient_of_one_output_pixel(settings_list):
    """With positive weights and average pooling, d out[i, j] / d input is non-zero exactly on
    the pixels the output sees: their bounding box is the receptive field, centred at
    start + i * jump."""
    layers = []
    for kind, k, s, d, p in settings_list:
        p = min(p, k // 2)
        if kind == "conv":
            conv = nn.Conv2d(1, 1, k, stride=s, dilation=d, padding=p, bias=False).double()
            conv.weight.data[...] = 1.0
            layers.append(conv)
        else:
            layers.append(nn.AvgPool2d(k, stride=s, padding=p))
    model = nn.Sequential(*layers)
    size = 160  # more than twice the largest field (61): the middle pixel's is never cut
    rows = mc.receptive_field(model, (1, size, size)).rows
    last = rows[-1]
    x = mc.ones(1, 1, size, size, dtype=mc.float64, requires_grad=True)
    out = model(x)
    i, j = out.shape[2] // 2, out.shape[3] // 2
    out[0, 0, i, j].backward()
    hit = np.nonzero(x.grad.numpy()[0, 0])
    for axis, centre_index in enumerate((i, j)):
        low, high = hit[axis].min(), hit[axis].max()
        r, jump, start = last.receptive_field[axis], last.jump[axis], last.start[axis]
        centre = start + centre_index * jump
        assert (low, high) == (centre - (r - 1) / 2, centre + (r - 1) / 2)

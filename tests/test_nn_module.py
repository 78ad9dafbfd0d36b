"""Module machinery: registration, names, state_dict, hooks, modes, conversions, containers, repr."""

import copy
import re
from collections import OrderedDict

import numpy as np
import pytest

import minicnn as mc
from minicnn import nn


class Block(nn.Module):
    """conv -> bn -> relu, with a custom parameter and a plain attribute."""

    def __init__(self, c_in=3, c_out=4):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.scale = nn.Parameter(mc.ones(1))
        self.register_buffer("steps", mc.zeros(1))
        self.note = "not registered"

    def forward(self, x):
        return nn.ReLU()(self.bn1(self.conv(x))) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(Block(), nn.MaxPool2d(2))
        self.head = nn.ModuleList([nn.Flatten(), nn.Linear(4 * 2 * 2, 3)])

    def forward(self, x):
        x = self.features(x)
        for layer in self.head:
            x = layer(x)
        return x


NET_KEYS = [
    "features.0.scale",
    "features.0.steps",
    "features.0.conv.weight",
    "features.0.bn1.weight",
    "features.0.bn1.bias",
    "features.0.bn1.running_mean",
    "features.0.bn1.running_var",
    "features.0.bn1.num_batches_tracked",
    "head.1.weight",
    "head.1.bias",
]


def net_input(seed=0, dtype=np.float32):
    return mc.tensor(np.random.default_rng(seed).standard_normal((2, 3, 4, 4)).astype(dtype))


# --- Parameter -------------------------------------------------------------------------------


def test_parameter_requires_grad_and_repr():
    p = nn.Parameter(mc.tensor([1.0, 2.0]))
    assert isinstance(p, mc.Tensor) and p.requires_grad and p.dtype == np.float32
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert not nn.Parameter(mc.tensor([1.0]), requires_grad=False).requires_grad


def test_parameter_shares_the_tensors_array():
    t = mc.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    p.data[0] = 5.0
    assert t.data[0] == 5.0


# --- registration ----------------------------------------------------------------------------


def test_setattr_registers_parameters_buffers_and_modules():
    block = Block()
    assert list(block._parameters) == ["scale"]
    assert list(block._buffers) == ["steps"]
    assert list(block._modules) == ["conv", "bn1"]
    assert block.note == "not registered" and "note" not in block.state_dict()
    assert block.scale is block._parameters["scale"]


def test_plain_tensor_attribute_is_not_a_parameter():
    m = nn.Module()
    m.w = mc.randn(2, requires_grad=True)
    assert list(m.parameters()) == []


def test_registering_before_init_is_a_clear_error():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mc.ones(1))
            super().__init__()

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call"):
        Early()


def test_assigning_a_non_parameter_to_a_parameter_slot_raises():
    layer = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'weight'"):
        layer.weight = mc.ones(3, 2)
    layer.bias = None  # None is allowed: the parameter is declared but absent
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    layer.weight = nn.Parameter(mc.ones(3, 2))
    assert layer.weight.data.sum() == 6


def test_buffer_reassignment_and_type_check():
    bn = nn.BatchNorm1d(3)
    bn.running_mean = mc.ones(3)
    assert bn.state_dict()["running_mean"].sum() == 3
    with pytest.raises(TypeError, match="buffer 'running_mean'"):
        bn.running_mean = [0, 0, 0]
    with pytest.raises(TypeError, match="minicnn Tensor or None required"):
        bn.register_buffer("extra", np.zeros(3))


def test_register_rejects_bad_and_duplicate_names():
    m = nn.Module()
    m.thing = 1
    with pytest.raises(KeyError, match="attribute 'thing' already exists"):
        m.register_buffer("thing", mc.zeros(1))
    with pytest.raises(KeyError, match='contain "."'):
        m.register_parameter("a.b", nn.Parameter(mc.zeros(1)))
    with pytest.raises(TypeError, match="not a Module subclass"):
        m.add_module("x", 3)


def test_getattr_and_delattr():
    block = Block()
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'missing'"):
        _ = block.missing
    del block.bn1
    del block.scale
    del block.note
    assert "bn1" not in dict(block.named_children())
    assert [n for n, _ in block.named_parameters()] == ["conv.weight"]
    assert not hasattr(block, "note")
    assert "conv" in dir(block)


def test_non_persistent_buffer_is_not_saved():
    m = nn.Module()
    m.register_buffer("cache", mc.zeros(2), persistent=False)
    assert list(m.state_dict()) == [] and [n for n, _ in m.named_buffers()] == ["cache"]


# --- names and iteration ---------------------------------------------------------------------


def test_named_parameters_buffers_modules_children():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "features.0.scale",
        "features.0.conv.weight",
        "features.0.bn1.weight",
        "features.0.bn1.bias",
        "head.1.weight",
        "head.1.bias",
    ]
    assert [n for n, _ in net.named_buffers()] == [
        "features.0.steps",
        "features.0.bn1.running_mean",
        "features.0.bn1.running_var",
        "features.0.bn1.num_batches_tracked",
    ]
    assert [n for n, _ in net.named_modules()] == [
        "",
        "features",
        "features.0",
        "features.0.conv",
        "features.0.bn1",
        "features.1",
        "head",
        "head.0",
        "head.1",
    ]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert list(net.children()) == [net.features, net.head]
    assert len(list(net.modules())) == 9
    assert len(list(net.parameters(recurse=False))) == 0
    assert len(list(net.features[0].parameters(recurse=False))) == 1


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(model.modules())) == 3
    # state_dict keeps every name, as PyTorch does
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


# --- state_dict --------------------------------------------------------------------------------


def test_state_dict_keys_order_and_raw_arrays():
    net = Net()
    state = net.state_dict()
    assert list(state) == NET_KEYS
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["features.0.bn1.num_batches_tracked"].shape == ()
    assert state["features.0.bn1.num_batches_tracked"].dtype == np.int64
    assert state["head.1.weight"] is net.head[1].weight.data  # shares memory, like PyTorch
    assert all(isinstance(v, mc.Tensor) for v in net.state_dict(keep_vars=True).values())


def test_state_dict_keys_match_torch(torch):
    tnn = torch.nn

    class TorchBlock(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv = tnn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.bn1 = tnn.BatchNorm2d(4)
            self.scale = tnn.Parameter(torch.ones(1))
            self.register_buffer("steps", torch.zeros(1))

    class TorchNet(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(TorchBlock(), tnn.MaxPool2d(2))
            self.head = tnn.ModuleList([tnn.Flatten(), tnn.Linear(16, 3)])

    theirs = TorchNet().state_dict()
    assert list(theirs) == NET_KEYS
    ours = Net().state_dict()
    assert {k: tuple(v.shape) for k, v in theirs.items()} == {k: v.shape for k, v in ours.items()}


def test_load_state_dict_round_trip_gives_identical_outputs():
    mc.manual_seed(0)
    a = Net()
    mc.manual_seed(1)
    b = Net()
    x = net_input()
    assert not np.allclose(a(x).numpy(), b(x).numpy())
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    # copied, not shared
    assert b.head[1].weight.data is not a.head[1].weight.data


def test_load_state_dict_accepts_tensors_and_keeps_the_module_dtype():
    layer = nn.Linear(3, 2)
    weight = np.arange(6, dtype=np.float64).reshape(2, 3)
    layer.load_state_dict({"weight": mc.tensor(weight), "bias": np.array([1.0, 2.0])})
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.numpy(), weight)
    bn = nn.BatchNorm1d(2)
    state = {k: np.asarray(v, dtype=np.float64) for k, v in bn.state_dict().items()}
    state["num_batches_tracked"] = 7  # a Python int works too
    bn.load_state_dict(state)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.item() == 7


def test_load_state_dict_keeps_parameter_objects():
    layer = nn.Linear(3, 2)
    weight = layer.weight
    layer.load_state_dict(nn.Linear(3, 2).state_dict())
    assert layer.weight is weight  # an optimizer holding it still works


def test_load_state_dict_reports_every_problem_in_one_message():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    before = copy.deepcopy(model.state_dict())
    state = {
        "0.weight": np.zeros((4, 3)),  # wrong shape
        "0.bias": np.zeros(2),
        "2.weight": np.zeros((1, 2)),
        "extra.weight": np.zeros(1),
        "2.scale": np.zeros(1),
    }
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:\n\t")
    assert 'Missing key(s) in state_dict: "2.bias".' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight", "2.scale".' in message
    assert (
        "size mismatch for 0.weight: copying a param with shape (4, 3) from checkpoint, "
        "the shape in current model is (2, 3)." in message
    )
    # nothing was copied
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_non_strict_returns_missing_and_unexpected():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    result = model.load_state_dict(
        {"0.weight": np.ones((2, 3)), "head.bias": np.zeros(1)}, strict=False
    )
    assert isinstance(result, nn.IncompatibleKeys)
    assert result.missing_keys == ["0.bias", "1.weight", "1.bias"]
    assert result.unexpected_keys == ["head.bias"]
    missing, unexpected = result
    assert missing == result.missing_keys and unexpected == ["head.bias"]
    np.testing.assert_array_equal(model[0].weight.numpy(), np.ones((2, 3)))
    # a shape mismatch is an error even when not strict, as in PyTorch
    with pytest.raises(RuntimeError, match="size mismatch for 0.weight"):
        model.load_state_dict({"0.weight": np.ones((3, 3))}, strict=False)


def test_load_state_dict_rejects_non_mappings():
    with pytest.raises(TypeError, match="expected a mapping"):
        nn.Linear(2, 2).load_state_dict([np.zeros((2, 2))])


# --- hooks and apply -------------------------------------------------------------------------


def test_forward_hook_sees_module_inputs_and_output_and_can_be_removed():
    layer = nn.Linear(3, 2)
    calls = []

    def hook(module, inputs, output):
        calls.append((module, inputs, output))

    handle = layer.register_forward_hook(hook)
    x = mc.randn(4, 3)
    y = layer(x)
    assert len(calls) == 1
    module, inputs, output = calls[0]
    assert module is layer and isinstance(inputs, tuple) and inputs[0] is x and output is y
    handle.remove()
    layer(x)
    assert len(calls) == 1
    handle.remove()  # removing twice is harmless


def test_forward_hook_return_value_replaces_the_output():
    layer = nn.Identity()
    layer.register_forward_hook(lambda module, inputs, output: output * 2)
    layer.register_forward_hook(lambda module, inputs, output: None)  # keeps it
    np.testing.assert_array_equal(layer(mc.tensor([1.0, 2.0])).numpy(), [2.0, 4.0])


def test_forward_pre_hook_can_replace_inputs():
    layer = nn.Identity()
    handle = layer.register_forward_pre_hook(lambda module, inputs: inputs[0] + 1)
    assert layer(mc.tensor([1.0])).item() == 2.0
    handle.remove()
    assert layer(mc.tensor([1.0])).item() == 1.0


def test_hooks_on_submodules_capture_activations():
    net = Net()
    seen = {}
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            module.register_forward_hook(lambda m, i, o, name=name: seen.update({name: o.shape}))
    net(net_input())
    assert seen == {"features.0.conv": (2, 4, 4, 4), "head.1": (2, 3)}


def test_apply_visits_children_first_then_self():
    net = Net()
    order = []
    assert net.apply(lambda m: order.append(type(m).__name__)) is net
    assert order[-1] == "Net" and order.index("Conv2d") < order.index("Block")

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.weight)

    net.apply(init_linear)
    assert not net.head[1].weight.data.any()


# --- modes, gradients, dtypes, devices ---------------------------------------------------------


def test_train_and_eval_propagate_recursively():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net.features.train(False)
    assert net.training and not net.features[0].bn1.training
    with pytest.raises(ValueError, match="bool"):
        net.train("no")


def test_requires_grad_false_freezes_parameters():
    net = Net()
    net.features.requires_grad_(False)
    net(net_input()).sum().backward()
    assert all(p.grad is None for p in net.features.parameters())
    assert all(p.grad is not None for p in net.head.parameters())
    assert net.requires_grad_() is net and all(p.requires_grad for p in net.parameters())


def test_zero_grad_sets_gradients_to_none_or_zero():
    net = Net()
    net(net_input()).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.data.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_double_and_float_convert_in_place_and_keep_objects():
    net = Net()
    params = list(net.parameters())
    net(net_input()).sum().backward()
    assert net.double() is net
    now = list(net.parameters())
    assert len(now) == len(params) and all(a is b for a, b in zip(now, params, strict=True))
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    bn = net.features[0].bn1
    assert bn.running_mean.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64
    assert net(net_input(dtype=np.float64)).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert bn.running_var.dtype == np.float32
    assert net.to(mc.float64) is net and net.head[1].weight.dtype == np.float64
    with pytest.raises(TypeError, match="only floating dtypes"):
        net.to(mc.int32)


def test_to_cpu_returns_self_and_unknown_devices_raise():
    net = Net()
    assert net.to("cpu") is net and net.cpu() is net
    with pytest.raises(ValueError, match="unknown device"):
        net.to("tpu")
    if not mc.cuda_available():
        with pytest.raises(RuntimeError, match="CuPy"):
            net.to("cuda")


@pytest.mark.skipif(not mc.cuda_available(), reason="needs CuPy and a GPU")
def test_to_cuda_moves_parameters_and_loads_numpy_state():
    net = Net().to("cuda")
    assert all(t.device == "cuda" for t in [*net.parameters(), *net.buffers()])
    net.load_state_dict(Net().state_dict())  # NumPy arrays into a GPU model
    assert net.head[1].weight.device == "cuda"
    y = net(net_input().to("cuda"))
    assert y.device == "cuda"
    state = net.cpu().state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())


def test_deepcopy_is_independent():
    net = Net()
    clone = copy.deepcopy(net)
    clone.head[1].weight.data[...] = 0
    assert net.head[1].weight.data.any()
    x = net_input()
    net.head[1].weight.data[...] = 0
    np.testing.assert_array_equal(net(x).numpy(), clone(x).numpy())


def test_forward_must_be_implemented():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the "forward"'):
        nn.Module()(1)


# --- containers ------------------------------------------------------------------------------


def test_sequential_indexing_slicing_and_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2] and seq[-3] is layers[0]
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[1:]
    assert list(tail.state_dict()) == ["2.weight", "2.bias"]  # names kept, as in PyTorch
    with pytest.raises(IndexError, match="index 3 is out of range for Sequential of length 3"):
        seq[3]
    x = mc.randn(4, 2)
    np.testing.assert_array_equal(seq(x).numpy(), layers[2](layers[1](layers[0](x))).numpy())


def test_sequential_from_ordered_dict_append_setitem_delitem():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in seq.named_children()] == ["fc", "act"]
    assert seq.fc is seq[0]
    seq.append(nn.Linear(2, 1))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias", "2.weight", "2.bias"]
    seq[1] = nn.ReLU()
    assert isinstance(seq.act, nn.ReLU)
    del seq[0]
    assert [n for n, _ in seq.named_children()] == ["0", "1"]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.Sequential(nn.ReLU(), 3)


def test_module_list_registers_its_entries():
    blocks = nn.ModuleList([nn.Linear(2, 2)])
    blocks.append(nn.ReLU())
    blocks.extend([nn.Linear(2, 3), nn.Linear(3, 1)])
    blocks.insert(1, nn.Tanh())
    assert len(blocks) == 5
    assert [type(b).__name__ for b in blocks] == ["Linear", "Tanh", "ReLU", "Linear", "Linear"]
    assert blocks[-1].out_features == 1
    assert [type(b).__name__ for b in blocks[1:3]] == ["Tanh", "ReLU"]
    assert isinstance(blocks[1:3], nn.ModuleList)
    assert list(blocks.state_dict())[:2] == ["0.weight", "0.bias"]
    assert "3.weight" in blocks.state_dict()
    del blocks[1]
    assert [n for n, _ in blocks.named_children()] == ["0", "1", "2", "3"]
    blocks[0] = nn.Identity()
    assert len(list(blocks.parameters())) == 4
    with pytest.raises(IndexError, match="out of range for ModuleList of length 4"):
        blocks[4]


# --- repr --------------------------------------------------------------------------------------

EXPECTED_REPR = """\
Tiny(
  (features): Sequential(
    (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    (1): ReLU()
    (2): Conv2d(16, 32, kernel_size=(3, 3), stride=(2, 2), groups=2, bias=False)
    (3): AdaptiveAvgPool2d(output_size=1)
  )
  (blocks): ModuleList(
    (0-1): 2 x Linear(in_features=32, out_features=32, bias=True)
    (2): LeakyReLU(negative_slope=0.1)
  )
  (flatten): Flatten(start_dim=1, end_dim=-1)
  (head): Linear(in_features=32, out_features=10, bias=False)
)"""


def build_tiny(nn_module):
    class Tiny(nn_module.Module):
        def __init__(self):
            super().__init__()
            self.features = nn_module.Sequential(
                nn_module.Conv2d(3, 16, 3, padding=1),
                nn_module.ReLU(),
                nn_module.Conv2d(16, 32, 3, stride=2, groups=2, bias=False),
                nn_module.AdaptiveAvgPool2d(1),
            )
            self.blocks = nn_module.ModuleList(
                [nn_module.Linear(32, 32), nn_module.Linear(32, 32), nn_module.LeakyReLU(0.1)]
            )
            self.flatten = nn_module.Flatten()
            self.head = nn_module.Linear(32, 10, bias=False)

    return Tiny()


def test_repr_is_nested_like_pytorch():
    assert repr(build_tiny(nn)) == EXPECTED_REPR


def test_repr_matches_torch(torch):
    assert repr(build_tiny(nn)) == repr(build_tiny(torch.nn))


def test_repr_of_layers_with_several_lines_of_extra_repr():
    class Two(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Two()) == "Two(\n  a=1\n  b=2\n)"
    assert repr(nn.ModuleList()) == "ModuleList()"
    assert re.fullmatch(r"Sequential\(\)", repr(nn.Sequential()))

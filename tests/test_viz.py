"""viz.graph: the DOT text of a known graph holds its ops, shapes and parameter names."""

import re
import shutil

import pytest

import minicnn as mc
import minicnn.functional as F
from minicnn import nn, viz


def nodes(source):
    """{node name: label} of a DOT text."""
    return dict(re.findall(r'^\s+(\w+) \[.*label="(.*)"\];$', source, flags=re.M))


def edges(source):
    return re.findall(r"^\s+(\w+) -> (\w+)", source, flags=re.M)


def test_small_graph_ops_shapes_and_edges():
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    w = mc.ones(3, 2, requires_grad=True)
    y = (w @ a).exp().sum()
    g = viz.graph(y, {"a": a, "w": w})
    source = str(g)
    assert source.startswith("digraph minicnn {") and source.rstrip().endswith("}")
    assert g.ops == ["Sum", "Exp", "MatMul"]
    labels = nodes(source)
    by_label = {label: name for name, label in labels.items()}
    assert by_label[r"a\n(2,) float32"]
    assert by_label[r"w\n(3, 2) float32"]
    assert by_label["() float32"]  # the result
    matmul = next(n for n, label in labels.items() if label.startswith("MatMul"))
    exp = next(n for n, label in labels.items() if label.startswith("Exp"))
    # w and a go into the product; its (3,) output goes into exp
    assert (by_label[r"a\n(2,) float32"], matmul) in edges(source)
    assert (by_label[r"w\n(3, 2) float32"], matmul) in edges(source)
    out = next(dst for src, dst in edges(source) if src == matmul)
    assert labels[out] == "(3,) float32" and (out, exp) in edges(source)
    assert len(edges(source)) == 7  # a, w -> matmul -> t -> exp -> t -> sum -> y


def test_a_tensor_used_twice_is_one_node_with_two_edges():
    a = mc.tensor([1.0, 2.0], requires_grad=True)
    source = viz.graph(a * a).source
    (a_node,) = [n for n, label in nodes(source).items() if label == "(2,) float32" and n != "t0"]
    assert edges(source).count((a_node, "f1")) == 2


def test_model_graph_names_parameters_and_options():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    loss = F.cross_entropy(model(mc.randn(2, 1, 4, 4)), mc.tensor([0, 2]))
    source = viz.graph(loss, params=model).source
    for text in [
        r"0.weight\n(2, 1, 3, 3) float32",
        r"3.bias\n(3,) float32",
        "Conv2dFunction",
        r"padding=((1, 1), (1, 1))",
        "ReLU",
        "Linear",
        "CrossEntropy",
        "(2, 1, 4, 4) float32",  # the input, a leaf that needs no grad (dashed)
        "(2, 2, 4, 4) float32",
        "(2,) int64",  # the labels
    ]:
        assert text in source, text


def test_leaf_and_freed_graph_and_bad_arguments():
    x = mc.tensor([1.0])
    assert viz.graph(x).ops == []
    y = (mc.tensor([1.0], requires_grad=True) * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed by backward"):
        viz.graph(y)
    with pytest.raises(TypeError, match="graph: expected a minicnn Tensor, got list"):
        viz.graph([1.0])
    with pytest.raises(TypeError, match=r"graph: params\['x'\] must be a Tensor, got int"):
        viz.graph(x, {"x": 1})
    with pytest.raises(ValueError, match="graph: rankdir must be one of"):
        viz.graph(x, rankdir="up")


def test_label_quotes_are_escaped():
    a = mc.tensor([1.0], requires_grad=True)
    source = viz.graph(a * 2, {'say "hi"': a}).source
    assert r'label="say \"hi\"\n(1,) float32"' in source


def test_render_dot_text_without_graphviz(tmp_path):
    a = mc.tensor([1.0], requires_grad=True)
    g = viz.graph(a.exp())
    path = g.render(tmp_path / "sub" / "graph.dot")
    assert path.read_text() == g.source
    with pytest.raises(ValueError, match="render: format must be one of"):
        g.render(tmp_path / "graph.txt")


def test_render_without_dot_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    g = viz.graph(mc.tensor([1.0], requires_grad=True).exp())
    with pytest.raises(RuntimeError, match=r"Graphviz program `dot` was not found.*Install"):
        g.render(tmp_path / "graph.svg")
    assert g._repr_svg_() is None


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_render_svg_with_dot(tmp_path):
    g = viz.graph(mc.tensor([1.0], requires_grad=True).exp())
    path = g.render(tmp_path / "graph.svg")
    assert "<svg" in path.read_text()

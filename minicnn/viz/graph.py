"""``graph(tensor)``: the computation graph behind a tensor, as Graphviz DOT text.

Every op that ran on the way to ``tensor`` recorded itself as a node (its ``grad_fn``); each
node keeps the Tensors it was called on. Following them back from ``tensor`` gives the whole
graph that ``tensor.backward()`` will walk. It is drawn in the forward direction, top to
bottom: tensors are ovals with their shape and dtype (leaves that require grad in blue, named
when they are parameters or given a name, the result in green), ops are boxes with their
names and options, and each arrow is a tensor going into an op or coming out of one.

Draw it before ``backward()``: backward frees the graph (unless ``retain_graph=True``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..nn import Module
from ..tensor import Tensor

_ENGINE_ATTRIBUTES = {"inputs", "needs_input_grad"}
_FORMATS = {"svg", "png", "pdf", "jpg", "jpeg", "gif"}
_MISSING_DOT = (
    "render: the Graphviz program `dot` was not found on the PATH, so {path} cannot be drawn. "
    "Install Graphviz (`apt install graphviz`, `brew install graphviz`, `conda install "
    "graphviz`, or https://graphviz.org/download/), or write the DOT text itself with "
    "render('graph.dot') (or print(graph.source)) and paste it into any Graphviz viewer"
)


def _quote(text: str) -> str:
    """A DOT string literal: backslashes and quotes escaped, newlines as DOT's ``\\n``."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def _short(value: Any) -> str | None:
    """A short text for a simple option value, None for anything else (arrays, objects)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        text = repr(value)
    elif isinstance(value, tuple) and all(
        isinstance(v, (int, float, tuple)) and not hasattr(v, "shape") for v in value
    ):
        text = repr(value)
    else:
        return None
    return text if len(text) <= 32 else None


def _options(fn: Any) -> list[str]:
    """``name=value`` for the op's simple options (a geometry dataclass is opened up)."""
    saved = getattr(fn, "_saved", set())
    lines = []
    for name, value in vars(fn).items():
        if name.startswith("_") or name in saved or name in _ENGINE_ATTRIBUTES:
            continue
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            items = [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
        else:
            items = [(name, value)]
        lines += [f"{k}={text}" for k, v in items if (text := _short(v)) is not None]
    return lines


def _tensor_label(t: Tensor, name: str | None) -> str:
    text = f"{tuple(t.shape)} {t.dtype}"
    return f"{name}\n{text}" if name else text


class Graph:
    """A drawn computation graph: ``source`` is its DOT text (also ``str(graph)``);
    ``render(path)`` writes it as SVG, PNG or PDF through Graphviz, or as ``.dot`` text.

    Attributes:
        source: the DOT text.
        ops: the op (Function) names, one per node, in the order they were found (from the
            output back to the inputs).
    """

    def __init__(self, source: str, ops: list[str]):
        self.source = source
        self.ops = ops

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<Graph of {len(self.ops)} ops; print(graph) shows its DOT text>"

    def render(self, path: str | os.PathLike, format: str | None = None) -> Path:  # noqa: A002
        """Write the graph to ``path``; the format is ``format`` or the file's suffix.

        ``.dot``/``.gv`` write the DOT text; ``svg``, ``png``, ``pdf`` (...) run Graphviz's
        ``dot``, and raise ``RuntimeError`` with what to do if it is not installed.
        Returns the path.
        """
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if fmt in ("dot", "gv"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.source, encoding="utf-8")
            return path
        if fmt not in _FORMATS:
            raise ValueError(
                f"render: format must be one of dot, gv, {', '.join(sorted(_FORMATS))} (from "
                f"the file's suffix or format=), got {fmt!r} for {str(path)!r}"
            )
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError(_MISSING_DOT.format(path=str(path)))
        path.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [dot, f"-T{fmt}", "-o", str(path)],
            input=self.source.encode("utf-8"),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"render: dot failed with status {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()}"
            )
        return path

    def _repr_svg_(self) -> str | None:
        """The drawing in a Jupyter notebook, where Graphviz is installed (else the repr)."""
        dot = shutil.which("dot")
        if dot is None:
            return None
        done = subprocess.run(
            [dot, "-Tsvg"], input=self.source.encode("utf-8"), capture_output=True, check=False
        )
        return done.stdout.decode("utf-8") if done.returncode == 0 else None


def graph(
    tensor: Tensor, params: Module | Mapping[str, Tensor] | None = None, *, rankdir: str = "TB"
) -> Graph:
    """The computation graph that produced ``tensor``, as a :class:`Graph` (DOT text).

    Args:
        tensor: the result, e.g. a loss (before ``backward()``, which frees the graph).
        params: names for leaf tensors: a Module (its ``named_parameters()``, e.g.
            ``"features.0.weight"``) or a mapping ``{"x": x, "w": w}``.
        rankdir: Graphviz's direction, ``"TB"`` (inputs at the top) or ``"LR"``.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph: expected a minicnn Tensor, got {type(tensor).__name__}")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"graph: rankdir must be one of TB, LR, BT, RL, got {rankdir!r}")
    if isinstance(params, Module):
        names = {id(p): n for n, p in params.named_parameters()}
    elif params is None:
        names = {}
    elif isinstance(params, Mapping):
        names = {}
        for n, p in params.items():
            if not isinstance(p, Tensor):
                raise TypeError(f"graph: params[{n!r}] must be a Tensor, got {type(p).__name__}")
            names[id(p)] = str(n)
    else:
        raise TypeError(
            f"graph: params must be a Module or a mapping of names to Tensors, got "
            f"{type(params).__name__}"
        )

    lines = [
        "digraph minicnn {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    ids: dict[Any, str] = {}  # a tensor's key, or an op's id -> its DOT node name
    ops: list[str] = []

    def tensor_key(t: Tensor) -> Any:
        # A tensor made by an op is that op's output i (two Tensor objects may share it).
        return ("out", id(t.grad_fn), t._output_index) if t.grad_fn is not None else id(t)

    def tensor_node(t: Tensor, result: bool = False) -> str:
        key = tensor_key(t)
        if key in ids:
            return ids[key]
        node = ids[key] = f"t{len(ids)}"
        name = names.get(id(t))
        if result:
            style = 'style=filled, fillcolor="#c8e6c9"'
        elif t.grad_fn is None and t.requires_grad:
            style = 'style=filled, fillcolor="#bbdefb"'
        elif t.grad_fn is None:
            style = 'style=dashed, color="#888888", fontcolor="#555555"'
        else:
            style = 'style=filled, fillcolor="#f5f5f5"'
        lines.append(f"  {node} [shape=ellipse, {style}, label={_quote(_tensor_label(t, name))}];")
        return node

    def op_node(fn: Any) -> tuple[str, bool]:
        if id(fn) in ids:
            return ids[id(fn)], False
        if fn.inputs is None:
            raise RuntimeError(
                "graph: the graph behind this tensor was freed by backward(); draw it before "
                "calling backward, or call backward(retain_graph=True)"
            )
        node = ids[id(fn)] = f"f{len(ids)}"
        ops.append(type(fn).__name__)
        label = "\n".join([type(fn).__name__, *_options(fn)])
        lines.append(
            f'  {node} [shape=box, style="rounded,filled", fillcolor="#ffe0b2", '
            f"label={_quote(label)}];"
        )
        return node, True

    result = tensor_node(tensor, result=True)
    if tensor.grad_fn is not None:
        stack = [(tensor.grad_fn, tensor._output_index, result)]
        while stack:  # without recursion, so that long chains work
            fn, index, out_node = stack.pop()
            node, new = op_node(fn)
            outputs = len(getattr(fn, "_output_meta", [None]))
            edge_label = f' [label="{index}"]' if outputs > 1 else ""
            lines.append(f"  {node} -> {out_node}{edge_label};")
            if not new:
                continue
            for t in fn.inputs:
                if t is None:
                    continue
                seen = tensor_key(t) in ids
                t_node = tensor_node(t)
                lines.append(f"  {t_node} -> {node};")
                if t.grad_fn is not None and not seen:
                    stack.append((t.grad_fn, t._output_index, t_node))
    lines.append("}")
    return Graph("\n".join(lines) + "\n", ops)

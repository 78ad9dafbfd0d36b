"""Student files cut from minicnn's own source.

Solution blocks are marked in the teaching code with nbgrader's markers, as comments, so the
package runs unchanged and its tests keep the answers right::

    def conv2d_forward(x, w, ...):
        ...                                   # given: stays in the student's file
        ### BEGIN SOLUTION
        ### HINT: loop over the output pixels ...
        for i, j, rows, cols in _windows(...):
            ...
        ### END SOLUTION

:func:`student_file` writes a module of its own from a few top-level names of a source module:
its imports (made absolute: ``from minicnn import backend``, trimmed to what the kept code
uses), ``from <module> import helper`` for the other names the kept code needs, and the kept
definitions in source order, each solution block replaced by its hints and
``raise NotImplementedError`` (or, for the solutions, by its code without the markers).
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "### HINT:"


class MarkerError(ValueError):
    """Solution markers that do not pair up, or a kept name that has none where it should."""


@dataclass(frozen=True)
class Block:
    """One solution block: lines ``begin`` .. ``end`` (0-based, the marker lines included)."""

    begin: int
    end: int
    indent: str
    hints: tuple[str, ...]


def find_blocks(lines: list[str], where: str = "") -> list[Block]:
    """The solution blocks of ``lines``, in order. Raises MarkerError on unpaired markers."""
    blocks, begin = [], None
    for n, line in enumerate(lines):
        text = line.strip()
        if text == BEGIN:
            if begin is not None:
                raise MarkerError(f"{where}:{n + 1}: {BEGIN} inside another solution block")
            begin = n
        elif text == END:
            if begin is None:
                raise MarkerError(f"{where}:{n + 1}: {END} without a {BEGIN}")
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            hints = []
            for hint in lines[begin + 1 : n]:
                if not hint.strip().startswith(HINT):
                    break
                hints.append(hint.strip()[len(HINT) :].strip())
            blocks.append(Block(begin, n, indent, tuple(hints)))
            begin = None
    if begin is not None:
        raise MarkerError(f"{where}:{begin + 1}: {BEGIN} without an {END}")
    return blocks


def cut(lines: list[str], name: str, solutions: bool, where: str = "") -> list[str]:
    """``lines`` with every solution block cut (``solutions=False``) or unmarked (True)."""
    out, start = [], 0
    for block in find_blocks(lines, where):
        out += lines[start : block.begin]
        body = [
            line
            for line in lines[block.begin + 1 : block.end]
            if not line.strip().startswith("### ")
        ]
        if solutions:
            out += body
        else:
            for i, hint in enumerate(block.hints):
                out.append(f"{block.indent}# {'Hint: ' if i == 0 else '      '}{hint}")
            out.append(f'{block.indent}raise NotImplementedError("{name}: your code here")')
        start = block.end + 1
    return out + lines[start:]


def module_path(module: str) -> Path:
    """The source file of a module, found without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise MarkerError(f"cannot find the source of module {module}")
    return Path(spec.origin)


def _defined_names(node: ast.stmt) -> list[str]:
    """The names a top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


def _span(node: ast.stmt, lines: list[str]) -> tuple[int, int]:
    """0-based [start, stop) of a top-level statement's lines: its decorators, and the comment
    lines indented inside it after its last statement (a block's closing marker)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    stop = node.end_lineno or node.lineno
    n = stop
    while n < len(lines) and (not lines[n].strip() or lines[n].startswith((" ", "\t"))):
        if lines[n].strip() and not lines[n].strip().startswith("#"):
            break
        n += 1
        if lines[n - 1].strip():
            stop = n
    return start, stop


def _used_names(nodes: list[ast.AST]) -> set[str]:
    """Every name loaded in ``nodes`` (annotations included, as type checkers read them)."""
    used = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                used.add(sub.id)
            elif isinstance(sub, ast.Attribute):
                base = sub
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name):
                    used.add(base.id)
    return used


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute name of ``from ..x import y`` as written in ``module``."""
    if not node.level:
        return node.module or ""
    package = module.rsplit(".", node.level)[0]
    return f"{package}.{node.module}" if node.module else package


def _import_line(module: str, node: ast.stmt, used: set[str], indent: str = "") -> str | None:
    """An import statement rewritten absolute and trimmed to ``used``, or None if unused."""
    if isinstance(node, ast.Import):
        names = [a for a in node.names if (a.asname or a.name.split(".")[0]) in used]
        if not names:
            return None
        return (
            indent
            + "import "
            + ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in names)
        )
    assert isinstance(node, ast.ImportFrom)
    source = _absolute(module, node)
    if source == "__future__":
        names = list(node.names)
    else:
        names = [a for a in node.names if (a.asname or a.name) in used]
    if not names:
        return None
    listed = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in names)
    return f"{indent}from {source} import {listed}"


def _name_key(name: str) -> tuple[int, str]:
    """isort's order within one import: CONSTANTS, then Classes, then the rest."""
    bare = name.split(" as ")[0].lstrip("_")
    kind = 0 if bare.isupper() else 1 if bare[:1].isupper() else 2
    return kind, name


def _sorted_imports(lines: list[str]) -> list[str]:
    """Import lines in isort's sections (future, standard library, minicnn), sorted, with the
    long ones wrapped in parentheses."""
    sections: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for line in lines:
        words = line.split()
        root = words[1].split(".")[0]
        section = 0 if root == "__future__" else 2 if root == "minicnn" else 1
        if words[0] == "from":
            names = sorted(line.split(" import ", 1)[1].split(", "), key=_name_key)
            line = f"from {words[1]} import {', '.join(names)}"
            if len(line) > 100:
                line = f"from {words[1]} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
        sections[section].append(line)
    out: list[str] = []
    for section in sections.values():
        if section:
            imports = sorted(section, key=lambda s: (s.startswith("from"), s.split()[1]))
            out += ([""] if out else []) + imports
    return out


def student_file(
    module: str,
    names: tuple[str, ...],
    solutions: bool = False,
    header: str = "",
) -> str:
    """The text of a student's file made from the top-level ``names`` of ``module``.

    Every name must exist in the module. ``header`` (one paragraph) is put before the module's
    own docstring.
    """
    path = module_path(module)
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    defined: dict[str, ast.stmt] = {}
    for node in tree.body:
        for name in _defined_names(node):
            defined[name] = node
    missing = [n for n in names if n not in defined]
    if missing:
        raise MarkerError(f"{module} has no top-level {', '.join(missing)}")
    kept = [node for node in tree.body if set(_defined_names(node)) & set(names)]

    used = _used_names(kept)
    helpers = sorted(n for n in used if n in defined and defined[n] not in kept)

    out: list[str] = []
    docstring = ast.get_docstring(tree, clean=False)
    doc = (header.strip() + "\n\n" if header else "") + (docstring or "").strip()
    if doc:
        out += ['"""' + doc.replace('"""', r"\"\"\"") + '\n"""', ""]

    checking = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    guarded = [
        [line for sub in node.body if (line := _import_line(module, sub, used, "    "))]
        for node in checking
        if all(isinstance(sub, (ast.Import, ast.ImportFrom)) for sub in node.body)
    ]
    guarded = [lines for lines in guarded if lines]
    if guarded:
        used.add("TYPE_CHECKING")
    imports = [
        line
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and (line := _import_line(module, node, used))
    ]
    if helpers:
        imports.append(f"from {module} import {', '.join(helpers)}")
    out += _sorted_imports(imports)
    for block in guarded:
        out += ["", "if TYPE_CHECKING:", *block]

    for node in kept:
        start, stop = _span(node, lines)
        body = lines[start:stop]
        name = getattr(node, "name", _defined_names(node)[0])
        gap = 2 if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) else 1
        out += [""] * gap + cut(body, name, solutions, f"{path}:{start}")
    return "\n".join(out) + "\n"


def blocks_in(module: str, name: str) -> list[Block]:
    """The solution blocks inside the top-level definition ``name`` of ``module``."""
    path = module_path(module)
    text = path.read_text()
    lines = text.splitlines()
    for node in ast.parse(text).body:
        if name in _defined_names(node):
            start, stop = _span(node, lines)
            return find_blocks(lines[start:stop], f"{path}:{start + 1}")
    raise MarkerError(f"{module} has no top-level {name}")


def all_blocks(module: str) -> list[tuple[str, Block]]:
    """(top-level name, block) for every solution block of ``module``."""
    path = module_path(module)
    text = path.read_text()
    lines = text.splitlines()
    found = []
    for node in ast.parse(text).body:
        names = _defined_names(node)
        if names:
            start, stop = _span(node, lines)
            found += [(names[0], b) for b in find_blocks(lines[start:stop], f"{path}:{start + 1}")]
    if len(found) != len(find_blocks(lines, str(path))):
        raise MarkerError(f"{path}: a solution block outside any top-level definition")
    return found

"""The package's shape (issue 15): small modules, no import cycles, and every import pointing down the
flow labels → io → sim → data → models → run directory → predict (export, the shipped model) → training
→ evaluation → systematics → report → study → CLI, read from the source with `ast` (imports inside
functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nuclass

SRC = Path(nuclass.__file__).parent
MAX_LINES = 400  # above the simulator (sim/ has its own owner and its numba kernel)
# Low to high: a module may import modules of its own layer and of the layers below it.
LAYERS = (
    ("nuclass", "nuclass.errors", "nuclass.atomic", "nuclass.lazy", "nuclass.progress", "nuclass.stats"),
    ("nuclass.labels",),
    ("nuclass.io",),
    ("nuclass.sim",),
    ("nuclass.data",),
    ("nuclass.models",),
    ("nuclass.run_dir",),
    ("nuclass.plots",),
    ("nuclass.predict", "nuclass.export", "nuclass.shipped"),
    ("nuclass.training",),
    ("nuclass.evaluation",),
    ("nuclass.systematics",),
    ("nuclass.report",),
    ("nuclass.study",),
    ("nuclass.console", "nuclass.command"),
    ("nuclass.demo",),
    ("nuclass.cli_models", "nuclass.cli_systematics"),
    ("nuclass.cli",),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """The nuclass modules `name` imports (a `from package import submodule` counts as the submodule)."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package `level - 1` steps up
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES}


GRAPH = {name: _imports(name) for name in MODULES}


def _layer(name: str) -> int:
    """The layer of the longest entry of LAYERS that is `name` or a package holding it."""
    matches = [
        (len(p), k) for k, layer in enumerate(LAYERS) for p in layer if name == p or name.startswith(p + ".")
    ]
    if not matches or max(matches)[0] == len("nuclass") and name != "nuclass":
        raise AssertionError(f"{name} belongs to no layer: add it to LAYERS")
    return max(matches)[1]


def test_every_module_has_a_layer_and_a_docstring() -> None:
    for name, path in MODULES.items():
        _layer(name)
        if not name.startswith("nuclass.sim"):  # the simulator's modules are its owner's to describe
            assert ast.get_docstring(ast.parse(path.read_text())), f"{name} has no module docstring"


def test_nothing_imports_upward() -> None:
    upward = [
        f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
        for name, targets in GRAPH.items()
        for target in targets
        if _layer(target) > _layer(name)
    ]
    assert upward == []


def test_evaluation_does_not_train_and_the_report_does_not_infer_or_evaluate() -> None:
    def reaches(name: str) -> set[str]:
        seen, todo = set(), [name]
        while todo:
            for target in GRAPH[todo.pop()] - seen:
                seen.add(target)
                todo.append(target)
        return seen

    for name in (n for n in MODULES if n.startswith("nuclass.evaluation")):
        assert not {m for m in reaches(name) if m.startswith("nuclass.training")}, name
    for name in (n for n in MODULES if n.startswith("nuclass.report")):
        assert not {m for m in reaches(name) if m in ("nuclass.predict", "nuclass.evaluation.run")}, name


def test_no_import_cycles() -> None:
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                cycles.append(" → ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [name])
    assert cycles == []


@pytest.mark.parametrize("name", [n for n in MODULES if not n.startswith("nuclass.sim")])
def test_modules_above_the_simulator_are_small(name: str) -> None:
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES

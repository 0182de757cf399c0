"""helpers is layered without cycles: each module imports only modules below it."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "helpers"
# Bottom to top; a module may import only modules of a lower layer.
LAYERS = [
    {"_quiet", "atomic", "formats", "families", "vocabulary"},
    {"data"},
    {"models"},
    {"config"},
    {"records"},
    {"pipeline"},
    {"scoring"},
    {"distill"},
    {"training"},
    {"sweep"},
    {"compression"},
    {"stats"},
    {"analysis"},
    {"facts"},
    {"plots"},
    {"book"},
]


def imports_of(path: Path) -> set[str]:
    """The helpers modules a file imports, at any depth of the file (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("helpers."):
                found.add(node.module.split(".")[1])
            elif node.module == "helpers":
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("helpers."))
    return found


def graph() -> dict[str, set[str]]:
    return {p.stem: imports_of(p) for p in SRC.glob("*.py") if p.stem != "__init__"}


def layer_of(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if module in layer:
            return i
    raise AssertionError(f"helpers.{module} is in no layer of tests/test_layers.py")


def test_every_module_imports_only_lower_layers():
    for module, imported in graph().items():
        for other in imported:
            assert layer_of(other) < layer_of(module), \
                f"helpers.{module} imports helpers.{other}, which is not below it"


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles():
    assert find_cycle(graph()) is None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_lazy_imports_are_seen(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from .training import train\n    from . import sweep\n")
    assert imports_of(path) == {"training", "sweep"}


@pytest.mark.parametrize("module", sorted(p.stem for p in SRC.glob("*.py") if p.stem != "__init__"))
def test_module_has_a_docstring(module):
    assert ast.get_docstring(ast.parse((SRC / f"{module}.py").read_text())), module


def test_reading_plans_and_records_leaves_tensorflow_unloaded():
    """The sweep's coordinator only schedules; its workers are the ones that train."""
    import subprocess
    import sys

    probe = ("import sys; import helpers.sweep, helpers.records, helpers.config; "
             "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr

"""The layers hold in the import graph: a test fails when a module imports what its
layer may not (README, "How it is built"). Imports inside functions count too."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

# What each layer's modules may import of Baton's own, besides their own layer.
MAY_IMPORT = {
    "format": set(),
    "storage": {"app.config"},
    "rules": {"app.config", "app.storage", "app.format"},
    "reads": {"app.config", "app.storage", "app.format", "app.rules"},
}
# Nothing below the web layer knows HTTP or how pages are rendered.
WEB_LIBRARIES = ("fastapi", "starlette", "jinja2", "jinja2_fragments", "uvicorn", "httpx")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "app":
                names += [f"app.{alias.name}" for alias in node.names]
    return names


def _modules(layer: str) -> list[Path]:
    return sorted((APP / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_a_layer_imports_only_the_layers_below_it(layer: str):
    allowed = MAY_IMPORT[layer] | {f"app.{layer}"}
    wrong = [
        f"{path.relative_to(APP)} imports {name}"
        for path in _modules(layer)
        for name in _imports(path)
        if name.startswith("app") and name != "app"
        and not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    ]
    assert wrong == []


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_nothing_below_the_web_layer_imports_a_web_library(layer: str):
    wrong = [
        f"{path.relative_to(APP)} imports {name}"
        for path in _modules(layer)
        for name in _imports(path)
        if name.split(".")[0] in WEB_LIBRARIES
    ]
    assert wrong == []


def test_every_module_of_baton_sits_in_a_layer_or_is_an_entry_point():
    entry_points = {"__init__.py", "main.py", "config.py", "cli.py", "demo.py"}
    loose = sorted(path.name for path in APP.glob("*.py") if path.name not in entry_points)
    assert loose == []


def test_no_module_is_longer_than_about_400_lines():
    long = sorted(
        f"{path.relative_to(APP)}: {len(path.read_text().splitlines())}"
        for path in APP.rglob("*.py") if len(path.read_text().splitlines()) > 420
    )
    assert long == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_no_module_imports_itself_through_others():
    graph: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        graph[_module_name(path)] = set()
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = set(_imports(path)) | {
            f"{node.module}.{alias.name}"
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names
        }
        graph[_module_name(path)] = {name for name in names if name in graph} - {
            _module_name(path)}
    circles: list[str] = []
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        trail.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                circles.append(" -> ".join([*trail[trail.index(other):], other]))
            elif other not in state:
                visit(other)
        trail.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert circles == []

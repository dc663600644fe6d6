"""The import structure: the training-side import stays light, each subpackage loads only what its role needs,
and the package's import graph (imports inside functions included) has no cycle."""

from __future__ import annotations

import ast
import json
import pkgutil
import sys
from pathlib import Path

import pytest

import trackio_callback
from tests.helpers import run_python

HEAVY = ["torch", "transformers", "pyarrow", "huggingface_hub", "numpy", "starlette", "uvicorn", "mcp", "trl"]
PACKAGE = Path(trackio_callback.__file__).parent
SERVING = ["starlette", "uvicorn", "mcp"]
TRAINING = ["torch", "transformers", "trl", "accelerate", "datasets", "tokenizers"]
HUB = ["pyarrow", "huggingface_hub"]


def test_import_and_logging_load_only_the_standard_library(tmp_path):
    result = run_python(
        f"""
        import sys, trackio_callback as t
        run = t.init(project="p", dir={str(tmp_path)!r})
        run.log({{"loss": 1.0, "flag": True, "n": 3}})
        run.finish()
        loaded = [m for m in {HEAVY!r} if m in sys.modules]
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- what importing each subpackage may load --------------------------------------------------------

STDLIB_ONLY = None  # marker: nothing outside the standard library may be loaded

# subpackage (every module in it is imported) -> the top-level modules it must not load.
# `store.arrays` is the numpy twin of the read path, imported only where numpy is (see `skip`).
RULES: dict[str, tuple[object, tuple[str, ...]]] = {
    "trackio_callback": (STDLIB_ONLY, ("trackio_callback.tiny", "trackio_callback.callback")),
    "trackio_callback.core": (STDLIB_ONLY, ()),
    "trackio_callback.store": (STDLIB_ONLY, ("trackio_callback.store.arrays",)),
    "trackio_callback.utils": (STDLIB_ONLY, ()),
    "trackio_callback.artifacts": (STDLIB_ONLY, ()),  # huggingface_hub only inside the calls that reach the Hub
    "trackio_callback.alerts": (STDLIB_ONLY, ()),
    "trackio_callback.media": (STDLIB_ONLY, ()),  # numpy, PIL, matplotlib, plotly only for a value of theirs
    "trackio_callback.compat": (STDLIB_ONLY, ()),
    "trackio_callback.telemetry": (STDLIB_ONLY, ()),
    "trackio_callback.analysis": (STDLIB_ONLY, ()),
    "trackio_callback.cli": (STDLIB_ONLY, ()),
    "trackio_callback.management": (STDLIB_ONLY, ()),
    "trackio_callback.importers": (STDLIB_ONLY, ()),  # tensorboard (and the Hub, to sync) only when importing
    # transformers brings huggingface_hub; the integrations add neither pyarrow nor the serving stack.
    "trackio_callback.integrations": (["pyarrow", *SERVING, "trl", "datasets"], ()),
    "trackio_callback.hub": (SERVING + TRAINING, ()),
    "trackio_callback.server": (TRAINING, ()),
    "trackio_callback.demos": (SERVING + HUB, ()),
}


def _modules(package: str, skip: tuple[str, ...]) -> list[str]:
    if package == "trackio_callback":
        return ["trackio_callback", "trackio_callback.settings", "trackio_callback.errors", "trackio_callback.version"]
    folder = PACKAGE / package.split(".", 1)[1]
    names = [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules([str(folder)])]
    return [name for name in names if name not in skip]


@pytest.mark.parametrize("package", sorted(RULES))
def test_subpackage_loads_only_what_its_role_needs(package):
    forbidden, skip = RULES[package]
    modules = _modules(package, skip)
    result = run_python(
        f"""
        import importlib, json, sys
        before = set(sys.modules)
        for name in {modules!r}:
            importlib.import_module(name)
        new = sorted({{m.split(".")[0] for m in set(sys.modules) - before}})
        print(json.dumps(new))
        """,
        env={"TRACKIO_CALLBACK_NO_HOOK": "1"},
    )
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout)) - {"trackio_callback", "_trackio_callback_hook"}
    if forbidden is STDLIB_ONLY:
        assert sorted(loaded - set(sys.stdlib_module_names)) == [], f"{package} loads non-stdlib modules"
    else:
        assert sorted(loaded & set(forbidden)) == [], f"{package} loads modules outside its role"


def test_the_hub_and_server_layers_load_what_they_serve_with():
    """The rules above are not vacuous: the layers that need the heavy parts do load them."""
    result = run_python(
        """
        import json, sys
        import trackio_callback.hub.uploader, trackio_callback.server.api, trackio_callback.server.mcp_server
        print(json.dumps(sorted(m for m in ("pyarrow", "huggingface_hub", "starlette", "mcp") if m in sys.modules)))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["huggingface_hub", "mcp", "pyarrow", "starlette"]


# -- the import graph ---------------------------------------------------------------------------------


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their ``__init__``)."""
    result = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        result[name] = path
    return result


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """``{module: modules it imports}`` within the package, from every import statement, inside functions too.

    ``from a import b`` is an edge to ``a.b`` when that is a module, else to ``a``; parent packages a
    dotted import runs first are not edges (every ``__init__`` here is a docstring or the public map).
    """
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source for alias in node.names
                ]
            else:
                continue
            edges.update(target for target in targets if target in files and target != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_through_function_level_imports(tmp_path):
    """The checker itself: the circle this structure removed (api -> mcp_server -> show -> api) is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text("def app():\n    from .mcp import tools\n")
    (package / "mcp.py").write_text("def tools():\n    from . import show\n")
    (package / "show.py").write_text("from .api import app\n")
    files = {"pkg": package / "__init__.py", **{f"pkg.{n}": package / f"{n}.py" for n in ("api", "mcp", "show")}}
    assert find_cycle(import_graph(files)) == ["pkg.api", "pkg.mcp", "pkg.show", "pkg.api"]


def test_the_package_import_graph_has_no_cycle():
    files = module_files()
    graph = import_graph(files)
    assert len(graph) > 50 and sum(len(e) for e in graph.values()) > 100  # the walk saw the package
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def test_layers_point_inward():
    """The store sits under the core (the core writes through it), the core under the integrations, the Hub,
    the server and the CLI; the pure layers (utils, telemetry, analysis) import neither the core nor the store."""
    graph = import_graph(module_files())
    outer = (
        "trackio_callback.integrations",
        "trackio_callback.server",
        "trackio_callback.demos",
        "trackio_callback.cli",
    )
    below: dict[str, tuple[str, ...]] = {
        "trackio_callback.store": ("trackio_callback.core", *outer, "trackio_callback.hub"),
        "trackio_callback.utils": ("trackio_callback.core", "trackio_callback.store", *outer, "trackio_callback.hub"),
        "trackio_callback.core": outer,
        "trackio_callback.artifacts": ("trackio_callback.core", *outer),
        "trackio_callback.alerts": ("trackio_callback.core", "trackio_callback.store", *outer, "trackio_callback.hub"),
        "trackio_callback.media": ("trackio_callback.core", "trackio_callback.store", *outer, "trackio_callback.hub"),
        "trackio_callback.compat": ("trackio_callback.core", "trackio_callback.store", *outer, "trackio_callback.hub"),
        "trackio_callback.telemetry": (
            "trackio_callback.core",
            "trackio_callback.store",
            *outer,
            "trackio_callback.hub",
        ),
        "trackio_callback.analysis": (
            "trackio_callback.core",
            "trackio_callback.store",
            *outer,
            "trackio_callback.hub",
        ),
    }
    for name, edges in sorted(graph.items()):
        for layer, forbidden in below.items():
            if name == layer or name.startswith(layer + "."):
                assert sorted(e for e in edges if e.startswith(forbidden)) == [], name

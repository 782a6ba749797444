"""The package's layers, read from its source: every import, including the lazy ones inside functions.

model → manifests (render, validate) → operators → hook → Kubernetes API; the status model answers
every question about a resource's status. A lower layer never imports a higher one, and nothing a
DAG or a worker runs imports the test tool ``airflow_flink_operator.testing``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "airflow_flink_operator"
NAME = "airflow_flink_operator"

#: What each layer must never import (prefixes of module names, package name left out).
FORBIDDEN = {
    # The hooks talk to the Kubernetes API: rendering and validation are the operators' job.
    "hooks": ("manifests", "validation", "manifest_check", "artifacts", "models.deployment", "models.session_job",
              "models.snapshot", "models.job", "models.pod", "models.bluegreen", "operators", "sensors", "testing",
              "demo", "cli", "lineage", "assets"),
    "triggers": ("manifests", "validation", "manifest_check", "artifacts", "operators", "sensors", "testing", "demo",
                 "cli", "lineage", "assets"),
    # A sensor is an operator to Airflow: it may share the operators' base (errors, deferral default).
    "sensors": ("manifests", "validation", "manifest_check", "operators.deployment", "operators.lifecycle",
                "operators.savepoint", "operators.teardown", "operators.bluegreen", "testing", "demo", "cli"),
    "models": ("hooks", "operators", "sensors", "triggers", "testing", "demo", "cli", "lineage", "assets"),
    "artifacts": ("hooks", "operators", "sensors", "triggers", "testing", "demo", "cli"),
    "manifests": ("hooks", "operators", "sensors", "triggers", "testing", "demo", "cli"),
    "validation": ("hooks", "operators", "sensors", "triggers", "testing", "demo", "cli", "manifests"),
    "operators": ("testing", "demo", "cli", "sensors"),
    "lineage": ("operators", "sensors", "triggers", "hooks", "testing", "demo", "cli"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules of this package that ``path`` imports anywhere (top level, functions, TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join([NAME, *package[: len(package) - node.level + 1]])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(n.removeprefix(NAME + ".") for n in names if n == NAME or n.startswith(NAME + "."))
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def _layer(module: str) -> str:
    return module.split(".")[0]


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_no_layer_imports_a_layer_above_it():
    violations = [
        f"{module} imports {target}"
        for module, targets in sorted(_graph().items())
        for target in sorted(targets)
        for prefix in FORBIDDEN.get(_layer(module), ())
        if _matches(target, prefix)
    ]
    assert violations == []


def test_runtime_code_never_imports_the_test_tool():
    """Installing the provider must not pull the simulated cluster (aiohttp, pytest) into DAGs or workers."""
    runtime = {m: t for m, t in _graph().items() if _layer(m) not in ("testing", "demo", "cli")}
    assert [m for m, targets in runtime.items() if any(_matches(t, "testing") for t in targets)] == []


def test_the_layer_graph(capsys):
    """Prints the graph between layers (``pytest -s tests/test_import_graph.py``) and checks it has no cycle
    through the hook: the hook depends on nothing that depends on the hook."""
    layers: dict[str, set[str]] = defaultdict(set)
    for module, targets in _graph().items():
        for target in targets:
            if _layer(target) != _layer(module) and target:
                layers[_layer(module)].add(_layer(target))
    with capsys.disabled():
        print()
        for layer in sorted(layers):
            print(f"  {layer:<16} -> {', '.join(sorted(layers[layer]))}")
    reachable, frontier = set(), ["hooks"]
    while frontier:
        for nxt in layers.get(frontier.pop(), ()):
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert "operators" not in reachable
    assert [dep for dep in reachable if dep != "hooks" and "hooks" in layers.get(dep, ())] == []


def test_the_blue_green_models_import_nothing_above_the_models():
    """Issue 20: ``models/bluegreen.py`` rendered and validated (importing ``manifests``' private ``_set_config``),
    a models ↔ manifests ↔ validation circle. Its rendering lives in ``manifests``, its checks in ``validation``."""
    graph = _graph()
    above = ("manifests", "validation", "manifest_check", "artifacts", "hooks", "operators", "triggers", "sensors")
    found = {module: sorted(t for t in graph[module] if any(_matches(t, prefix) for prefix in above))
             for module in ("models.bluegreen", "models.bluegreen_diff", "models.status_bluegreen")}
    assert found == {module: [] for module in found}


def test_no_layer_imports_a_private_name_of_the_rendering_layer():
    """An import of a private name (``_set_config``) from another layer is a circle in the making."""
    private = [f"{module} imports {target}" for module, targets in sorted(_graph().items())
               if _layer(module) != "manifests" for target in targets
               if _matches(target, "manifests") and target.rsplit(".", 1)[-1].startswith("_")]
    assert private == []


#: The simulated blue/green controller is a test oracle: it follows the operator's Java source and builds plain
#: objects, so it never imports the package's models (whose ``diff_type`` and status predicates it would echo),
#: rendering, validation or judging code.
SIMULATOR_ORACLES = {
    "testing.operator.bluegreen": ("models", "manifests", "manifest_check", "validation", "operators", "hooks",
                                   "sensors", "triggers", "lineage", "assets"),
}


def test_the_simulated_blue_green_controller_imports_none_of_the_code_it_checks():
    violations = [
        f"{module} imports {target}"
        for module, targets in sorted(_graph().items())
        for oracle, forbidden in SIMULATOR_ORACLES.items()
        if module.startswith(oracle)
        for target in sorted(targets)
        for prefix in forbidden
        if _matches(target, prefix)
    ]
    assert violations == []

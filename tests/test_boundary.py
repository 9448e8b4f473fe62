"""The architecture's rules, read from the source: layers, the ComfyUI boundary, sizes.

Layers, lowest first; a module may import its own layer and those below it:

    base      errors, hooks, devices, version, atomic
    text      ci_engine.text (tokens, tower, prefix attention, encoder)
    tags      ci_engine.tags (a tagger's tag options, choosing and writing tags)
    models    ci_engine.models (registry, hub, bundle, CLIP and caption loading)
    core      vocab, cache, tables, ranking, chain, modes, settings, tagging, interrogator, images
    dataset   ci_engine.dataset (captioning folders: files, manifest, loader, runners)
    front     cli, cli_args, cli_sources, cli_dataset, __main__, testing, and the package's __init__
    host      ci_comfy/host/ (the only modules that import ComfyUI's own modules: comfy, folder_paths, server)
    nodes     ci_comfy/nodes/ (V3 declarations: they import comfy_api and the host), the root nodes.py
              (the node list), then the pack's __init__.py
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "ci_engine"
LAYERS = ["base", "text", "tags", "models", "core", "dataset", "front", "host", "nodes"]
BASE = {"errors", "hooks", "devices", "version", "atomic"}
FRONT = {"cli", "cli_args", "cli_sources", "cli_dataset", "__main__", "testing", "__init__"}
COMFY_MODULES = {"comfy", "comfy_api", "comfy_extras", "folder_paths", "comfy_execution", "server", "execution"}
LAYER = ROOT / "ci_comfy"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40


def module_name(path: Path) -> str:
    """``ci_engine.text.encoder`` for ci_engine/text/encoder.py; ``nodes`` for the root one."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "pack"


def layer_of(module: str) -> str:
    if module.startswith("ci_comfy.host"):
        return "host"
    if module.startswith("ci_comfy") or module in ("nodes", "pack"):
        return "nodes"
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in FRONT:
        return "front"
    if parts[1] in ("text", "tags", "models", "dataset"):
        return parts[1]
    return "base" if parts[1] in BASE else "core"


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, as absolute dotted names."""
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            if node.module:  # "from . import x" imports the sibling x, not the package's names
                found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name.removeprefix(".") for name in found if name}


def sources() -> dict[str, Path]:
    files = sorted(ENGINE.rglob("*.py")) + sorted(LAYER.rglob("*.py")) + [ROOT / "nodes.py", ROOT / "__init__.py"]
    return {module_name(path): path for path in files}


def internal(name: str, known: dict[str, Path]) -> str | None:
    """The project module ``name`` refers to (a module, or a package's ``__init__``), if any."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    known = sources()
    edges = {}
    for module, path in known.items():
        targets = {internal(name, known) for name in imports_of(path)}
        edges[module] = {t for t in targets if t and t != module}
    return edges


def test_engine_never_imports_comfyui():
    offenders = {
        module: sorted(n for n in imports_of(path) if n.split(".")[0] in COMFY_MODULES | {"ci_comfy", "nodes"})
        for module, path in sources().items()
        if module.startswith("ci_engine")
    }
    assert not {m: names for m, names in offenders.items() if names}


def test_only_the_host_imports_comfyuis_own_modules():
    """The node declarations use the V3 API (comfy_api) and the host; models, folders and
    progress are the host's."""
    offenders = {
        module: sorted(n for n in imports_of(path) if n.split(".")[0] in COMFY_MODULES - {"comfy_api"})
        for module, path in sources().items()
        if layer_of(module) == "nodes"
    }
    assert not {m: names for m, names in offenders.items() if names}


def test_the_comfyui_layer_is_one_package():
    """Nothing of the ComfyUI layer sits at the root but the entry point and the node list."""
    root_modules = {p.stem for p in ROOT.glob("*.py")}
    assert root_modules == {"__init__", "nodes", "install"}
    assert {p.parent.name for p in LAYER.rglob("*.py")} == {"ci_comfy", "host", "nodes"}


def test_no_layer_imports_one_above_it():
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in graph().items()
        for target in targets
        if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module))
    ]
    assert not upward


def test_no_import_cycles():
    edges, cycles = graph(), []

    def visit(module, path):
        for target in edges.get(module, ()):
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in edges:
        if module not in done:
            visit(module, [module])
    assert not cycles


def python_files() -> list[Path]:
    skip = {".venv", ".ci-venv", "venv", "build", "dist"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_modules_and_functions_stay_small():
    too_long = []
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name != "define_schema":
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long


def uses_sys_path(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.Attribute) and node.attr == "path" and getattr(node.value, "id", None) == "sys"
        for node in ast.walk(tree)
    )


@pytest.mark.parametrize("folder", ["tests", "bench"])
def test_tests_and_bench_do_not_edit_the_import_path(folder):
    assert [p.name for p in (ROOT / folder).rglob("*.py") if uses_sys_path(p)] == []


def test_bench_does_not_import_tests():
    names = {n.split(".")[0] for path in (ROOT / "bench").glob("*.py") for n in imports_of(path)}
    assert not names & {"tests", "conftest", "tiny_models"}


def api_problems(path: Path) -> list[str]:
    """Public classes and functions without a docstring, or with an untyped parameter or return."""
    problems = []

    def visit(node: ast.AST, owner: str) -> None:
        for child in getattr(node, "body", []):
            name = getattr(child, "name", "_")
            where = f"{path.relative_to(ROOT)}:{getattr(child, 'lineno', 0)} {owner}{name}"
            if name.startswith("_") and name != "__init__":
                continue
            if isinstance(child, ast.ClassDef):
                problems.extend([f"{where}: no docstring"] if not ast.get_docstring(child) else [])
                visit(child, f"{name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                params = [a for a in child.args.args + child.args.kwonlyargs if a.arg not in ("self", "cls")]
                untyped = [a.arg for a in params if a.annotation is None]
                if untyped or (child.returns is None and name != "__init__"):
                    problems.append(f"{where}: untyped {untyped or 'return'}")
                if not ast.get_docstring(child) and name != "__init__":
                    problems.append(f"{where}: no docstring")

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return problems


def test_public_api_has_types_and_docstrings():
    assert [problem for path in sources().values() for problem in api_problems(path)] == []

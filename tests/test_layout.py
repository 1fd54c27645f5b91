"""Layout rules of the `benchmark` package, checked from the source (issue 16, "one protocol, task plugins").

(a) no import cycle: the module-level import graph of every module under benchmark/ (built with `ast`)
    sorts topologically, and one fresh interpreter imports every module in that order;
(b) no module over MAX_MODULE_LINES lines; (c) no function over MAX_FUNCTION_LINES lines.

What still breaks a rule sits in an explicit KNOWN_* list below: each entry is a strict xfail that must
start failing (XPASS) once the code is fixed, so that the entry is then removed. Nothing else is exempt.
"""
from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "benchmark"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
# top-level module a ModuleNotFoundError may name -> the optional extra (pyproject) that installs it
OPTIONAL_EXTRAS = {"ultralytics": "detect"}

# Accepted exceptions, each a strict xfail that fails once fixed (then remove it). None today: keep it so.
# Import cycles, each "a -> b -> ... -> a" (a imports b at module level).
KNOWN_CYCLES: list[str] = []
# Modules over MAX_MODULE_LINES.
KNOWN_LONG_MODULES: list[str] = []
# Functions over MAX_FUNCTION_LINES ("module:qualname").
KNOWN_LONG_FUNCTIONS: list[str] = []


# ---- the import graph ---------------------------------------------------------------------------------

def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_guard(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` and `if __name__ == "__main__":` bodies do not run when the module is imported."""
    src = ast.unparse(test)
    return src in ("TYPE_CHECKING", "typing.TYPE_CHECKING") or src.replace("'", '"') == '__name__ == "__main__"'


def top_level_imports(body: list[ast.stmt]):
    """Import statements that run when the module is imported: not those inside functions or guards."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If):
            if not _is_guard(node.test):
                yield from top_level_imports(node.body)
            yield from top_level_imports(node.orelse)
        else:  # try / with / for / while / class bodies run at import time
            for field in ("body", "orelse", "finalbody"):
                yield from top_level_imports(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                yield from top_level_imports(handler.body)


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
    return f"{base}.{node.module}" if node.module else base


def imported_modules(module: str) -> set[str]:
    """Modules of benchmark/ that `module` imports at module level (a package is its `__init__`)."""
    out: set[str] = set()
    for node in top_level_imports(ast.parse(MODULES[module].read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
            continue
        target = _absolute(node, module)
        for alias in node.names:
            if f"{target}.{alias.name}" in MODULES:  # `from benchmark.x import y` where y is a submodule
                out.add(f"{target}.{alias.name}")
            elif target in MODULES:
                out.add(target)
    out.discard(module)
    return out


GRAPH: dict[str, set[str]] = {m: imported_modules(m) for m in MODULES}


def _edges(cycle: str) -> list[tuple[str, str]]:
    nodes = [n.strip() for n in cycle.split("->")]
    return list(zip(nodes, nodes[1:]))


def canonical_cycle(nodes: list[str]) -> str:
    """`a -> b -> a` (a imports b), rotated to start at the smallest name, so that a cycle has one spelling."""
    ring = nodes[:-1] if nodes[0] == nodes[-1] else nodes
    i = ring.index(min(ring))
    ring = ring[i:] + ring[:i]
    return " -> ".join([*ring, ring[0]])


def sort_modules(graph: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Dependency order of `graph` with each KNOWN_CYCLES cycle cut at its last edge, and the unknown cycle
    (if any) that still stops the sort: ([modules in order], []) or ([], [cycle])."""
    graph = {m: set(deps) for m, deps in graph.items()}
    while True:
        try:
            return list(graphlib.TopologicalSorter(graph).static_order()), []
        except graphlib.CycleError as e:
            # graphlib lists each node before the node that depends on it (imports it): reverse it
            cycle = canonical_cycle(list(reversed(e.args[1])))
            if cycle not in KNOWN_CYCLES:
                return [], [cycle]
            a, b = _edges(cycle)[-1]
            graph[a].discard(b)


def test_graph_sees_the_registry_leaves():
    # the graph must see `from pkg import submodule` and `from pkg.leaf import name`, or it checks nothing
    assert "benchmark.data.demo" in GRAPH["benchmark.data"]
    assert "benchmark.data._registry" in GRAPH["benchmark.data.demo"]
    assert "benchmark.data" not in GRAPH["benchmark.data.demo"]
    assert "benchmark.generators._registry" in GRAPH["benchmark.generators.augment"]
    assert "benchmark" in GRAPH["benchmark.data.demo"]  # `from benchmark import PROJECT_ROOT`: the __init__


def test_cycle_detection_reports_a_package_init_cycle():
    # the pattern the leaf registries replace: a package __init__ imports a plugin that imports the __init__
    graph = {"p": {"p.plugin"}, "p.plugin": {"p"}}
    assert sort_modules(graph) == ([], ["p -> p.plugin -> p"])


def test_no_import_cycle():
    order, cycle = sort_modules(GRAPH)
    assert not cycle, f"import cycle inside benchmark/: {cycle[0]} (a -> b: a imports b at module level)"
    assert sorted(order) == sorted(MODULES)


IMPORT_SCRIPT = """
import importlib, importlib.util, json, sys
sys.path.insert(0, sys.argv[3])  # this checkout's benchmark/, whatever else is installed
extras = json.loads(sys.argv[2])
out = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
        out[name] = ["ok", ""]
    except ModuleNotFoundError as e:
        top = (e.name or "").split(".")[0]
        missing = top in extras and importlib.util.find_spec(top) is None
        out[name] = ["skip" if missing else "error", f"{top} (extra '{extras.get(top)}')" if missing else repr(e)]
    except BaseException as e:
        out[name] = ["error", repr(e)]
here = importlib.import_module("benchmark").__file__
assert here == f"{sys.argv[3]}/benchmark/__init__.py", f"benchmark imported from {here}, not this checkout"
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, list[str]]:
    """Every module imported in dependency order in ONE fresh interpreter: {module: [status, detail]}."""
    order, cycle = sort_modules(GRAPH)
    if cycle:
        pytest.fail(f"no dependency order: import cycle {cycle[0]}")
    proc = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT, json.dumps(order), json.dumps(OPTIONAL_EXTRAS),
                           str(ROOT)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_imports_in_dependency_order(imported, module):
    status, detail = imported[module]
    if status == "skip":
        pytest.skip(f"{module} needs {detail}, which is not installed")
    assert status == "ok", f"importing {module} (after its dependencies) failed: {detail}"


# ---- sizes ----------------------------------------------------------------------------------------------

def module_lines(module: str) -> int:
    return len(MODULES[module].read_text(encoding="utf-8").splitlines())


def function_lengths(module: str) -> dict[str, int]:
    """{"module:qualname": lines} of every function and method, nested ones included."""
    out: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    key = f"{module}:{name}"  # a name defined twice (if/else, setter): the longer one
                    out[key] = max(out.get(key, 0), child.end_lineno - child.lineno + 1)
                visit(child, f"{name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(MODULES[module].read_text(encoding="utf-8")), "")
    return out


FUNCTIONS: dict[str, int] = {k: v for m in MODULES for k, v in function_lengths(m).items()}


def test_function_lengths_see_methods_and_nested_functions():
    assert function_lengths("benchmark.registry")["benchmark.registry:Registry.register.deco"] > 1


def test_no_module_over_limit():
    long = {m: n for m in MODULES if (n := module_lines(m)) > MAX_MODULE_LINES and m not in KNOWN_LONG_MODULES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them along what they hold): {long}"


def test_no_function_over_limit():
    long = {f: n for f, n in FUNCTIONS.items() if n > MAX_FUNCTION_LINES and f not in KNOWN_LONG_FUNCTIONS}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


# ---- the known exceptions: each must still be needed ------------------------------------------------------

def known_exception_fixed(kind: str, entry: str) -> bool:
    """True once the code no longer breaks the rule: the entry must then leave its KNOWN_* list."""
    if kind == "cycle":
        return not all(b in GRAPH.get(a, ()) for a, b in _edges(entry))
    if kind == "module":
        return entry not in MODULES or module_lines(entry) <= MAX_MODULE_LINES
    return FUNCTIONS.get(entry, 0) <= MAX_FUNCTION_LINES


KNOWN = [*(("cycle", c) for c in KNOWN_CYCLES), *(("module", m) for m in KNOWN_LONG_MODULES),
         *(("function", f) for f in KNOWN_LONG_FUNCTIONS)]


@pytest.mark.parametrize("kind,entry", [pytest.param(k, e, id=f"{k}: {e}", marks=pytest.mark.xfail(
    strict=True, reason="an accepted exception to the layout rules")) for k, e in KNOWN])
def test_known_exception_is_fixed(kind, entry):
    # strict xfail: while the code still breaks the rule this fails (XFAIL); once fixed it passes, which
    # strict turns into a failure (XPASS) saying: remove the entry from its KNOWN_* list
    assert known_exception_fixed(kind, entry), f"{kind} still breaks its rule: {entry}"

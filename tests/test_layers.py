"""The import contract: the package's folders are its layers, read from the source.

Each module's imports are read with `ast` (nothing is imported). An import is
*module-level* when it runs while the module is imported (top level, or under a plain
`if`/`try`/`with` or a class body); it is *type-only* under `if TYPE_CHECKING:` and
*deferred* inside a function. Only module-level imports make the graph whose cycles
and layers are checked here; the type-only and deferred imports that point up a layer
are listed (and pinned) below, so a new one is a decision, not an accident.

Importing a submodule runs its parents' `__init__` first; those edges are not drawn:
the subpackages' `__init__` are docstrings only, and the package's own is the facade
at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, NamedTuple

import pytest

import stytch_scim_async

PACKAGE = "stytch_scim_async"
ROOT = Path(stytch_scim_async.__file__).parent
EMULATOR = f"{PACKAGE}.testing"

#: The layers, bottom first: a module imports only from its own layer or one below.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("errors", "models", "_version")),
    ("sansio", ("_sansio",)),
    ("policy", ("_policy",)),
    ("transports", ("_transports",)),
    ("engine", ("_engine",)),
    ("provision", ("_provision",)),
    ("clients", ("_clients",)),
    ("interface", ("__init__", "cli", "fastapi", "hooks", "otel", "_cli")),
)

#: Layers that stay pure: no event loop, no HTTP library, no retry library.
PURE_LAYERS = ("sansio", "policy")
IMPURE = frozenset({"asyncio", "aiohttp", "tenacity"})
#: tenacity builds the per-call `AsyncRetrying`; it is imported when a call runs.
PURE_DEFERRED_ALLOWED = frozenset({(f"{PACKAGE}._policy.retry", "tenacity")})

#: The one module of the library that imports aiohttp when it is imported.
AIOHTTP_MODULE = f"{PACKAGE}._transports.aiohttp"

#: `stytch-scim demo` runs the batch provisioner against the emulator, and
#: `stytch-scim emulator` serves it: the console script is the emulator's one
#: importer in the library (`demo` itself is imported only when that command runs).
EMULATOR_IMPORTERS = frozenset({f"{PACKAGE}._cli.demo", f"{PACKAGE}._cli.app"})

#: Type-only imports that point up a layer (none: a lower layer that needs a caller's
#: type names a protocol or a base class of its own, as `_provision.client.BatchClient`
#: and `_engine.engine.Engine` do).
UPWARD_TYPE_ONLY: frozenset[tuple[str, str]] = frozenset()
#: Deferred imports that point up a layer.
UPWARD_DEFERRED: frozenset[tuple[str, str]] = frozenset()

MAX_LINES = 400
MAX_ROOT_MODULES = 12

Kind = Literal["module", "type", "deferred"]


class Edge(NamedTuple):
    source: str
    target: str  # a module of the package, or a top-level external name
    kind: Kind
    internal: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


Found = tuple[ast.Import | ast.ImportFrom, Kind]


def _imports(tree: ast.Module) -> Iterator[Found]:
    def walk(nodes: list[ast.stmt], kind: Kind) -> Iterator[Found]:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield node, kind
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from walk(node.body, "deferred")
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                yield from walk(node.body, "deferred" if kind == "deferred" else "type")
                yield from walk(node.orelse, kind)
            else:  # if/try/with/for/class bodies run with the module (or the function)
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, ast.ExceptHandler | ast.match_case):
                        yield from walk(child.body, kind)
                yield from walk(
                    [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.stmt)], kind
                )

    yield from walk(tree.body, "module")


def _edges(module: str) -> Iterator[Edge]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node, kind in _imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if name == PACKAGE or name.startswith(PACKAGE + "."):
                    yield Edge(module, _nearest_module(name), kind, internal=True)
                else:
                    yield Edge(module, name.split(".")[0], kind, internal=False)
            continue
        if node.level:
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        if origin != PACKAGE and not origin.startswith(PACKAGE + "."):
            yield Edge(module, origin.split(".")[0], kind, internal=False)
            continue
        for alias in node.names:
            submodule = f"{origin}.{alias.name}"
            target = submodule if submodule in MODULES else _nearest_module(origin)
            yield Edge(module, target, kind, internal=True)


def _nearest_module(name: str) -> str:
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


EDGES: list[Edge] = [edge for module in MODULES for edge in _edges(module)]


def _in_emulator(module: str) -> bool:
    return module == EMULATOR or module.startswith(EMULATOR + ".")


def layer_of(module: str) -> int:
    """The index of `module`'s layer in `LAYERS` (the emulator has none)."""
    assert not _in_emulator(module), module
    relative = module.removeprefix(PACKAGE).removeprefix(".") or "__init__"
    head = relative.split(".")[0]
    for index, (_, members) in enumerate(LAYERS):
        if head in members:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def _layer_name(module: str) -> str:
    return LAYERS[layer_of(module)][0]


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components (more than one module, or a self-import) of the
    module-level graph, each sorted (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for edge in edges:
        if edge.internal and edge.kind == "module":
            graph[edge.source].add(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def _library(module: str) -> bool:
    return not _in_emulator(module)


def test_every_module_is_in_a_layer() -> None:
    for module in filter(_library, MODULES):
        layer_of(module)


def test_no_import_cycles() -> None:
    assert find_cycles(EDGES) == []


def test_a_cycle_would_be_found() -> None:
    a, b = f"{PACKAGE}.errors", f"{PACKAGE}.models"
    cycle = [Edge(a, b, "module", True), Edge(b, a, "module", True)]
    assert find_cycles(cycle) == [sorted([a, b])]
    assert find_cycles([Edge(a, b, "type", True), Edge(b, a, "module", True)]) == []


def test_each_layer_imports_only_from_itself_or_below() -> None:
    upward = [
        f"{e.source} ({_layer_name(e.source)}) imports {e.target} ({_layer_name(e.target)})"
        for e in EDGES
        if e.kind == "module"
        and e.internal
        and _library(e.source)
        and _library(e.target)
        and layer_of(e.target) > layer_of(e.source)
    ]
    assert upward == []


@pytest.mark.parametrize(
    ("kind", "pinned"), [("type", UPWARD_TYPE_ONLY), ("deferred", UPWARD_DEFERRED)]
)
def test_the_upward_imports_that_do_not_run_at_import_are_the_listed_ones(
    kind: Kind, pinned: frozenset[tuple[str, str]]
) -> None:
    found = {
        (e.source, e.target)
        for e in EDGES
        if e.kind == kind
        and e.internal
        and _library(e.source)
        and _library(e.target)
        and layer_of(e.target) > layer_of(e.source)
    }
    assert found == pinned


def test_only_the_aiohttp_transport_imports_aiohttp() -> None:
    importers = {
        e.source
        for e in EDGES
        if e.kind == "module" and not e.internal and e.target == "aiohttp" and _library(e.source)
    }
    assert importers == {AIOHTTP_MODULE}


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_the_pure_layers_import_no_event_loop_http_or_retry_library(layer: str) -> None:
    found = {
        (e.source, e.target)
        for e in EDGES
        if not e.internal
        and e.target in IMPURE
        and _library(e.source)
        and _layer_name(e.source) == layer
        and e.kind != "type"  # annotations only: never imported at run time
        and not (e.kind == "deferred" and (e.source, e.target) in PURE_DEFERRED_ALLOWED)
    }
    assert found == set()


def test_only_the_console_script_imports_the_emulator() -> None:
    importers = {e.source for e in EDGES if _library(e.source) and _in_emulator(e.target)}
    assert importers == EMULATOR_IMPORTERS


def test_the_emulator_imports_nothing_of_the_library() -> None:
    leaks = [
        f"{e.source} imports {e.target}"
        for e in EDGES
        if _in_emulator(e.source) and e.internal and not _in_emulator(e.target)
    ]
    assert leaks == []


def test_importing_the_package_loads_neither_aiohttp_nor_the_emulator() -> None:
    loaded, todo = set(), [PACKAGE]
    external: set[str] = set()
    while todo:
        module = todo.pop()
        if module in loaded:
            continue
        loaded.add(module)
        for e in EDGES:
            if e.source == module and e.kind == "module":
                if e.internal:
                    todo.append(e.target)
                else:
                    external.add(e.target)
    assert AIOHTTP_MODULE not in loaded
    assert not any(_in_emulator(module) for module in loaded)
    assert not external & {"aiohttp", "click", "rich", "fastapi"}


def test_no_module_is_too_long_and_the_root_stays_small() -> None:
    long = {
        module: lines
        for module, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
    flat = [path.name for path in ROOT.glob("*.py")]
    assert len(flat) <= MAX_ROOT_MODULES, flat


def test_no_cycles_even_through_type_only_or_deferred_imports() -> None:
    # A type-only cycle is harmless at run time but still two modules that each need
    # the other to be read: the lower one names a protocol of its own instead.
    every = [e._replace(kind="module") for e in EDGES]
    assert find_cycles(every) == []

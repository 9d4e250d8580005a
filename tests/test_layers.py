"""The package's layers: every import points down (or sideways within a layer), and no two
modules import each other, directly or through others — an import hidden inside a function
counts too. Imports under ``if TYPE_CHECKING:`` are for type hints only and do not count.

From the top: the interfaces (HTTP, admin, commands, Celery tasks, wiring), the use cases
(services/), the outbox, the domain (models, pure rules, and the destinations: the
declarations and HTTP senders of each kind of integration, which models ask and which read
the NPS categories, but import no model at run time) and the plumbing (settings, errors).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "satismeter_app"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# (layer, module name prefixes), from the top down. The first matching prefix wins.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "interfaces",
        (
            "api",
            "admin",
            "views",
            "email_views",
            "urls",
            "middleware",
            "management",
            "tasks",
            "beat",
            "apps",
            "checks",
        ),
    ),
    ("services", ("services",)),
    ("outbox", ("outbox",)),
    (
        "domain",
        (
            "models",
            "querysets",
            "permissions",
            "targeting",
            "rules",
            "history",
            "nps",
            "questions",
            "i18n",
            "keys",
            "tagging",
            "device",
            "design",
            "timeparse",
            "storable",
            "representations",
            "destinations",
        ),
    ),
    (
        "plumbing",
        (
            "conf",
            "queues",
            "exceptions",
            "tally",
            "shared_cache",
            "links",
            "prepared",
            "routers",
            "__init__",
        ),
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    head = module.split(".")[0]
    for rank, (_, prefixes) in enumerate(LAYERS):
        if head in prefixes:
            return rank
    raise AssertionError(f"{module} has no layer: add it to LAYERS in {__file__}")


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" not in path.parts:
            found[module_name(path)] = path
    return found


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            yield from (n for o in node.orelse for n in _import_nodes_of(o))
            continue
        yield from _import_nodes_of(node)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def _base_of(module: str, path: Path, level: int) -> list[str]:
    package = module.split(".") if is_package(path) and module != "__init__" else []
    if not package:
        package = module.split(".")[:-1]
    if module == "__init__":
        package = []
    return package[: len(package) - (level - 1)] if level > 1 else package


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``module`` imports at run time."""
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith(PACKAGE + ".")]
            targets.update(n.removeprefix(PACKAGE + ".") for n in names)
            continue
        if node.level:
            base = _base_of(module, path, node.level)
            stem = ".".join(base + ([node.module] if node.module else []))
        elif node.module and (node.module == PACKAGE or node.module.startswith(PACKAGE + ".")):
            stem = node.module.removeprefix(PACKAGE).lstrip(".")
        else:
            continue
        for alias in node.names:
            candidate = f"{stem}.{alias.name}" if stem else alias.name
            targets.add(candidate if candidate in known else stem or "__init__")
    return {t for t in targets if t in known and t != module}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def test_every_module_has_a_layer():
    for module in modules():
        layer_of(module)


def test_imports_point_down_the_layers():
    upward = [
        f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for source, targets in graph().items()
        for target in targets
        if layer_of(target) < layer_of(source)
    ]
    assert upward == []


def _cycle_from(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        for target in sorted(edges.get(node, ())):
            if target == start:
                return [*trail, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None


def test_no_import_cycles():
    edges = graph()
    cycles = {" -> ".join(c) for m in edges if (c := _cycle_from(m, edges))}
    assert cycles == set()


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        ("services.reminders", "from .. import outbox", {"outbox"}),
        ("services.reminders", "from . import responses", {"services.responses"}),
        ("api.widget", "from ..services import identity", {"services.identity"}),
        ("outbox", "from . import tasks", {"tasks"}),
        ("outbox", "def f():\n    from .tasks import x", {"tasks"}),
        ("outbox", "if TYPE_CHECKING:\n    from . import tasks", set()),
        ("models", "from satismeter_app.services import privacy", {"services.privacy"}),
    ],
)
def test_the_scan_reads_every_form_of_import(tmp_path, source, text, expected):
    path = tmp_path / "module.py"
    path.write_text(text)
    known = {"outbox", "tasks", "services", "services.responses", "services.identity"}
    known |= {"services.privacy", "models", "api.widget", "services.reminders"}
    assert imports_of(source, path, known) == expected

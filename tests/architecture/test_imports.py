"""The package layering: imports run one way, and no package cycle exists.

server → schema → resolvers → briefings → {language, inference, documents} → core, and
workers → briefings. A package may import any package below it (directly or not); nothing imports
upwards or sideways. `devtools` (shared by tests and benchmarks) stands apart, and `bench`
imports nothing from `tests`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE = {"language", "inference", "documents"}
DOMAIN = {"briefings", *BASE, "core"}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "language": {"core"},
    "inference": {"core"},
    "documents": {"core"},
    "briefings": BASE | {"core"},
    "workers": DOMAIN,
    "resolvers": DOMAIN,
    "schema": {"resolvers", *DOMAIN},
    "server": {"schema", "resolvers", "workers", *DOMAIN},
    "devtools": set(),
    "bench": {"devtools", "server", "schema", "resolvers", "workers", *DOMAIN},
}
FIRST_PARTY = {*ALLOWED, "tests"}


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every first-party top-level package imported by a module, lazily or not."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".", 1)[0]
            if top in FIRST_PARTY:
                yield node.lineno, top


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {package: set() for package in ALLOWED}
    for package in ALLOWED:
        for path in _modules(package):
            graph[package].update(top for _, top in _imports(path) if top != package)
    return graph


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package: str) -> None:
    # given every module of the package, read as source (nothing is imported)
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for path in _modules(package)
        for line, top in _imports(path)
        if top != package and top not in ALLOWED[package]
    ]
    # then none of them imports against the direction
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_packages() -> None:
    # given the package graph as the sources say it is
    graph = _graph()
    # when it is walked depth first
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append([*trail[trail.index(nxt) :], nxt] if nxt in trail else [*trail, nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = "done"

    for package in sorted(graph):
        if package not in state:
            visit(package, [package])
    # then it has no cycle
    assert not cycles, cycles


def test_the_rules_themselves_are_acyclic() -> None:
    # a cycle in ALLOWED would make the direction test meaningless
    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in ALLOWED[start])

    assert not [package for package in ALLOWED if reaches(package, package, {package})]

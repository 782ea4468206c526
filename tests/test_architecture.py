"""Import directions (docs/architecture.md): leaves stay leaves, only bot/ sees aiogram,
and the rooms inside care/ and bot/ (their sub-packages) keep their directions, no cycles."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "care", "intents", "scripts", "storage")

# package -> top-level modules it must never import
FORBIDDEN = {
    "intents": {"bot", "care", "scripts", "storage", "aiogram", "sqlmodel", "sqlalchemy", "jinja2"},
    "scripts": {"bot", "care", "intents", "storage", "aiogram", "sqlmodel", "sqlalchemy"},
    "storage": {"bot", "care", "intents", "scripts", "aiogram", "jinja2"},
    "care": {"bot", "aiogram", "sqlmodel", "sqlalchemy", "alembic", "jinja2"},
    "bot": {"sqlmodel", "sqlalchemy", "alembic", "jinja2"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted(
        p
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts or package == "storage"
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_import_directions(package: str) -> None:
    bad = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in _imports(path) & FORBIDDEN[package]
    }
    assert not bad, sorted(bad)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_a_docstring(package: str) -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in _modules(package)
        if path.stat().st_size
        and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert not missing


def _packages() -> list[str]:
    """The five packages and every sub-package inside them (storage's migrations excepted)."""
    found = list(PACKAGES)
    for package in PACKAGES:
        for init in sorted((ROOT / package).rglob("__init__.py")):
            if init.parent != ROOT / package and "migrations" not in init.parts:
                found.append(".".join(init.parent.relative_to(ROOT).parts))
    return found


@pytest.mark.parametrize("package", _packages())
def test_public_surface_is_a_sorted_all(package: str) -> None:
    module = importlib.import_module(package)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{package}/__init__.py has no __all__"

    # isort-style order, the one ruff's RUF022 enforces: CONSTANTS, Classes, functions.
    def order(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)

    assert list(exported) == sorted(exported, key=order)
    for name in exported:
        assert hasattr(module, name), f"{package}.__all__ lists missing {name}"


def test_handlers_never_pass_string_literals_to_telegram() -> None:
    """All user-visible text comes from approved scripts: no literal reaches send/answer."""
    offenders = []
    for path in _modules("bot"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"answer", "send_message", "reply", "edit_text"}
                and any(isinstance(arg, ast.Constant | ast.JoinedStr) for arg in node.args[:2])
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders


# -- rooms: the sub-packages of care/ and bot/ -------------------------------------------------

#: The only runtime modules that may import desk and outreach: they build the use cases
#: (`Services`) and compose the settings from the rooms' sections (`[staff]`, `[care]`).
RUNTIME_COMPOSERS = {"care.runtime.services", "care.runtime.settings"}

_SUBS = {"care.desk", "care.outreach", "care.runtime", "care.cli"}

# room -> rooms it must never import (the modules at care/'s root are shared vocabulary)
ROOM_FORBIDDEN = {
    "care.desk": {"care.outreach", "care.reports", "care.cli"},
    "care.outreach": {"care.desk", "care.reports", "care.cli"},
    # Reports read across desk and outreach; nothing below them reads reports.
    "care.reports": {"care.cli"},
    "care.runtime": {"care.desk", "care.outreach", "care.cli"},
    "care.replies": _SUBS,
    "care.salutation": _SUBS,
    "care.timefmt": _SUBS,
    "care.uow": _SUBS,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    """`care.desk.staff` -> `care.desk`; a module at a package's root is a room of its own."""
    return ".".join(module.split(".")[:2])


def _dotted_imports(path: Path, *, at_load: bool) -> set[str]:
    """Modules imported (`at_load`: only when the module loads; imports in functions are lazy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.If | ast.Try | ast.With):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    if at_load:
        visit(tree.body)
    else:
        visit([n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)])
    return {name for name in found if name.split(".")[0] in ("bot", "care")}


def _edge_modules() -> list[tuple[str, Path]]:
    return [(_module_name(path), path) for package in ("bot", "care") for path in _modules(package)]


def test_rooms_keep_their_directions() -> None:
    bad = set()
    for module, path in _edge_modules():
        forbidden = ROOM_FORBIDDEN.get(_room(module), set())
        if module in RUNTIME_COMPOSERS:
            forbidden = forbidden - {"care.desk", "care.outreach"}
        for name in _dotted_imports(path, at_load=False):
            if _room(name) in forbidden:
                bad.add(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, sorted(bad)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, or None (depth-first search)."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt in path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done and (found := visit(nxt)) is not None:
                return found
        path.pop()
        done.add(node)
        return None

    for node in sorted(edges):
        if node not in done and (found := visit(node)) is not None:
            return found
    return None


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "d": {"c"}}) is None


def test_rooms_form_no_cycle() -> None:
    """Between rooms (the composers' edges down into desk and outreach left out)."""
    edges: dict[str, set[str]] = {}
    for module, path in _edge_modules():
        if module in RUNTIME_COMPOSERS:
            continue
        targets = {_room(name) for name in _dotted_imports(path, at_load=True)}
        edges.setdefault(_room(module), set()).update(targets - {_room(module)})
    assert _cycle(edges) is None


def test_modules_form_no_import_cycle() -> None:
    edges = {
        module: _dotted_imports(path, at_load=True) - {module} for module, path in _edge_modules()
    }
    assert _cycle(edges) is None


@pytest.mark.parametrize("package", [p for p in _packages() if "." in p])
def test_module_names_do_not_repeat_their_package(package: str) -> None:
    room = package.rsplit(".", 1)[1]
    folder = ROOT.joinpath(*package.split("."))
    repeats = [
        p.name
        for p in folder.glob("*.py")
        if p.stem.startswith(f"{room}_") or p.stem.endswith(f"_{room}")
    ]
    assert not repeats

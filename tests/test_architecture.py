"""Import directions (docs/architecture.md): leaves stay leaves, only bot/ sees aiogram."""

from __future__ import annotations

import ast
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


@pytest.mark.parametrize("package", PACKAGES)
def test_public_surface_is_a_sorted_all(package: str) -> None:
    module = __import__(package)
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

"""Layering: services never see the database driver, and SQL lives in storage/ only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "bot" / "services"
# Everything that ships, except storage/ (where SQL belongs) and the tests and benchmarks.
CODE = [ROOT / "bot", ROOT / "handlers"]
SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|SAVEPOINT|CREATE)\b")


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, by its full dotted name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
    return found


def _sql_literals(path: Path) -> list[str]:
    """String literals in `path` that read like an SQL statement."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.strip()[:60]}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value)
    ]


def test_services_do_not_import_the_database_driver() -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted(SERVICES.rglob("*.py"))
        for module in sorted(_imports(path))
        if module.split(".")[0] in {"sqlite3", "aiosqlite"}
    ]
    assert offenders == []


def test_no_sql_outside_storage() -> None:
    offenders = [
        line
        for folder in CODE
        for path in sorted(folder.rglob("*.py"))
        for line in _sql_literals(path)
    ]
    assert offenders == []


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    # A check that finds nothing must be able to find something.
    sample = tmp_path / "sample.py"
    sample.write_text('import sqlite3\nfrom aiosqlite import connect\nQ = "SELECT 1"\n')
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert _imports(sample) == {"sqlite3", "aiosqlite"}
        assert _sql_literals(sample) == ["sample.py:3: SELECT 1"]
    finally:
        ROOT = saved


# The `telegram` / `bot.i18n` half of the layering check (services render nothing and know no
# Telegram) goes here, beside the two above.

"""The layering anyone can check: services know the domain only (no Telegram, no texts).

The storage half (no database driver in services, no SQL outside storage/) is in
tests/test_layers.py; that no module assigns into another module's attributes is checked by
tests/test_engine.py (test_no_module_writes_into_another_modules_attributes)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ROOT / "bot" / "services"

# Rendering for a face (Telegram or the web) lives on that face's side: handlers/views/ and
# bot/web/. Importing any of these from a service puts texts or Telegram into the domain.
PRESENTATION = ("telegram", "bot.i18n", "bot.meeting_card", "handlers")

# Services whose rendering has not moved to handlers/views/ yet (issue 11). Empty when done;
# the test below fails when a module here no longer needs its place, so the list only shrinks.
STILL_RENDERING = {
    "broadcasts",
    "meetings",
    "organisations",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _offenders(banned: tuple[str, ...]) -> set[str]:
    found: set[str] = set()
    for path in SERVICES.glob("*.py"):
        if any(name == b or name.startswith(b + ".") for name in _imports(path) for b in banned):
            found.add(path.stem)
    return found


def test_services_import_no_telegram_and_no_texts() -> None:
    assert _offenders(PRESENTATION) - STILL_RENDERING == set()


def test_the_list_of_services_still_rendering_only_shrinks() -> None:
    assert STILL_RENDERING - _offenders(PRESENTATION) == set()


def test_the_check_sees_a_banned_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from telegram import Bot\nimport bot.i18n\nfrom handlers import x\n")
    assert {"telegram", "bot.i18n", "handlers"} <= _imports(module)

"""Tests press what the user sees: raw `bot.click(user, data)` only where a test forges.

A normal flow presses a button by its label (`bot.press(user, "Label")`), so a button that
disappears or changes its data fails the test as it would fail the user. Raw callback data is
for presses no screen offers: forged, replayed or stale buttons, and the state-machine and
concurrency tests that drive exact data. This check keeps it so (issue 11).
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Files whose raw presses are the point of the test.
RAW_ALLOWED = {
    "test_malformed.py": "forged and malformed callback data",
    "test_stale_messages.py": "buttons on messages the bot no longer knows",
    "test_state_machine.py": "every transition driven by exact data, allowed or not",
    "test_concurrency.py": "presses racing each other",
    "test_double_press.py": "the same press delivered twice",
    "test_harness.py": "the driver's own tests",
    "test_calendar.py": "forged calendar buttons",
    "test_audit.py": "forged pages, presses by non-admins",
    "test_roles_forged.py": "forged, replayed and racing role buttons, presses by non-admins",
    "test_privacy_forged.py": "forged, old and group presses of /forget's confirmation",
    "test_schedule.py": "forged list buttons, stale pages, forged moderator buttons",
    "test_rsvp.py": "forged answers, stale cards, a group's copy of an announcement",
    "test_onboarding.py": "forged sector buttons, personal buttons pressed in a group",
    "test_settings.py": "forged settings buttons, one never shown, one pressed in a group",
    "test_web_publication.py": "a member's forged hide button",
    "test_broadcasts.py": "forged audience, confirm and cancel buttons; a revoked moderator's",
    "test_organisation.py": "forged and stale flow buttons, forged Accept, presses in a group",
    "test_review_forged.py": "the review's permission matrix, forged and stale postulate buttons",
    "test_meetings.py": "forged sector, preview, edit and cancel buttons; replayed ones",
}

# Not converted yet: these files' normal flows still send raw data (issue 11). The list only
# shrinks (see the second test).
NOT_CONVERTED_YET: set[str] = set()


def raw_presses(source: str) -> int:
    """How many `<driver>.click(user, data, ...)` calls the source makes."""
    count = 0
    for node in ast.walk(ast.parse(source)):
        # A browser's `locator.click()` takes no user and no data: only the driver's counts.
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "click"
            and len(node.args) >= 2
        ):
            count += 1
    return count


def _users_of_raw_presses() -> set[str]:
    return {
        path.name
        for path in TESTS.glob("test_*.py")
        if raw_presses(path.read_text(encoding="utf-8")) > 0
    }


def test_normal_flows_press_by_label() -> None:
    assert _users_of_raw_presses() - set(RAW_ALLOWED) - NOT_CONVERTED_YET == set()


def test_the_list_not_converted_yet_only_shrinks() -> None:
    assert NOT_CONVERTED_YET - _users_of_raw_presses() == set()


def test_the_check_counts_the_drivers_raw_presses_only() -> None:
    source = (
        "async def f(bot, anna, page):\n"
        "    await bot.click(anna, 'rsvp:going:1')\n"
        "    await bot.click(anna, 'x', chat_id=-1)\n"
        "    await bot.press(anna, 'Label')\n"
        "    await page.get_by_role('link').click()\n"
    )
    assert raw_presses(source) == 2

"""Postulate and review buttons by exact data: the permission matrix, forged and stale presses.

Raw presses are the point here: a member or another sector's moderator sees no such button,
so the only way to try is to forge it; the service must refuse it all the same.
"""

from __future__ import annotations

import sqlite3

import pytest

from bot.services import postulates_review as reviews
from tests.fakes import Call
from tests.harness import BotDriver, TgUser, texts_of
from tests.sql import raw_sql
from tests.test_postulates_helpers import (
    TITLE,
    count_postulates,
    db_of,
    make_moderator,
    postulate_row,
    submit,
    team_id,
)

ADMIN = TgUser(id=900, language_code="pl", first_name="Admin")
MODERATOR = TgUser(id=2001, language_code="pl", first_name="Mod")
OTHER_MODERATOR = TgUser(id=2002, language_code="pl", first_name="Other")
MEMBER = TgUser(id=2003, language_code="pl", first_name="Member")
ROLES = {
    "member": MEMBER,
    "other-moderator": OTHER_MODERATOR,
    "moderator": MODERATOR,
    "admin": ADMIN,
}


async def cast(bot: BotDriver) -> None:
    for user in (ADMIN, MODERATOR, OTHER_MODERATOR, MEMBER):
        await bot.onboard(user)
    await make_moderator(bot, MODERATOR, "culture")
    await make_moderator(bot, OTHER_MODERATOR, "education")


async def set_state(bot: BotDriver, reference: str, state: str) -> None:
    def change(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE postulates SET state = ? WHERE reference = ?", (state, reference))

    await db_of(bot).run(raw_sql(change))


def alerted(calls: list[Call]) -> bool:
    return any(c.method == "answerCallbackQuery" and c.params.get("show_alert") for c in calls)


# action code -> (state needed first, note typed after the button, expected state afterwards)
MATRIX = {
    "take": ("submitted", None, "in_review"),
    "fwd": ("in_review", None, "forwarded"),
    "rej": ("in_review", "Poza zakresem programu współpracy.", "rejected"),
    "ask": ("in_review", "Jaki jest koszt?", "clarification"),
    "dup": ("in_review", "P-2026-0001", "duplicate"),
    "mov": ("in_review", None, "in_review"),
    "yes": ("forwarded", "Wpisano do programu na rok 2027.", "adopted"),
    "no": ("forwarded", "Brak środków w budżecie miasta.", "not_adopted"),
}
ALLOWED = {
    "member": set(),
    "other-moderator": set(),
    "moderator": {"take", "fwd", "rej", "ask", "dup", "mov"},
    "admin": set(MATRIX),
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("code", list(MATRIX))
async def test_permission_matrix(bot: BotDriver, anna: TgUser, role: str, code: str) -> None:
    await cast(bot)
    await bot.onboard(anna)
    await submit(bot, anna, title="Pierwszy postulat kulturalny")
    reference = await submit(bot, anna)
    before, note, after = MATRIX[code]
    await set_state(bot, reference, before)
    row = await postulate_row(bot, reference)
    user = ROLES[role]
    education = await team_id(bot, "education")

    first = f"rev:take:{row['id']}" if code == "take" else f"rev:{code}:{row['id']}"
    calls = await bot.click(user, first)
    if code == "mov":
        calls += await bot.click(user, f"rev:to:{row['id']}:{education}")
    if note is not None:
        calls += await bot.send(user, note)
    if code not in ("take", "mov"):
        calls += await bot.click(user, f"rev:ok:{code}:{row['id']}")
    changed = await postulate_row(bot, reference)

    if code in ALLOWED[role]:
        assert changed["state"] == after
        if code == "mov":
            assert changed["team_id"] == education
        if code == "dup":
            first_row = await postulate_row(bot, "P-2026-0001")
            assert changed["duplicate_of"] == first_row["id"]
        if note is not None and code != "dup":
            assert changed["answer"] == note
    else:
        assert alerted(calls)
        assert (changed["state"], changed["team_id"], changed["answer"]) == (
            before,
            row["team_id"],
            row["answer"],
        )


async def test_author_cannot_decide_on_own_postulate(bot: BotDriver) -> None:
    await cast(bot)
    reference = await submit(bot, MODERATOR)  # a moderator of culture submits to culture
    row = await postulate_row(bot, reference)
    for data in ("take", "fwd", "rej", "ask", "dup", "mov", "ok:fwd"):
        full = f"rev:{data}:{row['id']}"
        calls = await bot.click(MODERATOR, full)
        assert (await postulate_row(bot, reference))["state"] == "submitted", data
        assert alerted(calls), data
    admin_reference = await submit(bot, ADMIN)
    admin_row = await postulate_row(bot, admin_reference)
    await set_state(bot, admin_reference, "forwarded")
    calls = await bot.click(ADMIN, f"rev:yes:{admin_row['id']}")
    assert alerted(calls)
    assert (await postulate_row(bot, admin_reference))["state"] == "forwarded"


@pytest.mark.parametrize(
    "data",
    [
        "rev:fwd:999999",
        "rev:zap:1",
        "rev:fwd:x",
        "rev:to:1",
        "rev:fwd:1:2",
        "rev:",
        "rev:ok:mov:1",
        "rev:ok:zap:1",
        "rev:take:x",
    ],
)
async def test_forged_buttons_change_nothing(bot: BotDriver, anna: TgUser, data: str) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    calls = await bot.click(ADMIN, data)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert (await postulate_row(bot, reference))["state"] == "submitted"


async def test_confirming_a_reason_never_typed_is_stale(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    # A Confirm for a rejection nobody wrote a reason for: nothing happens.
    calls = await bot.click(MODERATOR, f"rev:ok:rej:{row['id']}")
    assert alerted(calls)
    assert (await postulate_row(bot, reference))["state"] == "submitted"


async def test_state_machine_rules() -> None:
    transitions = reviews.TRANSITIONS
    terminal = {"adopted", "not_adopted", "rejected", "duplicate", "withdrawn"}
    for action, (states, _, role, _) in transitions.items():
        assert not states & terminal, action
        if role == "admin":
            assert states == {"forwarded"}
    assert "forwarded" in transitions["withdraw"][0]
    assert "forwarded" not in transitions["reject"][0]
    assert transitions["answer"][1] == "in_review"
    assert "open" not in transitions  # looking at a card is not an action


async def test_wrong_state_is_refused_and_decided_cannot_be_withdrawn(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    # Adopting before forwarding: refused.
    calls = await bot.click(ADMIN, f"rev:yes:{row['id']}")
    assert alerted(calls)
    await set_state(bot, reference, "adopted")
    calls = await bot.click(anna, f"pst:withdraw:{row['id']}")
    assert alerted(calls)
    calls = await bot.click(anna, f"rev:ok:wd:{row['id']}")
    assert alerted(calls)
    assert (await postulate_row(bot, reference))["state"] == "adopted"
    calls = await bot.click(MODERATOR, f"rev:rej:{row['id']}")
    assert alerted(calls)


async def test_forged_draft_buttons_change_nothing(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    for data in ("pst:sector:999999", "pst:bogus", "pst:submit:999999"):
        calls = await bot.click(anna, data)
        assert [c.method for c in calls] == ["answerCallbackQuery"], data
    assert await count_postulates(bot) == 0


async def test_submit_button_of_another_users_draft_reveals_nothing(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    await submit(bot, anna)
    row = await postulate_row(bot, "P-2026-0001")
    calls = await bot.click(john, f"pst:submit:{row['draft_id']}")
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert TITLE not in texts_of(calls)

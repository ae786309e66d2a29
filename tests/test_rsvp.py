"""RSVP to sector meetings, as members and moderators see it: answers, waiting list, CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.config import Config
from storage.rsvps import Rsvp
from tests.fakes import Call
from tests.harness import BotDriver, Clock, TgUser
from tests.meeting_factory import (
    add_meeting,
    db_of,
    files_driver,
    make_moderator,
    set_organisation,
    update_meeting,
    uploaded,
    user,
)
from tests.sql import raw_sql

STALE = "Ten przycisk jest już nieaktualny."


@pytest.fixture
async def bot(config: Config, clock: Clock) -> AsyncIterator[BotDriver]:
    async for driver in files_driver(config, clock):
        yield driver


async def rsvp_of(bot: BotDriver, meeting_id: int, user_id: int) -> Rsvp | None:
    return await db_of(bot).run(lambda unit: unit.rsvps.get_rsvp(meeting_id, user_id))


async def all_rsvps(bot: BotDriver) -> list[tuple[int, int, str, int | None]]:
    def read(conn: sqlite3.Connection) -> list[tuple[int, int, str, int | None]]:
        rows = conn.execute(
            "SELECT meeting_id, user_id, answer, waitlist_position FROM rsvps ORDER BY 1, 2"
        ).fetchall()
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    return await db_of(bot).run(raw_sql(read))


def answer_text(calls: list[Call]) -> str:
    [answer] = [c for c in calls if c.method == "answerCallbackQuery"]
    return str(answer.params.get("text", ""))


_LABELS = {
    "going": "meetings.card-going",
    "maybe": "meetings.card-maybe",
    "no": "meetings.card-not-going",
}


async def answer(bot: BotDriver, member: TgUser, meeting: int, choice: str) -> list[Call]:
    """The member opens the meeting's card and presses an answer on it (marked ✓ if it is
    already theirs)."""
    await bot.send(member, f"/meeting {meeting}")
    shown = [label for label, _ in bot.keyboards(member)[-1].buttons]
    label = bot.label(member, _LABELS[choice])
    if label not in shown:
        label = bot.label(member, _LABELS[choice] + "-chosen")
    return await bot.press(member, label)


async def export(bot: BotDriver, moderator: TgUser, meeting: int) -> list[Call]:
    """The moderator opens the meeting's card and presses its attendee export."""
    await bot.send(moderator, f"/meeting {meeting}")
    return await bot.press(moderator, bot.label(moderator, "rsvp.export-csv"))


async def test_each_answer_is_recorded_and_confirmed(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    meeting = await add_meeting(bot)

    calls = await answer(bot, anna, meeting, "going")
    assert answer_text(calls) == "✅ Zapisano: biorę udział."
    stored = await rsvp_of(bot, meeting, anna.id)
    assert stored is not None
    assert (stored.answer, stored.waitlist_position) == ("going", None)

    calls = await answer(bot, anna, meeting, "maybe")
    assert answer_text(calls) == "🤔 Zapisano: może."
    stored = await rsvp_of(bot, meeting, anna.id)
    assert stored is not None
    assert stored.answer == "maybe"

    calls = await answer(bot, anna, meeting, "no")
    assert answer_text(calls) == "❌ Zapisano: nie biorę udziału."
    stored = await rsvp_of(bot, meeting, anna.id)
    assert stored is not None
    assert stored.answer == "not_going"
    # The card itself shows the answer; nothing else is sent.
    assert not [c for c in calls if c.method == "sendMessage"]
    [card] = [c for c in calls if c.method == "editMessageText"]
    assert "Twoja odpowiedź: <b>nie biorę udziału</b>" in card.text


async def test_english_confirmation(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john)
    meeting = await add_meeting(bot)
    calls = await answer(bot, john, meeting, "going")
    assert answer_text(calls) == "✅ Saved: you're going."


async def test_double_press_is_idempotent(bot: BotDriver, anna: TgUser, clock: Clock) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot, capacity=1)
    await answer(bot, anna, meeting, "going")
    first = await rsvp_of(bot, meeting, anna.id)
    clock.advance(minutes=5)
    calls = await answer(bot, anna, meeting, "going")
    assert answer_text(calls) == "✅ Zapisano: biorę udział."
    assert await rsvp_of(bot, meeting, anna.id) == first
    assert await all_rsvps(bot) == [(meeting, anna.id, "going", None)]


async def test_waiting_list_promotes_in_order_and_tells_the_promoted(bot: BotDriver) -> None:
    members = [user(n) for n in range(1, 6)]
    for person in members:
        await bot.onboard(person, sectors=["culture"])
    meeting = await add_meeting(bot, capacity=2, title="Budżet obywatelski")
    u1, u2, u3, u4, u5 = members

    for person in (u1, u2):
        assert answer_text(await answer(bot, person, meeting, "going")).startswith("✅")
    assert "pozycja 1." in answer_text(await answer(bot, u3, meeting, "going"))
    assert "pozycja 2." in answer_text(await answer(bot, u4, meeting, "going"))
    assert "pozycja 3." in answer_text(await answer(bot, u5, meeting, "going"))

    bot.api.clear()
    # A confirmed member withdraws: the first on the waiting list gets the place.
    await answer(bot, u1, meeting, "no")
    promoted = await rsvp_of(bot, meeting, u3.id)
    assert promoted is not None
    assert (promoted.answer, promoted.waitlist_position) == ("going", None)
    assert "pozycja 1." in answer_text(await answer(bot, u4, meeting, "going"))

    # Someone waiting who gives up frees no place, but moves the others up.
    await answer(bot, u4, meeting, "maybe")
    assert "pozycja 1." in answer_text(await answer(bot, u5, meeting, "going"))

    await answer(bot, u2, meeting, "maybe")
    last = await rsvp_of(bot, meeting, u5.id)
    assert last is not None
    assert last.waitlist_position is None

    await bot.dispatch()
    notices = [c for c in bot.api.sent("sendMessage") if "Zwolniło się miejsce" in c.text]
    assert sorted(c.chat_id for c in notices if c.chat_id is not None) == [u3.id, u5.id]
    assert "Budżet obywatelski" in notices[0].text
    assert notices[0].buttons() == [("📅 Pokaż spotkanie", f"sched:open:{meeting}")]
    counts = await db_of(bot).run(lambda unit: unit.rsvps.get_counts(meeting))
    assert (counts.going, counts.waiting, counts.maybe, counts.not_going) == (2, 0, 2, 1)


async def test_going_again_after_withdrawing_joins_the_end_of_the_list(bot: BotDriver) -> None:
    u1, u2, u3 = user(1), user(2), user(3)
    for person in (u1, u2, u3):
        await bot.onboard(person)
    meeting = await add_meeting(bot, capacity=1)
    await answer(bot, u1, meeting, "going")
    await answer(bot, u2, meeting, "going")
    await answer(bot, u1, meeting, "maybe")  # u2 promoted
    await answer(bot, u3, meeting, "going")
    assert "pozycja 2." in answer_text(await answer(bot, u1, meeting, "going"))
    assert await all_rsvps(bot) == [
        (meeting, u1.id, "going", 2),
        (meeting, u2.id, "going", None),
        (meeting, u3.id, "going", 1),
    ]


async def test_refused_after_start_and_when_cancelled(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)
    soon = await add_meeting(bot, starts_in=timedelta(hours=1))
    cancelled = await add_meeting(bot, state="cancelled")
    clock.advance(hours=1)

    # Stale: cards she was shown before the start and before the cancellation.
    calls = await bot.click(anna, f"rsvp:going:{soon}")
    assert "już się rozpoczęło" in answer_text(calls)
    calls = await bot.click(anna, f"rsvp:maybe:{cancelled}")
    assert "odwołane" in answer_text(calls)
    assert await all_rsvps(bot) == []


@pytest.mark.parametrize(
    "data", ["rsvp:going:999", "rsvp:x:1", "rsvp:going:abc", "rsvp:going:", "rsvp:going:1:2"]
)
async def test_forged_callbacks_change_nothing(bot: BotDriver, anna: TgUser, data: str) -> None:
    await bot.onboard(anna)
    await add_meeting(bot)
    calls = await bot.click(anna, data)
    assert answer_text(calls) == STALE
    assert await all_rsvps(bot) == []


async def test_consent_is_needed(bot: BotDriver) -> None:
    stranger = user(9)
    meeting = await add_meeting(bot)
    calls = await bot.click(stranger, f"rsvp:going:{meeting}")  # a card seen in a group
    assert "/start" in answer_text(calls)
    assert await all_rsvps(bot) == []


async def test_card_in_a_group_answers_only_the_presser(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id)
    meeting = await add_meeting(bot)
    # The group's copy of an announcement, which the driver does not post.
    calls = await bot.click(anna, f"rsvp:going:{meeting}", chat_id=-100123)
    assert answer_text(calls) == "✅ Zapisano: biorę udział."
    assert [c.method for c in calls] == ["answerCallbackQuery"]


async def test_moderator_card_counts_are_redrawn(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id)
    meeting = await add_meeting(bot)
    [card] = [c for c in await bot.send(anna, f"/meeting {meeting}") if c.buttons()]
    calls = await bot.press(anna, "✅ Biorę udział")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert edit.params["message_id"] == card.message_id
    assert "✅ Biorę udział: 1 · 🤔 Może: 0" in edit.text
    assert ("📋 Lista uczestników (CSV)", f"rsvp:csv:{meeting}") in edit.buttons()


async def test_moderator_exports_attendees_as_csv(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id)
    members = [user(n) for n in range(1, 5)]
    for person in members:
        await bot.onboard(person)
    await set_organisation(bot, members[0].id, "Fundacja Źródło Łąk")
    meeting = await add_meeting(bot, capacity=1)
    await answer(bot, members[0], meeting, "going")
    await answer(bot, members[1], meeting, "going")
    await answer(bot, members[2], meeting, "maybe")
    await answer(bot, members[3], meeting, "no")

    await name(bot, members[0], "Zofia", "Wiśniewska", "zofia_w")
    await name(bot, members[1], "Jan", None, None)
    await name(bot, members[2], None, None, "anon_m")

    calls = await export(bot, anna, meeting)
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert document.chat_id == anna.id
    [(_, filename, data)] = uploaded(bot)
    assert filename == f"attendees-meeting-{meeting}.csv"
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Imię",
        "Nazwisko",
        "Nazwa użytkownika (@)",
        "Organizacja",
        "Odpowiedź",
        "Pozycja na liście rezerwowej",
        "Data odpowiedzi",
    ]
    # The test clock is 10:00 UTC on 26 November: 11:00 in Warsaw.
    at = "2026-11-26 11:00"
    assert rows[1:] == [
        ["Zofia", "Wiśniewska", "zofia_w", "Fundacja Źródło Łąk", "biorę udział", "", at],
        ["Jan", "", "", "", "lista rezerwowa", "1", at],
        ["", "", "anon_m", "", "może", "", at],
        [members[3].first_name, "", "", "", "nie biorę udziału", "", at],
    ]


async def name(
    bot: BotDriver, member: TgUser, first: str | None, last: str | None, username: str | None
) -> None:
    """Store the names Telegram gave (the gatekeeper does it after consent)."""
    await db_of(bot).run(
        raw_sql(
            lambda conn: conn.execute(
                "UPDATE users SET first_name = ?, last_name = ?, username = ? WHERE id = ?",
                (first, last, username, member.id),
            )
        )
    )


async def test_english_csv_uses_commas(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john)
    await make_moderator(bot, john.id)
    meeting = await add_meeting(bot)
    await answer(bot, john, meeting, "maybe")
    await export(bot, john, meeting)
    [(_, _, data)] = uploaded(bot)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["First name", "Last name", "Username (@)"]
    assert rows[1][3:5] == ["", "maybe"]


async def test_non_moderators_cannot_export(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id, team="education")
    meeting = await add_meeting(bot, team="culture")
    await answer(bot, anna, meeting, "going")
    calls = await bot.click(anna, f"rsvp:csv:{meeting}")  # forged: her card has no export
    assert answer_text(calls) == "Nie masz uprawnień do tej czynności."
    assert not [c for c in calls if c.method == "sendDocument"]
    calls = await bot.click(anna, "rsvp:csv:999")
    assert answer_text(calls) == STALE
    assert uploaded(bot) == []


async def test_admin_exports_in_private_only(bot: BotDriver) -> None:
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    meeting = await add_meeting(bot)
    # Forged: a card in a group carries no export button.
    calls = await bot.click(admin, f"rsvp:csv:{meeting}", chat_id=-100123)
    assert not [c for c in calls if c.method == "sendDocument"]
    calls = await export(bot, admin, meeting)
    assert [c.method for c in calls if c.method == "sendDocument"] == ["sendDocument"]


async def test_raised_capacity_lets_a_newcomer_in_only_after_those_waiting(
    bot: BotDriver, clock: Clock
) -> None:
    u1, u2, u3 = user(1), user(2), user(3)
    for person in (u1, u2, u3):
        await bot.onboard(person)
    meeting = await add_meeting(bot, capacity=1)
    await answer(bot, u1, meeting, "going")
    await answer(bot, u2, meeting, "going")
    await update_meeting(bot, meeting, clock.now, capacity=2)
    # The free place goes to the one waiting, not to the newcomer pressing now.
    assert "pozycja 1." in answer_text(await answer(bot, u3, meeting, "going"))
    waiting = await rsvp_of(bot, meeting, u2.id)
    assert waiting is not None
    assert waiting.waitlist_position is None


async def test_storage_readers_for_reminders_and_the_data_export(bot: BotDriver) -> None:
    u1, u2, u3 = user(1), user(2), user(3)
    for person in (u1, u2, u3):
        await bot.onboard(person)
    later = await add_meeting(bot, starts_in=timedelta(days=9))
    sooner = await add_meeting(bot, starts_in=timedelta(days=2))
    await answer(bot, u1, later, "going")
    await answer(bot, u2, later, "maybe")
    await answer(bot, u3, later, "no")
    await answer(bot, u1, sooner, "no")
    db = db_of(bot)
    reminded = await db.run(lambda unit: unit.rsvps.list_rsvp_user_ids(later, ("going", "maybe")))
    assert reminded == [u1.id, u2.id]
    answers = await db.run(lambda unit: unit.rsvps.list_user_answers(u1.id))
    assert [(a.meeting_id, a.answer) for a in answers] == [
        (sooner, "not_going"),
        (later, "going"),
    ]


async def test_the_card_shows_my_answer_after_a_press(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    other = user(1)
    await bot.onboard(other, sectors=["culture"])
    meeting = await add_meeting(bot, capacity=1)
    await answer(bot, other, meeting, "going")
    calls = await answer(bot, anna, meeting, "going")
    [edit] = [c for c in calls if c.method == "editMessageText"]  # the card itself, for a member
    assert "Twoja odpowiedź: <b>biorę udział</b>" in edit.text
    assert "lista rezerwowa" in edit.text or "liście rezerwowej, pozycja 1" in edit.text
    labels = [label for label, _ in edit.buttons()]
    assert "✓ Biorę udział" in labels
    assert "✅ Biorę udział" not in labels
    calls = await bot.press(anna, "🤔 Może")  # on the same card
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Twoja odpowiedź: <b>może</b>" in edit.text
    assert [label for label, _ in edit.buttons()][:3] == [
        "✅ Biorę udział",
        "✓ Może",
        "❌ Nie biorę udziału",
    ]
    # /meeting and /meetings say it too.
    calls = await bot.send(anna, f"/meeting {meeting}")
    assert "Twoja odpowiedź: <b>może</b>" in calls[-1].text
    calls = await bot.send(anna, "/meetings")
    assert "Twoja odpowiedź: <b>może</b>" in calls[-1].text


async def test_the_card_shows_the_waiting_position(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    first, second = user(1), user(2)
    for person in (first, second):
        await bot.onboard(person)
    meeting = await add_meeting(bot, capacity=1)
    await answer(bot, first, meeting, "going")
    await answer(bot, second, meeting, "going")
    calls = await answer(bot, anna, meeting, "going")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "jesteś na liście rezerwowej, pozycja 2." in edit.text
    calls = await bot.send(anna, f"/meeting {meeting}")
    assert "pozycja 2." in calls[-1].text

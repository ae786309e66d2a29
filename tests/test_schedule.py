"""The schedule as members see it: /meetings, /schedule, /meeting and the meeting deep link."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from tests.fakes import Call
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.meeting_factory import add_meeting, db_of, make_moderator, user
from tests.sql import raw_sql


def messages(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage"]


def open_buttons(call: Call) -> list[str]:
    return [data for _, data in call.buttons() if data.startswith("sched:open:")]


async def test_meetings_lists_my_sectors_five_a_page(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    mine = [
        await add_meeting(bot, title=f"Kultura {n}", starts_in=timedelta(days=n))
        for n in range(1, 8)
    ]
    other = await add_meeting(bot, team="health", title="Zdrowie 1", starts_in=timedelta(hours=5))
    await add_meeting(bot, title="Przeszłe", starts_in=timedelta(hours=-1))
    await add_meeting(bot, title="Odwołane", state="cancelled")

    [page] = messages(await bot.send(anna, "/meetings"))
    assert "Nadchodzące spotkania Twoich zespołów branżowych" in page.text
    assert open_buttons(page) == [f"sched:open:{m}" for m in mine[:5]]
    assert "1. <b>Kultura 1</b>" in page.text
    assert "Zdrowie" not in page.text
    assert "Przeszłe" not in page.text
    assert "Odwołane" not in page.text
    assert ("›", "sched:page:mine:1") in page.buttons()
    assert ("‹", "sched:page:mine:-1") not in page.buttons()
    assert ("🌐 Wszystkie zespoły", "sched:page:all:0") in page.buttons()

    calls = await bot.press(anna, "›")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert edit.params["message_id"] == page.message_id
    assert open_buttons(edit) == [f"sched:open:{m}" for m in mine[5:]]
    assert "6. <b>Kultura 6</b>" in edit.text
    assert ("‹", "sched:page:mine:0") in edit.buttons()
    assert not [data for _, data in edit.buttons() if data == "sched:page:mine:2"]

    calls = await bot.press(anna, "🌐 Wszystkie zespoły")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "wszystkich zespołów" in edit.text
    assert open_buttons(edit)[0] == f"sched:open:{other}"
    assert ("⭐ Moje zespoły", "sched:page:mine:0") in edit.buttons()


async def test_meetings_marks_my_answers(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    going = await add_meeting(bot, title="Pierwsze", starts_in=timedelta(days=1))
    await add_meeting(bot, title="Drugie", starts_in=timedelta(days=2))
    await bot.send(anna, f"/meeting {going}")
    await bot.press(anna, "✅ Biorę udział")
    [page] = messages(await bot.send(anna, "/meetings"))
    first, second = page.text.split("\n\n")[1:3]
    assert first.endswith("✅\nTwoja odpowiedź: <b>biorę udział</b>")
    assert not second.endswith(("✅", "🤔", "❌", "⏳"))
    assert "Twoja odpowiedź" not in second


async def test_meetings_without_subscriptions_offers_all(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await add_meeting(bot)
    [page] = messages(await bot.send(anna, "/meetings"))
    assert "/sectors" in page.text
    assert open_buttons(page) == []
    assert ("🌐 Wszystkie zespoły", "sched:page:all:0") in page.buttons()


async def test_meetings_needs_consent(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/meetings")
    assert "/start" in texts_of(calls)


async def test_forged_list_buttons(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    for data in ("sched:page:yours:0", "sched:page:mine:x", "sched:team:999:0", "sched:open:9"):
        calls = await bot.click(anna, data)  # forged: never on her screen
        assert texts_of(calls) == "Ten przycisk jest już nieaktualny.", data


async def test_page_past_the_end_says_so(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await add_meeting(bot)
    calls = await bot.click(anna, "sched:page:mine:7")  # stale: the list shrank since
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Na tej stronie nie ma już spotkań." in edit.text
    assert ("‹", "sched:page:mine:6") in edit.buttons()


async def test_open_sends_the_card_with_rsvp_and_calendar(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    meeting = await add_meeting(bot, title="Budżet <2027>", capacity=10)
    await bot.send(anna, "/meetings")
    calls = await bot.press(anna, "1. Budżet <2027>")
    [card] = messages(calls)
    assert "Budżet &lt;2027&gt;" in card.text
    assert "Biorę udział:" not in card.text  # counts are for moderators
    data = [d for _, d in card.buttons()]
    assert data[:4] == [
        f"rsvp:going:{meeting}",
        f"rsvp:maybe:{meeting}",
        f"rsvp:no:{meeting}",
        f"cal:ics:{meeting}",
    ]
    assert data[4].startswith("https://calendar.google.com/calendar/render?")
    assert f"rsvp:csv:{meeting}" not in data


async def test_moderator_card_shows_counts_and_export(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id)
    others = [user(1), user(2)]
    meeting = await add_meeting(bot, capacity=1)
    for person in others:
        await bot.onboard(person)
        await bot.send(person, f"/meeting {meeting}")
        await bot.press(person, "✅ Biorę udział")
    [card] = messages(await bot.send(anna, f"/meeting {meeting}"))
    assert "✅ Biorę udział: 1 · 🤔 Może: 0 · ❌ Nie biorę udziału: 0" in card.text
    assert "liście rezerwowej: 1" in card.text
    assert ("📋 Lista uczestników (CSV)", f"rsvp:csv:{meeting}") in card.buttons()
    assert ("✏️ Zmień", f"mtg:edit:{meeting}") in card.buttons()
    assert ("🚫 Odwołaj", f"mtg:cancel:{meeting}") in card.buttons()


async def test_meeting_command(bot: BotDriver, john: TgUser, clock: Clock) -> None:
    await bot.onboard(john)
    meeting = await add_meeting(bot, title="Open data", starts_in=timedelta(hours=1))
    [card] = messages(await bot.send(john, f"/meeting {meeting}"))
    assert "Open data" in card.text
    assert (" Going", f"rsvp:going:{meeting}") in [
        (label[1:], data) for label, data in card.buttons()
    ]

    clock.advance(hours=2)
    [card] = messages(await bot.send(john, f"/meeting {meeting}"))
    # A past meeting keeps its card, without answers.
    assert [d for _, d in card.buttons() if d.startswith("rsvp:")] == []

    assert "no such meeting" in texts_of(await bot.send(john, "/meeting 999"))
    assert "/meeting 12" not in texts_of(await bot.send(john, "/meeting"))  # the list instead
    assert "/meeting 12" in texts_of(await bot.send(john, "/meeting abc"))


async def test_cancelled_meeting_card_has_no_answers(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot, state="cancelled")
    [card] = messages(await bot.send(anna, f"/meeting {meeting}"))
    assert [d for _, d in card.buttons()] == [f"cal:ics:{meeting}"]


async def test_deep_link_opens_the_meeting(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot, title="Spotkanie z deep linku")
    calls = await bot.send(anna, f"/start meeting-{meeting}")
    [card] = messages(calls)
    assert "Spotkanie z deep linku" in card.text
    assert "Witaj ponownie" not in card.text


async def test_deep_link_for_a_newcomer_asks_consent_and_shows_the_card(bot: BotDriver) -> None:
    newcomer = user(5)
    meeting = await add_meeting(bot, title="Dla nowych")
    calls = await bot.send(newcomer, f"/start meeting-{meeting}")
    greeting, card = messages(calls)
    assert greeting.buttons() == [("✅ Zgadzam się", "consent:yes")]
    assert "Dla nowych" in card.text


async def test_plain_start_and_sector_links_still_work(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    assert "Witaj ponownie" in texts_of(await bot.send(anna, "/start"))
    assert "Kultura" in texts_of(await bot.send(anna, "/start sector-culture"))
    assert "Nie ma takiego spotkania" in texts_of(await bot.send(anna, "/start meeting-999"))


async def test_schedule_of_one_sector(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    health = await add_meeting(bot, team="health", title="Zdrowie")
    await add_meeting(bot, team="culture", title="Kultura")

    [choose] = messages(await bot.send(anna, "/schedule"))
    buttons = dict(choose.buttons())
    assert len(buttons) == 8
    calls = await bot.press(anna, "Zdrowie i niepełnosprawni")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Harmonogram spotkań: Zdrowie i niepełnosprawni" in edit.text
    assert open_buttons(edit) == [f"sched:open:{health}"]

    [page] = messages(await bot.send(anna, "/schedule health"))
    assert open_buttons(page) == [f"sched:open:{health}"]
    assert "Kultura" not in page.text

    [unknown] = messages(await bot.send(anna, "/schedule nosuch"))
    assert "Nie ma takiego zespołu" in unknown.text
    assert len(unknown.buttons()) == 8


async def test_schedule_commands_stay_private(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    await add_meeting(bot)
    for command in ("/meetings", "/schedule culture", "/meeting 1"):
        calls = await bot.send(anna, command, chat_id=-100123)
        assert not [c for c in messages(calls) if "sched:open" in str(c.params)]
        assert not [c for c in messages(calls) if "rsvp:" in str(c.params)]


async def test_moderator_card_of_a_past_meeting_offers_only_the_export(
    bot: BotDriver, anna: TgUser, clock: Clock
) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id)
    meeting = await add_meeting(bot, starts_in=timedelta(hours=1))
    clock.advance(hours=3)
    [card] = messages(await bot.send(anna, f"/meeting {meeting}"))
    assert [d for _, d in card.buttons()] == [f"cal:ics:{meeting}", f"rsvp:csv:{meeting}"]


async def test_moderator_cancels_from_the_card_and_answers_close(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await make_moderator(bot, anna.id)
    other = user(1)
    await bot.onboard(other)
    meeting = await add_meeting(bot, title="Do odwołania")
    [card] = messages(await bot.send(anna, f"/meeting {meeting}"))
    assert f"mtg:cancel:{meeting}" in [d for _, d in card.buttons()]

    await bot.send(other, f"/meeting {meeting}")
    calls = await bot.press(anna, "🚫 Odwołaj")
    confirm = [d for c in calls for _, d in c.buttons() if d == f"mtg:cancel-one:{meeting}"]
    assert confirm == [f"mtg:cancel-one:{meeting}"]
    await bot.press(anna, "❌ Odwołaj to spotkanie")

    # The card she opened before the cancel still shows its buttons.
    calls = await bot.press(other, "✅ Biorę udział")
    assert "odwołane" in texts_of(calls)
    [card] = messages(await bot.send(other, f"/meeting {meeting}"))
    assert [d for _, d in card.buttons()] == [f"cal:ics:{meeting}"]


async def test_members_cannot_use_the_moderator_buttons(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    meeting = await add_meeting(bot)
    [card] = messages(await bot.send(anna, f"/meeting {meeting}"))
    assert not [d for _, d in card.buttons() if d.startswith("mtg:")]
    # Forged: a member's card shows no moderator buttons.
    await bot.click(anna, f"mtg:cancel:{meeting}")
    await bot.click(anna, f"mtg:cancel-one:{meeting}")
    calls = await bot.press(anna, "✅ Biorę udział")
    assert texts_of(calls).startswith("✅ Zapisano: biorę udział.")


async def test_a_sectors_schedule_offers_submitting_a_postulate(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/schedule health")
    link = dict(calls[-1].buttons())["📝 Zgłoś postulat do tego zespołu"]
    assert link == "https://t.me/ngo_test_bot?start=postulate-health"
    calls = await bot.send(anna, "/start " + link.rsplit("=", 1)[1])
    assert "tytuł" in texts_of(calls)
    mine = await bot.send(anna, "/meetings")
    assert "📝 Zgłoś postulat do tego zespołu" not in dict(mine[-1].buttons())


async def test_meetings_shows_a_changed_meeting_and_my_new_answer_at_once(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    # Drawn pages are kept for members who see the same list: what changed must not be.
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    meeting = await add_meeting(bot, title="Próba", starts_in=timedelta(days=1))
    [before] = messages(await bot.send(anna, "/meetings"))
    assert "<b>Próba</b>" in before.text

    def rename(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meetings SET title = 'Premiera' WHERE id = ?", (meeting,))

    await db_of(bot).run(raw_sql(rename))
    [after] = messages(await bot.send(john, "/meetings"))
    assert "<b>Premiera</b>" in after.text
    assert "Próba" not in after.text

    await bot.click(anna, f"rsvp:going:{meeting}")
    [mine] = messages(await bot.send(anna, "/meetings"))
    [theirs] = messages(await bot.send(john, "/meetings"))
    assert mine.text != theirs.text
    assert "✅" in mine.text


async def test_meeting_without_a_number_lists_the_upcoming_meetings(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna, sectors=["culture"])
    meeting = await add_meeting(bot, title="Pierwsze", starts_in=timedelta(days=1))
    [page] = messages(await bot.send(anna, "/meeting"))
    assert "Użycie" not in page.text
    assert "Pierwsze" in page.text
    [card] = messages(await bot.press(anna, "1. Pierwsze"))
    assert f"rsvp:going:{meeting}" in [d for _, d in card.buttons()]

"""Broadcasts: /broadcast through the real Application, /broadcasts, progress, limits."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from bot.services import broadcasts as service
from storage.unit import Unit
from tests.conftest import ADMIN_ID
from tests.fakes import Call
from tests.harness import (
    BotDriver,
    TgUser,
    edited_in_place,
    live_buttons,
    new_messages,
    texts_of,
)
from tests.meeting_factory import db_of, make_moderator
from tests.sql import connection, raw_sql
from tests.test_postulates_helpers import team_name

MOD = TgUser(id=3201, language_code="pl", first_name="Moderatorka")
OTHER_MOD = TgUser(id=3202, language_code="en", first_name="Other")
ADMIN = TgUser(id=ADMIN_ID, language_code="en", first_name="Admin")
_ids = itertools.count(10_000)
PL_HEADER = "Kultura, Edukacja"
EN_HEADER = "Culture, Education"


async def team_id(bot: BotDriver, slug: str) -> int:
    row = await db_of(bot).run(
        lambda unit: (
            connection(unit).execute("SELECT id FROM teams WHERE slug = ?", (slug,)).fetchone()
        )
    )
    return int(row[0])


async def rows(bot: BotDriver, sql: str, *params: object) -> list[tuple[Any, ...]]:
    found = await db_of(bot).run(raw_sql(lambda conn: conn.execute(sql, params).fetchall()))
    return [tuple(row) for row in found]


def sends(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method in ("sendMessage", "sendPhoto", "sendDocument")]


async def write(bot: BotDriver, user: TgUser, **content: Any) -> list[Call]:
    """The user sends a message with any content (text with entities, photo, document)."""
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(bot.clock.now.timestamp()),
        "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
        "from": user.as_dict(),
        **content,
    }
    return await bot.feed({"message": message})


async def moderator(bot: BotDriver, user: TgUser = MOD, *teams: str) -> None:
    await bot.onboard(user)
    for slug in teams or ("culture",):
        await make_moderator(bot, user.id, slug)


async def draft(bot: BotDriver, user: TgUser = MOD, *teams: str) -> list[Call]:
    """/broadcast, tick the sectors, Next: returns the calls of Next."""
    await bot.send(user, "/broadcast")
    for slug in teams or ("culture",):
        await bot.press(user, await team_name(bot, user, await team_id(bot, slug)))
    return await bot.press(user, bot.label(user, "broadcasts.button-next"))


async def press(bot: BotDriver, user: TgUser, action: str, **values: object) -> list[Call]:
    """Press the flow's button `action` (now, later, confirm, everyone, cancel) by its label."""
    return await bot.press(user, bot.label(user, f"broadcasts.button-{action}", **values))


async def test_non_moderators_are_refused(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna, sectors=["culture"])
    assert "Komunikaty mogą wysyłać tylko" in texts_of(await bot.send(anna, "/broadcast"))
    assert "Komunikaty mogą wysyłać tylko" in texts_of(await bot.send(anna, "/broadcasts"))
    # A button of the flow without the flow (forged) changes nothing.
    await bot.click(anna, "bc:confirm")
    assert await rows(bot, "SELECT * FROM broadcasts") == []


async def test_broadcast_keeps_formatting_escapes_html_and_reaches_each_person_once(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await moderator(bot, MOD, "culture", "education")
    await bot.onboard(anna, sectors=["culture", "education"])
    await bot.onboard(john, sectors=["culture"])
    outsider = TgUser(id=4444, language_code="pl")
    await bot.onboard(outsider, sectors=["environment"])
    await draft(bot, MOD, "culture", "education")
    body = "Zebranie <script> & 1 < 2\n\nDrugi akapit"
    calls = await write(bot, MOD, text=body, entities=[{"type": "bold", "offset": 0, "length": 8}])
    preview = [c for c in calls if c.method == "sendMessage"]
    expected = "<b>Zebranie</b> &lt;script&gt; &amp; 1 &lt; 2\n\nDrugi akapit"
    assert any(expected in c.text and "Kultura" in c.text for c in preview), texts_of(calls)
    assert "Trafi do <b>2</b> osób." in texts_of(calls)
    assert [label for label, _ in calls[-1].buttons()][:2] == [
        "📤 Wyślij teraz",
        "🕒 Wyślij później",
    ]
    calls = await press(bot, MOD, "now")
    assert "Wysłać komunikat teraz?" in texts_of(calls)
    await press(bot, MOD, "confirm")
    sent = sends(await bot.dispatch())
    by_chat = {c.chat_id: c.text for c in sent}
    assert sorted(chat or 0 for chat in by_chat) == [anna.id, john.id]
    assert by_chat[anna.id] == f"📣 <b>{PL_HEADER}</b>\n\n{expected}"
    assert by_chat[john.id] == f"📣 <b>{EN_HEADER}</b>\n\n{expected}"
    audit = await rows(bot, "SELECT actor_id, action, target FROM audit_log")
    assert (MOD.id, "broadcast.send", "broadcast:1") in audit


async def test_forged_audience_buttons_change_nothing(bot: BotDriver) -> None:
    await moderator(bot)
    await bot.send(MOD, "/broadcast")
    education = await team_id(bot, "education")
    calls = await bot.click(MOD, f"bc:aud:{education}")  # not hers, not on her screen
    assert "Nie masz uprawnień" in texts_of(calls)
    calls = await bot.click(MOD, "bc:aud:all")  # only admins see it
    assert next(c for c in calls if c.method == "answerCallbackQuery").params.get("show_alert")
    calls = await press(bot, MOD, "next")
    assert "Wybierz co najmniej jeden" in texts_of(calls)
    assert await rows(bot, "SELECT * FROM broadcasts") == []


async def test_admin_reaches_every_subscriber_and_linked_groups(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(ADMIN)
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["environment"])
    await bot.onboard(TgUser(id=4445))  # no sector: not a subscriber
    await bot.send(ADMIN, "/link_group economy", chat_id=-100900)
    await bot.send(ADMIN, "/broadcast")
    await press(bot, ADMIN, "everyone")
    await press(bot, ADMIN, "next")
    calls = await write(bot, ADMIN, text="Hello all")
    assert "It will reach <b>2</b> people. Also 1 sector group." in texts_of(calls)
    await press(bot, ADMIN, "now")
    await press(bot, ADMIN, "confirm")
    sent = sends(await bot.dispatch())
    assert sorted(c.chat_id or 0 for c in sent) == [-100900, anna.id, john.id]
    by_chat = {c.chat_id: c.text for c in sent}
    assert by_chat[john.id] == "📣 <b>Coordinating team</b>\n\nHello all"
    assert by_chat[anna.id] == "📣 <b>Zespół koordynacyjny</b>\n\nHello all"
    assert by_chat[-100900] == by_chat[anna.id]  # groups: the default language


async def test_long_text_is_split_at_paragraphs_or_refused_with_the_limit(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await draft(bot)
    too_long = "x" * 4100
    calls = await write(bot, MOD, text=too_long)
    assert "więcej niż" in texts_of(calls)
    assert "4084 znaki" in texts_of(calls)
    calls = await write(bot, MOD, text="\n\n".join(["y" * 3000] * 5))
    assert "Limity: wiadomości – 4, znaków w jednej wiadomości – 4096." in texts_of(calls)
    # A bold spanning a blank line is never cut: the entity covers both paragraphs.
    calls = await write(
        bot,
        MOD,
        text="\n\n".join(["a" * 2000, "b" * 2000, "c" * 3000]),
        entities=[{"type": "bold", "offset": 0, "length": 4002}],
    )
    preview = [c.text for c in calls if c.method == "sendMessage"]
    parts = [text for text in preview if "aaa" in text or "bbb" in text or "ccc" in text]
    assert len(parts) == 2, [len(p) for p in parts]
    assert parts[0].count("<b>") == parts[0].count("</b>") == 2  # header and the bold
    assert parts[1] == "c" * 3000
    assert all(service.visible_length(p) <= 4096 for p in parts)
    await press(bot, MOD, "now")
    await press(bot, MOD, "confirm")
    sent = [c.text for c in sends(await bot.dispatch())]
    assert sent == parts  # recipients get exactly the preview, in order


async def test_photo_with_caption_and_too_large_attachments(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await draft(bot)
    big = {"file_id": "big", "file_unique_id": "b", "width": 9, "height": 9}
    calls = await write(bot, MOD, photo=[{**big, "file_size": 11 * 1024 * 1024}])
    assert "najwyżej 10 MB" in texts_of(calls)
    document = {"file_id": "doc", "file_unique_id": "d", "file_size": 51 * 1024 * 1024}
    calls = await write(bot, MOD, document=document)
    assert "najwyżej 50 MB" in texts_of(calls)
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
        {"file_id": "large", "file_unique_id": "l", "width": 900, "height": 900, "file_size": 9},
    ]
    calls = await write(
        bot,
        MOD,
        photo=photo,
        caption="Plakat <wydarzenia>",
        caption_entities=[{"type": "italic", "offset": 0, "length": 6}],
    )
    preview = [c for c in calls if c.method == "sendPhoto"]
    assert len(preview) == 1
    assert preview[0].params["photo"] == "large"
    assert "<i>Plakat</i> &lt;wydarzenia&gt;" in preview[0].params["caption"]
    await press(bot, MOD, "now")
    await press(bot, MOD, "confirm")
    sent = sends(await bot.dispatch())
    assert [(c.method, c.chat_id) for c in sent] == [("sendPhoto", anna.id)]
    assert sent[0].params["caption"] == preview[0].params["caption"]


async def test_scheduled_broadcast_goes_at_its_time_or_is_cancelled(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await draft(bot)
    await write(bot, MOD, text="Później")
    calls = await press(bot, MOD, "later")
    assert "(czas polski)" in texts_of(calls)  # the zone as people name it
    calls = await bot.send(MOD, "2026-11-25 12:00")  # in the past
    assert "To nie jest przyszła data" in texts_of(calls)
    calls = await bot.send(MOD, "2026-11-26 13:30")  # 12:30 UTC
    assert "Wysłać komunikat w czwartek, 26 listopada 2026, o 13:30?" in texts_of(calls)
    await press(bot, MOD, "confirm")
    assert sends(await bot.dispatch()) == []
    bot.clock.advance(hours=2, minutes=30)
    assert [c.chat_id for c in sends(await bot.dispatch())] == [anna.id]
    # A second one, cancelled before its time: nothing goes out.
    await draft(bot)
    await write(bot, MOD, text="Nigdy")
    await press(bot, MOD, "later")
    await bot.send(MOD, "27.11 10:00")  # the formats /new_meeting reads
    await press(bot, MOD, "confirm")
    calls = await bot.send(MOD, "/broadcasts")
    assert "zaplanowany" in texts_of(calls)
    assert "wysłany" in texts_of(calls)
    assert "wysłane 1" in texts_of(calls)
    assert [data for _, data in calls[-1].buttons()] == ["bc:cancel:2"]
    calls = await press(bot, MOD, "cancel", id=2)
    assert "anulowany" in texts_of(calls)
    bot.clock.advance(days=2)
    assert sends(await bot.dispatch()) == []
    states = await rows(bot, "SELECT state FROM announcements WHERE subject = 'broadcast:2'")
    assert states == [("cancelled",)]
    audit = await rows(bot, "SELECT action, target FROM audit_log WHERE action LIKE 'broadcast%'")
    assert ("broadcast.cancel", "broadcast:2") in audit


async def test_cancel_a_running_broadcast_expires_its_pending_copies(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await draft(bot)
    await write(bot, MOD, text="Teraz")
    await press(bot, MOD, "now")
    await press(bot, MOD, "confirm")
    now = bot.clock.now

    engine = bot.app.bot_data["engine"]

    def fan_out_only(unit: Unit) -> None:
        for announcement in unit.delivery.list_due_announcements(now, 10):
            engine.fan_out(unit, announcement, now)

    await db_of(bot).run(fan_out_only)
    calls = await bot.send(MOD, "/broadcasts")
    assert "oczekujące 2" in texts_of(calls)
    await press(bot, MOD, "cancel", id=1)
    assert sends(await bot.dispatch()) == []
    calls = await bot.send(MOD, "/broadcasts")
    assert "anulowany" in texts_of(calls)
    assert "wygasłe 2" in texts_of(calls)
    assert calls[-1].buttons() == []


async def test_forged_cancel_for_another_sectors_broadcast_has_no_effect(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await moderator(bot, OTHER_MOD, "education")
    await bot.onboard(anna, sectors=["culture"])
    await draft(bot)
    await write(bot, MOD, text="Jutro")
    await press(bot, MOD, "later")
    await bot.send(MOD, "27.11 10:00")  # the formats /new_meeting reads
    await press(bot, MOD, "confirm")
    calls = await bot.send(OTHER_MOD, "/broadcasts")
    assert "No broadcasts yet" in texts_of(calls)
    calls = await bot.click(OTHER_MOD, "bc:cancel:1")  # forged: not on their screen
    assert "not allowed" in texts_of(calls)
    calls = await bot.click(OTHER_MOD, "bc:cancel:99")
    assert texts_of(calls)
    bot.clock.advance(days=2)
    assert [c.chat_id for c in sends(await bot.dispatch())] == [anna.id]
    # A revoked moderator's old button is refused too.
    await db_of(bot).run(raw_sql(lambda conn: conn.execute("DELETE FROM moderators")))
    calls = await bot.click(MOD, "bc:cancel:1")
    assert "Nie masz uprawnień" in texts_of(calls)


async def test_progress_message_is_edited_in_place_at_most_every_few_seconds(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await bot.onboard(john, sectors=["culture"])
    await draft(bot)
    await write(bot, MOD, text="Postęp")
    await press(bot, MOD, "now")
    confirming = bot.showing(MOD, bot.label(MOD, "broadcasts.button-confirm")).message_id
    calls = await press(bot, MOD, "confirm")
    edit = [c for c in calls if c.method == "editMessageText"]
    assert "jest wysyłany" in edit[0].text
    # Sent at once after confirming: the last edit was less than 3 s ago, no edit yet.
    bot.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    calls = await bot.dispatch()
    assert [c for c in calls if c.method == "editMessageText"] == []
    bot.clock.advance(seconds=3)
    calls = await bot.dispatch()
    edits = [c for c in calls if c.method == "editMessageText"]
    assert len(edits) == 1
    assert edits[0].params["message_id"] == confirming
    assert edits[0].chat_id == MOD.id
    assert "wysłane 1 · nieudane 0 · zablokowane 1" in edits[0].text
    assert "oczekujące 0" in edits[0].text
    bot.clock.advance(seconds=10)
    calls = await bot.dispatch()
    assert [c for c in calls if c.method == "editMessageText"] == []  # final: no more edits


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("a\n\nb", ["a\n\nb"]),
        ("<pre>x\n\ny</pre>", ["<pre>x\n\ny</pre>"]),
    ],
)
def test_split_keeps_small_texts_and_never_cuts_inside_a_tag(body: str, parts: list[str]) -> None:
    assert service.split(body, 4096, 4096) == parts


def test_split_counts_what_telegram_counts() -> None:
    # An escaped character is one character; an emoji is two UTF-16 units.
    assert service.visible_length("<b>&lt;</b>") == 1
    assert service.visible_length("😀") == 2
    body = "&amp;" * 10 + "\n\n" + "z" * 5
    assert service.split(body, 12, 12) == ["&amp;" * 10, "z" * 5]
    assert json.dumps(service.split("", 10, 10)) == "[]"


def test_fanout_bench_runs_and_prints_its_figures() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "bench.fanout", "--subscribers", "200", "--repeat", "1"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "to 200 subscribers" in done.stdout
    assert "plain executemany" in done.stdout
    assert "ratio fan-out / plain executemany" in done.stdout


async def test_cancel_wrong_input_and_group_chats(bot: BotDriver, anna: TgUser) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    calls = await bot.send(MOD, "/broadcast", chat_id=-100777)
    assert "tylko w rozmowie prywatnej" in texts_of(calls)
    await bot.send(MOD, "/broadcast")
    calls = await bot.send(MOD, "tekst zamiast przycisku")
    assert "Użyj przycisków" in texts_of(calls)
    await draft(bot)
    calls = await write(
        bot,
        MOD,
        sticker={
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        },
    )
    assert "Wyślij tekst albo zdjęcie" in texts_of(calls)
    await write(bot, MOD, text="Treść")
    calls = await bot.click(MOD, "bc:confirm")  # not yet: the preview step has no confirm
    assert await rows(bot, "SELECT * FROM broadcasts") == []
    calls = await bot.send(MOD, "/cancel")
    assert "nic nie zostało wysłane" in texts_of(calls)
    assert await rows(bot, "SELECT * FROM broadcasts") == []
    assert sends(await bot.dispatch()) == []


def test_parse_when_refuses_a_time_skipped_by_summer_time() -> None:
    from zoneinfo import ZoneInfo

    from tests.harness import Clock

    zone = ZoneInfo("Europe/Warsaw")
    now = Clock().now
    with pytest.raises(service.BadTime):
        service.parse_when("2027-03-28 02:30", zone, now)
    with pytest.raises(service.BadTime):
        service.parse_when("2027-12-01 10:00", zone, now)  # beyond 90 days
    with pytest.raises(service.BadTime):
        service.parse_when("jutro", zone, now)
    assert service.parse_when("2027-01-10 09:15", zone, now).hour == 8


async def test_a_caption_too_long_for_telegram_follows_the_document_as_a_message(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await draft(bot)
    document = {"file_id": "doc-1", "file_unique_id": "d1", "file_size": 2048}
    caption = "Regulamin & zasady " + "r" * 1100
    calls = await write(bot, MOD, document=document, caption=caption)
    preview = [(c.method, c.params.get("caption", c.text)) for c in sends(calls)]
    assert preview[1] == ("sendDocument", "📣 <b>Kultura</b>")
    assert preview[2] == ("sendMessage", "Regulamin &amp; zasady " + "r" * 1100)
    await press(bot, MOD, "now")
    await press(bot, MOD, "confirm")
    sent = [(c.method, c.params.get("document")) for c in sends(await bot.dispatch())]
    assert sent == [("sendDocument", "doc-1"), ("sendMessage", None)]


async def test_broadcast_steps_edit_in_place_and_leave_no_live_buttons(bot: BotDriver) -> None:
    await moderator(bot)
    await bot.send(MOD, "/broadcast")
    # Text where a button is expected: one message says so and asks again, with its buttons;
    # the first question loses its own, so only one set stays live.
    calls = await bot.send(MOD, "kultura")
    assert len(new_messages(calls)) == 1
    assert "Użyj przycisków" in texts_of(calls)
    assert "Do kogo wysłać komunikat?" in texts_of(calls)
    assert len(live_buttons(bot, MOD, "bc:")) == 1
    await bot.press(MOD, await team_name(bot, MOD, await team_id(bot, "culture")))
    next_label = bot.label(MOD, "broadcasts.button-next")
    pressed = bot.showing(MOD, next_label)
    calls = await bot.press(MOD, next_label)
    assert edited_in_place(calls, pressed)  # the audience question becomes the next one
    assert "Wyślij treść komunikatu" in texts_of(calls)
    calls = await write(
        bot,
        MOD,
        sticker={
            "file_id": "s",
            "file_unique_id": "s",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        },
    )
    assert len(new_messages(calls)) == 1  # the error and the question, together
    assert "Wyślij tekst albo zdjęcie" in texts_of(calls)
    assert "Wyślij treść komunikatu" in texts_of(calls)
    await write(bot, MOD, text="Treść")
    later = bot.label(MOD, "broadcasts.button-later")
    pressed = bot.showing(MOD, later)
    calls = await bot.press(MOD, later)
    assert edited_in_place(calls, pressed)
    assert "Kiedy?" in texts_of(calls)
    calls = await bot.send(MOD, "2026-11-25 12:00")  # in the past
    assert len(new_messages(calls)) == 1
    assert "To nie jest przyszła data" in texts_of(calls)
    assert "Kiedy?" in texts_of(calls)
    calls = await bot.send(MOD, "2026-11-26 13:30")
    confirmation = new_messages(calls)[-1].message_id
    assert [m.message_id for m in live_buttons(bot, MOD, "bc:")] == [confirmation]
    await bot.send(MOD, "/cancel")
    assert not live_buttons(bot, MOD, "bc:")

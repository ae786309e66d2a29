"""/organisation: registering, editing and leaving an NGO, as a user sees it; its storage rules."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.errors import ConsentRequired
from bot.i18n import PLACEHOLDER, load_catalog
from bot.services import organisations as service
from bot.services.organisations import OrganisationDraft
from storage.database import Database
from storage.unit import Unit
from tests.conftest import ADMIN_ID
from tests.fakes import Call
from tests.harness import (
    BotDriver,
    Clock,
    TgUser,
    edited_in_place,
    live_buttons,
    new_messages,
    texts_of,
)
from tests.meeting_factory import files_driver, uploaded
from tests.sql import raw_sql
from tests.test_postulates_helpers import submit, team_id, team_name

NAME_PL = "Fundacja Dobrych Sąsiadów"
KRS = "0000123456"
NIP = "1234563218"
REGON = "123456785"


async def press(bot: BotDriver, user: TgUser, key: str) -> list[Call]:
    """Press the button labelled `organisation.button-<key>` (on the newest message showing it)."""
    return await bot.press(user, bot.label(user, f"organisation.button-{key}"))


async def forge(bot: BotDriver, user: TgUser, data: str) -> list[Call]:
    """A forged press: `data` on the latest message the bot sent, whatever it shows."""
    return await bot.click(user, data, message_id=bot.api.next_message_id)


async def query(bot: BotDriver, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db: Database = bot.app.bot_data["deps"].db

    def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]

    return await db.run(raw_sql(read))


async def organisations(bot: BotDriver) -> list[tuple[Any, ...]]:
    return await query(
        bot,
        "SELECT id, name, register_type, krs, register_name, nip, regon "
        "FROM organisations ORDER BY id",
    )


async def represented(bot: BotDriver, user: TgUser) -> int | None:
    [(organisation_id,)] = await query(
        bot, "SELECT organisation_id FROM users WHERE id = ?", user.id
    )
    return None if organisation_id is None else int(organisation_id)


def sent(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage"]


def shown(calls: list[Call]) -> Call:
    """The step the calls put on screen: a new message, or the pressed one edited."""
    return [c for c in calls if c.method in ("sendMessage", "editMessageText")][-1]


def alert(calls: list[Call]) -> str:
    """What the user sees of the press: Telegram shows the first answer and refuses others."""
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    return str(answer.params.get("text", ""))


async def register(
    bot: BotDriver,
    user: TgUser,
    name: str = NAME_PL,
    kind: str = "krs",
    number: str = KRS,
    nip: str | None = None,
    regon: str | None = None,
) -> list[Call]:
    """Go through the whole conversation and press Save; return what Save caused."""
    calls = await bot.send(user, "/organisation")
    if bot.label(user, "organisation.button-edit") in [label for label, _ in calls[-1].buttons()]:
        await press(bot, user, "edit")  # already represents one: edit it
    await bot.send(user, name)
    await press(bot, user, kind)
    if kind != "none":
        await bot.send(user, number)
    if nip is None:
        await press(bot, user, "skip")
    else:
        await bot.send(user, nip)
    if regon is None:
        await press(bot, user, "skip")
    else:
        await bot.send(user, regon)
    return await press(bot, user, "save")


# The happy paths


async def test_register_in_polish(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/organisation")
    body = texts_of(sent(calls))
    assert "Nie reprezentujesz jeszcze żadnej organizacji" in body
    assert "Nazwa organizacji</b> (od 2 do 200 znaków)" in body

    calls = await bot.send(anna, NAME_PL)
    [question] = sent(calls)
    assert "W jakim rejestrze" in question.text
    assert question.buttons() == [
        ("KRS (Krajowy Rejestr Sądowy)", "org:type:krs"),
        ("Inny rejestr lub ewidencja", "org:type:other"),
        ("Brak rejestru", "org:type:none"),
    ]

    pressed = bot.showing(anna, bot.label(anna, "organisation.button-krs"))
    calls = await press(bot, anna, "krs")
    assert edited_in_place(calls, pressed)  # the question becomes the next one
    assert "dokładnie 10 cyfr" in texts_of(calls)

    calls = await bot.send(anna, KRS)
    [question] = sent(calls)
    assert "<b>NIP</b> (10 cyfr)" in question.text
    assert question.buttons() == [("Pomiń", "org:skip")]

    calls = await bot.send(anna, "PL 123-456-32-18")
    assert "<b>REGON</b> (9 lub 14 cyfr)" in texts_of(sent(calls))

    calls = await bot.send(anna, REGON)
    [summary] = sent(calls)
    assert "Sprawdź dane przed zapisaniem" in summary.text
    assert f"<b>{NAME_PL}</b>\nKRS: {KRS}\nNIP: {NIP}\nREGON: {REGON}" in summary.text
    assert summary.buttons() == [("✅ Zapisz", "org:save"), ("✖️ Anuluj", "org:cancel")]
    assert await organisations(bot) == []  # nothing is stored before Save

    calls = await press(bot, anna, "save")
    card = shown(calls)  # the summary becomes the card
    assert not sent(calls)
    assert "Zapisano" in card.text
    assert "W bocie reprezentuje ją 1 osoba." in card.text
    [(org_id, *row)] = await organisations(bot)
    assert row == [NAME_PL, "krs", KRS, None, NIP, REGON]
    assert await represented(bot, anna) == org_id
    assert card.buttons() == [
        ("✏️ Edytuj", "org:edit"),
        ("Przestań reprezentować", f"org:leave:{org_id}"),
    ]


async def test_register_in_english_with_another_register(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john)
    calls = await bot.send(john, "/organisation")
    assert "Name of the organisation</b> (2 to 200 characters)" in texts_of(calls)
    await bot.send(john, "Friends of the Park")
    calls = await press(bot, john, "other")
    assert "Name of the register" in texts_of(calls)
    await bot.send(john, "Register of ordinary associations, no. 12")
    calls = await press(bot, john, "skip")
    assert "REGON" in texts_of(calls)
    calls = await press(bot, john, "skip")
    assert "Register: Register of ordinary associations, no. 12\nNIP: —\nREGON: —" in texts_of(
        calls
    )
    calls = await press(bot, john, "save")
    assert "Saved." in texts_of(calls)
    assert "1 person represents it in the bot." in texts_of(calls)
    [(_, *row)] = await organisations(bot)
    assert row == [
        "Friends of the Park",
        "other",
        None,
        "Register of ordinary associations, no. 12",
        None,
        None,
    ]


async def test_no_register_skips_the_number(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john)
    await bot.send(john, "/organisation")
    await bot.send(john, "Neighbours")
    calls = await press(bot, john, "none")
    assert "<b>NIP</b>" in texts_of(calls)
    await register(bot, john, name="Neighbours", kind="none", regon="12345678512347")
    [(_, *row)] = await organisations(bot)
    assert row == ["Neighbours", "none", None, None, None, "12345678512347"]


async def test_krs_keeps_its_leading_zeros(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await register(bot, anna, number="0000000042")
    assert "KRS: 0000000042" in texts_of(calls)
    [(_, _, _, krs, *_)] = await organisations(bot)
    assert krs == "0000000042"
    calls = await bot.send(anna, "/organisation")
    assert "KRS: 0000000042" in texts_of(calls)


async def test_same_krs_asks_to_join_and_changes_nothing(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    await register(bot, anna, name="Fundacja A", nip=NIP, regon=REGON)
    before = await organisations(bot)
    await walk(bot, john, "nip")
    await press(bot, john, "skip")
    calls = await press(bot, john, "skip")
    assert "already registered in the bot" in texts_of(calls)
    assert "will not change" in texts_of(calls)
    calls = await register(bot, john, name="Foundation A")
    assert "Request sent." in texts_of(calls)
    assert await organisations(bot) == before  # joining never edits the organisation
    assert await represented(bot, john) is None
    calls = await bot.send(anna, "/organisation")
    assert "W bocie reprezentuje ją 1 osoba." in texts_of(calls)


async def test_concurrent_registrations_of_a_new_krs_end_in_one_organisation(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    for user in (anna, john):
        await bot.send(user, "/organisation")
        await bot.send(user, f"Org of {user.first_name}")
        await press(bot, user, "krs")
        await bot.send(user, KRS)
        await press(bot, user, "skip")
        await press(bot, user, "skip")
    # Both press Save at the same moment.
    await asyncio.gather(press(bot, anna, "save"), press(bot, john, "save"))
    orgs = await organisations(bot)
    assert len(orgs) == 1
    # The first Save registers it; the second only asks to join.
    linked = {await represented(bot, anna), await represented(bot, john)}
    assert linked == {orgs[0][0], None}


# Editing and leaving


async def test_card_then_edit_in_place(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await register(bot, anna, nip=NIP, regon=REGON)
    [(org_id, *_)] = await organisations(bot)

    calls = await bot.send(anna, "/organisation")
    [card] = sent(calls)
    assert "Reprezentujesz tę organizację" in card.text
    assert f"<b>{NAME_PL}</b>\nKRS: {KRS}\nNIP: {NIP}\nREGON: {REGON}" in card.text

    pressed = bot.showing(anna, bot.label(anna, "organisation.button-edit"))
    calls = await press(bot, anna, "edit")
    assert edited_in_place(calls, pressed)  # the card becomes the first question
    body = texts_of(calls)
    assert "Edytujesz dane organizacji" in body
    assert f"Obecnie: {NAME_PL}" in body
    assert ("Bez zmian", "org:keep") in shown(calls).buttons()

    calls = await bot.send(anna, "Fundacja Nowa")
    assert "Obecnie: KRS (Krajowy Rejestr Sądowy)" in texts_of(calls)
    await press(bot, anna, "krs")
    calls = await press(bot, anna, "keep")  # KRS unchanged
    assert f"Obecnie: {NIP}" in texts_of(calls)
    calls = await press(bot, anna, "keep")  # NIP unchanged
    assert shown(calls).buttons() == [("Bez zmian", "org:keep"), ("Usuń", "org:skip")]
    calls = await press(bot, anna, "remove")  # REGON removed
    assert f"<b>Fundacja Nowa</b>\nKRS: {KRS}\nNIP: {NIP}\nREGON: —" in texts_of(calls)
    assert "już zarejestrowany" not in texts_of(calls)  # it is her own organisation
    assert (await organisations(bot))[0][1] == NAME_PL  # still nothing stored
    await press(bot, anna, "save")
    assert await organisations(bot) == [(org_id, "Fundacja Nowa", "krs", KRS, None, NIP, None)]


async def test_correcting_the_krs_of_my_own_organisation_keeps_it(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await register(bot, anna)
    [(org_id, *_)] = await organisations(bot)
    await press(bot, anna, "edit")
    await press(bot, anna, "keep")
    await press(bot, anna, "krs")
    await bot.send(anna, "0000654321")
    await press(bot, anna, "skip")
    await press(bot, anna, "skip")
    await press(bot, anna, "save")
    assert await organisations(bot) == [(org_id, NAME_PL, "krs", "0000654321", None, None, None)]


async def test_stop_representing_after_confirmation(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await register(bot, anna)
    [(org_id, *_)] = await organisations(bot)
    calls = await press(bot, anna, "leave")
    [question] = sent(calls)
    assert f"przestać reprezentować organizację <b>{NAME_PL}</b>" in question.text
    assert question.buttons() == [
        ("Tak, przestań reprezentować", f"org:leave-yes:{org_id}"),
        ("Nie", "org:leave-no"),
    ]
    calls = await press(bot, anna, "leave-no")
    assert "Nic się nie zmieniło." in texts_of(calls)
    assert await represented(bot, anna) == org_id

    await press(bot, anna, "leave")  # the card's button again
    calls = await press(bot, anna, "leave-yes")
    assert f"Nie reprezentujesz już organizacji <b>{NAME_PL}</b>." in texts_of(calls)
    assert await represented(bot, anna) is None
    # Kept on record (postulates may refer to it), but represented by nobody.
    assert [row[0] for row in await organisations(bot)] == [org_id]
    assert await query(bot, "SELECT count(*) FROM users WHERE organisation_id = ?", org_id) == [
        (0,)
    ]
    # Pressing it again (its buttons are gone: a stale press) or the card's old button
    # changes nothing.
    calls = await bot.click(anna, f"org:leave-yes:{org_id}")
    assert alert(calls) == "Nie reprezentujesz już tej organizacji."
    calls = await press(bot, anna, "leave")
    assert alert(calls) == "Ten przycisk jest już nieaktualny."
    calls = await bot.send(anna, "/organisation")
    assert "Nie reprezentujesz jeszcze" in texts_of(calls)
    # Nobody represents it now: typing its KRS again is a claim an admin must approve.
    await bot.send(anna, "/cancel")
    calls = await register(bot, anna, name="Powrót")
    assert "Wysłano prośbę" in texts_of(calls)
    assert await organisations(bot) == [(org_id, NAME_PL, "krs", KRS, None, None, None)]
    assert await represented(bot, anna) is None


async def test_leaving_a_shared_organisation_keeps_it_for_the_others(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    await register(bot, anna)
    await register(bot, john)
    await bot.dispatch()
    await bot.press(anna, "✅ Przyjmij")
    [(org_id, *_)] = await organisations(bot)
    # John cannot remove Anna's link with a forged id, nor leave an organisation twice.
    calls = await bot.click(john, f"org:leave-yes:{org_id + 1}")
    assert alert(calls) == "You no longer represent this organisation."
    await bot.send(john, "/organisation")
    await press(bot, john, "leave")
    await press(bot, john, "leave-yes")
    assert await represented(bot, john) is None
    assert await represented(bot, anna) == org_id
    calls = await bot.send(anna, "/organisation")
    assert "W bocie reprezentuje ją 1 osoba." in texts_of(calls)


# Bad input, /cancel, timeout


async def test_every_bad_input_re_asks_the_same_step_and_stores_nothing(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/organisation")
    cases = [
        ("A", "Za krótko: potrzeba co najmniej 2 znaki (jest 1).", "Nazwa organizacji"),
        ("   ", "Za krótko", "Nazwa organizacji"),
        ("x" * 201, "Za długo: najwyżej 200 znaków (jest 201).", "Nazwa organizacji"),
    ]
    for typed, error, question in cases:
        calls = await bot.send(anna, typed)
        assert error in texts_of(calls)
        assert question in texts_of(calls)
    await bot.send(anna, "x" * 200)  # exactly the limit is fine

    calls = await bot.send(anna, "KRS")  # text where a button is expected
    [again] = sent(calls)
    assert "Wybierz jeden z przycisków poniżej." in again.text
    assert len(again.buttons()) == 3
    await press(bot, anna, "krs")

    for typed in ("12345", "00001234567", "000012345a", "０００００００００１"):
        calls = await bot.send(anna, typed)
        assert "Numer KRS ma dokładnie 10 cyfr" in texts_of(calls)
        assert "<b>Numer KRS</b>" in texts_of(calls)
    await bot.send(anna, "0000 123 456")  # spaces are ignored

    calls = await bot.send(anna, "1234563219")
    assert "błędną cyfrę kontrolną" in texts_of(calls)
    assert "<b>NIP</b>" in texts_of(calls)
    calls = await bot.send(anna, "12345")
    assert "NIP ma 10 cyfr" in texts_of(calls)
    await bot.send(anna, NIP)

    calls = await bot.send(anna, "123456786")
    assert "Ten REGON ma błędną cyfrę kontrolną" in texts_of(calls)
    calls = await bot.send(anna, "1234")
    assert "REGON ma 9 lub 14 cyfr." in texts_of(calls)
    calls = await bot.send(anna, REGON)
    assert "Sprawdź dane" in texts_of(calls)

    calls = await bot.send(anna, "zapisz")  # text where Save/Cancel is expected
    assert "Wybierz jeden z przycisków" in texts_of(calls)
    assert ("✅ Zapisz", "org:save") in sent(calls)[0].buttons()
    assert await organisations(bot) == []
    await press(bot, anna, "save")
    [(_, name, _, krs, _, nip, regon)] = await organisations(bot)
    assert (name, krs, nip, regon) == ("x" * 200, KRS, NIP, REGON)


async def test_english_errors_name_the_limit(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john)
    await bot.send(john, "/organisation")
    calls = await bot.send(john, "y" * 250)
    assert "Too long: at most 200 characters (you sent 250)." in texts_of(calls)
    await bot.send(john, "Friends")
    await press(bot, john, "other")
    calls = await bot.send(john, "R")
    assert "Too short: at least 2 characters are needed (you sent 1)." in texts_of(calls)
    assert "Name of the register" in texts_of(calls)


# How to reach each step; then /cancel there must store nothing.
STEPS: dict[str, list[tuple[str, str]]] = {
    "name": [],
    "type": [("send", NAME_PL)],
    "krs": [("send", NAME_PL), ("press", "krs")],
    "register": [("send", NAME_PL), ("press", "other")],
    "nip": [("send", NAME_PL), ("press", "krs"), ("send", KRS)],
    "regon": [("send", NAME_PL), ("press", "none"), ("send", NIP)],
    "confirm": [("send", NAME_PL), ("press", "none"), ("send", NIP), ("send", REGON)],
}


async def walk(bot: BotDriver, user: TgUser, step: str) -> None:
    await bot.send(user, "/organisation")
    for action, value in STEPS[step]:
        if action == "send":
            await bot.send(user, value)
        else:
            await press(bot, user, value)


@pytest.mark.parametrize("step", list(STEPS))
async def test_cancel_at_each_step_stores_nothing(bot: BotDriver, anna: TgUser, step: str) -> None:
    await bot.onboard(anna)
    await walk(bot, anna, step)
    calls = await bot.send(anna, "/cancel")
    # (after an edit without text: the last question's buttons are removed)
    assert texts_of(calls).strip() == "Przerwano – niczego nie zapisałem."
    assert not live_buttons(bot, anna, "org:")
    assert await organisations(bot) == []
    assert await represented(bot, anna) is None
    # The conversation is over: text is no longer taken as an answer.
    calls = await bot.send(anna, "0000123456")
    assert texts_of(calls) == "Nie rozumiem. Lista poleceń: /help"


async def test_cancel_button_on_the_summary(bot: BotDriver, john: TgUser) -> None:
    await bot.onboard(john)
    await walk(bot, john, "confirm")
    calls = await press(bot, john, "cancel")
    assert "Cancelled – nothing was saved." in texts_of(calls)
    assert await organisations(bot) == []
    calls = await forge(bot, john, "org:save")  # the old summary's Save, gone from the screen
    assert alert(calls) == "This button is no longer valid."
    assert await organisations(bot) == []


async def test_cancel_while_editing_keeps_the_organisation(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await register(bot, anna)
    before = await organisations(bot)
    await press(bot, anna, "edit")
    await bot.send(anna, "Inna nazwa")
    await bot.send(anna, "/cancel")
    assert await organisations(bot) == before


async def test_timeout_ends_the_conversation(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await walk(bot, anna, "nip")
    bot.clock.advance(minutes=29, seconds=59)
    assert await bot.tick() == []  # still within its 30 minutes
    bot.clock.advance(seconds=1)
    calls = await bot.tick()
    assert [c.params["chat_id"] for c in calls if c.method == "sendMessage"] == [anna.id]
    assert "czekała na odpowiedź zbyt długo" in texts_of(calls)
    calls = await bot.send(anna, NIP)
    assert texts_of(calls) == "Nie rozumiem. Lista poleceń: /help"
    assert await organisations(bot) == []


# Trust


async def test_html_in_the_name_is_escaped(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    name = "<b>Fundacja</b> & <a href='x'>Co</a>"
    calls = await register(bot, anna, name=name, kind="other", number="<i>Rejestr</i> 1")
    escaped = "&lt;b&gt;Fundacja&lt;/b&gt; &amp; &lt;a href='x'&gt;Co&lt;/a&gt;"
    assert f"<b>{escaped}</b>" in texts_of(calls)
    assert "Rejestr: &lt;i&gt;Rejestr&lt;/i&gt; 1" in texts_of(calls)
    [(_, stored, *_)] = await organisations(bot)
    assert stored == name  # stored as typed, escaped only when shown
    calls = await press(bot, anna, "edit")
    assert f"Obecnie: {escaped}" in texts_of(calls)
    assert f"<b>{escaped}</b>" in texts_of(calls)  # the edit intro names it too


async def test_group_chat_is_refused_without_personal_data(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await register(bot, anna)
    calls = await bot.send(anna, "/organisation", chat_id=-100123)
    [refusal] = sent(calls)
    assert refusal.chat_id == -100123
    assert refusal.text == "To polecenie działa tylko w rozmowie prywatnej ze mną."
    assert NAME_PL not in texts_of(calls)
    assert KRS not in texts_of(calls)
    calls = await bot.click(anna, "org:edit", chat_id=-100123)
    assert alert(calls) == "To polecenie działa tylko w rozmowie prywatnej ze mną."
    assert sent(calls) == []


async def test_before_consent_refused(bot: BotDriver, anna: TgUser) -> None:
    calls = await bot.send(anna, "/organisation")
    assert texts_of(calls) == "Najpierw wyraź zgodę na przetwarzanie danych: /start"
    calls = await bot.send(anna, NAME_PL)  # no conversation was started
    assert texts_of(calls) == "Nie rozumiem. Lista poleceń: /help"
    calls = await bot.click(anna, "org:edit")  # forged: no card was shown
    assert alert(calls) == "Najpierw wyraź zgodę na przetwarzanie danych: /start"
    assert await query(bot, "SELECT count(*) FROM organisations") == [(0,)]


async def test_forged_buttons_change_nothing_and_are_answered(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/organisation")
    stale = "Ten przycisk jest już nieaktualny."
    for data in ("org:save", "org:keep", "org:skip", "org:type:krs"):  # wrong step
        calls = await forge(bot, anna, data)
        assert alert(calls) == stale
        assert sent(calls) == []
    await bot.send(anna, NAME_PL)
    for data in ("org:type:bogus", "org:type:", "org:type:krs:1", "org:bogus"):
        calls = await forge(bot, anna, data)
        assert alert(calls) == stale
        assert sent(calls) == []
    # A real choice pressed on an older message is not an answer either.
    calls = await bot.click(anna, "org:type:krs", message_id=bot.api.next_message_id - 1)
    assert alert(calls) == stale
    calls = await press(bot, anna, "krs")  # the conversation is still at this step
    assert "<b>Numer KRS</b>" in texts_of(calls)
    calls = await forge(bot, anna, "org:skip")  # KRS is required: no Skip is shown
    assert alert(calls) == stale
    assert await organisations(bot) == []
    # Outside any conversation, too.
    await bot.send(anna, "/cancel")
    calls = await bot.click(anna, "org:save")
    assert alert(calls) == stale
    calls = await bot.click(anna, "org:leave-yes:abc")
    assert alert(calls) == stale
    assert await organisations(bot) == []


# Storage and service rules


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "org.sqlite3")
    try:
        yield database
    finally:
        await database.close()


NOW = Clock().now


async def add_consented_user(db: Database, user_id: int) -> None:
    def add(conn: sqlite3.Connection) -> None:
        Unit(conn).users.add_user(user_id, "pl", NOW)
        Unit(conn).users.update_consent(user_id, 1, NOW)

    await db.run(raw_sql(add))


def _insert(conn: sqlite3.Connection, /, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "name": "Org",
        "register_type": "krs",
        "krs": KRS,
        "register_name": None,
        "nip": None,
        "regon": None,
    }
    fields.update(overrides)
    Unit(conn).organisations.add_organisation(**fields, now=NOW)


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": "O"},
        {"name": "x" * 201},
        {"krs": "123456789"},
        {"krs": "000012345a"},
        {"krs": None},  # register type KRS needs a number
        {"register_type": "none"},  # a KRS number needs register type KRS
        {"register_type": "other", "krs": None},  # another register needs its name
        {"register_type": "none", "krs": None, "register_name": "Rejestr"},
        {"register_type": "bogus", "krs": None},
        {"nip": "123456321"},
        {"nip": "PL12345632"},
        {"regon": "1234567890"},
    ],
)
async def test_table_constraints(db: Database, overrides: dict[str, Any]) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(raw_sql(_insert), **overrides)


async def test_a_second_insert_of_a_krs_is_refused_not_merged(db: Database) -> None:
    await db.run(raw_sql(_insert), name="First")
    with pytest.raises(sqlite3.IntegrityError):
        await db.run(raw_sql(_insert), name="Second", nip=NIP)
    rows = await db.run(
        raw_sql(lambda conn: conn.execute("SELECT name, nip FROM organisations").fetchall())
    )
    assert [tuple(row) for row in rows] == [("First", None)]


@pytest.mark.parametrize(
    ("draft", "error"),
    [
        (OrganisationDraft(name="O", register_type="none"), service.TooShort),
        (OrganisationDraft(name="Org", register_type="krs", krs="123"), service.InvalidKrs),
        (OrganisationDraft(name="Org", register_type="krs"), service.InvalidKrs),
        (OrganisationDraft(name="Org", register_type="other"), service.TooShort),
        (
            OrganisationDraft(name="Org", register_type="none", nip="1234563219"),
            service.InvalidNipChecksum,
        ),
        (
            OrganisationDraft(name="Org", register_type="none", regon="12"),
            service.InvalidRegonFormat,
        ),
    ],
)
async def test_service_raises_domain_errors_not_integrity_errors(
    db: Database, draft: OrganisationDraft, error: type[service.InvalidOrganisation]
) -> None:
    await add_consented_user(db, 1)
    with pytest.raises(error):
        await service.register_organisation(db, 1, draft, 1, NOW)
    assert await service.my_organisation(db, 1) is None


async def test_service_requires_consent(db: Database) -> None:
    await db.run(lambda unit: unit.users.add_user(5, "pl", NOW))
    draft = OrganisationDraft(name="Org", register_type="none")
    with pytest.raises(ConsentRequired):
        await service.register_organisation(db, 5, draft, 1, NOW)
    with pytest.raises(ConsentRequired):
        await service.register_organisation(db, 6, draft, 1, NOW)  # unknown user


async def test_service_concurrent_saves_of_one_new_krs(db: Database) -> None:
    for user_id in range(1, 6):
        await add_consented_user(db, user_id)
    results = await asyncio.gather(
        *(
            service.register_organisation(
                db,
                user_id,
                OrganisationDraft(name=f"Org {user_id}", register_type="krs", krs=KRS),
                1,
                NOW,
            )
            for user_id in range(1, 6)
        )
    )
    assert len({result.card.organisation.id for result in results}) == 1
    assert sorted(result.joined for result in results) == [False, True, True, True, True]
    mine = await service.my_organisation(db, 3)
    assert mine is not None
    assert mine.representatives == 1


async def test_service_stores_the_compact_forms(db: Database) -> None:
    await add_consented_user(db, 1)
    draft = OrganisationDraft(
        name="  Fundacja   Dobra  ",
        register_type="krs",
        krs=" 0000 000 001 ",
        nip="PL 123-456-32-18",
        regon="12345678512347",
    )
    registered = await service.register_organisation(db, 1, draft, 1, NOW)
    organisation = registered.card.organisation
    assert (organisation.name, organisation.krs, organisation.nip, organisation.regon) == (
        "Fundacja Dobra",
        "0000000001",
        NIP,
        "12345678512347",
    )


def test_both_languages_have_every_organisation_text_with_the_same_placeholders() -> None:
    catalogues = {language: load_catalog(language) for language in ("pl", "en")}
    keys = {
        language: {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue if m.id}
        for language, catalogue in catalogues.items()
    }
    mine = {key for key in keys["pl"] if key.startswith("organisation.")}
    assert len(mine) > 40
    assert mine == {key for key in keys["en"] if key.startswith("organisation.")}
    for key in mine:
        found = [
            set(PLACEHOLDER.findall(str(catalogues[language][key].string)))
            for language in ("pl", "en")
        ]
        assert found[0] == found[1], key


# Representatives: joining is a request the organisation's representatives (or an admin) decide

NOT_ALLOWED_PL = "Nie masz uprawnień do tej czynności."
NOT_ALLOWED_EN = "You are not allowed to do this."
WALKER = TgUser(id=1003, language_code="pl", first_name="Walker")
ADMIN = TgUser(id=ADMIN_ID, language_code="en", first_name="Admin")


async def states(bot: BotDriver) -> list[tuple[Any, ...]]:
    return await query(
        bot,
        "SELECT user_id, state, decided_by FROM organisation_representatives ORDER BY id",
    )


async def test_a_stranger_typing_a_known_krs_changes_nothing_and_is_decided_by_its_representative(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    for user in (anna, john, WALKER):
        await bot.onboard(user)
    await register(bot, anna, nip=NIP, regon=REGON)
    before = await organisations(bot)
    [(org_id, *_)] = before

    # The stranger types Anna's KRS with a name and numbers of his own.
    calls = await register(bot, WALKER, name="Przejęta Fundacja", nip="5261040828")
    assert "Wysłano prośbę" in texts_of(calls)
    assert "nie możesz działać w jej imieniu" in texts_of(calls)
    assert await organisations(bot) == before
    assert await represented(bot, WALKER) is None
    calls = await bot.send(WALKER, "/organisation")
    assert "Prosisz o przyjęcie" in texts_of(calls)
    assert [label for label, _ in sent(calls)[-1].buttons()] == ["Wycofaj prośbę"]
    calls = await bot.click(WALKER, "org:edit")  # a forged Edit: he does not represent it
    assert alert(calls) == "Ten przycisk jest już nieaktualny."

    # Anna is told, with Accept / Decline, and declines.
    await bot.dispatch()
    [notice] = [k for k in bot.keyboards(anna) if "Prośba o reprezentowanie" in k.text]
    assert f"tg://user?id={WALKER.id}" in notice.text
    assert NAME_PL in notice.text
    assert [label for label, _ in notice.buttons] == ["✅ Przyjmij", "✖️ Odrzuć"]
    calls = await bot.press(anna, "✖️ Odrzuć")
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Prośba odrzucona" in str(edit.text)
    assert await states(bot) == [(anna.id, "accepted", None), (WALKER.id, "declined", anna.id)]
    await bot.dispatch()
    told = [c for c in bot.api.calls if c.method == "sendMessage" and c.chat_id == WALKER.id]
    assert "została odrzucona" in told[-1].text

    # Accept pressed after the decline (the old notice) is a quiet no-op showing the state.
    calls = await bot.click(anna, data=notice.buttons[0][1], message_id=notice.message_id)
    assert alert(calls) == "O tej prośbie już zdecydowano."
    [edit] = [c for c in calls if c.method == "editMessageText"]
    assert "Prośba odrzucona" in str(edit.text)
    assert await states(bot) == [(anna.id, "accepted", None), (WALKER.id, "declined", anna.id)]
    assert await organisations(bot) == before

    # John asks too and is accepted: now he can edit it and submit on its behalf.
    await bot.send(john, "/cancel")
    await register(bot, john, name="Whatever")
    await bot.dispatch()
    [notice] = [k for k in bot.keyboards(anna) if "Prośba o reprezentowanie" in k.text]
    calls = await bot.press(anna, "✅ Przyjmij")
    assert "Prośba przyjęta" in texts_of(calls)
    # Pressed twice (a double tap): nothing more happens.
    calls = await bot.click(anna, data=notice.buttons[0][1], message_id=notice.message_id)
    assert alert(calls) == "O tej prośbie już zdecydowano."
    assert await represented(bot, john) == org_id
    await bot.dispatch()
    told = [c for c in bot.api.calls if c.method == "sendMessage" and c.chat_id == john.id]
    assert f"You are now a representative of <b>{NAME_PL}</b>" in told[-1].text
    assert [row[1] for row in await states(bot)].count("accepted") == 2
    calls = await bot.send(anna, "/organisation")
    assert "W bocie reprezentują ją 2 osoby." in texts_of(calls)
    reference = await submit(bot, john)
    [(behalf,)] = await query(
        bot, "SELECT organisation_id FROM postulates WHERE reference = ?", reference
    )
    assert behalf == org_id


async def test_a_pending_representative_submits_as_themselves_and_cannot_support(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    await register(bot, anna)
    reference = await submit(bot, anna)
    await register(bot, john)  # pending
    tid = await team_id(bot, "culture")
    await bot.send(john, "/postulate")
    calls = await bot.press(john, await team_name(bot, john, tid))
    assert all(data != "pst:behalf:organisation" for c in sent(calls) for _, data in c.buttons())
    assert f"Your request to represent <b>{NAME_PL}</b> waits for a decision" in texts_of(calls)
    await bot.send(john, "/cancel")
    calls = await bot.send(john, f"/support {reference}")
    assert "Your request to represent an organisation waits for a decision" in texts_of(calls)
    assert await query(bot, "SELECT count(*) FROM postulate_supports") == [(0,)]


async def test_a_forged_accept_by_a_non_representative_changes_nothing(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    for user in (anna, john, WALKER):
        await bot.onboard(user)
    await register(bot, anna)
    await register(bot, WALKER)
    [(request_id,)] = await query(
        bot, "SELECT id FROM organisation_representatives WHERE user_id = ?", WALKER.id
    )
    for presser, refusal in ((john, NOT_ALLOWED_EN), (WALKER, NOT_ALLOWED_PL)):
        # A bystander, and the requester himself.
        calls = await bot.click(presser, f"org:accept:{request_id}")
        assert alert(calls) == refusal
        assert [c for c in calls if c.method == "editMessageText"] == []
    calls = await bot.click(anna, f"org:accept:{request_id + 100}")  # no such request
    assert alert(calls) == "Ten przycisk jest już nieaktualny."
    assert [row[1] for row in await states(bot)] == ["accepted", "pending"]
    assert await represented(bot, WALKER) is None
    assert await query(bot, "SELECT count(*) FROM audit_log") == [(0,)]


async def test_an_organisation_left_by_everyone_is_claimed_only_with_an_admins_approval(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    for user in (anna, john, ADMIN):
        await bot.onboard(user)
    await register(bot, anna)
    [(org_id, *_)] = await organisations(bot)
    await press(bot, anna, "leave")
    await bot.press(anna, "Tak, przestań reprezentować")
    calls = await register(bot, john, name="Mine now")
    assert "Request sent." in texts_of(calls)
    assert await represented(bot, john) is None
    await bot.dispatch()
    # Nobody represents it: the admin gets the request, Anna (who left) does not.
    assert [k for k in bot.keyboards(anna) if "Prośba o reprezentowanie" in k.text] == []
    assert [k for k in bot.keyboards(ADMIN) if "Request to represent" in k.text]
    # The admin also finds it through /organisation.
    calls = await bot.send(ADMIN, "/organisation")
    assert "1 request to represent an organisation waits for a decision." in texts_of(calls)
    await bot.send(ADMIN, "/cancel")
    calls = await bot.press(ADMIN, "Show the requests")
    assert f"tg://user?id={john.id}" in texts_of(calls)
    calls = await bot.press(ADMIN, "✅ Accept")
    assert "Request accepted." in texts_of(calls)
    assert await represented(bot, john) == org_id
    assert await organisations(bot) == [(org_id, NAME_PL, "krs", KRS, None, None, None)]
    [(actor, action, target)] = await query(bot, "SELECT actor_id, action, target FROM audit_log")
    assert (actor, action, target) == (ADMIN_ID, "organisation.accept", f"organisation:{org_id}")


async def test_editing_is_for_accepted_representatives_and_every_change_is_audited(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    for user in (anna, john, ADMIN):
        await bot.onboard(user)
    await register(bot, anna, nip=NIP)
    [(org_id, *_)] = await organisations(bot)
    await register(bot, john, name="Other", number="0000000002", regon=REGON)
    await bot.send(anna, "/organisation")
    await bot.press(anna, "✏️ Edytuj")
    await bot.send(anna, "Fundacja Nowa")
    await bot.press(anna, "KRS (Krajowy Rejestr Sądowy)")
    await bot.press(anna, "Bez zmian")
    await bot.press(anna, "Usuń")  # NIP removed
    await bot.send(anna, REGON)  # John's organisation's REGON
    calls = await bot.press(anna, "✅ Zapisz")
    assert "inna organizacja" in texts_of(calls)
    assert (await organisations(bot))[0] == (org_id, NAME_PL, "krs", KRS, None, NIP, None)

    await bot.send(anna, "/organisation")
    await bot.press(anna, "✏️ Edytuj")
    await bot.send(anna, "Fundacja Nowa")
    await bot.press(anna, "KRS (Krajowy Rejestr Sądowy)")
    await bot.press(anna, "Bez zmian")
    await bot.press(anna, "Usuń")
    await bot.press(anna, "Pomiń")
    await bot.press(anna, "✅ Zapisz")
    assert (await organisations(bot))[0] == (org_id, "Fundacja Nowa", "krs", KRS, None, None, None)
    calls = await bot.send(ADMIN, "/audit")
    body = texts_of(calls)
    assert "organisation details changed" in body
    assert f"name: {NAME_PL} → Fundacja Nowa" in body
    assert f"NIP: {NIP} → —" in body
    [(details,)] = await query(
        bot, "SELECT details FROM audit_log WHERE action = 'organisation.edit'"
    )
    assert "register_type" not in details  # unchanged fields are not listed


async def test_mydata_shows_my_representation_and_forget_removes_it(
    config: Config, clock: Clock, anna: TgUser, john: TgUser
) -> None:
    async for bot in files_driver(config, clock):
        await bot.onboard(anna)
        await bot.onboard(john)
        await register(bot, anna)
        await register(bot, john)
        await bot.dispatch()
        await bot.press(anna, "✖️ Odrzuć")
        await bot.send(john, "/mydata")
        [(_, _, data)] = uploaded(bot)[-1:]
        export = json.loads(data)
        [mine] = export["representation"]["representations"]
        assert (mine["organisation_name"], mine["state"]) == (NAME_PL, "declined")
        assert str(anna.id) not in json.dumps(export["representation"])
        await bot.send(anna, "/mydata")
        [(_, _, data)] = uploaded(bot)[-1:]
        decided = json.loads(data)["representation"]["decisions_made"]
        assert [row["state"] for row in decided] == ["declined"]
        assert str(john.id) not in json.dumps(decided)
        await bot.send(anna, "/forget")
        await bot.press(anna, "Tak, usuń moje dane", exact=False)
        assert await states(bot) == [(john.id, "declined", None)]


async def test_krs_typed_with_its_prefix_is_accepted(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await register(bot, anna, number="krs 0000-123 456")
    assert "KRS: 0000123456" in texts_of(calls)
    [(_, _, _, krs, *_)] = await organisations(bot)
    assert krs == KRS


async def test_krs_prefix_still_needs_ten_digits(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/organisation")
    await bot.send(anna, NAME_PL)
    await bot.press(anna, bot.label(anna, "organisation.button-krs"))
    calls = await bot.send(anna, "KRS 12345")
    assert "10 cyfr" in texts_of(calls) or "dziesięć" in texts_of(calls), texts_of(calls)
    assert await organisations(bot) == []


async def test_the_request_notice_names_the_person(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    jan = TgUser(id=4711, first_name="Jan", last_name="Nowak", username="jnowak")
    await bot.onboard(anna)
    await bot.onboard(jan)
    await register(bot, anna)
    await register(bot, jan, name="Whatever")
    await bot.dispatch()
    [notice] = [k for k in bot.keyboards(anna) if "Prośba o reprezentowanie" in k.text]
    assert f'<a href="tg://user?id={jan.id}">Jan Nowak (@jnowak)</a>' in notice.text
    assert "osoba nr" not in notice.text


async def test_steps_edit_in_place_and_leave_one_live_question(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/organisation")
    await bot.send(anna, NAME_PL)
    # Text where a button is expected: one message, the error and the question with its
    # buttons again; the earlier question loses its buttons.
    calls = await bot.send(anna, "KRS")
    assert len(new_messages(calls)) == 1
    assert "Wybierz jeden z przycisków" in texts_of(calls)
    assert "W jakim rejestrze" in texts_of(calls)
    assert len(live_buttons(bot, anna, "org:")) == 1
    await press(bot, anna, "krs")
    calls = await bot.send(anna, "12345")  # a wrong KRS: the error and the question together
    assert len(new_messages(calls)) == 1
    assert "Numer KRS ma dokładnie 10 cyfr" in texts_of(calls)
    assert "<b>Numer KRS</b>" in texts_of(calls)
    await bot.send(anna, KRS)
    calls = await bot.send(anna, "12345")  # a wrong NIP: one message, the error and the question
    assert len(new_messages(calls)) == 1
    assert "NIP ma 10 cyfr" in texts_of(calls)
    assert "<b>NIP</b>" in texts_of(calls)
    # Only the newest question's Skip is live: a typed answer took the older one's away.
    [live] = live_buttons(bot, anna, "org:")
    assert live.message_id == new_messages(calls)[0].message_id
    await bot.send(anna, NIP)
    assert len(live_buttons(bot, anna, "org:")) == 1

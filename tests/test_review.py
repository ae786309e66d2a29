"""Reviewing postulates as the people press it: take into review, confirm what the author gets,
cards that show their new state, clarification, decisions, withdrawal."""

from __future__ import annotations

import sqlite3

from bot.services import postulates as service
from bot.services import postulates_review as reviews
from tests.fakes import Call
from tests.harness import BotDriver, TgUser
from tests.sql import raw_sql
from tests.test_postulates_helpers import (
    db_of,
    make_moderator,
    postulate_row,
    sent_text,
    submit,
)

ADMIN = TgUser(id=900, language_code="pl", first_name="Admin")
MODERATOR = TgUser(id=2001, language_code="pl", first_name="Mod")
OTHER_MODERATOR = TgUser(id=2002, language_code="pl", first_name="Other")
MEMBER = TgUser(id=2003, language_code="pl", first_name="Member")

TAKE = "🔎 Weź do rozpatrzenia"
FORWARD = "➡️ Przekaż zespołowi koordynacyjnemu"
REJECT = "❌ Odrzuć"
ASK = "❓ Poproś o wyjaśnienie"
CONFIRM = "✅ Potwierdź"
BACK = "↩️ Wstecz"


async def cast(bot: BotDriver) -> None:
    for user in (ADMIN, MODERATOR, OTHER_MODERATOR, MEMBER):
        await bot.onboard(user)
    await make_moderator(bot, MODERATOR, "culture")
    await make_moderator(bot, OTHER_MODERATOR, "education")


def shown(calls: list[Call]) -> str:
    """Every text the calls showed: sent or edited in place."""
    return "\n".join(c.text for c in calls if c.method in ("sendMessage", "editMessageText"))


def to(bot: BotDriver, user: TgUser, calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "sendMessage" and c.chat_id == user.id]


async def open_from_queue(bot: BotDriver, user: TgUser, reference: str) -> list[Call]:
    await bot.send(user, "/review")
    return await bot.press(user, reference)


def labels(bot: BotDriver, user: TgUser) -> list[str]:
    return [label for shown in bot.keyboards(user) for label, _ in shown.buttons]


async def test_opening_a_card_changes_nothing_taking_it_is_explicit(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    await bot.tick()

    calls = await open_from_queue(bot, MODERATOR, reference)
    assert "złożony" in sent_text(calls)
    assert "&lt;b&gt;teraz&lt;/b&gt;" in sent_text(calls)
    assert (await postulate_row(bot, reference))["state"] == "submitted"
    assert to(bot, anna, await bot.tick()) == []  # the author hears nothing of a look

    calls = await bot.press(MODERATOR, TAKE)
    assert (await postulate_row(bot, reference))["state"] == "in_review"
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert "w ocenie" in edited.text
    assert TAKE not in [label for label, _ in edited.buttons()]
    [notice] = to(bot, anna, await bot.tick())
    assert reference in notice.text
    assert "rozpatruje" in notice.text


async def test_reject_shows_the_notice_and_waits_for_confirmation(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    await bot.tick()
    await open_from_queue(bot, MODERATOR, reference)

    calls = await bot.press(MODERATOR, REJECT)
    assert "powód" in shown(calls)
    calls = await bot.send(MODERATOR, "Nie.")
    # One message: the error naming the minimum, and the prompt again.
    [answer] = [c for c in calls if c.method == "sendMessage"]
    assert "Uzasadnienie jest za krótkie: co najmniej 20 znaków." in answer.text
    assert "powód" in answer.text
    assert len([k for k in bot.keyboards(MODERATOR) if BACK in dict(k.buttons)]) == 1
    assert (await postulate_row(bot, reference))["state"] == "submitted"

    calls = await bot.send(MODERATOR, "Nie dotyczy <programu> współpracy")
    [preview] = [c for c in calls if c.method == "sendMessage"]
    assert "Autor dostanie tę wiadomość" in preview.text
    assert "odrzucony" in preview.text
    assert "Nie dotyczy &lt;programu&gt; współpracy" in preview.text
    # Only the confirmation's buttons are live: the prompt's Back is gone.
    assert [label for k in bot.keyboards(MODERATOR)[-1:] for label, _ in k.buttons] == [
        CONFIRM,
        BACK,
    ]
    assert labels(bot, MODERATOR).count(BACK) == 1
    assert (await postulate_row(bot, reference))["state"] == "submitted"
    assert to(bot, anna, await bot.tick()) == []

    calls = await bot.press(MODERATOR, CONFIRM)
    assert (await postulate_row(bot, reference))["state"] == "rejected"
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert "odrzucony" in edited.text
    [notice] = to(bot, anna, await bot.tick())
    assert "odrzucony" in notice.text
    assert "Nie dotyczy &lt;programu&gt; współpracy" in notice.text


async def test_back_sends_nothing_and_shows_the_card_again(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    await bot.tick()
    await open_from_queue(bot, MODERATOR, reference)
    calls = await bot.press(MODERATOR, FORWARD)
    assert "Autor dostanie tę wiadomość" in shown(calls)
    assert "przekazany do zespołu koordynacyjnego" in shown(calls)
    calls = await bot.press(MODERATOR, BACK)
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert "złożony" in edited.text
    assert FORWARD in dict(edited.buttons())
    assert (await postulate_row(bot, reference))["state"] == "submitted"
    assert to(bot, anna, await bot.tick()) == []


async def test_forward_then_decision_reaches_author_and_admins(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    await bot.tick()
    await open_from_queue(bot, MODERATOR, reference)
    await bot.press(MODERATOR, FORWARD)
    calls = await bot.press(MODERATOR, CONFIRM)
    # The card the moderator pressed now says where the postulate is.
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert "przekazany do zespołu koordynacyjnego" in edited.text
    sent = await bot.tick()
    assert any(c.chat_id == anna.id and "przekazany" in c.text for c in to(bot, anna, sent))
    assert any("Przekazano zespołowi" in c.text for c in to(bot, ADMIN, sent))
    calls = await bot.send(ADMIN, "/review")
    assert "Do decyzji zespołu koordynacyjnego</b>: 1" in sent_text(calls)
    calls = await bot.send(MODERATOR, "/review")
    assert "Do decyzji" not in sent_text(calls)

    await open_from_queue(bot, ADMIN, reference)
    await bot.press(ADMIN, "📋 Nie przyjmuj")
    await bot.send(ADMIN, "Brak środków w budżecie.")
    calls = await bot.press(ADMIN, CONFIRM)
    assert "nieprzyjęty" in shown(calls)
    [notice] = to(bot, anna, await bot.tick())
    assert "nieprzyjęty" in notice.text
    assert "Brak środków w budżecie." in notice.text

    def history(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
        rows = conn.execute(
            """SELECT action, to_state, actor_id FROM postulate_history
               WHERE postulate_id = ? ORDER BY id""",
            (row["id"],),
        ).fetchall()
        return [tuple(r) for r in rows]

    assert await db_of(bot).run(raw_sql(history)) == [
        ("submit", "submitted", anna.id),
        ("forward", "forwarded", MODERATOR.id),
        ("not_adopt", "not_adopted", ADMIN.id),
    ]


async def test_clarification_round_trip(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    sent = await bot.tick()
    # The moderator got an alert with a button to open the postulate.
    [alert] = [c for c in to(bot, MODERATOR, sent) if reference in c.text]
    assert [label for label, _ in alert.buttons()] == ["🔎 Otwórz postulat"]
    calls = await bot.press(MODERATOR, "🔎 Otwórz postulat")
    assert "złożony" in sent_text(calls)

    await bot.press(MODERATOR, ASK)
    calls = await bot.send(MODERATOR, "Ile?")
    assert "co najmniej 10 znaków" in sent_text(calls)
    calls = await bot.send(MODERATOR, "Ile drzew & gdzie?")
    assert "wyjaśnienie" in sent_text(calls)
    assert "Ile drzew &amp; gdzie?" in sent_text(calls)
    await bot.press(MODERATOR, CONFIRM)
    assert (await postulate_row(bot, reference))["state"] == "clarification"
    [question] = to(bot, anna, await bot.tick())
    assert "Ile drzew &amp; gdzie?" in question.text

    calls = await bot.press(anna, "💬 Odpowiedz")
    assert "Napisz odpowiedź" in sent_text(calls)
    calls = await bot.send(anna, "Sto drzew przy ul. Długiej.")
    assert "wraca do oceny" in sent_text(calls)
    assert (await postulate_row(bot, reference))["state"] == "in_review"
    assert to(bot, MODERATOR, await bot.tick())
    calls = await open_from_queue(bot, MODERATOR, reference)
    assert "Sto drzew przy ul. Długiej." in sent_text(calls)
    assert "Ile drzew &amp; gdzie?" in sent_text(calls)


async def test_move_shows_the_card_in_its_new_sector(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    await open_from_queue(bot, MODERATOR, reference)
    await bot.press(MODERATOR, "↪️ Przenieś do innego zespołu")
    calls = await bot.press(MODERATOR, "Edukacja")
    assert "Edukacja" in shown(calls)
    assert any(c.chat_id == OTHER_MODERATOR.id for c in await bot.tick())
    calls = await bot.send(MODERATOR, "/review")
    assert reference not in sent_text(calls)
    calls = await bot.send(OTHER_MODERATOR, "/review")
    assert reference in sent_text(calls)


async def test_queue_oldest_first_without_my_own(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    first = await submit(bot, anna, title="Najpierw ten postulat")
    bot.clock.advance(minutes=5)
    second = await submit(bot, anna, title="Potem ten postulat")
    own = await submit(bot, MODERATOR, title="Mój własny postulat")
    calls = await bot.send(MODERATOR, "/review")
    text = sent_text(calls)
    assert text.index(first) < text.index(second)
    assert own not in text  # nobody reviews their own postulate
    assert own in sent_text(await bot.send(ADMIN, "/review"))
    calls = await bot.send(MEMBER, "/review")
    assert "P-2026" not in sent_text(calls)
    calls = await bot.send(OTHER_MODERATOR, "/review")
    assert first not in sent_text(calls)


async def test_withdraw_is_confirmed_and_the_card_says_withdrawn(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    await bot.tick()
    calls = await bot.send(anna, "/my_postulates")
    assert reference in sent_text(calls)
    assert "złożony" in sent_text(calls)
    calls = await bot.press(anna, reference)
    assert "↩️ Wycofaj postulat" in dict(calls[-1].buttons())
    assert TAKE not in labels(bot, anna)
    calls = await bot.press(anna, "↩️ Wycofaj postulat")
    assert "Tego nie można cofnąć" in shown(calls)
    assert (await postulate_row(bot, reference))["state"] == "submitted"
    calls = await bot.press(anna, CONFIRM)
    assert (await postulate_row(bot, reference))["state"] == "withdrawn"
    [edited] = [c for c in calls if c.method == "editMessageText"]
    assert "wycofany" in edited.text
    sent = await bot.tick()
    alerts = [c.chat_id for c in sent if c.method == "sendMessage" and "wycofał" in c.text]
    assert sorted(a for a in alerts if a is not None) == [
        ADMIN.id,
        MODERATOR.id,
    ]


async def test_submission_is_confirmed_once(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    bot.clock.advance(seconds=5)
    # The answer to "Submit" said it; the engine does not say it again.
    assert [c for c in to(bot, anna, await bot.tick()) if reference in c.text] == []


async def test_similar_step_says_why_supporting_needs_an_organisation(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    await bot.onboard(john)
    await submit(bot, anna, title="Więcej zieleni w centrum")
    await bot.send(john, "/postulate")
    await bot.press(john, "Culture")
    await bot.send(john, "Więcej zieleni w centrum miasta")
    await bot.send(john, "Proponujemy nasadzenia drzew wzdłuż Plant i przy szkołach.")
    await bot.press(john, bot.label(john, "postulates.button-done"))
    calls = await bot.press(john, bot.label(john, "postulates.button-skip"))
    assert "/organisation" in shown(calls)


async def test_reviewer_gets_the_attachment_by_file_id(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    await bot.send(anna, "Postulat ze zdjęciem")
    await bot.send(anna, "Zdjęcie pokazuje zaniedbany skwer przy ulicy.")
    await bot.press(anna, bot.label(anna, "postulates.button-done"))
    photo = {
        "message": {
            "message_id": 77,
            "date": 0,
            "chat": {"id": anna.id, "type": "private"},
            "from": anna.as_dict(),
            "photo": [
                {"file_id": "SMALL", "file_unique_id": "s", "width": 90, "height": 90},
                {"file_id": "BIG", "file_unique_id": "b", "width": 900, "height": 900},
            ],
        }
    }
    calls = await bot.feed(photo)
    assert "zdjęcie" in shown(calls)
    await bot.press(anna, bot.label(anna, "postulates.button-submit"))
    reference = "P-2026-0001"
    row = await postulate_row(bot, reference)
    assert (row["attachment_type"], row["attachment_file_id"]) == ("photo", "BIG")
    await open_from_queue(bot, MODERATOR, reference)
    calls = await bot.press(MODERATOR, "📎 Pokaż załącznik")
    [sent] = [c for c in calls if c.method == "sendPhoto"]
    assert (sent.chat_id, sent.params["photo"], sent.params["caption"]) == (
        MODERATOR.id,
        "BIG",
        reference,
    )
    # Live postulates are public to members.
    await bot.send(MEMBER, "/postulates")
    await bot.press(MEMBER, reference)
    calls = await bot.press(MEMBER, "📎 Pokaż załącznik")
    assert [c.chat_id for c in calls if c.method == "sendPhoto"] == [MEMBER.id]


def test_every_computed_text_key_exists_in_both_languages() -> None:
    from typing import get_args

    from bot.i18n import Texts
    from storage.postulates import State, Step

    texts = Texts()
    keys = [f"postulates.state-{s}" for s in get_args(State)]
    keys += [f"postulates.error-expected-{s}" for s in (*get_args(Step), "text")]
    keys += [f"postulates.attachment-{a}" for a in service.ATTACHMENT_TYPES]
    keys += [f"postulates.action-{a}" for a in reviews.TRANSITIONS]
    keys += [f"postulates.done-{a}" for a in reviews.TRANSITIONS]
    keys += [f"postulates.prompt-{a}" for a in reviews.PROMPTED]
    keys += [f"postulates.confirm-{a}" for a in reviews.CONFIRMED]
    keys += [
        f"postulates.notice-{a}" for a in reviews.TRANSITIONS if a not in ("answer", "withdraw")
    ]
    alerts = get_args(service.ModeratorAlert.model_fields["event"].annotation)
    keys += [f"postulates.alert-{event}" for event in alerts]
    keys += [
        f"postulates.error-{name}-{end}"
        for name in ("title", "content", "note", "call-title", "reason", "question")
        for end in ("short", "long")
    ]
    for language in ("pl", "en"):
        missing = [key for key in keys if not texts.has(language, key)]
        assert missing == [], language


async def test_a_photo_caption_is_refused_not_dropped(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    await bot.send(anna, "Postulat ze zdjęciem")
    await bot.send(anna, "Zdjęcie pokazuje zaniedbany skwer przy ulicy.")
    await bot.press(anna, bot.label(anna, "postulates.button-done"))
    photo = {
        "message": {
            "message_id": 78,
            "date": 0,
            "chat": {"id": anna.id, "type": "private"},
            "from": anna.as_dict(),
            "caption": "Skwer przy Długiej, stan z listopada",
            "photo": [{"file_id": "BIG", "file_unique_id": "b", "width": 900, "height": 900}],
        }
    }
    calls = await bot.feed(photo)
    [answer] = [c for c in calls if c.method == "sendMessage"]
    assert "ma podpis" in answer.text
    assert bot.label(anna, "postulates.button-skip") in dict(answer.buttons())

    def draft(conn: sqlite3.Connection) -> object:
        return conn.execute("SELECT attachment_file_id FROM postulate_drafts").fetchone()[0]

    assert await db_of(bot).run(raw_sql(draft)) is None

"""Reviewing postulates: the permission matrix, the state machine, notices, clarification."""

from __future__ import annotations

import sqlite3

import pytest

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
    "open": ("submitted", None, "in_review"),
    "fwd": ("in_review", None, "forwarded"),
    "rej": ("in_review", "Poza zakresem programu.", "rejected"),
    "ask": ("in_review", "Jaki jest koszt?", "clarification"),
    "dup": ("in_review", "P-2026-0001", "duplicate"),
    "mov": ("in_review", None, "in_review"),
    "yes": ("forwarded", "Wpisano do programu na 2027.", "adopted"),
    "no": ("forwarded", "Brak środków.", "not_adopted"),
}
ALLOWED = {
    "member": set(),
    "other-moderator": set(),
    "moderator": {"open", "fwd", "rej", "ask", "dup", "mov"},
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

    calls = await bot.click(user, f"rev:{code}:{row['id']}")
    if code == "mov":
        calls += await bot.click(user, f"rev:to:{row['id']}:{education}")
    if note is not None:
        calls += await bot.send(user, note)
    changed = await postulate_row(bot, reference)

    if code in ALLOWED[role]:
        assert changed["state"] == after
        if code == "mov":
            assert changed["team_id"] == education
        if code == "dup":
            first = await postulate_row(bot, "P-2026-0001")
            assert changed["duplicate_of"] == first["id"]
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
    for code in ("open", "fwd", "rej", "ask", "dup", "mov"):
        calls = await bot.click(MODERATOR, f"rev:{code}:{row['id']}")
        assert (await postulate_row(bot, reference))["state"] == "submitted", code
        if code != "open":
            assert alerted(calls), code
    admin_reference = await submit(bot, ADMIN)
    admin_row = await postulate_row(bot, admin_reference)
    await set_state(bot, admin_reference, "forwarded")
    calls = await bot.click(ADMIN, f"rev:yes:{admin_row['id']}")
    assert alerted(calls)
    assert (await postulate_row(bot, admin_reference))["state"] == "forwarded"


@pytest.mark.parametrize(
    "data", ["rev:fwd:999999", "rev:zap:1", "rev:fwd:x", "rev:to:1", "rev:fwd:1:2", "rev:"]
)
async def test_forged_buttons_change_nothing(bot: BotDriver, anna: TgUser, data: str) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    calls = await bot.click(ADMIN, data)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
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
    await bot.click(MODERATOR, f"rev:fwd:{row['id']}")
    await bot.click(ADMIN, f"rev:yes:{row['id']}")
    await bot.send(ADMIN, "Przyjęto.")
    assert (await postulate_row(bot, reference))["state"] == "adopted"
    calls = await bot.click(anna, f"pst:withdraw:{row['id']}")
    assert alerted(calls)
    assert (await postulate_row(bot, reference))["state"] == "adopted"
    # Rejecting now is refused too.
    calls = await bot.click(MODERATOR, f"rev:rej:{row['id']}")
    assert alerted(calls)


async def test_reason_is_required_and_reasked(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    calls = await bot.click(MODERATOR, f"rev:rej:{row['id']}")
    assert "powód" in sent_text(calls)
    calls = await bot.send(MODERATOR, " a ")
    assert "za krótki" in sent_text(calls)
    assert (await postulate_row(bot, reference))["state"] == "submitted"
    calls = await bot.send(MODERATOR, "Nie dotyczy <programu>")
    assert "Odrzucono" in sent_text(calls)
    bot.api.clear()
    await bot.tick()
    [notice] = [
        c for c in bot.api.sent("sendMessage") if c.chat_id == anna.id and "odrzucony" in c.text
    ]
    assert "Nie dotyczy &lt;programu&gt;" in notice.text


async def test_duplicate_needs_a_known_reference(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    await bot.click(MODERATOR, f"rev:dup:{row['id']}")
    calls = await bot.send(MODERATOR, "P-2026-0777")
    assert "Nie znam postulatu" in sent_text(calls)
    calls = await bot.send(MODERATOR, reference)  # itself
    assert "Nie znam postulatu" in sent_text(calls)
    calls = await bot.send(MODERATOR, "/cancel")
    assert "Anulowano" in sent_text(calls)
    assert (await postulate_row(bot, reference))["state"] == "submitted"


async def test_clarification_round_trip(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    await bot.tick()
    # The moderator got an alert with a button to open the postulate.
    [alert] = [
        c for c in bot.api.sent("sendMessage") if c.chat_id == MODERATOR.id and reference in c.text
    ]
    assert alert.buttons() == [("🔎 Otwórz postulat", f"rev:open:{row['id']}")]
    calls = await bot.click(MODERATOR, f"rev:open:{row['id']}")
    card = sent_text(calls)
    assert "w ocenie" in card
    assert "&lt;b&gt;teraz&lt;/b&gt;" in card
    assert f"rev:ask:{row['id']}" in [d for c in calls for _, d in c.buttons()]

    await bot.click(MODERATOR, f"rev:ask:{row['id']}")
    await bot.send(MODERATOR, "Ile drzew & gdzie?")
    assert (await postulate_row(bot, reference))["state"] == "clarification"
    bot.api.clear()
    await bot.tick()
    [question] = [
        c for c in bot.api.sent("sendMessage") if c.chat_id == anna.id and "wyjaśnienie" in c.text
    ]
    assert "Ile drzew &amp; gdzie?" in question.text
    assert ("💬 Odpowiedz", f"pst:answer:{row['id']}") in question.buttons()

    # Nobody else can answer in the author's place.
    calls = await bot.click(MEMBER, f"pst:answer:{row['id']}")
    assert alerted(calls)
    await bot.click(anna, f"pst:answer:{row['id']}")
    calls = await bot.send(anna, "Sto drzew przy ul. Długiej.")
    assert "wraca do oceny" in sent_text(calls)
    assert (await postulate_row(bot, reference))["state"] == "in_review"
    bot.api.clear()
    await bot.tick()
    assert [c for c in bot.api.sent("sendMessage") if c.chat_id == MODERATOR.id]
    calls = await bot.send(MODERATOR, "/review")
    assert reference in sent_text(calls)
    calls = await bot.click(MODERATOR, f"rev:open:{row['id']}")
    assert "Sto drzew przy ul. Długiej." in sent_text(calls)
    assert "Ile drzew &amp; gdzie?" in sent_text(calls)


async def test_forward_then_decision_reaches_author_and_admins(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    await bot.click(MODERATOR, f"rev:fwd:{row['id']}")
    bot.api.clear()
    await bot.tick()
    sent = bot.api.sent("sendMessage")
    assert any(c.chat_id == anna.id and "przekazany" in c.text for c in sent)
    assert any(c.chat_id == ADMIN.id and "Przekazano zespołowi" in c.text for c in sent)
    calls = await bot.send(ADMIN, "/review")
    assert "Do decyzji zespołu koordynacyjnego</b>: 1" in sent_text(calls)
    calls = await bot.send(MODERATOR, "/review")
    assert "Do decyzji" not in sent_text(calls)
    await bot.click(ADMIN, f"rev:no:{row['id']}")
    await bot.send(ADMIN, "Brak środków w budżecie.")
    bot.api.clear()
    await bot.tick()
    [notice] = [c for c in bot.api.sent("sendMessage") if c.chat_id == anna.id]
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

    def audited(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
        rows = conn.execute(
            "SELECT actor_id, action, target FROM audit_log WHERE action LIKE 'postulate.%'"
        ).fetchall()
        return [tuple(r) for r in rows]

    target = f"postulate:{reference}"
    assert await db_of(bot).run(raw_sql(audited)) == [
        (MODERATOR.id, "postulate.review", target),
        (ADMIN.id, "postulate.review", target),
    ]


async def test_move_alerts_the_new_sector_and_leaves_the_old_queue(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    education = await team_id(bot, "education")
    calls = await bot.click(MODERATOR, f"rev:mov:{row['id']}")
    assert f"rev:to:{row['id']}:{education}" in [d for c in calls for _, d in c.buttons()]
    await bot.click(MODERATOR, f"rev:to:{row['id']}:{education}")
    bot.api.clear()
    await bot.tick()
    assert any(c.chat_id == OTHER_MODERATOR.id for c in bot.api.sent("sendMessage"))
    calls = await bot.send(MODERATOR, "/review")
    assert reference not in sent_text(calls)
    calls = await bot.send(OTHER_MODERATOR, "/review")
    assert reference in sent_text(calls)


async def test_queue_oldest_first_with_counts_and_members_refused(
    bot: BotDriver, anna: TgUser
) -> None:
    await cast(bot)
    await bot.onboard(anna)
    first = await submit(bot, anna, title="Najpierw ten postulat")
    bot.clock.advance(minutes=5)
    second = await submit(bot, anna, title="Potem ten postulat")
    calls = await bot.send(MODERATOR, "/review")
    text = sent_text(calls)
    assert "złożone: 2" in text
    assert text.index(first) < text.index(second)
    calls = await bot.send(MEMBER, "/review")
    assert reference_free(sent_text(calls))
    calls = await bot.send(OTHER_MODERATOR, "/review")
    assert first not in sent_text(calls)


def reference_free(text: str) -> bool:
    return "P-2026" not in text


async def test_withdraw_from_my_postulates(bot: BotDriver, anna: TgUser) -> None:
    await cast(bot)
    await bot.onboard(anna)
    reference = await submit(bot, anna)
    row = await postulate_row(bot, reference)
    calls = await bot.send(anna, "/my_postulates")
    assert reference in sent_text(calls)
    assert "złożony" in sent_text(calls)
    calls = await bot.click(anna, f"pst:card:{row['id']}")
    buttons = [d for c in calls for _, d in c.buttons()]
    assert f"pst:withdraw:{row['id']}" in buttons
    assert not [d for d in buttons if d.startswith("rev:")]
    calls = await bot.click(MEMBER, f"pst:withdraw:{row['id']}")
    assert alerted(calls)
    await bot.tick()
    bot.api.clear()
    await bot.click(anna, f"pst:withdraw:{row['id']}")
    assert (await postulate_row(bot, reference))["state"] == "withdrawn"
    await bot.tick()
    assert [c.chat_id for c in bot.api.sent("sendMessage") if "wycofał" in c.text] == [
        ADMIN.id,
        MODERATOR.id,
    ]
    calls = await bot.click(MEMBER, f"pst:card:{row['id']}")
    assert alerted(calls)


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
    assert "zdjęcie" in sent_text(calls)
    submit_data = next(d for c in calls for _, d in c.buttons() if d.startswith("pst:submit:"))
    calls = await bot.click(anna, submit_data)
    reference = "P-2026-0001"
    row = await postulate_row(bot, reference)
    assert (row["attachment_type"], row["attachment_file_id"]) == ("photo", "BIG")
    calls = await bot.click(MODERATOR, f"rev:open:{row['id']}")
    assert ("📎 Pokaż załącznik", f"rev:file:{row['id']}") in [
        b for c in calls for b in c.buttons()
    ]
    calls = await bot.click(MODERATOR, f"rev:file:{row['id']}")
    [sent] = [c for c in calls if c.method == "sendPhoto"]
    assert (sent.chat_id, sent.params["photo"], sent.params["caption"]) == (
        MODERATOR.id,
        "BIG",
        reference,
    )
    # Live postulates are public to members; once rejected, only reviewers and the author.
    calls = await bot.click(MEMBER, f"rev:file:{row['id']}")
    assert [c.chat_id for c in calls if c.method == "sendPhoto"] == [MEMBER.id]
    await set_state(bot, reference, "rejected")
    calls = await bot.click(MEMBER, f"rev:file:{row['id']}")
    assert alerted(calls)
    assert not [c for c in calls if c.method == "sendPhoto"]


def test_every_computed_text_key_exists_in_both_languages() -> None:
    from typing import get_args

    from bot.i18n import Texts
    from storage.postulates import State, Step

    texts = Texts()
    keys = [f"postulates.state-{s}" for s in get_args(State)]
    keys += [f"postulates.error-expected-{s}" for s in (*get_args(Step), "text")]
    keys += [f"postulates.attachment-{a}" for a in service.ATTACHMENT_TYPES]
    keys += [f"postulates.action-{a}" for a in reviews.TRANSITIONS if a != "open"]
    keys += [f"postulates.done-{a}" for a in reviews.TRANSITIONS if a != "open"]
    keys += [f"postulates.prompt-{a}" for a in reviews.PROMPTED]
    keys += [
        f"postulates.notice-{a}" for a in reviews.TRANSITIONS if a not in ("answer", "withdraw")
    ]
    alerts = get_args(service.ModeratorAlert.model_fields["event"].annotation)
    keys += [f"postulates.alert-{event}" for event in alerts]
    keys += [
        f"postulates.error-{name}-{end}"
        for name in ("title", "content", "note", "call-title")
        for end in ("short", "long")
    ]
    for language in ("pl", "en"):
        missing = [key for key in keys if not texts.has(language, key)]
        assert missing == [], language

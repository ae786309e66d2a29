"""Submitting postulates: the resumable conversation, bad input, similar ones, supports."""

from __future__ import annotations

from datetime import timedelta

from bot.config import Config
from tests.conftest import start_driver, stop_driver
from tests.harness import BotDriver, Clock, TgUser, texts_of
from tests.test_postulates_helpers import (
    CONTENT,
    TITLE,
    count_postulates,
    db_of,
    last_buttons,
    postulate_row,
    represent,
    sent_text,
    submit,
    team_id,
)


async def test_full_conversation_on_behalf_of_organisation(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await represent(bot, anna, "Fundacja <Zielony> Kraków")
    culture = await team_id(bot, "culture")

    calls = await bot.send(anna, "/postulate")
    assert "Do którego zespołu branżowego" in sent_text(calls)
    assert last_buttons(calls)["Kultura"] == f"pst:sector:{culture}"

    calls = await bot.press(anna, "Kultura")
    buttons = last_buttons(calls)
    # Button labels are plain text: the name is shown as typed, not HTML-escaped.
    assert buttons["🏢 Fundacja <Zielony> Kraków"] == "pst:behalf:organisation"
    assert "pst:behalf:self" in buttons.values()

    calls = await bot.press(anna, "🏢", exact=False)
    assert "tytuł" in sent_text(calls)
    calls = await bot.send(anna, f"   {TITLE}  ")
    assert "Opisz postulat" in sent_text(calls)
    calls = await bot.send(anna, CONTENT[:40])
    assert "40 z 3500" in sent_text(calls)
    await bot.send(anna, CONTENT[40:])
    calls = await bot.press(anna, bot.label(anna, "postulates.button-done"))
    assert "załącznik" in sent_text(calls)

    calls = await bot.feed(
        {
            "message": {
                "message_id": 900,
                "date": 0,
                "chat": {"id": anna.id, "type": "private"},
                "from": anna.as_dict(),
                "document": {"file_id": "DOC-1", "file_unique_id": "u1", "file_name": "a.pdf"},
            }
        }
    )
    preview = sent_text(calls)
    assert "Podgląd postulatu" in preview
    assert "Fundacja &lt;Zielony&gt; Kraków" in preview
    assert f"<b>{TITLE}</b>" in preview  # trimmed, the author's words kept
    # The author's markup is shown as text, never interpreted.
    assert "&lt;b&gt;teraz&lt;/b&gt;" in preview
    assert "&amp;" in preview
    assert "dokument" in preview

    calls = await bot.press(anna, "📨 Złóż postulat")
    assert "P-2026-0001" in texts_of(calls)
    row = await postulate_row(bot, "P-2026-0001")
    assert row["title"] == TITLE
    assert row["content"] == CONTENT[:40].strip() + "\n" + CONTENT[40:].strip()
    assert row["organisation_name"] == "Fundacja <Zielony> Kraków"
    assert (row["attachment_type"], row["attachment_file_id"]) == ("document", "DOC-1")
    assert row["state"] == "submitted"


async def test_restart_mid_draft_continues_where_it_was(
    config: Config, clock: Clock, anna: TgUser
) -> None:
    first = await start_driver(config, clock)
    try:
        await first.onboard(anna)
        await first.send(anna, "/postulate")
        await first.press(anna, "Kultura")
        await first.send(anna, TITLE)
    finally:
        await stop_driver(first)

    second = await start_driver(config, clock)
    try:
        # Plain text right after the restart is taken as the content: the step came from SQLite.
        calls = await second.send(anna, CONTENT)
        assert "z 3500" in sent_text(calls)
        calls = await second.press(anna, second.label(anna, "postulates.button-done"))
        calls = await second.press(anna, second.label(anna, "postulates.button-skip"))
        assert "Podgląd postulatu" in sent_text(calls)
        assert "Składający: osoba prywatna" in sent_text(calls)
        assert TITLE in sent_text(calls)
        calls = await second.press(anna, "📨 Złóż postulat")
        assert "P-2026-0001" in texts_of(calls)
    finally:
        await stop_driver(second)


async def test_postulate_command_resumes_a_draft(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    calls = await bot.send(anna, "/sectors")  # another command pauses the draft
    calls = await bot.send(anna, "Some stray text")
    assert "Opisz postulat" not in sent_text(calls)
    calls = await bot.send(anna, "/postulate")
    assert "Kontynuujesz" in sent_text(calls)
    assert "tytuł" in sent_text(calls)
    calls = await bot.send(anna, TITLE)
    assert "Opisz postulat" in sent_text(calls)


async def test_double_submit_creates_one_postulate(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    await bot.send(anna, TITLE)
    await bot.send(anna, CONTENT)
    await bot.press(anna, bot.label(anna, "postulates.button-done"))
    calls = await bot.press(anna, bot.label(anna, "postulates.button-skip"))
    assert "📨 Złóż postulat" in last_buttons(calls)
    first, _ = await bot.double_press(anna, "📨 Złóż postulat")
    assert "P-2026-0001" in texts_of(first)
    assert await count_postulates(bot) == 1
    # The answer to the press is the author's confirmation: no notice says it again.
    await bot.tick()
    assert [c for c in bot.api.sent("sendMessage") if "został złożony" in c.text] == []


async def test_bad_input_at_every_step_reasks(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    calls = await bot.send(anna, "kultura")  # text at the sector step
    assert "Wybierz zespół branżowy przyciskiem" in sent_text(calls)
    assert "Kultura" in last_buttons(calls)
    await bot.press(anna, "Kultura")

    calls = await bot.send(anna, "abc")
    assert "za krótki: 3 znaki, potrzeba co najmniej 5" in sent_text(calls)
    calls = await bot.send(anna, "x" * 151)
    assert "za długi: 151 znaków, najwyżej 150" in sent_text(calls)
    calls = await bot.send(anna, "     ")
    assert "pusta" in sent_text(calls)
    await bot.send(anna, TITLE)

    calls = await bot.press(anna, bot.label(anna, "postulates.button-done"))  # nothing written yet
    assert "pusta" in sent_text(calls)
    assert "20–3500" in sent_text(calls)
    await bot.send(anna, "za krótko")
    calls = await bot.press(anna, bot.label(anna, "postulates.button-done"))
    assert "Treść jest za krótka: 9 znaków" in sent_text(calls)
    calls = await bot.send(anna, "y" * 3500)
    assert "najwyżej 3500" in sent_text(calls)
    await bot.send(anna, "i jeszcze trochę treści")
    await bot.press(anna, bot.label(anna, "postulates.button-done"))

    sticker = {
        "message": {
            "message_id": 901,
            "date": 0,
            "chat": {"id": anna.id, "type": "private"},
            "from": anna.as_dict(),
            "sticker": {
                "file_id": "S",
                "file_unique_id": "S",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            },
        }
    }
    calls = await bot.feed(sticker)
    assert "Tego rodzaju załącznika nie przyjmuję" in sent_text(calls)
    calls = await bot.send(anna, "to nie jest załącznik")
    assert "czekam na załącznik" in sent_text(calls)
    calls = await bot.press(anna, bot.label(anna, "postulates.button-skip"))
    assert "Podgląd" in sent_text(calls)
    calls = await bot.send(anna, "wyślij")
    assert "Wybierz przyciskiem: złóż, popraw albo anuluj" in sent_text(calls)
    # No button of an earlier step stays live: each step replaced the one before.
    shown = [label for message in bot.keyboards(anna) for label, _ in message.buttons]
    assert bot.label(anna, "postulates.button-done") not in shown
    assert bot.label(anna, "postulates.button-skip") not in shown
    assert await count_postulates(bot) == 0


async def test_edit_a_field_from_the_preview(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    await bot.send(anna, TITLE)
    await bot.send(anna, CONTENT)
    await bot.press(anna, bot.label(anna, "postulates.button-done"))
    await bot.press(anna, bot.label(anna, "postulates.button-skip"))
    calls = await bot.press(anna, bot.label(anna, "postulates.button-edit-title"))
    assert "tytuł" in sent_text(calls)
    calls = await bot.send(anna, "Nowy tytuł postulatu")
    assert "Podgląd" in sent_text(calls)
    assert "Nowy tytuł postulatu" in sent_text(calls)
    await bot.press(anna, bot.label(anna, "postulates.button-edit-sector"))
    calls = await bot.press(anna, "Edukacja")
    assert "Edukacja" in sent_text(calls)
    await bot.press(anna, bot.label(anna, "postulates.button-edit-content"))
    await bot.send(anna, "Zupełnie nowa treść tego postulatu.")
    calls = await bot.press(anna, bot.label(anna, "postulates.button-done"))
    assert "Zupełnie nowa treść" in sent_text(calls)
    assert CONTENT not in sent_text(calls)


async def test_cancel_at_a_step_stores_nothing(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    await bot.send(anna, TITLE)
    calls = await bot.send(anna, "/cancel")
    assert "Anulowano" in sent_text(calls)
    calls = await bot.send(anna, CONTENT)
    assert "z 3500" not in sent_text(calls)
    calls = await bot.send(anna, "/postulate")
    assert "Do którego zespołu" in sent_text(calls)
    calls = await bot.press(anna, bot.label(anna, "postulates.button-cancel"))
    assert "Anulowano" in sent_text(calls)
    assert await count_postulates(bot) == 0


async def test_idle_draft_expires_and_author_is_told_once(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    bot.clock.advance(hours=25)
    calls = await bot.send(anna, TITLE)
    assert "Opisz postulat" not in sent_text(calls)
    await bot.tick()
    await bot.send(anna, "more text")
    await bot.tick()
    told = [c for c in bot.api.sent("sendMessage") if "wygasł" in c.text]
    assert len(told) == 1


async def test_a_forgotten_draft_expires_without_its_author_writing_again(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    bot.api.clear()
    bot.clock.advance(hours=23)
    await bot.tick()
    assert not [c for c in bot.api.sent("sendMessage") if "wygasł" in c.text]
    bot.clock.advance(hours=1, seconds=1)
    await bot.tick()
    await bot.tick()
    told = [c for c in bot.api.sent("sendMessage") if "wygasł" in c.text]
    assert [c.chat_id for c in told] == [anna.id]


async def test_expire_drafts_for_the_dispatcher(bot: BotDriver, anna: TgUser) -> None:
    from bot.services import postulates_drafts as service

    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    db = db_of(bot)
    assert await db.run(service.expire_drafts, bot.clock() + timedelta(hours=1)) == 0
    later = bot.clock() + timedelta(hours=24, seconds=1)
    assert await db.run(service.expire_drafts, later) == 1
    assert await db.run(service.expire_drafts, later) == 0


async def test_deep_link_preselects_the_sector(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    calls = await bot.send(anna, "/start postulate-health")
    assert "tytuł" in sent_text(calls)
    await bot.send(anna, TITLE)
    await bot.send(anna, CONTENT)
    await bot.press(anna, bot.label(anna, "postulates.button-done"))
    calls = await bot.press(anna, bot.label(anna, "postulates.button-skip"))
    assert "Zdrowie i niepełnosprawni" in sent_text(calls)


async def test_similar_postulates_offered_and_supported_instead(
    bot: BotDriver, anna: TgUser, john: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    await represent(bot, anna, "Fundacja A")
    await represent(bot, john, "Stowarzyszenie B")
    reference = await submit(bot, anna)
    await bot.send(john, "/postulate")
    await bot.press(john, "Culture")
    await bot.press(john, "🏢", exact=False)
    await bot.send(john, "More trees in the centre (zieleni)")
    await bot.send(john, "Nasadzenia drzew przy szkołach, please, more green.")
    await bot.press(john, bot.label(john, "postulates.button-done"))
    calls = await bot.press(john, bot.label(john, "postulates.button-skip"))
    assert "similar postulates" in sent_text(calls)
    assert reference in sent_text(calls)
    calls = await bot.press(john, f"👍 Support {reference}")
    assert "supports: 1" in sent_text(calls)
    assert await count_postulates(bot) == 1
    # John's organisation cannot support twice; Anna cannot support her own.
    calls = await bot.send(john, f"/support {reference}")
    assert "already supports" in sent_text(calls)
    calls = await bot.send(anna, f"/support {reference}")
    assert "własnego" in sent_text(calls)
    calls = await bot.send(anna, "/my_postulates")
    assert "poparcia: 1" in sent_text(calls)


async def test_support_requires_an_organisation(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    reference = await submit(bot, anna)
    calls = await bot.send(john, f"/support {reference.lower()}")
    assert "register yours first" in sent_text(calls)
    calls = await bot.send(john, "/support P-2026-9999")
    assert "There is no postulate" in sent_text(calls)


async def test_submission_outside_a_call_when_config_says_no(
    bot: BotDriver, anna: TgUser, config: Config
) -> None:
    bot.app.bot_data["deps"] = bot.app.bot_data["deps"].__class__(
        config=config.model_copy(
            update={
                "postulates": config.postulates.model_copy(update={"accept_outside_calls": False})
            }
        ),
        db=db_of(bot),
        texts=bot.app.bot_data["deps"].texts,
        engine=bot.app.bot_data["engine"],
        clock=bot.clock,
    )
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    calls = await bot.press(anna, "Kultura")
    assert "nie prowadzi teraz naboru" in sent_text(calls)
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    calls = await bot.send(admin, "/call culture 2026-12-10 Program na 2027")
    assert "Otwarto nabór „Program na 2027” do czwartku, 10 grudnia 2026, do godz. 23:59." in (
        sent_text(calls)
    )
    calls = await bot.press(anna, "Kultura")
    assert "tytuł" in sent_text(calls)
    await bot.send(anna, "/cancel")
    calls = await bot.send(anna, "/postulate")
    call_line = "📣 Nabór w zespole Kultura: <b>Program na 2027</b>"
    assert f"{call_line} (do czwartku, 10 grudnia 2026, do godz. 23:59)" in sent_text(calls)
    await bot.send(anna, "/cancel")
    bot.clock.advance(days=15)  # the call is over: outside it, submissions are refused again
    await bot.send(anna, "/postulate")
    calls = await bot.press(anna, "Kultura")
    assert "nie prowadzi teraz naboru" in sent_text(calls)


async def test_call_takes_the_sector_by_its_polish_name(bot: BotDriver, anna: TgUser) -> None:
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    calls = await bot.send(admin, "/call edukacja 2026-12-10 Program na 2027")
    assert "Otwarto nabór" in sent_text(calls)
    await bot.onboard(anna)
    calls = await bot.send(anna, "/postulate")
    assert "Nabór w zespole Edukacja" in sent_text(calls)
    calls = await bot.send(admin, "/call teatr 2026-12-10 Program")
    assert "Nie ma zespołu branżowego „teatr”. Wpisz jedną z nazw: Kultura, Edukacja" in (
        sent_text(calls)
    )


async def test_call_notifies_subscribers_and_reminds_48h_before(
    bot: BotDriver, anna: TgUser
) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/sectors")
    await bot.press(anna, "▫️ Kultura")
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    calls = await bot.send(anna, "/call culture 2026-12-10 Program")
    assert "Nie masz uprawnień" in sent_text(calls)
    await bot.send(admin, "/call culture 2026-12-10 Program <na> 2027")
    bot.api.clear()
    await bot.tick()
    [notice] = [c for c in bot.api.sent("sendMessage") if c.chat_id == anna.id]
    assert "Program &lt;na&gt; 2027" in notice.text
    assert "2026-12-10 23:59" in notice.text
    assert ("📝 Zgłoś postulat", "pst:new:culture") in notice.buttons()
    bot.api.clear()
    bot.clock.advance(days=12)  # 2026-12-08 10:00 UTC: 48 h before 12-10 22:59 UTC is later
    await bot.tick()
    assert not [c for c in bot.api.sent("sendMessage") if "Za dwa dni" in c.text]
    bot.clock.advance(hours=13)
    await bot.tick()
    assert [c for c in bot.api.sent("sendMessage") if "Za dwa dni" in c.text]
    calls = await bot.press(anna, "📝 Zgłoś postulat")
    assert "tytuł" in texts_of(calls)


async def test_unrelated_postulate_is_not_offered_as_similar(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await submit(bot, anna)
    await bot.send(anna, "/postulate")
    await bot.press(anna, "Kultura")
    await bot.send(anna, "Festiwal muzyki ulicznej")
    await bot.send(anna, "Coroczny festiwal muzyki ulicznej na Rynku, dla szkół też.")
    await bot.press(anna, bot.label(anna, "postulates.button-done"))
    calls = await bot.press(anna, bot.label(anna, "postulates.button-skip"))
    assert "Podgląd postulatu" in sent_text(calls)
    assert "podobne" not in sent_text(calls)


async def test_long_lists_stay_under_the_message_limit(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    for number in range(30):
        await submit(bot, anna, title=f"{number:02d} " + "Długi tytuł postulatu " * 6)
    calls = await bot.send(anna, "/my_postulates")
    [listing] = [c for c in calls if c.method == "sendMessage"]
    assert 3000 < len(listing.text) <= 4096
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    calls = await bot.send(admin, "/review")
    [queue] = [c for c in calls if c.method == "sendMessage"]
    assert len(queue.text) <= 4096


async def test_personal_data_and_erasure(bot: BotDriver, anna: TgUser, john: TgUser) -> None:

    await bot.onboard(anna)
    await bot.onboard(john)
    await represent(bot, john, "Stowarzyszenie B")
    reference = await submit(bot, anna)
    await bot.send(john, f"/support {reference}")
    await bot.send(anna, "/postulate")
    db = db_of(bot)
    mine = await db.run(lambda unit: unit.postulates.list_personal_data(anna.id))
    assert [p["reference"] for p in mine["postulates"]] == [reference]
    assert mine["draft"] is not None
    assert (await db.run(lambda unit: unit.postulates.list_personal_data(john.id)))["supports"][0][
        "reference"
    ] == (reference)
    assert await db.run(lambda unit: unit.postulates.update_anonymise_author(anna.id)) == 1
    row = await postulate_row(bot, reference)
    assert row["author_id"] is None
    assert row["title"] == TITLE
    assert (await db.run(lambda unit: unit.postulates.list_personal_data(anna.id)))["draft"] is None


async def test_browse_and_support_from_the_card(bot: BotDriver, anna: TgUser, john: TgUser) -> None:
    await bot.onboard(anna)
    await bot.onboard(john)
    reference = await submit(bot, anna)
    calls = await bot.send(john, "/postulates")
    assert reference in sent_text(calls)
    calls = await bot.press(john, reference)
    assert "&lt;b&gt;teraz&lt;/b&gt;" in sent_text(calls)
    assert not [d for c in calls for _, d in c.buttons() if d.startswith("pst:sup:")]
    await represent(bot, john, "Stowarzyszenie B")
    calls = await bot.press(john, reference)
    assert "👍 Support " + reference in [label for c in calls for label, _ in c.buttons()]
    calls = await bot.press(john, "👍 Support " + reference)
    [alert] = [c for c in calls if c.method == "answerCallbackQuery"]
    # An alert is plain text: no tags, the title as typed.
    assert alert.text.startswith(f"👍 You supported {reference}: ")
    assert "supports: 1" in alert.text
    # The button went with the press; a second card offers it no more.
    calls = await bot.press(john, reference)
    assert "👍 Support " + reference not in [label for c in calls for label, _ in c.buttons()]
    calls = await bot.send(anna, "/postulates")
    assert reference not in sent_text(calls)


async def test_content_parts_update_one_running_prompt(bot: BotDriver, anna: TgUser) -> None:
    await bot.onboard(anna)
    await bot.send(anna, "/postulate")
    calls = await bot.press(anna, "Kultura")
    # The sector's message became the title's prompt: no second message, no old buttons.
    assert [c.method for c in calls if c.method in ("sendMessage", "editMessageText")] == [
        "editMessageText"
    ]
    await bot.send(anna, TITLE)
    prompts = [
        k
        for k in bot.keyboards(anna)
        if bot.label(anna, "postulates.button-done") in dict(k.buttons)
    ]
    [prompt] = prompts
    for part in ("Pierwsza część treści postulatu.", "Druga część.", "Trzecia część."):
        calls = await bot.send(anna, part)
        assert [c.method for c in calls if c.method != "answerCallbackQuery"] == ["editMessageText"]
        assert calls[-1].message_id == prompt.message_id
    assert "z 3500" in calls[-1].text
    # A refused part gets one new message (the error and the prompt), the old one loses its
    # buttons, so exactly one Done stays on screen.
    calls = await bot.send(anna, "x" * 3500)
    [answer] = [c for c in calls if c.method == "sendMessage"]
    assert "za długa" in answer.text
    done = bot.label(anna, "postulates.button-done")
    assert [done in dict(k.buttons) for k in bot.keyboards(anna)].count(True) == 1
    calls = await bot.press(anna, done)
    assert "załącznik" in sent_text(calls)


async def test_call_reads_the_dates_new_meeting_reads_and_names_a_wrong_one(
    bot: BotDriver, anna: TgUser
) -> None:
    admin = TgUser(id=900, language_code="pl", first_name="Admin")
    await bot.onboard(admin)
    calls = await bot.send(admin, "/call kultura 31.13.2026 Program")
    assert "„31.13.2026” to nie jest poprawna data ostatniego dnia naboru" in sent_text(calls)
    calls = await bot.send(admin, "/call kultura jutro Program")
    assert "„jutro” to nie jest poprawna data" in sent_text(calls)
    # The clock stands at 26 November 2026: "10.12" is this year's 10 December.
    calls = await bot.send(admin, "/call kultura 10.12 Program na 2027")
    assert "do czwartku, 10 grudnia 2026, do godz. 23:59" in sent_text(calls)
    calls = await bot.send(admin, "/call edukacja 11.12.2026 Program")
    assert "do piątku, 11 grudnia 2026, do godz. 23:59" in sent_text(calls)

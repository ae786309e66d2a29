"""A moderator's formatting cannot break a broadcast: attributes escaped, checked before fan-out."""

from __future__ import annotations

import html

import pytest

from bot import limits
from bot.services import broadcasts as service
from bot.services.users import Actor
from handlers.views.broadcasts import header_room
from tests.harness import BotDriver, TgUser
from tests.meeting_factory import db_of
from tests.test_broadcasts import MOD, draft, moderator, sends, write

TEXT = 'Zobacz "to" i kod:\nprint(1)'
URL = 'https://example.org/a"b?x=<1>&y=2'
LANGUAGE = 'py"><b>'


async def test_quotes_in_a_link_and_a_code_language_reach_everyone(
    bot: BotDriver, anna: TgUser
) -> None:
    await moderator(bot)
    await bot.onboard(anna, sectors=["culture"])
    await draft(bot)
    entities = [
        {"type": "text_link", "offset": 0, "length": 6, "url": URL},
        {"type": "bold", "offset": 7, "length": 4},
        {"type": "pre", "offset": 19, "length": 8, "language": LANGUAGE},
    ]
    calls = await write(bot, MOD, text=TEXT, entities=entities)
    previews = [c.text for c in calls if c.method == "sendMessage" and "Zobacz" in c.text]
    assert previews, [c.text for c in calls]
    await bot.press(MOD, "Wyślij teraz", exact=False)
    await bot.press(MOD, "Potwierdź", exact=False)
    sent = [c for c in sends(await bot.dispatch()) if c.chat_id == anna.id]
    assert len(sent) == 1, [c.text for c in sent]
    body = sent[0].text
    # Telegram shows exactly what the moderator wrote; the link and language survive intact.
    assert limits.visible_text(body).endswith(TEXT)
    assert f'<a href="{html.escape(URL)}">Zobacz</a>' in body
    assert f'<code class="language-{html.escape(LANGUAGE)}">' in body


@pytest.mark.parametrize(
    "body",
    [
        '<a href="https://x.org/"y">link</a>',
        "<b>unclosed",
        "1 < 2",
        "<blink>old</blink>",
    ],
)
async def test_a_broadcast_telegram_would_refuse_is_refused_at_preview(
    bot: BotDriver, body: str
) -> None:
    await moderator(bot)
    actor = Actor(
        user_id=MOD.id, language="pl", user=None, is_admin=True, moderated_team_ids=frozenset()
    )
    draft_ = service.Draft(everyone=True, body=body)
    with pytest.raises(service.Unsendable):
        await service.prepare(db_of(bot), actor, draft_, header_room(bot.app.bot_data["texts"]))

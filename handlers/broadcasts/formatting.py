"""Broadcasts: a message's Telegram entities written back as the HTML a broadcast carries."""

from __future__ import annotations

import html
from collections.abc import Sequence

from telegram import MessageEntity

# Entity type -> the HTML tag Telegram reads back as that entity. Types missing here (urls,
# mentions, hashtags, commands) Telegram detects again by itself: they stay plain text.
_SIMPLE_TAGS = {
    MessageEntity.BOLD: "b",
    MessageEntity.ITALIC: "i",
    MessageEntity.UNDERLINE: "u",
    MessageEntity.STRIKETHROUGH: "s",
    MessageEntity.SPOILER: "tg-spoiler",
    MessageEntity.CODE: "code",
    MessageEntity.BLOCKQUOTE: "blockquote",
}


def formatted_html(text: str, entities: Sequence[MessageEntity]) -> str:
    """The moderator's text with its formatting as Telegram HTML, every value escaped.

    Not PTB's `text_html`: it leaves a quote in a link's URL or a code block's language
    unescaped, and Telegram then refuses every copy of the broadcast.
    """
    units = text.encode("utf-16-le")

    def plain(start: int, end: int) -> str:
        return html.escape(units[2 * start : 2 * end].decode("utf-16-le"), quote=False)

    def render(start: int, end: int, inside: list[MessageEntity]) -> str:
        out: list[str] = []
        position = start
        index = 0
        while index < len(inside):
            entity = inside[index]
            stop = min(entity.offset + entity.length, end)
            nested: list[MessageEntity] = []
            index += 1
            # Entities starting inside this one nest in it (a partial overlap is clipped).
            while index < len(inside) and inside[index].offset < stop:
                nested.append(inside[index])
                index += 1
            out.append(plain(position, entity.offset))
            if entity.type in (MessageEntity.CODE, MessageEntity.PRE):
                body = plain(entity.offset, stop)  # Telegram allows nothing inside code
            else:
                body = render(entity.offset, stop, nested)
            out.append(_wrap(entity, body))
            position = stop
        out.append(plain(position, end))
        return "".join(out)

    ordered = sorted((e for e in entities if e.length > 0), key=lambda e: (e.offset, -e.length))
    return render(0, len(units) // 2, ordered)


def _wrap(entity: MessageEntity, body: str) -> str:
    def attr(value: object) -> str:
        return html.escape(str(value), quote=True)

    tag = _SIMPLE_TAGS.get(entity.type)
    if tag is not None:
        return f"<{tag}>{body}</{tag}>"
    if entity.type == MessageEntity.EXPANDABLE_BLOCKQUOTE:
        return f"<blockquote expandable>{body}</blockquote>"
    if entity.type == MessageEntity.PRE:
        if entity.language:
            return f'<pre><code class="language-{attr(entity.language)}">{body}</code></pre>'
        return f"<pre>{body}</pre>"
    if entity.type == MessageEntity.TEXT_LINK and entity.url:
        return f'<a href="{attr(entity.url)}">{body}</a>'
    if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
        return f'<a href="tg://user?id={entity.user.id}">{body}</a>'
    if entity.type == MessageEntity.CUSTOM_EMOJI and entity.custom_emoji_id:
        return f'<tg-emoji emoji-id="{attr(entity.custom_emoji_id)}">{body}</tg-emoji>'
    return body

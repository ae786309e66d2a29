"""Telegram's message limits, counted the way Telegram counts them: parse, measure, shorten.

Telegram parses a message's HTML into text + entities and then measures the text in UTF-16
code units (an emoji outside the BMP costs 2), so `len()` on the HTML source is wrong both
ways: tags and `&amp;` cost nothing, astral characters cost double. This module knows the
tags Telegram accepts, reports HTML it would refuse, measures and shortens safely. It has no
`telegram` dependency, so the fake Bot API in the tests checks with the same code.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8
BUTTONS_LIMIT = 100
ALERT_LIMIT = 200  # answerCallbackQuery text
MARKER = "…"

# Tag -> the attributes Telegram reads on it. Anything else is refused here, stricter than
# Telegram (which ignores some unknown attributes): a stray attribute is how a quote left
# unescaped in a URL shows up (`<a href="x"y">`), and that HTML is broken.
_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "span": frozenset({"class"}),
    "tg-spoiler": frozenset(),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class InvalidHtml(ValueError):
    """HTML that Telegram cannot parse; the message says why, like Telegram's does."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Telegram text limit."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Token:
    kind: str  # "start", "end", "text"
    raw: str  # the HTML source to emit
    visible: str = ""  # the text it stands for (text tokens only)
    tag: str = ""


class _Tokenizer(HTMLParser):
    """Turn Telegram-flavoured HTML into checked tokens; raise InvalidHtml on what it refuses."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tokens: list[_Token] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        allowed = _TAGS.get(tag)
        if allowed is None:
            raise InvalidHtml(f'Unsupported start tag "{tag}"')
        for name, value in attrs:
            if name not in allowed:
                raise InvalidHtml(f'Unsupported attribute "{name}" in tag "{tag}"')
            if name == "href" and not value:
                raise InvalidHtml('Empty attribute "href" in tag "a"')
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            raise InvalidHtml('Tag "span" must have class "tg-spoiler"')
        self.open.append(tag)
        self.tokens.append(_Token("start", self.get_starttag_text() or f"<{tag}>", tag=tag))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise InvalidHtml(f'Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            raise InvalidHtml(f'Unexpected end tag "{tag}"')
        expected = self.open.pop()
        if expected != tag:
            raise InvalidHtml(f'Unmatched end tag, expected "</{expected}>", found "</{tag}>"')
        self.tokens.append(_Token("end", f"</{tag}>", tag=tag))

    def handle_data(self, data: str) -> None:
        if "<" in data:
            # html.parser passes a `<` it cannot read as a tag on as text; Telegram refuses it.
            raise InvalidHtml('Unexpected "<" in text')
        self.tokens.append(_Token("text", data, visible=data))

    def handle_entityref(self, name: str) -> None:
        known = _NAMED.get(name)
        if known is not None:
            self.tokens.append(_Token("text", f"&{name};", visible=known))
        else:
            # Telegram knows only these four names; others stay literal text. Re-emitted
            # escaped (with the `;` html.parser does not report), which only over-counts.
            literal = f"&{name};"
            self.tokens.append(_Token("text", html.escape(literal, quote=False), literal))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            char = chr(code)
        except (ValueError, OverflowError) as exc:
            raise InvalidHtml(f'Invalid character reference "&#{name};"') from exc
        self.tokens.append(_Token("text", f"&#{name};", visible=char))

    def handle_comment(self, data: str) -> None:
        raise InvalidHtml("Comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise InvalidHtml("Declarations are not supported")

    def handle_pi(self, data: str) -> None:
        raise InvalidHtml("Processing instructions are not supported")

    def unknown_decl(self, data: str) -> None:
        raise InvalidHtml("Declarations are not supported")


def _tokens(source: str) -> list[_Token]:
    parser = _Tokenizer()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise InvalidHtml(f'Can\'t find end tag corresponding to start tag "{parser.open[-1]}"')
    return parser.tokens


def visible_text(source: str) -> str:
    """The text Telegram shows for HTML `source` (entities decoded); raises InvalidHtml."""
    return "".join(token.visible for token in _tokens(source))


def html_length(source: str) -> int:
    """Telegram's length of an HTML message: UTF-16 units of its visible text."""
    return utf16_len(visible_text(source))


def check_html(source: str) -> None:
    """Raise InvalidHtml if Telegram could not parse `source`."""
    _tokens(source)


def text_length(text: str, parse_mode: str | None) -> int:
    """Telegram's length of a text or caption sent with `parse_mode` (HTML or none)."""
    if parse_mode is not None and parse_mode.upper() == "HTML":
        return html_length(text)
    return utf16_len(text)


def shorten(source: str, limit: int, marker: str = MARKER) -> str:
    """Cut HTML to at most `limit` visible UTF-16 units, ending with `marker` when cut.

    Never cuts inside a tag, an entity or a surrogate pair; closes the tags left open.
    """
    tokens = _tokens(source)
    if utf16_len("".join(t.visible for t in tokens)) <= limit:
        return source
    budget = limit - utf16_len(marker)
    out: list[str] = []
    stack: list[str] = []
    for token in tokens:
        if token.kind == "start":
            out.append(token.raw)
            stack.append(token.tag)
            continue
        if token.kind == "end":
            out.append(token.raw)
            stack.pop()
            continue
        cost = utf16_len(token.visible)
        if cost <= budget:
            out.append(token.raw)
            budget -= cost
            continue
        if token.raw == token.visible:
            # Plain text: keep whole characters that still fit, then stop.
            kept = _prefix(token.visible, budget)
            # Prefer a cut at a word boundary when one is near.
            space = kept.rfind(" ")
            if space > len(kept) - 40:
                kept = kept[: space + 1] if space > 0 else kept
            out.append(kept.rstrip())
        break
    out.append(html.escape(marker, quote=False))
    out.extend(f"</{tag}>" for tag in reversed(stack))
    return "".join(out)


def _prefix(text: str, units: int) -> str:
    """The longest prefix of `text` of at most `units` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:index]
    return text


def plain_prefix(text: str, units: int, marker: str = MARKER) -> str:
    """Plain text (an alert, a button label) cut to `units` UTF-16 units with a marker."""
    if utf16_len(text) <= units:
        return text
    return _prefix(text, units - utf16_len(marker)) + marker


def callback_data_ok(data: str) -> bool:
    """Whether Telegram accepts `data` as a button's callback data (1-64 bytes of UTF-8)."""
    return 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT


def keyboard_problem(rows: Sequence[Iterable[tuple[str, str | None]]]) -> str | None:
    """What Telegram would refuse in an inline keyboard of (label, callback data) rows."""
    count = 0
    for row in rows:
        for label, data in row:
            count += 1
            if not label:
                return "button text is empty"
            if data is not None and not callback_data_ok(data):
                return "BUTTON_DATA_INVALID"
    if count > BUTTONS_LIMIT:
        return "reply markup is too long"
    return None

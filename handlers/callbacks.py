"""Typed callback data: each kind of button is a frozen dataclass packed and parsed here.

A button's data is `feature:action` followed by its fields, `:`-separated, e.g.
`rsvp:answer:going:12`. Fields are ASCII-digit ints, short words, or one of a `Literal`'s
values; anything else (other scripts' digits, extra parts, a forged prefix) parses to None,
because callback data comes from the client and can be forged. Telegram allows 64 bytes.

    @dataclass(frozen=True)
    class Answer(Callback, prefix="rsvp:answer"):
        answer: Literal["going", "maybe", "no"]
        meeting_id: int

    InlineKeyboardButton(label, callback_data=Answer("going", 12).pack())
    CallbackQueryHandler(on_answer, pattern=Answer.pattern())
    press = Answer.parse(query.data)  # Answer | None
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any, ClassVar, Literal, NewType, Self

LIMIT = 64  # bytes, Telegram's limit for callback_data
_INT = "(0|[1-9][0-9]{0,17})"  # ASCII digits only: int() would also read other scripts' digits
_WORD = "([A-Za-z0-9_-]{1,40})"
_SLUG = "([a-z][a-z0-9-]{0,39})"

# A sector team's slug as the configuration allows it (a letter first): a field typed `Slug`
# refuses what no team can be called, so a forged `consent:yes:1000000` is not a button.
Slug = NewType("Slug", str)


class Callback:
    """Base of every typed button; subclasses are frozen dataclasses with a `prefix`."""

    prefix: ClassVar[str]
    _regex: ClassVar[re.Pattern[str]]
    _casts: ClassVar[tuple[type[int] | type[str], ...]]

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not re.fullmatch(r"[a-z][a-z0-9-]*(:[a-z][a-z0-9-]*)*", prefix):
            raise TypeError(f"{cls.__name__}: callback prefix {prefix!r} is not feature:action")
        cls.prefix = prefix

    @classmethod
    def _compile(cls) -> None:
        # Field types are read once, after the dataclass decorator has run.
        if "_regex" in cls.__dict__:
            return
        hints = typing.get_type_hints(cls)
        parts: list[str] = [re.escape(cls.prefix)]
        casts: list[type[int] | type[str]] = []
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            kind = hints[field.name]
            if kind is int:
                parts.append(_INT)
                casts.append(int)
            elif kind is Slug:
                parts.append(_SLUG)
                casts.append(str)
            elif kind is str:
                parts.append(_WORD)
                casts.append(str)
            elif typing.get_origin(kind) is Literal:
                values = typing.get_args(kind)
                parts.append("(" + "|".join(re.escape(str(v)) for v in values) + ")")
                casts.append(str)
            else:
                raise TypeError(f"{cls.__name__}.{field.name}: only int, str, Slug or Literal[str]")
        cls._regex = re.compile(":".join(parts))
        cls._casts = tuple(casts)

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """The anchored pattern a CallbackQueryHandler matches this button with."""
        cls._compile()
        return re.compile(f"^{cls._regex.pattern}$")

    @classmethod
    def parse(cls, data: object) -> Self | None:
        """The button's fields, or None for data that is not exactly this button's."""
        cls._compile()
        if not isinstance(data, str):
            return None
        match = cls._regex.fullmatch(data)
        if match is None:
            return None
        values = [cast(group) for cast, group in zip(cls._casts, match.groups(), strict=True)]
        return cls(*values)

    def pack(self) -> str:
        """The callback_data string; refuses a value the pattern would not read back."""
        type(self)._compile()
        values = [str(getattr(self, f.name)) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        data = ":".join([self.prefix, *values])
        if type(self).parse(data) != self:
            raise ValueError(f"{data!r} does not read back as {self!r}")
        if len(data.encode()) > LIMIT:
            raise ValueError(f"callback data {data!r} is over {LIMIT} bytes")
        return data

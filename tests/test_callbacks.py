"""Typed callback data: what a button packs is exactly what its handler parses back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from handlers.callbacks import Callback, Slug


@dataclass(frozen=True)
class Answer(Callback, prefix="test:answer"):
    answer: Literal["going", "maybe", "no"]
    meeting_id: int


@dataclass(frozen=True)
class Open(Callback, prefix="test:open"):
    slug: str


def test_a_packed_button_parses_back_to_itself() -> None:
    data = Answer("maybe", 12).pack()
    assert data == "test:answer:maybe:12"
    assert Answer.parse(data) == Answer("maybe", 12)
    assert Answer.pattern().match(data)
    assert Open.parse(Open("culture").pack()) == Open("culture")


@pytest.mark.parametrize(
    "data",
    [
        "test:answer:maybe:١٢",  # other scripts' digits
        "test:answer:perhaps:12",  # not one of the Literal's values
        "test:answer:maybe:12:13",  # an extra part
        "test:answer:maybe:012",  # not how an int is written
        "test:answer:maybe",
        "test:open:maybe:12",
        "test:answer:maybe:" + "9" * 30,
        None,
        "",
    ],
)
def test_forged_data_parses_to_none(data: str | None) -> None:
    assert Answer.parse(data) is None
    if data is not None:
        assert not Answer.pattern().match(data)


def test_a_value_that_would_not_read_back_is_refused_when_packing() -> None:
    with pytest.raises(ValueError, match="does not read back"):
        Open("two words").pack()

    @dataclass(frozen=True)
    class Long(Callback, prefix="test:long-long-long-long-long-long"):
        first: str
        second: str

    with pytest.raises(ValueError, match="64 bytes"):
        Long("a" * 20, "b" * 20).pack()


def test_a_prefix_must_name_feature_and_action() -> None:
    with pytest.raises(TypeError):

        @dataclass(frozen=True)
        class Bad(Callback, prefix="Bad Prefix"):
            n: int


@dataclass(frozen=True)
class Join(Callback, prefix="test:join"):
    slug: Slug


def test_a_slug_field_reads_only_what_a_team_can_be_called() -> None:
    assert Join.parse(Join(Slug("health-and-disabled")).pack()) == Join(Slug("health-and-disabled"))
    # Found by the state machine: a forged consent:yes:1000000 recorded a consent.
    for forged in ("test:join:1000000", "test:join:Culture", "test:join:-x", "test:join:a_b"):
        assert Join.parse(forged) is None

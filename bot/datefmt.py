"""Dates in sentences: a day phrased for its role ("w niedzielę, 20 grudnia 2026"), by language.

A message never pastes a formatted date after a preposition of its own: Polish inflects the
weekday after one ("do soboty", "na niedzielę", "we wtorek"), and CLDR, so Babel, has only the
nominative weekday names (`get_day_names("wide", context="format", locale="pl")` gives "sobota",
the same as "stand-alone"). So the preposition and the weekday come together from the small
table below, the rest (day, month in the genitive, year, time) from Babel's CLDR patterns, and
the sentence around them from the catalogue, which uses the part for its role:

- `{day}`        "sobota, 5 grudnia 2026"           "Saturday, 5 December 2026" (after a colon)
- `{on_day}`     "w sobotę, 5 grudnia 2026"         "on Saturday, 5 December 2026"
- `{until_day}`  "do soboty, 5 grudnia 2026"        "until Saturday, 5 December 2026"
- `{for_day}`    "na sobotę, 5 grudnia 2026"        "for Saturday, 5 December 2026"
- `{time}`       "04:20"
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_day_names

from bot.i18n import Texts

ROLES = ("on", "until", "for")

# Monday first, as datetime.weekday() counts. Grammar CLDR does not carry: the preposition with
# the weekday in the case it governs (accusative after "w"/"na", genitive after "do"; "we" before
# "wtorek" is said so). English needs no inflection: its phrases are built from CLDR's names.
_POLISH: dict[str, tuple[str, ...]] = {
    "on": (
        "w poniedziałek",
        "we wtorek",
        "w środę",
        "w czwartek",
        "w piątek",
        "w sobotę",
        "w niedzielę",
    ),
    "until": (
        "do poniedziałku",
        "do wtorku",
        "do środy",
        "do czwartku",
        "do piątku",
        "do soboty",
        "do niedzieli",
    ),
    "for": (
        "na poniedziałek",
        "na wtorek",
        "na środę",
        "na czwartek",
        "na piątek",
        "na sobotę",
        "na niedzielę",
    ),
}
_ENGLISH_PREPOSITION = {"on": "on", "until": "until", "for": "for"}


def weekday_phrase(role: str, weekday: int, language: str) -> str:
    """The preposition of a role with the weekday (0 = Monday) in the case it takes."""
    if language == "pl":
        return _POLISH[role][weekday]
    # CLDR numbers weekdays as datetime does (0 = Monday).
    name = get_day_names("wide", context="format", locale=language)[weekday]
    return f"{_ENGLISH_PREPOSITION[role]} {name}"


# Babel's pattern formatting costs tens of microseconds; the same instants are shown often.
@functools.lru_cache(maxsize=4096)
def phrases(instant: datetime, language: str, zone: ZoneInfo) -> Mapping[str, str]:
    """Every part a sentence may need about one instant, in the deployment's zone."""
    local = instant.astimezone(zone)
    weekday_name = get_day_names("wide", context="format", locale=language)[local.weekday()]
    # "d MMMM y": the month in the genitive ("5 grudnia 2026"), as CLDR's long date has it.
    date = str(format_date(local.date(), "d MMMM y", locale=language))
    parts = {
        "day": f"{weekday_name}, {date}",
        "time": str(format_time(local, "HH:mm", locale=language)),
    }
    for role in ROLES:
        parts[f"{role}_day"] = f"{weekday_phrase(role, local.weekday(), language)}, {date}"
    # Read-only: the cache hands the same mapping to every caller.
    return MappingProxyType(parts)


# Zones people name in words instead of by their tz database key.
_ZONE_KEYS = {"Europe/Warsaw": "core.zone-warsaw"}


def zone_name(zone: str, language: str, texts: Texts) -> str:
    """The deployment's zone as people say it: "czas polski" / "Polish time" for
    Europe/Warsaw, the zone's own name for any other."""
    key = _ZONE_KEYS.get(zone)
    return zone if key is None else texts.get(language, key)

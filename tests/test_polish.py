"""Native Polish (and English): every catalogue entry rendered with counts and weekdays.

Each entry of both languages is rendered with the numbers 1, 2, 5, 12, 22, 25 in every numeric
placeholder and with a date on each of seven consecutive days in every date placeholder, and the
result is checked: a number that counts something goes through plural forms chosen as CLDR
chooses them, and no preposition stands before a weekday in the wrong case ("do sobota").
A failure names the file, the message id and the text as it was rendered.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from bot import datefmt
from bot.config import LANGUAGES
from bot.i18n import LOCALES, PLACEHOLDER, Texts, counted_by

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("Europe/Warsaw")
NUMBERS = (1, 2, 5, 12, 22, 25)
# Seven consecutive days, Tuesday 1 December 2026 to Monday 7 December, at 04:20 local time.
DAYS = tuple(datetime(2026, 12, 1, 3, 20, tzinfo=UTC) + timedelta(days=n) for n in range(7))

# Placeholders that carry a number (a count, a limit, an identifier); the last names are
# looked up by the heuristic below as well, so a new name followed by a noun is caught too.
NUMERIC = {
    "blocked", "capacity", "count", "days", "default", "expired", "failed", "free", "going",
    "high", "id", "individuals", "joined", "left", "length", "limit", "limit_mb", "low", "max",
    "maybe", "maximum", "meetings", "megabytes", "min", "minimum", "n", "not_going", "number",
    "organisations", "page", "pages", "parts", "pending", "position", "sections", "sent",
    "subscribers", "total", "unknown", "user_id", "version", "waiting",
}  # fmt: skip
# Placeholders that receive a day with its weekday ("sobota, 5 grudnia 2026, 04:20", from
# handlers.views.meetings.local_when): a sentence may put them after a colon or in brackets,
# never after a preposition of its own; with one it uses bot.datefmt's {on_day}, {until_day},
# {for_day}. Numeric dates ({deadline}, {opens}, {closes}, {at}: "05.12.2026 10:00") read
# right after any preposition, so they are not here.
DATES = {"due", "expires", "starts", "when"}

# A placeholder followed by one of these words counts it (stems, so every case matches).
COUNTABLE = {
    "pl": re.compile(
        r"(znak|spotka|dni|dzie|godzin|minut|tydzie|tygodn|wiadomo|częś|części|osob|osób|"
        r"miejsc|postulat|uwag|zespo|zespó|odpowied|organizac|subskrybent|wpis|komunikat|"
        r"popar|raz|plik|dokument|zgłosze|sekund|miesi|strona|stron|przypomnie)",
        re.IGNORECASE,
    ),
    "en": re.compile(
        r"(character|meeting|day|hour|minute|week|message|part|section|person|people|place|"
        r"postulate|comment|team|answer|organisation|subscriber|entr|announcement|support|"
        r"time|file|member|seat|repl|page|reminder|second|month)",
        re.IGNORECASE,
    ),
}
# Within a line: the word after the number, past a closing tag (" {max} znaków", "{n}</b> osób").
FOLLOWED = re.compile(r"\{(\w+)\}(?:</\w+>)? +(\w+)")
# Names that carry a number, for placeholders added after this list was written.
NUMERIC_NAME = re.compile(r"(^|_)(count|days|hours|minutes|max|min|limit|length|total|n)$")

# Entries a single plural choice cannot serve: keep this short, with the reason.
NOT_COUNTS = {
    # Two retention periods in one sentence ("po {purge_days} dniach", "po {keep_days}
    # dniach"): gettext picks one form per entry. After "po" the locative plural "dniach" is
    # right for every number but 1, and the configured periods are 180 and 90 days.
    "privacy.rights",
}

WEEKDAYS_PL = "poniedziałek|wtorek|środa|czwartek|piątek|sobota|niedziela"
FEMININE_PL = "środa|sobota|niedziela"
FORBIDDEN = {
    "pl": (
        # "do", "od", "z", "przed", "po", "o", "dla", "około" never take the nominative.
        re.compile(rf"\b(do|od|z|ze|przed|po|o|dla|około)\s+({WEEKDAYS_PL})\b", re.IGNORECASE),
        # "w", "na", "za", "przez" take the accusative: "w sobotę", not "w sobota".
        re.compile(rf"\b(w|we|na|za|przez)\s+({FEMININE_PL})\b", re.IGNORECASE),
        # A sentence's own preposition before a role phrase: "do do soboty", "o w sobotę".
        re.compile(r"\b(w|we|do|na|od|o|z)\s+(w|we|do|na)\s+\w+,\s+\d", re.IGNORECASE),
    ),
    "en": (re.compile(r"\b(on|until|for|by|from|at)\s+(on|until|for)\s+[A-Z]\w+day\b"),),
}


@dataclass(frozen=True)
class Entry:
    """One message of one language, where it is defined."""

    path: Path
    language: str
    message: Message

    @property
    def key(self) -> str:
        return self.message.id[0] if self.message.pluralizable else str(self.message.id)

    @property
    def forms(self) -> list[str]:
        string = self.message.string
        return list(string) if isinstance(string, tuple) else [str(string)]

    @property
    def counted_by(self) -> str | None:
        return counted_by(self.message.auto_comments) if self.message.pluralizable else None

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}: {self.key}"


def entries(language: str) -> Iterator[Entry]:
    for path in sorted((LOCALES / language).glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id:
                    yield Entry(path, language, message)


ALL = [entry for language in LANGUAGES for entry in entries(language)]


def plural_index(path: Path) -> Callable[[int], int]:
    header = path.read_text("utf-8").split("\n\n")[0]
    expression = re.search(r"plural=(.+?);?\\n", header)
    assert expression, f"{path.relative_to(ROOT)}: no Plural-Forms header"
    pick: Callable[[int], int] = gettext.c2py(expression.group(1))
    return pick


def cldr_index(language: str, n: int) -> int:
    """The form CLDR picks for n, numbered as gettext numbers the forms."""
    order = {"pl": ("one", "few", "many"), "en": ("one", "other")}[language]
    category = Locale(language).plural_form(n)
    # Polish "other" is for fractions only; gettext's last form serves it.
    return order.index(category) if category in order else len(order) - 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_picks_plural_forms_as_cldr_does(language: str) -> None:
    wrong = []
    for path in sorted((LOCALES / language).glob("*.po")):
        pick = plural_index(path)
        for n in range(201):
            if pick(n) != cldr_index(language, n):
                wrong.append(f"{path.relative_to(ROOT)}: n={n} gives form {pick(n)}")
                break
    assert not wrong, "\n" + "\n".join(wrong)


def numeric(entry: Entry, name: str, template: str) -> bool:
    return name in NUMERIC or name == entry.counted_by or bool(NUMERIC_NAME.search(name))


def test_every_number_that_counts_something_has_plural_forms() -> None:
    problems = []
    for entry in ALL:
        if entry.key in NOT_COUNTS:
            continue
        for template in entry.forms:
            for name, word in FOLLOWED.findall(template):
                if not (numeric(entry, name, template) and COUNTABLE[entry.language].match(word)):
                    continue
                if entry.counted_by != name:
                    sample = template.replace("{" + name + "}", "2")
                    problems.append(
                        f"{entry.where()} [{entry.language}]: {{{name}}} counts {word!r} but the "
                        f"entry is not plural by it: {sample!r}"
                    )
    assert not problems, "\n" + "\n".join(sorted(set(problems)))


def test_plural_entries_have_the_languages_forms_and_their_number() -> None:
    forms = {"pl": 3, "en": 2}
    problems = []
    for entry in ALL:
        if entry.counted_by is None:
            continue
        if len(entry.forms) != forms[entry.language]:
            problems.append(f"{entry.where()} [{entry.language}]: {len(entry.forms)} forms")
        for index, form in enumerate(entry.forms):
            if entry.counted_by != "count" and "{" + entry.counted_by + "}" not in form:
                problems.append(
                    f"{entry.where()} [{entry.language} {index}]: counted by "
                    f"{{{entry.counted_by}}}, which is not in {form!r}"
                )
    assert not problems, "\n" + "\n".join(problems)


def renderings(entry: Entry, texts: Texts) -> Iterator[str]:
    """The entry rendered with each number and each weekday, as the bot would render it."""
    names = sorted({name for form in entry.forms for name in PLACEHOLDER.findall(form)})
    template = entry.forms[0]
    for number, day in zip(NUMBERS * 2, DAYS + DAYS[:5], strict=True):
        parts = datefmt.phrases(day, entry.language, ZONE)
        values: dict[str, object] = {}
        for name in names:
            if name in parts:
                values[name] = parts[name]
            elif name in DATES:
                values[name] = f"{parts['day']}, {parts['time']}"
            elif numeric(entry, name, template):
                values[name] = number
            else:
                values[name] = "Xyz"
        if entry.counted_by is not None and entry.counted_by not in values:
            values[entry.counted_by] = number
        yield texts.get(entry.language, entry.key, **values)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


def test_no_preposition_stands_before_a_weekday_in_the_wrong_case(texts: Texts) -> None:
    problems = []
    for entry in ALL:
        for rendered in renderings(entry, texts):
            for pattern in FORBIDDEN[entry.language]:
                match = pattern.search(rendered)
                if match:
                    problems.append(
                        f"{entry.where()} [{entry.language}]: {match[0]!r} in {rendered!r}"
                    )
                    break
    assert not problems, "\n" + "\n".join(sorted(set(problems)))


def test_the_example_sentences_read_as_native(texts: Texts) -> None:
    saturday = datefmt.phrases(DAYS[4], "pl", ZONE)
    assert saturday["until_day"] == "do soboty, 5 grudnia 2026"
    assert saturday["on_day"] == "w sobotę, 5 grudnia 2026"
    assert datefmt.phrases(DAYS[0], "pl", ZONE)["on_day"] == "we wtorek, 1 grudnia 2026"
    assert datefmt.phrases(DAYS[5], "pl", ZONE)["for_day"] == "na niedzielę, 6 grudnia 2026"
    assert datefmt.phrases(DAYS[4], "en", ZONE)["until_day"] == "until Saturday, 5 December 2026"
    assert "najwyżej 52 spotkania" in texts.get("pl", "meetings.ask-until", max=52)
    assert "najwyżej 55 spotkań" in texts.get("pl", "meetings.ask-until", max=55)
    long = texts.get("pl", "postulates.error-title-long", length=152, maximum=150)
    assert "152 znaki" in long
    # An identifier is not a count: one changed meeting is "spotkania nr 1", not "1 spotkania".
    assert "Zapisano zmianę spotkania nr 1." in texts.plural("pl", "meetings.edited", 1, id=1)
    assert "Zapisano zmianę 2 spotkań (od nr 1)" in texts.plural("pl", "meetings.edited", 2, id=1)


# --- code: a plural entry is rendered with its number ----------------------------------------


def plural_keys() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in ALL:
        if entry.counted_by is not None:
            found[entry.key] = entry.counted_by
    return found


def test_code_passes_the_number_a_plural_entry_counts_by() -> None:
    plurals = plural_keys()
    problems = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if not isinstance(node, ast.Call) or len(node.args) < 2:
                    continue
                func = node.func
                through_get = (isinstance(func, ast.Name) and func.id == "text") or (
                    isinstance(func, ast.Attribute)
                    and func.attr == "get"
                    and ast.unparse(func.value).endswith("texts")
                )
                key = node.args[1]
                if not (through_get and isinstance(key, ast.Constant)):
                    continue
                name = str(key.value)
                needed = plurals.get(name)
                passed = {keyword.arg for keyword in node.keywords}
                if needed is not None and needed not in passed and None not in passed:
                    problems.append(
                        f"{path.relative_to(ROOT)}:{node.lineno}: {name} is plural by "
                        f"{{{needed}}}: pass it (or call texts.plural)"
                    )
    assert not problems, "\n" + "\n".join(problems)

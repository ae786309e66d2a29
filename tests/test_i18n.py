"""Texts: both languages complete and consistent, Polish plurals right, values escaped."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Message
from babel.messages.pofile import read_po

from bot.config import LANGUAGES
from bot.i18n import LOCALES, PLACEHOLDER, Html, Texts, load_catalog

ROOT = Path(__file__).resolve().parent.parent
MSGID = re.compile(r'^msgid "(.+)"$', re.MULTILINE)
KEY = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")


def po_files(language: str) -> list[Path]:
    # Discovered at test time: features add their own catalogue files.
    return sorted((LOCALES / language).glob("*.po"))


def read(path: Path) -> list[Message]:
    with path.open("rb") as handle:
        return [message for message in read_po(handle, locale=path.parent.name) if message.id]


def key_of(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else str(message.id)


def forms_of(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [str(message.string)]


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def messages(language: str) -> dict[str, Message]:
    return {key_of(m): m for path in po_files(language) for m in read(path)}


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts()


def test_both_languages_are_configured() -> None:
    assert set(LANGUAGES) == {"pl", "en"}
    for language in LANGUAGES:
        assert po_files(language), f"no catalogue files for {language}"


def test_every_catalogue_file_exists_in_both_languages() -> None:
    names = {language: {path.name for path in po_files(language)} for language in LANGUAGES}
    assert names["pl"] == names["en"]


def test_both_languages_have_the_same_message_ids() -> None:
    pl, en = set(messages("pl")), set(messages("en"))
    assert sorted(pl - en) == [], "missing in English"
    assert sorted(en - pl) == [], "missing in Polish"


def test_ids_are_in_the_same_file_in_both_languages() -> None:
    def where(language: str) -> dict[str, str]:
        return {key_of(m): path.name for path in po_files(language) for m in read(path)}

    pl, en = where("pl"), where("en")
    moved = {key: (pl[key], en[key]) for key in pl.keys() & en.keys() if pl[key] != en[key]}
    assert moved == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_id_is_defined_twice(language: str) -> None:
    # Babel keeps only one of two equal msgids in a file, so count them in the raw text.
    counts = Counter(
        key for path in po_files(language) for key in MSGID.findall(path.read_text("utf-8"))
    )
    assert [key for key, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_usable(language: str) -> None:
    problems = []
    for key, message in messages(language).items():
        if not KEY.match(key):
            problems.append(f"{key}: not a <feature>.<name> key")
        if message.fuzzy:
            problems.append(f"{key}: fuzzy (it would be shown as its key)")
        if any(not form.strip() for form in forms_of(message)):
            problems.append(f"{key}: empty translation")
    assert problems == []


def test_placeholders_are_the_same_in_every_form_and_language() -> None:
    pl, en = messages("pl"), messages("en")
    problems = []
    for key in sorted(pl.keys() & en.keys()):
        expected = set().union(*(placeholders(form) for form in forms_of(en[key])))
        for language, message in (("pl", pl[key]), ("en", en[key])):
            if isinstance(message.id, tuple) != isinstance(en[key].id, tuple):
                problems.append(f"{key}: plural in one language only")
            for index, form in enumerate(forms_of(message)):
                found = placeholders(form)
                # The first form is for exactly one (CLDR "one" in both languages): it may
                # say so in words ("Odwołano spotkanie nr 5") instead of "1 spotkanie".
                if isinstance(message.id, tuple) and index == 0:
                    found |= expected & {"count"}
                if found != expected:
                    shown = sorted(placeholders(form))
                    problems.append(f"{key} [{language} {index}]: {shown} != {sorted(expected)}")
    assert problems == []


@pytest.mark.parametrize(("language", "forms"), [("pl", 3), ("en", 2)])
def test_plural_messages_have_all_forms(language: str, forms: int) -> None:
    plurals = [m for m in messages(language).values() if isinstance(m.id, tuple)]
    assert plurals, "sectors.count at least is plural"
    for message in plurals:
        assert len(forms_of(message)) == forms, key_of(message)


def test_merged_catalogue_refuses_a_duplicate_across_files(tmp_path: Path) -> None:
    for language in LANGUAGES:
        folder = tmp_path / language
        folder.mkdir()
        header = (LOCALES / language / "core.po").read_text("utf-8").split("\n\n")[0]
        (folder / "a.po").write_text(f'{header}\n\nmsgid "x.one"\nmsgstr "1"\n', "utf-8")
        (folder / "b.po").write_text(f'{header}\n\nmsgid "x.one"\nmsgstr "2"\n', "utf-8")
    with pytest.raises(ValueError, match="twice"):
        load_catalog("pl", tmp_path)


def test_merged_catalogue_refuses_a_duplicate_in_one_file(tmp_path: Path) -> None:
    folder = tmp_path / "pl"
    folder.mkdir()
    header = (LOCALES / "pl" / "core.po").read_text("utf-8").split("\n\n")[0]
    body = 'msgid "x.one"\nmsgstr "1"\n\nmsgid "x.one"\nmsgstr "2"\n'
    (folder / "a.po").write_text(f"{header}\n\n{body}", "utf-8")
    with pytest.raises(ValueError, match="twice"):
        load_catalog("pl", tmp_path)


# --- keys used in code -----------------------------------------------------------------------


def literal_keys_in_code() -> dict[str, str]:
    """Literal keys passed to text(context, KEY) and <...>texts.get/plural/has(lang, KEY)."""
    found: dict[str, str] = {}
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or len(node.args) < 2:
                    continue
                func = node.func
                is_text = isinstance(func, ast.Name) and func.id == "text"
                is_texts = (
                    isinstance(func, ast.Attribute)
                    and func.attr in ("get", "plural", "has")
                    and ast.unparse(func.value).endswith("texts")
                )
                key = node.args[1]
                if (
                    (is_text or is_texts)
                    and isinstance(key, ast.Constant)
                    and isinstance(key.value, str)
                    and KEY.match(key.value)
                ):
                    found[key.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_literal_key_in_code_is_in_the_catalogues() -> None:
    used = literal_keys_in_code()
    assert "sectors.count" in used  # the scan itself works
    known = set(messages("pl")) & set(messages("en"))
    assert {key: where for key, where in used.items() if key not in known} == {}


# --- rendering -------------------------------------------------------------------------------

# CLDR: one = 1; few = 2-4 except 12-14 (by the last digits); many = everything else.
POLISH_FORM = {1: 0, 2: 1, 4: 1, 5: 2, 12: 2, 21: 2, 22: 1, 25: 2, 112: 2, 0: 2, 14: 2, 104: 1}


@pytest.mark.parametrize(("count", "form"), sorted(POLISH_FORM.items()))
def test_polish_plural_forms(texts: Texts, count: int, form: int) -> None:
    templates = forms_of(messages("pl")["sectors.count"])
    assert len(set(templates)) == 3, "the three Polish forms must differ"
    rendered = texts.plural("pl", "sectors.count", count)
    assert rendered == templates[form].format(count=count)
    assert str(count) in rendered


def test_polish_plural_words(texts: Texts) -> None:
    assert "1 zespół" in texts.plural("pl", "sectors.count", 1)
    assert "22 zespoły" in texts.plural("pl", "sectors.count", 22)
    assert "25 zespołów" in texts.plural("pl", "sectors.count", 25)


@pytest.mark.parametrize(("count", "form"), [(1, 0), (2, 1), (0, 1), (21, 1)])
def test_english_plural_forms(texts: Texts, count: int, form: int) -> None:
    templates = forms_of(messages("en")["sectors.count"])
    assert texts.plural("en", "sectors.count", count) == templates[form].format(count=count)
    assert texts.plural("en", "sectors.count", 1) != texts.plural("en", "sectors.count", 2)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholder_values_are_html_escaped(texts: Texts, language: str) -> None:
    rendered = texts.get(language, "sectors.toggled-on", name="<b>A & B</b>")
    assert isinstance(rendered, Html)
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in rendered
    assert "<b>" not in rendered


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_values_are_not_escaped(texts: Texts, language: str) -> None:
    rendered = texts.get(language, "sectors.toggled-on", name=Html("<b>A &amp; B</b>"))
    assert "<b>A &amp; B</b>" in rendered
    assert "&lt;" not in rendered


def test_plural_values_are_escaped_too(tmp_path: Path) -> None:
    for language in LANGUAGES:
        folder = tmp_path / language
        folder.mkdir()
        header = (LOCALES / language / "core.po").read_text("utf-8").split("\n\n")[0]
        forms = 3 if language == "pl" else 2
        strings = "".join(f'msgstr[{i}] "{{name}}: {{count}} form {i}"\n' for i in range(forms))
        body = f'msgid "x.many"\nmsgid_plural "x.many"\n{strings}'
        (folder / "x.po").write_text(f"{header}\n\n{body}", "utf-8")
    texts = Texts(tmp_path)
    assert texts.plural("pl", "x.many", 5, name="<i>&") == "&lt;i&gt;&amp;: 5 form 2"
    assert texts.plural("pl", "x.many", 3, name=Html("<i>")) == "<i>: 3 form 1"
    assert texts.plural("en", "x.many", 1, name="a<b") == "a&lt;b: 1 form 0"
    assert texts.has("en", "x.many")


def test_unknown_key_is_reported_missing(texts: Texts) -> None:
    assert texts.has("pl", "sectors.count")  # a plural one
    assert texts.has("pl", "sectors.intro")
    assert texts.has("en", "sectors.intro")
    assert not texts.has("pl", "no-such.key")

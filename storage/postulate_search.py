"""Postulates storage, the similar search: FTS5 terms, the common-words list, candidates."""

from __future__ import annotations

import re
import unicodedata

from storage.postulate_models import POSTULATE_SELECT, Postulate
from storage.repository import Repository

_WORD = re.compile(r"\w{4,}", re.UNICODE)
# Shared distinct words (4+ letters, accents ignored) that make two postulates "similar".
MIN_SHARED_WORDS = 2
# The words asked for in one search: the cost of an FTS5 query grows with its terms and with
# the postulates they match, so a few uncommon ones are asked for (each in two spellings).
MAX_TERMS = 8
# Words looked up among the common ones: the title's, then the content's longest.
MAX_CANDIDATES = 64
# A word held by more postulates than this share of them (and than COMMON_FLOOR) says nothing
# about what a postulate is about ("mieszkańców", "miasta"): it is left out of the search.
COMMON_SHARE = 0.05
COMMON_FLOOR = 50
# Candidates ranked by bm25 before the shared words are counted.
CANDIDATES = 30


def _fold(text: str) -> str:
    return _token(text).replace("ł", "l")


def _token(text: str) -> str:
    """The word as the index holds it: lower case, accents removed except ł (unicode61)."""
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(_fold(text)))


def _candidates(title: str, content: str) -> list[str]:
    """The title's words first, then the content's longest ones: at most MAX_CANDIDATES."""
    chosen: list[str] = []
    for part in (title, content):
        for word in sorted(set(_WORD.findall(part.lower())), key=lambda w: (-len(w), w)):
            if word not in chosen:
                chosen.append(word)
    return chosen[:MAX_CANDIDATES]


class Similarity(Repository):
    """The similar-postulates search (part of `unit.postulates`)."""

    __slots__ = ()

    def list_common_words(self) -> dict[str, int]:
        """Index terms held by more postulates than COMMON_SHARE of them (and COMMON_FLOOR).

        Reads the whole vocabulary: run it on the read-only connection.
        """
        total = self._conn.execute("SELECT max(id) FROM postulates").fetchone()[0] or 0
        rows = self._conn.execute(
            "SELECT term, doc FROM postulates_vocab WHERE doc > ?",
            (int(max(COMMON_FLOOR, total * COMMON_SHARE)),),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def replace_common_words(self, words: dict[str, int]) -> None:
        """Make `words` the words the similar search leaves out."""
        self._conn.execute("DELETE FROM postulate_common_words")
        self._conn.executemany(
            "INSERT INTO postulate_common_words (term, docs) VALUES (?, ?)", words.items()
        )

    def similar_terms(self, title: str, text: str) -> list[str]:
        """The index terms a similar search asks for: at most MAX_TERMS words, common ones out.

        FTS5 folds accents except ł, so a word with ł is asked for in both spellings.
        """
        spellings = [(_token(word), _fold(word)) for word in _candidates(title, text)]
        tokens = sorted({token for pair in spellings for token in pair})
        if not tokens:
            return []
        common = {
            row[0]
            for row in self._conn.execute(
                f"""SELECT term FROM postulate_common_words
                    WHERE term IN ({", ".join("?" * len(tokens))})""",
                tokens,
            )
        }
        kept = [pair for pair in spellings if not common.intersection(pair)]
        return sorted({token for pair in kept[:MAX_TERMS] for token in pair})

    def list_similar(
        self, team_id: int, text: str, limit: int = 3, *, title: str = ""
    ) -> list[Postulate]:
        """Return live postulates of the sector sharing words with `text`, most shared first."""
        words = _words(f"{title} {text}")
        terms = self.similar_terms(title, text)
        if not terms:
            return []
        # Every word is quoted, so nothing the author typed is read as FTS5 query syntax; the
        # sector is a column filter, so only its postulates are matched and ranked.
        query = f"team_id : {int(team_id)} AND (" + " OR ".join(f'"{t}"' for t in terms) + ")"
        rows = self._conn.execute(
            f"""{POSTULATE_SELECT} JOIN (SELECT rowid AS id, rank FROM postulates_fts
                                   WHERE postulates_fts MATCH ? ORDER BY rank LIMIT ?) f
                             ON f.id = p.id
                WHERE p.state NOT IN ('rejected', 'duplicate', 'withdrawn', 'not_adopted')
                ORDER BY f.rank""",
            (query, CANDIDATES),
        ).fetchall()
        scored = []
        for row in rows:
            postulate = Postulate.from_row(row)
            shared = len(words & _words(f"{postulate.title} {postulate.content}"))
            if shared >= MIN_SHARED_WORDS:
                scored.append((-shared, postulate.id, postulate))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [postulate for _, _, postulate in scored[:limit]]

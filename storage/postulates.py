"""Postulates storage: drafts, postulates, state history, supports, prompts, calls, similarity."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime
from typing import Any, Literal

from storage.models import Row
from storage.repository import Repository
from storage.timefmt import db_time

State = Literal[
    "submitted",
    "in_review",
    "clarification",
    "forwarded",
    "adopted",
    "not_adopted",
    "rejected",
    "duplicate",
    "withdrawn",
]
Step = Literal["sector", "behalf", "title", "content", "attachment", "similar", "preview"]
AttachmentType = Literal["document", "photo", "voice"]
PromptAction = Literal["reject", "ask", "duplicate", "adopt", "not_adopt", "answer", "call"]


class Postulate(Row):
    id: int
    reference: str
    draft_id: int
    team_id: int
    author_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    call_id: int | None
    title: str
    content: str
    attachment_type: AttachmentType | None
    attachment_file_id: str | None
    state: State
    duplicate_of: int | None
    answer: str | None
    created_at: datetime
    updated_at: datetime
    supports: int = 0
    # Hidden from the public site by a moderator (bot/services/publication.py).
    hidden_at: datetime | None = None


class HistoryEntry(Row):
    id: int
    postulate_id: int
    at: datetime
    actor_id: int | None
    action: str
    from_state: str | None
    to_state: str
    note: str | None


class Support(Row):
    postulate_id: int
    user_id: int | None
    organisation_id: int | None
    organisation_name: str | None
    created_at: datetime


class Draft(Row):
    id: int
    user_id: int
    step: Step
    editing: bool
    paused: bool
    team_id: int | None
    organisation_id: int | None
    on_behalf: Literal["self", "organisation"] | None
    title: str | None
    content: str | None
    attachment_type: AttachmentType | None
    attachment_file_id: str | None
    created_at: datetime
    updated_at: datetime


class Prompt(Row):
    user_id: int
    action: PromptAction
    postulate_id: int | None
    team_id: int | None
    created_at: datetime
    note: str | None = None
    message_id: int | None = None


class Call(Row):
    id: int
    team_id: int
    title: str
    deadline: datetime
    state: Literal["open", "closed"]
    opened_by: int
    created_at: datetime


_POSTULATE = """SELECT p.*, (SELECT count(*) FROM postulate_supports s
                             WHERE s.postulate_id = p.id) AS supports
                FROM postulates p"""

# --- drafts -------------------------------------------------------------------------------


_DRAFT_FIELDS = frozenset(
    {
        "step",
        "editing",
        "paused",
        "team_id",
        "organisation_id",
        "on_behalf",
        "title",
        "content",
        "attachment_type",
        "attachment_file_id",
    }
)


# --- postulates -----------------------------------------------------------------------------


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


# --- history ------------------------------------------------------------------------------


# --- supports -----------------------------------------------------------------------------


# --- prompts --------------------------------------------------------------------------------


# --- calls ----------------------------------------------------------------------------------


# --- audiences ------------------------------------------------------------------------------


# --- personal data ------------------------------------------------------------------------


class Postulates(Repository):
    """Postulates repository over one transaction's connection."""

    __slots__ = ()

    def get_draft(self, user_id: int) -> Draft | None:
        """Return the user's draft."""
        row = self._conn.execute(
            "SELECT * FROM postulate_drafts WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else Draft.from_row(row)

    def add_draft(self, user_id: int, now: datetime) -> Draft:
        """Start a new draft at the sector step, replacing any old one of the user."""
        self._conn.execute("DELETE FROM postulate_drafts WHERE user_id = ?", (user_id,))
        row = self._conn.execute(
            """INSERT INTO postulate_drafts (user_id, step, created_at, updated_at)
               VALUES (?, 'sector', ?, ?) RETURNING *""",
            (user_id, db_time(now), db_time(now)),
        ).fetchone()
        return Draft.from_row(row)

    def update_draft(self, draft_id: int, now: datetime, **fields: Any) -> Draft:
        """Change fields of a draft (and its idle clock); return it."""
        unknown = set(fields) - _DRAFT_FIELDS
        if unknown:
            raise ValueError(f"unknown draft fields: {sorted(unknown)}")
        names = sorted(fields)
        assignments = ", ".join(f"{name} = ?" for name in names)
        row = self._conn.execute(
            f"UPDATE postulate_drafts SET {assignments}, updated_at = ? WHERE id = ? RETURNING *",
            (*(fields[name] for name in names), db_time(now), draft_id),
        ).fetchone()
        if row is None:
            raise LookupError(draft_id)
        return Draft.from_row(row)

    def delete_draft(self, draft_id: int) -> bool:
        """Remove a draft; return whether it existed."""
        return (
            self._conn.execute("DELETE FROM postulate_drafts WHERE id = ?", (draft_id,)).rowcount
            > 0
        )

    def list_idle_drafts(self, before: datetime) -> list[Draft]:
        """Return drafts untouched since `before`."""
        rows = self._conn.execute(
            # In the index's order, so the idle ones are found without reading every draft.
            "SELECT * FROM postulate_drafts WHERE updated_at < ? ORDER BY updated_at, id",
            (db_time(before),),
        ).fetchall()
        return [Draft.from_row(row) for row in rows]

    def next_reference(self, year: int) -> str:
        """Take the next number of the year's sequence: P-2026-0042."""
        row = self._conn.execute(
            """INSERT INTO postulate_counters (year, last) VALUES (?, 1)
               ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last""",
            (year,),
        ).fetchone()
        return f"P-{year}-{row[0]:04d}"

    def add_postulate(
        self,
        *,
        reference: str,
        draft_id: int,
        team_id: int,
        author_id: int,
        organisation_id: int | None,
        organisation_name: str | None,
        call_id: int | None,
        title: str,
        content: str,
        attachment_type: str | None,
        attachment_file_id: str | None,
        now: datetime,
    ) -> Postulate:
        """Insert a submitted postulate."""
        row = self._conn.execute(
            """INSERT INTO postulates (reference, draft_id, team_id, author_id, organisation_id,
                   organisation_name, call_id, title, content, attachment_type, attachment_file_id,
                   created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
            (
                reference,
                draft_id,
                team_id,
                author_id,
                organisation_id,
                organisation_name,
                call_id,
                title,
                content,
                attachment_type,
                attachment_file_id,
                db_time(now),
                db_time(now),
            ),
        ).fetchone()
        postulate = self.get_postulate(row[0])
        assert postulate is not None
        return postulate

    def get_postulate(self, postulate_id: int) -> Postulate | None:
        """Return one postulate with its support count."""
        row = self._conn.execute(f"{_POSTULATE} WHERE p.id = ?", (postulate_id,)).fetchone()
        return None if row is None else Postulate.from_row(row)

    def get_postulate_by_reference(self, reference: str) -> Postulate | None:
        """Return one postulate by its reference (case-insensitive)."""
        row = self._conn.execute(
            f"{_POSTULATE} WHERE p.reference = ?", (reference.upper(),)
        ).fetchone()
        return None if row is None else Postulate.from_row(row)

    def get_postulate_by_draft(self, draft_id: int) -> Postulate | None:
        """Return the postulate submitted from a draft."""
        row = self._conn.execute(f"{_POSTULATE} WHERE p.draft_id = ?", (draft_id,)).fetchone()
        return None if row is None else Postulate.from_row(row)

    def update_postulate(
        self,
        postulate_id: int,
        now: datetime,
        *,
        state: str | None = None,
        answer: str | None = None,
        team_id: int | None = None,
        duplicate_of: int | None = None,
    ) -> None:
        """Change the state, last answer, sector or duplicate link of a postulate."""
        self._conn.execute(
            """UPDATE postulates SET state = coalesce(?, state), answer = coalesce(?, answer),
                   team_id = coalesce(?, team_id), duplicate_of = coalesce(?, duplicate_of),
                   updated_at = ?
               WHERE id = ?""",
            (state, answer, team_id, duplicate_of, db_time(now), postulate_id),
        )

    def list_postulates(
        self,
        *,
        team_ids: list[int] | None = None,
        states: list[str] | None = None,
        author_id: int | None = None,
        not_author_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Postulate]:
        """Return postulates matching every given filter, oldest first."""
        where: list[str] = []
        params: list[Any] = []
        if team_ids is not None:
            where.append(f"p.team_id IN ({', '.join('?' * len(team_ids)) or 'NULL'})")
            params.extend(team_ids)
        if states is not None:
            where.append(f"p.state IN ({', '.join('?' * len(states)) or 'NULL'})")
            params.extend(states)
        if author_id is not None:
            where.append("p.author_id = ?")
            params.append(author_id)
        if not_author_id is not None:
            # An anonymised author (NULL) is nobody's own postulate.
            where.append("p.author_id IS NOT ?")
            params.append(not_author_id)
        if since is not None:
            where.append("p.created_at >= ?")
            params.append(db_time(since))
        if until is not None:
            where.append("p.created_at < ?")
            params.append(db_time(until))
        # Without a narrowing filter this reads every postulate: only exports do, on the
        # read-only connection (the marker tells tests/query_plans.py it is meant).
        sql = _POSTULATE + (" WHERE " + " AND ".join(where) if where else " /* reads all */")
        sql += " ORDER BY p.created_at, p.id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Postulate.from_row(row) for row in self._conn.execute(sql, params).fetchall()]

    def count_by_state(self, team_ids: list[int]) -> dict[str, int]:
        """Count postulates per state over the given teams."""
        rows = self._conn.execute(
            f"""SELECT state, count(*) FROM postulates
                WHERE team_id IN ({", ".join("?" * len(team_ids)) or "NULL"}) GROUP BY state""",
            team_ids,
        ).fetchall()
        return {row[0]: row[1] for row in rows}

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
            f"""{_POSTULATE} JOIN (SELECT rowid AS id, rank FROM postulates_fts
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

    def add_history(
        self,
        postulate_id: int,
        *,
        actor_id: int | None,
        action: str,
        from_state: str | None,
        to_state: str,
        note: str | None,
        now: datetime,
    ) -> None:
        """Record one step of a postulate's life."""
        self._conn.execute(
            """INSERT INTO postulate_history
                   (postulate_id, at, actor_id, action, from_state, to_state, note)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (postulate_id, db_time(now), actor_id, action, from_state, to_state, note),
        )

    def list_history(self, postulate_id: int) -> list[HistoryEntry]:
        """Return a postulate's history, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM postulate_history WHERE postulate_id = ? ORDER BY id", (postulate_id,)
        ).fetchall()
        return [HistoryEntry.from_row(row) for row in rows]

    def list_history_of(self, postulate_ids: list[int]) -> list[HistoryEntry]:
        """The histories of many postulates in one query, by postulate then oldest first."""
        rows = self._conn.execute(
            """SELECT h.* FROM json_each(?) j
               JOIN postulate_history h ON h.postulate_id = j.value
               ORDER BY h.postulate_id, h.id""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return [HistoryEntry.from_row(row) for row in rows]

    def add_support(
        self,
        postulate_id: int,
        *,
        user_id: int,
        organisation_id: int | None,
        organisation_name: str | None,
        now: datetime,
    ) -> bool:
        """Co-sign; return False when this organisation (or person) already did."""
        key = f"o{organisation_id}" if organisation_id is not None else f"u{user_id}"
        cursor = self._conn.execute(
            """INSERT INTO postulate_supports (postulate_id, user_id, organisation_id,
                   organisation_name, supporter_key, created_at)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            (postulate_id, user_id, organisation_id, organisation_name, key, db_time(now)),
        )
        return cursor.rowcount > 0

    def list_supports(self, postulate_id: int) -> list[Support]:
        """Return the supports of a postulate, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM postulate_supports WHERE postulate_id = ? ORDER BY created_at",
            (postulate_id,),
        ).fetchall()
        return [Support.from_row(row) for row in rows]

    def list_supports_of(self, postulate_ids: list[int]) -> list[Support]:
        """The supports of many postulates in one query, by postulate then oldest first."""
        rows = self._conn.execute(
            """SELECT s.* FROM json_each(?) j
               JOIN postulate_supports s ON s.postulate_id = j.value
               ORDER BY s.postulate_id, s.created_at""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return [Support.from_row(row) for row in rows]

    def list_references(self, postulate_ids: list[int]) -> dict[int, str]:
        """The references of the given postulates."""
        rows = self._conn.execute(
            """SELECT p.id, p.reference FROM json_each(?) j JOIN postulates p ON p.id = j.value""",
            (json.dumps(postulate_ids),),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def get_prompt(self, user_id: int) -> Prompt | None:
        """Return the review input the user is expected to type."""
        row = self._conn.execute(
            "SELECT * FROM postulate_prompts WHERE user_id = ?", (user_id,)
        ).fetchone()
        return None if row is None else Prompt.from_row(row)

    def set_prompt(
        self,
        user_id: int,
        action: str,
        now: datetime,
        *,
        postulate_id: int | None = None,
        team_id: int | None = None,
    ) -> None:
        """Wait for the user's text for `action` (replacing an earlier wait)."""
        self._conn.execute(
            """INSERT INTO postulate_prompts (user_id, action, postulate_id, team_id, created_at)
               VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (user_id) DO UPDATE SET action = excluded.action,
                   postulate_id = excluded.postulate_id, team_id = excluded.team_id,
                   created_at = excluded.created_at, note = NULL, message_id = NULL""",
            (user_id, action, postulate_id, team_id, db_time(now)),
        )

    def delete_prompt(self, user_id: int) -> bool:
        """Stop waiting for the user's text; return whether a prompt existed."""
        cursor = self._conn.execute("DELETE FROM postulate_prompts WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0

    def update_prompt(
        self, user_id: int, *, note: str | None = None, message_id: int | None = None
    ) -> None:
        """Keep the typed text waiting for confirmation and the prompt's message."""
        self._conn.execute(
            """UPDATE postulate_prompts SET note = coalesce(?, note),
                   message_id = coalesce(?, message_id) WHERE user_id = ?""",
            (note, message_id, user_id),
        )

    def add_call(
        self,
        *,
        team_id: int,
        title: str,
        deadline: datetime,
        opened_by: int,
        now: datetime,
    ) -> Call:
        """Open a call for postulates."""
        row = self._conn.execute(
            """INSERT INTO postulate_calls (team_id, title, deadline, opened_by, created_at)
               VALUES (?, ?, ?, ?, ?) RETURNING *""",
            (team_id, title, db_time(deadline), opened_by, db_time(now)),
        ).fetchone()
        return Call.from_row(row)

    def get_open_call(self, team_id: int, now: datetime) -> Call | None:
        """Return the sector's open call whose deadline has not passed (the nearest one)."""
        row = self._conn.execute(
            """SELECT * FROM postulate_calls WHERE team_id = ? AND state = 'open' AND deadline > ?
               ORDER BY deadline LIMIT 1""",
            (team_id, db_time(now)),
        ).fetchone()
        return None if row is None else Call.from_row(row)

    def list_open_calls(self, now: datetime) -> list[Call]:
        """Return every call still open, nearest deadline first."""
        rows = self._conn.execute(
            "SELECT * FROM postulate_calls WHERE state = 'open' AND deadline > ? ORDER BY deadline",
            (db_time(now),),
        ).fetchall()
        return [Call.from_row(row) for row in rows]

    def list_team_moderator_recipients(self, team_id: int) -> list[tuple[int, str]]:
        """Moderators of a sector team and the admins who have a chat with the bot."""
        rows = self._conn.execute(
            """SELECT u.id, u.language FROM users u
               WHERE u.active = 1 AND u.consent_at IS NOT NULL
                 AND (u.id IN (SELECT user_id FROM moderators WHERE team_id = ?)
                      OR u.id IN (SELECT user_id FROM admins))
               ORDER BY u.id""",
            (team_id,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def get_organisation_name(self, organisation_id: int) -> str | None:
        """Return an organisation's name."""
        row = self._conn.execute(
            "SELECT name FROM organisations WHERE id = ?", (organisation_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def update_anonymise_author(self, user_id: int) -> int:
        """Erase a user from postulates (GDPR): submitted ones stay, without their author.

        Drafts and waiting prompts go; supports keep only the organisation. Returns how many
        postulates were anonymised.
        """
        self._conn.execute("DELETE FROM postulate_drafts WHERE user_id = ?", (user_id,))
        self._conn.execute("DELETE FROM postulate_prompts WHERE user_id = ?", (user_id,))
        self._conn.execute(
            "UPDATE postulate_supports SET user_id = NULL WHERE user_id = ?", (user_id,)
        )
        self._conn.execute(
            "UPDATE postulate_history SET actor_id = NULL WHERE actor_id = ?", (user_id,)
        )
        cursor = self._conn.execute(
            "UPDATE postulates SET author_id = NULL WHERE author_id = ?", (user_id,)
        )
        return cursor.rowcount

    def list_personal_data(self, user_id: int) -> dict[str, Any]:
        """Everything postulates hold about a user, for /mydata."""
        draft = self.get_draft(user_id)
        return {
            "postulates": [
                p.model_dump(mode="json") for p in self.list_postulates(author_id=user_id)
            ],
            "supports": [
                dict(row)
                for row in self._conn.execute(
                    """SELECT p.reference, s.organisation_name, s.created_at
                       FROM postulate_supports s JOIN postulates p ON p.id = s.postulate_id
                       WHERE s.user_id = ? ORDER BY s.created_at""",
                    (user_id,),
                ).fetchall()
            ],
            "draft": draft.model_dump(mode="json") if draft is not None else None,
        }

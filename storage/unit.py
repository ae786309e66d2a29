"""The unit of work services receive: one repository per storage module over one transaction.

Services type against `Unit` and the repository classes and never see a connection. This is the
SQLite implementation: `Database.run` (read-write) and `Database.read` / `ReadOnlyDatabase.run`
(read-only) build one `Unit` per transaction over their connection and hand it to the service's
function. A PostgreSQL backend would sit beside it as its own module with a `Unit` offering the
same attributes (`meetings`, `users`, `delivery`, ...), each a repository class with the same
methods and models, and its own `Database` running a function per transaction; services stay
untouched because they only call `unit.<repository>.<method>(...)`, `unit.savepoint()` and
`unit.checked()`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from itertools import count

from storage.audit import Audit
from storage.broadcasts import Broadcasts
from storage.consultations import Consultations
from storage.conversations import Conversations
from storage.delivery import Deliveries
from storage.groups import Groups
from storage.meetings import Meetings
from storage.organisations import Organisations
from storage.postulates import Postulates
from storage.privacy import Privacy
from storage.public import Public
from storage.roles import Roles
from storage.rsvps import Rsvps
from storage.settings import Settings
from storage.stats import Stats
from storage.subscriptions import Subscriptions
from storage.teams import Teams
from storage.updates import Updates
from storage.users import Users

# Savepoint names only need to differ while nested; a counter keeps them unique and valid SQL.
_savepoints = count()


class ConstraintViolation(Exception):
    """A write broke a constraint of the schema (unique, foreign key, check)."""


class Unit:
    """One transaction seen through its repositories, each built on first use.

    Most units touch one or two repositories, so building them lazily keeps a unit as cheap as
    the connection it wraps (the sector toggle, the hot path, builds two).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run the block so that its exception undoes only the block's own changes."""
        name = f"sp{next(_savepoints)}"
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        self._conn.execute(f"RELEASE {name}")

    @contextmanager
    def checked(self) -> Iterator[None]:
        """Run the block, turning the backend's constraint error into `ConstraintViolation`."""
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise ConstraintViolation(str(exc)) from exc

    @cached_property
    def audit(self) -> Audit:
        """The audit log."""
        return Audit(self._conn)

    @cached_property
    def broadcasts(self) -> Broadcasts:
        """Moderators' broadcasts and their recipients."""
        return Broadcasts(self._conn)

    @cached_property
    def consultations(self) -> Consultations:
        """Consultations of the draft programme: sections, comments, answers."""
        return Consultations(self._conn)

    @cached_property
    def conversations(self) -> Conversations:
        """Multi-step conversations' state (handlers/flow.py)."""
        return Conversations(self._conn)

    @cached_property
    def delivery(self) -> Deliveries:
        """The delivery engine's announcements and deliveries."""
        return Deliveries(self._conn)

    @cached_property
    def groups(self) -> Groups:
        """Group chats linked to sector teams."""
        return Groups(self._conn)

    @cached_property
    def meetings(self) -> Meetings:
        """Meetings."""
        return Meetings(self._conn)

    @cached_property
    def organisations(self) -> Organisations:
        """Organisations and their representatives."""
        return Organisations(self._conn)

    @cached_property
    def postulates(self) -> Postulates:
        """Postulates, drafts, calls and supports."""
        return Postulates(self._conn)

    @cached_property
    def privacy(self) -> Privacy:
        """Personal-data export, erasure and retention."""
        return Privacy(self._conn)

    @cached_property
    def public(self) -> Public:
        """What the public site and feeds read."""
        return Public(self._conn)

    @cached_property
    def roles(self) -> Roles:
        """Admins, moderators and invites."""
        return Roles(self._conn)

    @cached_property
    def rsvps(self) -> Rsvps:
        """Answers to meeting invitations."""
        return Rsvps(self._conn)

    @cached_property
    def settings(self) -> Settings:
        """Users' notification settings and digests."""
        return Settings(self._conn)

    @cached_property
    def stats(self) -> Stats:
        """Statistics for the coordinating team."""
        return Stats(self._conn)

    @cached_property
    def subscriptions(self) -> Subscriptions:
        """Which sector teams a user follows."""
        return Subscriptions(self._conn)

    @cached_property
    def teams(self) -> Teams:
        """Sector and other teams."""
        return Teams(self._conn)

    @cached_property
    def updates(self) -> Updates:
        """Updates already handled (at most once across restarts)."""
        return Updates(self._conn)

    @cached_property
    def users(self) -> Users:
        """Users."""
        return Users(self._conn)

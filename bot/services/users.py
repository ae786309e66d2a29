"""Onboarding and profile: the actor of an update, consent, language, activity."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.config import Language
from storage.database import Database
from storage.models import User
from storage.unit import Unit
from storage.users import PersonName

__all__ = ["Actor", "PersonName"]


# Telegram allows 64 characters for a first or last name and 32 for a username.
NAME_MAX = 64


class Actor(BaseModel):
    """Who sent the update, with roles read from the database for this very update."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    language: Language
    user: User | None
    is_admin: bool
    moderated_team_ids: frozenset[int]
    # A multi-step conversation is active (it may have expired since; the flow checks).
    in_conversation: bool = False
    # A postulate draft (paused or not) or a review prompt exists: the postulates
    # interceptor reads them only then.
    drafting: bool = False

    def consented(self, notice_version: int) -> bool:
        return (
            self.user is not None
            and self.user.consent_version is not None
            and self.user.consent_version >= notice_version
        )

    @property
    def is_moderator(self) -> bool:
        return self.is_admin or bool(self.moderated_team_ids)

    def moderates(self, team_id: int) -> bool:
        return self.is_admin or team_id in self.moderated_team_ids


def language_from_telegram(language_code: str | None, default: Language) -> Language:
    """Telegram's `pl...` means Polish, any other code English, none the default."""
    if not language_code:
        return default
    return "pl" if language_code.lower().startswith("pl") else "en"


def clean_name(first_name: str | None, last_name: str | None, username: str | None) -> PersonName:
    """Telegram's names as stored: blanks as None, whitespace collapsed, at most 64 characters."""

    def clean(value: str | None) -> str | None:
        value = " ".join((value or "").split())[:NAME_MAX]
        return value or None

    return PersonName(
        first_name=clean(first_name), last_name=clean(last_name), username=clean(username)
    )


def _names_changed(user: User, name: PersonName) -> bool:
    return (
        user.first_name != name.first_name
        or user.last_name != name.last_name
        or user.username != name.username
    )


def read_actor(
    unit: Unit, user_id: int, telegram_language: Language, name: PersonName | None = None
) -> Actor:
    """Read the actor inside a caller's transaction (see `load_actor`); once the person has
    consented, keep their Telegram names in step with `name` (written only when they change)."""
    user, is_admin, moderated, talking, drafting = unit.users.get_user_and_roles(user_id)
    if (
        name is not None
        and user is not None
        and user.consent_at is not None
        and _names_changed(user, name)
    ):
        # Before consent only the chat id and language are kept (bot/services/privacy.py).
        unit.users.update_names(user_id, name)
        user = user.model_copy(
            update={
                "first_name": name.first_name,
                "last_name": name.last_name,
                "username": name.username,
            }
        )
    if user is not None and not user.language_chosen and user.language != telegram_language:
        # Until the user picks a language, it follows the client; keep the row in step so
        # that notices sent outside an update use it too.
        unit.users.update_language(user_id, telegram_language, chosen=False)
        user = user.model_copy(update={"language": telegram_language})
    language = user.language if user is not None else telegram_language
    # Validated: in pydantic 2 that is quicker than model_construct (bench/updates.py).
    return Actor(
        user_id=user_id,
        language=language,
        user=user,
        is_admin=is_admin,
        moderated_team_ids=moderated,
        in_conversation=talking,
        drafting=drafting,
    )


async def load_actor(db: Database, user_id: int, telegram_language: Language) -> Actor:
    """Read the user and their roles; called for every update, button presses included."""
    return await db.run(read_actor, user_id, telegram_language)


async def register_contact(db: Database, user_id: int, language: Language, now: datetime) -> User:
    """Remember the chat id and language only (all that is stored before consent)."""
    return await db.run(lambda unit: unit.users.add_user(user_id, language, now))


async def set_language(db: Database, user_id: int, language: Language) -> None:
    """Pin the user's language to their choice."""

    def change(unit: Unit) -> None:
        if unit.users.get_user(user_id) is None:
            raise LookupError(user_id)
        unit.users.update_language(user_id, language, chosen=True)

    await db.run(change)


async def set_active(db: Database, user_id: int, active: bool) -> bool:
    """Mark a user (in)active after they blocked or restarted the bot; False if unknown."""
    return await db.run(lambda unit: unit.users.update_active(user_id, active))

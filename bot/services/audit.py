"""The audit log of moderators' and admins' actions: who, when, what, on what.

`record` is sync and is called INSIDE the caller's `db.run` unit, so the entry commits or rolls
back together with the action it describes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from storage import audit as storage


def record(
    conn: sqlite3.Connection,
    *,
    actor_id: int,
    action: str,
    target: str,
    details: Mapping[str, object] | None = None,
    now: datetime,
) -> None:
    """Append an audit entry in the caller's transaction.

    `action` like 'role.grant', 'role.revoke', 'broadcast.send', 'meeting.create',
    'meeting.edit', 'meeting.cancel', 'postulate.review'; `target` like 'meeting:42',
    'user:123'; `details` a JSON-serialisable mapping (other values are stored as text).
    """
    storage.add_entry(
        conn, actor_id=actor_id, action=action, target=target, details=details, now=now
    )

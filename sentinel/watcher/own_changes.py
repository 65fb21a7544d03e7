"""Changes Sentinel itself makes to an account's identity and access, so the account-state
watcher can tell them from a hijacker's.

The rotator notes an app password's name *before* it asks the platform to create or
revoke it, the responder the app passwords it revokes; the watcher claims a noted change
when its snapshot shows it and marks the account event ``client: "Sentinel"``. A change is
recognised by this record, never by its name: an app password a hijacker calls
``sentinel-…`` is still the hijacker's. Notes are kept for ``KEEP_SECONDS`` (a snapshot
shows a change within minutes; a note never claimed was a call that failed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sentinel.store import Store

KEEP_SECONDS = 7 * 86400.0

MIGRATIONS = [
    """
    CREATE TABLE account_own_changes (
        account TEXT NOT NULL,
        field   TEXT NOT NULL,
        value   TEXT NOT NULL,
        noted   REAL NOT NULL,
        PRIMARY KEY (account, field, value)
    )
    """,
]


class OwnChanges:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        store.migrate("own_changes", MIGRATIONS)

    def note(self, account: str, field: str, value: str) -> None:
        self.store.execute(
            "INSERT INTO account_own_changes(account, field, value, noted) VALUES(?, ?, ?, ?) "
            "ON CONFLICT(account, field, value) DO UPDATE SET noted = excluded.noted",
            (account, field, value, self.clock()),
        )

    def claim(self, account: str, field: str, value: str) -> bool:
        """Whether Sentinel made this change (the note is used up)."""
        self.store.execute("DELETE FROM account_own_changes WHERE noted < ?", (self.clock() - KEEP_SECONDS,))
        return (
            self.store.execute(
                "DELETE FROM account_own_changes WHERE account = ? AND field = ? AND value = ?",
                (account, field, value),
            )
            > 0
        )

"""The fields of an account's state: what a platform's ``account_state`` snapshot may hold and
the ``field`` of an account event. One list, shared by the adapters (which snapshot) and the
engine (which judges), neither importing the other."""

from __future__ import annotations

FIELDS = (
    "handle",
    "display_name",
    "avatar",
    "bio",
    "links",
    "pinned_post",
    "email",
    "phone",
    "two_factor",
    "app_password",
    "authorized_app",
    "delegate",
    "session",
    "did",
)
LIST_FIELDS = frozenset({"app_password", "authorized_app", "delegate", "session"})
"""The list-like fields: one event per item added (``old`` null) or removed (``new`` null)."""

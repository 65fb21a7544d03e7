"""Where account credentials live in the KV v2 mount, and how their state is written down.

Paths
-----
``<mount>/accounts/<account-id>/<credential>`` holds one credential: ``password``,
``app_password``, ``oauth_token``, ``api_key``, ``totp_seed``, or a name the inventory
gives. Each KV version's data is the secret itself:

=============== ==========================================================================
kind            data fields
=============== ==========================================================================
password        ``value`` (optional ``identifier``)
app_password    ``value``, ``name`` (the app password's name at the platform)
oauth_token     ``access_token``, ``refresh_token`` and whatever the platform needs
                (``client_id``, ``client_secret``, ``page_id``, ...)
api_key         ``value``
totp_seed       ``seed`` (base32), ``digits``, ``period``, ``algorithm``, ``issuer``, ``label``
=============== ==========================================================================

Metadata and the rotation state machine
---------------------------------------
The secret's ``custom_metadata`` (strings only) describes it: ``kind``, ``platform``,
``created``, ``rotated`` (when the current version became current), ``rotation_period``
(seconds, ``0`` = never), ``changed_by``, and the rotation state:

``current_version``  the version that is *current* (what works at the platform)
``previous_version`` the version that was current before it (kept for the grace period)
``retain_from``      versions below this one are older than previous and past their grace
                     period; Vault prunes them itself (``max_versions`` is set to keep
                     ``retain_from`` .. newest + 1)
``state``            ``current`` or ``parked`` (a pending rotation that gave up retrying)
``parked_reason``, ``parked_at``, ``attempts``   why and when it was parked

A *pending* version is implied, not written: when KV's own ``current_version`` (the newest
version) is above ``current_version`` in ``custom_metadata``, the newest version is the
pending secret. Creating a pending version is therefore one check-and-set data write, and
finishing a rotation is one merge patch of the metadata; a single read of the newest
version (its data carries ``custom_metadata``) or of the metadata tells the whole state::

    newest == current_version                      -> idle (state "current")
    newest >  current_version, state "current"     -> rotation in progress (pending = newest)
    newest >  current_version, state "parked"      -> rotation parked; resume or cancel

Readers that want the working credential read ``current_version`` explicitly
(``sentinel.creds.store.CredentialStore.current``), never just the newest version.
"""

from __future__ import annotations

ACCOUNTS = "accounts"

# custom_metadata keys
KIND = "kind"
PLATFORM = "platform"
CREATED = "created"
ROTATED = "rotated"
ROTATION_PERIOD = "rotation_period"
CHANGED_BY = "changed_by"
STATE = "state"
CURRENT_VERSION = "current_version"
PREVIOUS_VERSION = "previous_version"
RETAIN_FROM = "retain_from"
PARKED_REASON = "parked_reason"
PARKED_AT = "parked_at"
ATTEMPTS = "attempts"

STATE_CURRENT = "current"
STATE_PARKED = "parked"

METADATA_VALUE_MAX = 512
"""Vault limits each custom_metadata value to 512 bytes."""


def metadata_value(text: str) -> str:
    """``text`` as Vault accepts a custom_metadata value: printable characters only (others
    become ``?``), at most 512 bytes of UTF-8 (cut on a character boundary). Who changed a
    credential and why often come from people (an API caller's reason); a control
    character in them must not make Vault refuse, and park, a rotation."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    raw = clean.encode()
    if len(raw) <= METADATA_VALUE_MAX:
        return clean
    return raw[:METADATA_VALUE_MAX].decode(errors="ignore")


def account_prefix(account_id: str) -> str:
    return f"{ACCOUNTS}/{account_id}/"


def credential_path(account_id: str, credential: str) -> str:
    return f"{ACCOUNTS}/{account_id}/{credential}"

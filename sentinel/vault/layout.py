"""Where account credentials live in the KV v2 mount.

``<mount>/accounts/<account-id>/<credential>`` holds one credential (``password``,
``app_password``, ``oauth_token``, ``api_key``, ``totp_seed``, or a name the inventory
gives). Its data is the secret itself; its ``custom_metadata`` describes it: ``kind``,
``platform``, ``created``, ``rotated``, ``rotation_period``, ``changed_by`` and the
rotation ``state`` of the newest version.
"""

from __future__ import annotations

ACCOUNTS = "accounts"


def account_prefix(account_id: str) -> str:
    return f"{ACCOUNTS}/{account_id}/"


def credential_path(account_id: str, credential: str) -> str:
    return f"{ACCOUNTS}/{account_id}/{credential}"

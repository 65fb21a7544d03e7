"""The timeline watcher: finds every post on every account, including the ones nobody gated."""

from __future__ import annotations

from sentinel.watcher.ledger import PublishedLedger, native_post_id
from sentinel.watcher.watcher import OnPost, WatchedAccount, Watcher

__all__ = ["OnPost", "PublishedLedger", "WatchedAccount", "Watcher", "native_post_id"]

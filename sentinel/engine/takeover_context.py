"""What account-event and Vault-request detectors see: the event, learned state, derived features."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from zoneinfo import ZoneInfo

from sentinel.engine.account_events import AccountEvent
from sentinel.engine.context import lazy
from sentinel.engine.events import Freeze
from sentinel.engine.settings import EngineSettings
from sentinel.engine.state import AccountState
from sentinel.engine.takeover_settings import TakeoverSettings
from sentinel.engine.takeover_state import ChangeState, IdentityState
from sentinel.engine.vault_events import VaultRequest
from sentinel.inventory import Account


class AccountContext:
    def __init__(
        self,
        event: AccountEvent,
        account: Account,
        changes: ChangeState,
        posts: AccountState,
        settings: EngineSettings,
        tz: ZoneInfo,
    ) -> None:
        self.event = event
        self.account = account
        self.changes = changes
        self.posts = posts
        """The account's learned posting (its usual hours)."""
        self.settings = settings
        self.tz = tz

    @lazy
    def mature(self) -> bool:
        """The organisation's account changes have been watched for the learning period."""
        return self.event.ts - self.changes.first_ts >= self.settings.learning.min_days

    @lazy
    def local(self) -> datetime:
        return datetime.fromtimestamp(self.event.ts, self.tz)

    @lazy
    def recent(self) -> deque[tuple[float, str]]:
        """This account's changes in the last hour (this one not included): ``(ts, field)``, the
        field prefixed with ``takeover_state.REMOVED`` when an item of it was removed."""
        return self.changes.changes(self.account.id, self.event.ts)


class VaultContext:
    def __init__(
        self,
        request: VaultRequest,
        identity: IdentityState,
        takeover: TakeoverSettings,
        settings: EngineSettings,
        admin: bool,
        frozen: Freeze | None,
    ) -> None:
        self.request = request
        self.identity = identity
        self.takeover = takeover
        self.settings = settings
        self.admin = admin
        """The caller is one of Sentinel's administrators (by policy or by name)."""
        self.frozen = frozen
        """The freeze of the account the request names, if it is frozen."""

    @lazy
    def mature(self) -> bool:
        ident, learning = self.identity, self.settings.learning
        return (
            ident.learned >= learning.author_min_posts
            and self.request.ts - ident.first_ts >= learning.min_days
        )

    @lazy
    def hour(self) -> int:
        return int(self.request.ts // 3600) % 24

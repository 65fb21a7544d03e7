"""``[alerts]``: receivers, routes, grouping and delivery timing.

```toml
[alerts]
group_wait = "10s"         # wait this long after a group's first alert before notifying
group_interval = "2m"      # then at most one notification per group this often
critical_interval = "10s"  # but a critical alert naming accounts not yet notified: at most this long
repeat_interval = "4h"     # remind about open incidents (freeze, lockdown) this often; 0 = never
dead_after = "24h"         # a delivery still failing after this goes to the dead-letter list

[alerts.receivers.secops]
type = "slack"
url_file = "/etc/sentinel/secrets/slack-webhook"   # or url_env = "SLACK_WEBHOOK", or url = "..."

[alerts.receivers.pager]
type = "pagerduty"
token_env = "PD_ROUTING_KEY"

[[alerts.routes]]
receivers = ["pager"]
min_severity = "critical"
```

Receiver secrets (webhook URLs, access tokens, routing keys, signing secrets) should come
from a file (``url_file``/``token_file``; ``$CREDENTIALS_DIRECTORY`` is expanded, so systemd
credentials work) or an environment variable (``url_env``/``token_env``) rather than be
written in the config file; inline ``url``/``token`` works too. Without routes, every alert
goes to every receiver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sentinel.errors import ConfigError
from sentinel.settings import Duration

ReceiverType = Literal[
    "slack", "teams", "mattermost", "discord", "googlechat", "matrix", "pagerduty", "webhook"
]
SeverityName = Literal["critical", "error", "warning", "info"]
GROUP_LABELS = ("kind", "rule", "severity", "dedup_key", "account", "tag")

DEFAULT_GROUP_BY: dict[str, tuple[str, ...]] = {"pagerduty": ("dedup_key",)}
"""PagerDuty keeps one page per incident, so its groups are incidents; chat groups by kind and rule."""
CHAT_GROUP_BY = ("kind", "rule")

DEFAULT_MIN_INTERVAL: dict[str, float] = {
    "slack": 1.0,  # one message per second per incoming webhook
    "googlechat": 1.0,  # one message per second per space
    "discord": 0.5,  # 5 requests per 2 s per webhook
    "teams": 0.25,
    "mattermost": 0.1,
    "matrix": 0.1,
    "pagerduty": 0.1,
    "webhook": 0.0,
}
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


@dataclass(frozen=True)
class ReceiverSettings:
    """One ``[alerts.receivers.NAME]`` table.

    ``url``: the webhook URL (Slack, Teams, Mattermost, Discord, Google Chat, webhook), the
    homeserver base URL (Matrix) or the Events API URL (PagerDuty, has a default).
    ``token``: the Matrix access token, the PagerDuty routing key, or the webhook signing
    secret (``whsec_`` + base64).
    """

    type: ReceiverType = "webhook"
    url: str = ""
    url_file: Path | None = None
    url_env: str = ""
    token: str = ""
    token_file: Path | None = None
    token_env: str = ""
    room: str = ""
    username: str = "Sentinel"
    group_by: tuple[str, ...] = ()
    min_interval: Duration | None = None
    timeout: Duration | None = None
    send_resolved: bool = True
    max_chars: int = 0

    @property
    def effective_group_by(self) -> tuple[str, ...]:
        return self.group_by or DEFAULT_GROUP_BY.get(self.type, CHAT_GROUP_BY)

    @property
    def effective_min_interval(self) -> float:
        return float(self.min_interval) if self.min_interval is not None else DEFAULT_MIN_INTERVAL[self.type]

    @property
    def needs_url(self) -> bool:
        return self.type != "pagerduty"

    @property
    def needs_token(self) -> bool:
        return self.type in ("matrix", "pagerduty", "webhook")

    def validate(self, prefix: str) -> None:
        for name in ("url", "token"):
            given = [k for k in (name, f"{name}_file", f"{name}_env") if getattr(self, k)]
            if len(given) > 1:
                raise ConfigError(f"config key '{prefix}': set only one of {', '.join(given)}")
        if self.needs_url and not (self.url or self.url_file or self.url_env):
            raise ConfigError(f"config key '{prefix}' ({self.type}) needs url, url_file or url_env")
        if self.needs_token and not (self.token or self.token_file or self.token_env):
            what = {"matrix": "access token", "pagerduty": "routing key", "webhook": "signing secret"}[
                self.type
            ]
            raise ConfigError(
                f"config key '{prefix}' ({self.type}) needs its {what} in token, token_file or token_env"
            )
        if self.type == "matrix" and not self.room.startswith(("!", "#")):
            raise ConfigError(f"config key '{prefix}.room' must be a Matrix room id (!...) or alias (#...)")
        for label in self.group_by:
            if label not in GROUP_LABELS:
                raise ConfigError(
                    f"config key '{prefix}.group_by': {label!r} is not one of {', '.join(GROUP_LABELS)}"
                )
        if self.max_chars < 0:
            raise ConfigError(f"config key '{prefix}.max_chars' must not be negative")


@dataclass(frozen=True)
class RouteSettings:
    """One ``[[alerts.routes]]`` entry: which alerts go to which receivers.

    An alert matches when its severity is at least ``min_severity`` and, for each of
    ``kinds``, ``tags`` and ``accounts`` that is set, it has one of the listed values
    (``accounts`` take shell-style globs such as ``"brand-*"``). It goes to the receivers
    of every route it matches, up to and including the first matching route with
    ``stop = true``.
    """

    receivers: tuple[str, ...] = ()
    min_severity: SeverityName = "info"
    kinds: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    stop: bool = False

    def validate(self, prefix: str) -> None:
        if not self.receivers:
            raise ConfigError(f"config key '{prefix}.receivers' must name at least one receiver")


@dataclass(frozen=True)
class AlertsSettings:
    """``[alerts]``: see the module docstring."""

    enabled: bool = True
    receivers: dict[str, ReceiverSettings] = field(default_factory=dict)
    routes: tuple[RouteSettings, ...] = ()
    group_wait: Duration = Duration(10.0)
    group_interval: Duration = Duration(120.0)
    critical_interval: Duration = Duration(10.0)
    """A firing critical alert that adds accounts to a group already notified is sent this long
    after the group's last notification at most, not ``group_interval`` (0: at once)."""
    repeat_interval: Duration = Duration(4 * 3600.0)
    dead_after: Duration = Duration(24 * 3600.0)
    backoff_initial: Duration = Duration(2.0)
    backoff_max: Duration = Duration(300.0)
    timeout: Duration = Duration(10.0)
    poll_interval: Duration = Duration(2.0)
    runbook_url: str = ""

    def validate(self, prefix: str) -> None:
        for i, route in enumerate(self.routes):
            for name in route.receivers:
                if name not in self.receivers:
                    raise ConfigError(
                        f"config key '{prefix}.routes[{i}].receivers': no receiver {name!r}; defined: "
                        + (", ".join(sorted(self.receivers)) or "none")
                    )
        if self.backoff_initial <= 0 or self.backoff_max < self.backoff_initial:
            raise ConfigError(
                f"config key '{prefix}.backoff_max' must be at least '{prefix}.backoff_initial' (> 0)"
            )
        if self.poll_interval <= 0 or self.timeout <= 0:
            raise ConfigError(f"config keys '{prefix}.poll_interval' and '{prefix}.timeout' must be positive")
        if self.dead_after <= 0:
            raise ConfigError(f"config key '{prefix}.dead_after' must be positive")

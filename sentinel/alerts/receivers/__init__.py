"""Receivers: one small module per service, built from ``[alerts.receivers.NAME]``.

``build_receivers`` resolves each receiver's URL and token (inline, ``*_file`` or
``*_env``), registers them as secrets so they never reach a log line or an alert, and
returns the receivers by name.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from sentinel.alerts.receivers.base import Outcome, Receiver
from sentinel.alerts.receivers.discord import DiscordReceiver
from sentinel.alerts.receivers.googlechat import GoogleChatReceiver
from sentinel.alerts.receivers.matrix import MatrixReceiver
from sentinel.alerts.receivers.mattermost import MattermostReceiver
from sentinel.alerts.receivers.pagerduty import PagerDutyReceiver
from sentinel.alerts.receivers.slack import SlackReceiver
from sentinel.alerts.receivers.teams import TeamsReceiver
from sentinel.alerts.receivers.webhook import WebhookReceiver, secret_key
from sentinel.alerts.settings import AlertsSettings, ReceiverSettings
from sentinel.errors import ConfigError
from sentinel.files import readable_by_others, writable_by_others
from sentinel.redact import register_secret

RECEIVER_CLASSES: dict[str, type[Receiver]] = {
    cls.type: cls
    for cls in (
        SlackReceiver,
        TeamsReceiver,
        MattermostReceiver,
        DiscordReceiver,
        GoogleChatReceiver,
        MatrixReceiver,
        PagerDutyReceiver,
        WebhookReceiver,
    )
}

__all__ = ["RECEIVER_CLASSES", "Outcome", "Receiver", "build_receiver", "build_receivers", "resolve_secret"]


def resolve_secret(
    key: str, inline: str, file: Path | None, env_name: str, environ: Mapping[str, str]
) -> str:
    """The value from ``inline``, the file ``file`` or the variable ``env_name`` (registered as a secret).

    ``$CREDENTIALS_DIRECTORY`` (and any other variable) in the file path is expanded, so a
    systemd credential can be named as ``$CREDENTIALS_DIRECTORY/slack-webhook``.
    """
    if file is not None:
        path = Path(string.Template(str(file)).safe_substitute(environ))
        # a webhook URL someone else could change would send the alerts to them
        unsafe = writable_by_others(path) or readable_by_others(path)
        if unsafe:
            raise ConfigError(f"config key '{key}_file': refusing it: {unsafe}")
        try:
            value = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"config key '{key}_file': cannot read {path}: {e.__class__.__name__}"
            ) from None
        if not value:
            raise ConfigError(f"config key '{key}_file': {path} is empty")
    elif env_name:
        value = environ.get(env_name, "").strip()
        if not value:
            raise ConfigError(f"config key '{key}_env': environment variable {env_name} is not set")
    else:
        value = inline.strip()
    register_secret(value)
    return value


def _register_url_parts(url: str) -> None:
    """A webhook URL's path and query are its secret (Slack, Discord, Teams, Google Chat)."""
    parts = urlsplit(url)
    if parts.path and len(parts.path) > 12:
        register_secret(parts.path)
    if parts.query:
        register_secret(parts.query)


def build_receiver(
    name: str, settings: ReceiverSettings, environ: Mapping[str, str] | None = None
) -> Receiver:
    env = os.environ if environ is None else environ
    prefix = f"alerts.receivers.{name}"
    url = resolve_secret(f"{prefix}.url", settings.url, settings.url_file, settings.url_env, env)
    if url and settings.type not in ("matrix", "pagerduty"):
        _register_url_parts(url)
    token = resolve_secret(f"{prefix}.token", settings.token, settings.token_file, settings.token_env, env)
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"config key '{prefix}.url' must be an http:// or https:// URL")
    receiver = RECEIVER_CLASSES[settings.type](name, settings, url=url, token=token)
    if isinstance(receiver, WebhookReceiver):
        secret_key(token)  # fail early on a malformed whsec_ secret
    return receiver


def build_receivers(
    settings: AlertsSettings, environ: Mapping[str, str] | None = None
) -> dict[str, Receiver]:
    return {name: build_receiver(name, rs, environ) for name, rs in settings.receivers.items()}

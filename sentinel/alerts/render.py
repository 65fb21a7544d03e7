"""Turn a group of alerts into one receiver-neutral ``Message``.

Pure functions: a receiver module maps a ``Message`` to its own markup (Block Kit, Adaptive
Card, Markdown, ...) within its size limits. Everything attacker-controlled (post excerpts,
findings) is defanged here, and everything is scrubbed of secrets.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sentinel.alerts.defang import defuse
from sentinel.alerts.model import Alert, Severity, Status, severity_rank
from sentinel.redact import scrub

TRUNCATED = "… [truncated]"
MAX_ALERTS_SHOWN = 10
MAX_EXCERPT = 280
MAX_ACCOUNTS_SHOWN = 60
MAX_COMMANDS = 6


def truncate(text: str, limit: int, marker: str = TRUNCATED) -> str:
    """``text`` cut to at most ``limit`` characters, ending with ``marker`` when cut."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return marker[:limit]
    return text[: limit - len(marker)].rstrip() + marker


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """What one notification says, before any receiver's formatting."""

    title: str
    status: Status
    severity: Severity
    kind: str
    accounts: tuple[str, ...]
    sections: tuple[Section, ...]
    commands: tuple[str, ...]
    links: tuple[tuple[str, str], ...]
    footer: str
    incident_key: str
    alert_ids: tuple[str, ...]
    created_at: float
    repeat: bool = False

    @property
    def created_iso(self) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created_at))

    @property
    def headline(self) -> str:
        return f"[{self.status_label}] {self.title}"

    @property
    def status_label(self) -> str:
        return "RESOLVED" if self.status == "resolved" else self.severity.upper()

    def text(self, limit: int | None = None) -> str:
        """Plain text, the fallback every receiver can show."""
        out = [self.headline]
        for s in self.sections:
            out.append("")
            out.append(s.heading + ":")
            out.extend(s.lines)
        if self.commands:
            out.append("")
            out.append("What to do next:")
            out.extend(f"  $ {c}" for c in self.commands)
        for text, url in self.links:
            out.append(f"{text}: {url}")
        out.append("")
        out.append(self.footer)
        body = "\n".join(out)
        return truncate(body, limit) if limit else body


def _accounts(alerts: Sequence[Alert]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for a in alerts:
        for acct in a.accounts:
            seen.setdefault(acct, None)
    return tuple(seen)


def _list(items: Sequence[str], limit: int) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _title(alerts: Sequence[Alert], status: Status, accounts: Sequence[str], repeat: bool) -> str:
    first = alerts[0]
    if len(alerts) == 1:
        title = f"{first.title}: {defuse(first.summary)}" if first.summary else first.title
    else:
        kinds = {a.kind for a in alerts}
        name = first.title if len(kinds) == 1 else "Alerts"
        rules = {a.rule for a in alerts if a.rule}
        rule = f", rule {next(iter(rules))}" if len(rules) == 1 else ""
        title = f"{name}: {len(alerts)} alerts, {len(accounts)} accounts{rule}"
    if status == "resolved":
        title = f"Resolved — {title}"
    elif repeat:
        title = f"Still open — {title}"
    return title


def _happened(alerts: Sequence[Alert]) -> list[str]:
    """What happened, with alerts that say the same thing (a worm's copies) listed once."""
    same: dict[tuple[object, ...], list[Alert]] = {}
    for a in alerts:
        key = (a.rule, a.summary, a.findings, " ".join(a.post_excerpt.split()), tuple(a.details.items()))
        same.setdefault(key, []).append(a)
    lines: list[str] = []
    many = len(alerts) > 1
    for shown, group in enumerate(same.values()):
        if shown == MAX_ALERTS_SHOWN:
            rest = sum(len(g) for g in list(same.values())[MAX_ALERTS_SHOWN:])
            lines.append(f"… and {rest} more alerts in this group")
            break
        a = group[0]
        accounts = [acct for g in group for acct in g.accounts]
        who = _list(accounts, 10) or "(no account)"
        if len(accounts) > 1:
            who += f" ({len(accounts)} accounts)"
        rule = f" [{a.rule}]" if a.rule else ""
        lines.append(f"• {who}{rule}: {defuse(a.summary)}" if many else f"• {defuse(a.summary)}")
        for f in a.findings[:5]:
            lines.append(f"    – {f.rule}: {defuse(f.message)}")
        if a.post_excerpt:
            excerpt = truncate(" ".join(defuse(a.post_excerpt).split()), MAX_EXCERPT)
            lines.append(f'    post: "{excerpt}"')
        for k, v in list(a.details.items())[:8]:
            lines.append(f"    {k}: {defuse(v)}")
    return lines


def _did(alerts: Sequence[Alert], accounts: Sequence[str]) -> list[str]:
    """Steps, one line per step name: which accounts it succeeded or failed for."""
    order: dict[str, tuple[list[str], list[str]]] = {}
    for a in alerts:
        for s in a.steps:
            ok, failed = order.setdefault(s.name, ([], []))
            who = s.account or ", ".join(a.accounts) or "-"
            label = f"{who} ({s.detail})" if s.detail and not s.ok else who
            (ok if s.ok else failed).append(label)
    lines: list[str] = []
    single = len(alerts) == 1
    for name, (ok, failed) in order.items():
        if ok and (single and not failed):
            lines.append(f"✔ {name}")
        elif ok and len(accounts) > 1 and sorted(ok) == sorted(accounts):
            lines.append(f"✔ {name} — all {len(accounts)} accounts")
        elif ok:
            lines.append(f"✔ {name} — {_list(ok, 20)}")
        if failed:
            lines.append(f"✘ {name} FAILED — {_list(failed, 20)}")
    return lines


def build_message(
    alerts: Sequence[Alert],
    status: Status,
    incident_key: str,
    organisation: str = "Sentinel",
    repeat: bool = False,
    now: float | None = None,
) -> Message:
    """The message for one notification of a group (all ``alerts`` share ``status``)."""
    if not alerts:
        raise ValueError("a message needs at least one alert")
    alerts = sorted(alerts, key=lambda a: (severity_rank(a.severity), a.occurred_at))
    accounts = _accounts(alerts)
    severity = alerts[0].severity
    sections: list[Section] = []
    if len(accounts) > 1:
        sections.append(Section(f"Accounts ({len(accounts)})", (_list(list(accounts), MAX_ACCOUNTS_SHOWN),)))
    elif accounts:
        sections.append(Section("Account", (accounts[0],)))
    happened = _happened(alerts)
    if happened:
        sections.append(Section("What happened", tuple(happened)))
    did = _did(alerts, accounts)
    if did:
        sections.append(Section("What Sentinel did", tuple(did)))
    commands: dict[str, None] = {}
    links: dict[str, str] = {}
    for a in alerts:
        for c in a.next_steps:
            commands.setdefault(c, None)
        if _web(a.runbook_url):
            links.setdefault("Runbook", a.runbook_url)
        if _web(a.post_url) and len(alerts) == 1:
            links.setdefault("Post", a.post_url)
    created = now if now is not None else alerts[0].occurred_at
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(created))
    footer = f"{organisation} · incident {incident_key} · {when}"
    message = Message(
        title=_title(alerts, status, accounts, repeat),
        status=status,
        severity=severity,
        kind=alerts[0].kind,
        accounts=accounts,
        sections=tuple(sections),
        commands=_commands(list(commands)) if status == "firing" else (),
        links=tuple(links.items()),
        footer=footer,
        incident_key=incident_key,
        alert_ids=tuple(a.id for a in alerts),
        created_at=created,
        repeat=repeat,
    )
    return _scrub_message(message)


def _web(url: str) -> bool:
    """Only http(s) links become buttons and anchors (no ``javascript:`` or ``data:``)."""
    return url.startswith(("https://", "http://")) and not any(c in url for c in " \n<>\"'")


def _commands(commands: list[str]) -> tuple[str, ...]:
    """At most ``MAX_COMMANDS``; a long run of per-account commands ends with how many were left out."""
    if len(commands) <= MAX_COMMANDS:
        return tuple(commands)
    shown = commands[: MAX_COMMANDS - 1]
    return (*shown, f"# … and {len(commands) - len(shown)} more like these, one per account, after review")


def _scrub_message(m: Message) -> Message:
    return Message(
        title=scrub(m.title),
        status=m.status,
        severity=m.severity,
        kind=m.kind,
        accounts=m.accounts,
        sections=tuple(Section(scrub(s.heading), tuple(scrub(x) for x in s.lines)) for s in m.sections),
        commands=tuple(scrub(c) for c in m.commands),
        links=tuple((t, scrub(u)) for t, u in m.links),
        footer=scrub(m.footer),
        incident_key=scrub(m.incident_key),
        alert_ids=m.alert_ids,
        created_at=m.created_at,
        repeat=m.repeat,
    )

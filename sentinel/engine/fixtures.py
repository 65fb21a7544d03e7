"""Running rule fixtures (``sentinel rules test``), like ``fail2ban-regex`` or ``cscli hubtest``.

Each fixture runs on a fresh engine with the whole rule set, a one-account inventory
(``fixture``, overridable per fixture; other account ids named by events are created alike)
and, optionally, a generated clean history first. The fixture passes when the rule's
finding is present on the last event (``expect: finding``, with ``detail`` as a substring
of the finding's detail when given) or absent (``expect: none``).

Defaults: the account is ``x``, ``open``, time zone ``UTC``, domains ``[example.com]``,
owner ``op-a``. An event is a gate check on a gated account and an observed post on an open
one; gate checks get author ``op-a`` and IP ``198.51.100.7``. Events follow each other 10
minutes apart after the history; ``at: "HH:MM"`` puts one at that local time on the next
day, ``at: "+5m"`` after the previous one, ``ts`` at an exact time.

An event with ``kind: account`` is an account event (``field``, ``old``, ``new``, ``ip``,
``client``); one with ``kind: vault`` is a Vault request, written as the file audit device's
response entry: ``identity`` (operator ``op-a`` becomes display name ``userpass-op-a`` and
entity ``entity-op-a``; a name starting ``token-`` is kept as is, and
``token-sentinel-daemon`` is Sentinel's own), ``account`` and ``key`` (the credential read,
default ``password``) or an explicit ``path``, ``operation`` (default ``read``), ``ip``,
``policies``, ``denied``, ``root``. A history's ``changes`` and ``reads`` are account-event
and Vault-request templates repeated every day of the history (``hour``: the local hour,
default 10). Both go through ``Intake.feed`` exactly as the daemon's sources' dicts do.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sentinel.durations import parse_duration
from sentinel.engine.engine import Engine
from sentinel.engine.events import Event, EventError, parse_event
from sentinel.engine.intake import Intake, Outcome
from sentinel.engine.rules import Fixture, Rule, RuleSet
from sentinel.engine.settings import EngineSettings
from sentinel.inventory import Account, BusinessHours, Inventory

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
SELF = "token-sentinel-daemon"
"""Sentinel's own Vault identity in fixtures."""
_HISTORY_TEXTS = (
    "Our weekly update is on the blog",
    "Thanks to everyone who joined the meetup this week",
    "Behind the scenes with our design team",
    "New article: how we test our products",
    "Happy to welcome new colleagues to the team",
    "Service note: maintenance finished on schedule",
)


@dataclass(frozen=True)
class FixtureResult:
    rule: Rule
    fixture: Fixture
    passed: bool
    message: str
    decision: Outcome | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.id,
            "fixture": self.fixture.name,
            "file": self.rule.file,
            "line": self.fixture.line,
            "passed": self.passed,
            "message": self.message,
        }


def _account(aid: str, spec: Mapping[str, Any]) -> Account:
    bh = spec.get("business_hours")
    return Account(
        id=aid,
        platform=str(spec.get("platform", "x")),
        handle=f"@{aid}",
        timezone=str(spec.get("timezone", "UTC")),
        publishing=str(spec.get("publishing", "open")),
        owners=tuple(spec.get("owners", ["op-a"])),
        tags=tuple(spec.get("tags", [])),
        domains=tuple(d.lower() for d in spec.get("domains", ["example.com"])),
        business_hours=BusinessHours.parse(bh) if isinstance(bh, str) else None,
    )


class _Builder:
    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.spec = dict(fixture.account)
        self.main = str(self.spec.get("id", "fixture"))
        self.accounts: dict[str, Account] = {self.main: _account(self.main, self.spec)}
        self.counter = itertools.count(1)
        self.tz = ZoneInfo(str(self.spec.get("timezone", "UTC")))
        self.now = START

    def account(self, aid: str) -> Account:
        if aid not in self.accounts:
            self.accounts[aid] = _account(aid, {**self.spec, "id": aid})
        return self.accounts[aid]

    def event(self, raw: Mapping[str, Any], when: datetime, history: bool = False) -> Event:
        aid = str(raw.get("account", self.main))
        acc = self.account(aid)
        via = raw.get("via") or ("gate" if acc.gated else "observed")
        n = next(self.counter)
        data: dict[str, Any] = {
            "id": str(raw.get("id", f"{'h' if history else 'f'}{n}")),
            "ts": raw.get("ts") or when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "account": aid,
            "via": via,
            "text": str(raw.get("text", "Hello from the team.")),
            "client": str(raw.get("client", "Publisher")),
            "post_id": str(raw.get("post_id", f"post-{n}")),
        }
        if via == "gate":
            data["author"] = str(raw.get("author", "op-a"))
            data["ip"] = str(raw.get("ip", "198.51.100.7"))
        if raw.get("reply_to"):
            data["reply_to"] = str(raw["reply_to"])
        return parse_event(data)

    def item(self, raw: Mapping[str, Any], when: datetime, history: bool = False) -> Event | dict[str, Any]:
        """A post ``Event``, or the dict of an account event or a Vault audit entry."""
        kind = raw.get("kind")
        if kind == "account":
            return self.account_event(raw, when, history)
        if kind == "vault":
            return self.audit_entry(raw, when, history)
        return self.event(raw, when, history)

    def _ts(self, raw: Mapping[str, Any], when: datetime) -> str:
        return str(raw.get("ts") or when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def account_event(self, raw: Mapping[str, Any], when: datetime, history: bool) -> dict[str, Any]:
        aid = str(raw.get("account", self.main))
        self.account(aid)
        n = next(self.counter)
        out = {
            "kind": "account",
            "id": str(raw.get("id", f"{'h' if history else 'f'}{n}")),
            "ts": self._ts(raw, when),
            "account": aid,
            "field": raw.get("field", "bio"),
            "old": raw.get("old"),
            "new": raw.get("new"),
            "ip": str(raw.get("ip", "198.51.100.7")),
            "client": str(raw.get("client", "Web")),
        }
        return out

    def audit_entry(self, raw: Mapping[str, Any], when: datetime, history: bool) -> dict[str, Any]:
        n = next(self.counter)
        who = str(raw.get("identity", "op-a"))
        name = who if who.startswith("token-") else f"userpass-{who}"
        aid = str(raw.get("account", self.main))
        path = str(raw.get("path") or f"sentinel/data/accounts/{aid}/{raw.get('key', 'password')}")
        if not raw.get("path"):
            self.account(aid)
        denied = bool(raw.get("denied", False))
        policies = list(raw.get("policies", ["default", "sentinel-role-team"]))
        auth: dict[str, Any] = {"display_name": name, "entity_id": f"entity-{who}", "policies": policies}
        if raw.get("root"):
            auth = {"display_name": "root", "policies": ["root"], "accessor": "hmac-sha256:root"}
        auth["policy_results"] = {"allowed": not denied}
        entry: dict[str, Any] = {
            "time": self._ts(raw, when)[:-1] + ".000000001Z",
            "type": "response",
            "auth": auth,
            "request": {
                "id": str(raw.get("id", f"{'h' if history else 'f'}-req-{n}")),
                "operation": str(raw.get("operation", "read")),
                "path": path,
                "remote_address": str(raw.get("ip", "198.51.100.7")),
            },
        }
        if denied:
            entry["error"] = "1 error occurred:\n\t* permission denied\n\n"
        return entry

    def templates(self) -> list[dict[str, Any]]:
        """The history's daily account changes and Vault reads."""
        h = self.fixture.history
        out: list[dict[str, Any]] = []
        for day in range(int(h.get("days", 30))):
            base = datetime(2026, 1, 5, tzinfo=self.tz) + timedelta(days=day)
            for i, tpl in enumerate(h.get("changes") or []):
                when = base + timedelta(hours=int(tpl.get("hour", 10)), minutes=i)
                out.append(self.account_event(tpl, when, True))
            for i, tpl in enumerate(h.get("reads") or []):
                when = base + timedelta(hours=int(tpl.get("hour", 10)), minutes=i)
                out.append(self.audit_entry(tpl, when, True))
        return out

    def history(self) -> list[Event]:
        h = self.fixture.history
        if not h:
            return []
        days = int(h.get("days", 30))
        per_day = max(1, int(h.get("per_day", 2)))
        start_h, end_h = [*list(h.get("hours", [9, 17])), 9, 17][:2]
        authors = list(h.get("authors", [h.get("author", "op-a")]))
        link = str(h.get("link", "https://example.com/news"))
        extra = [f"other-{i + 1}" for i in range(int(h.get("accounts", 0)))]
        out: list[Event] = []
        step = (int(end_h) - int(start_h)) * 60 / per_day
        for day in range(days):
            base = datetime(2026, 1, 5, tzinfo=self.tz) + timedelta(days=day)
            for i in range(per_day):
                when = base + timedelta(hours=int(start_h), minutes=int(i * step + 7))
                for aid in [self.main, *extra]:
                    n = len(out)
                    text = f"{h.get('text', _HISTORY_TEXTS[n % len(_HISTORY_TEXTS)])} {link}"
                    raw: dict[str, Any] = {
                        "account": aid,
                        "text": text,
                        "client": h.get("client", "Publisher"),
                        "author": authors[n % len(authors)],
                        "ip": h.get("ip", "198.51.100.7"),
                    }
                    if h.get("via"):
                        raw["via"] = h["via"]
                    out.append(self.event(raw, when, history=True))
                    if out[-1].via == "gate":  # the post also shows up on the platform
                        ev = out[-1]
                        out.append(
                            Event(
                                id=ev.id + "o",
                                ts=ev.ts + 5,
                                account=ev.account,
                                via="observed",
                                text=ev.text,
                                client=ev.client,
                                post_id=ev.post_id,
                            )
                        )
        if out:
            self.now = datetime.fromtimestamp(out[-1].ts, UTC)
        return out

    def when(self, raw: Mapping[str, Any]) -> datetime:
        at = raw.get("at")
        if raw.get("ts"):
            self.now = datetime.fromisoformat(str(raw["ts"]))
        elif isinstance(at, str) and at.startswith("+"):
            self.now += timedelta(seconds=parse_duration(at[1:]))
        elif isinstance(at, str) and ":" in at:
            hh, mm = (int(x) for x in at.split(":", 1))
            local = self.now.astimezone(self.tz) + timedelta(days=1)
            self.now = local.replace(hour=hh, minute=mm, second=0, microsecond=0)
        else:
            self.now += timedelta(minutes=10)
        return self.now


def _when(item: Event | dict[str, Any]) -> float:
    if isinstance(item, Event):
        return item.ts
    stamp = item.get("ts") or item.get("time")
    return datetime.fromisoformat(str(stamp)[:19] + "+00:00").timestamp()


def run_fixture(
    rule: Rule, fixture: Fixture, ruleset: RuleSet, settings: EngineSettings | None = None
) -> FixtureResult:
    b = _Builder(fixture)
    settings = settings or EngineSettings()
    if not settings.takeover.self:
        settings = dataclasses.replace(
            settings, takeover=dataclasses.replace(settings.takeover, self=(SELF,))
        )
    try:
        history: list[Event | dict[str, Any]] = [*b.history(), *b.templates()]
        history.sort(key=_when)
        if history:
            b.now = max(b.now, datetime.fromtimestamp(_when(history[-1]), UTC))
        b.account(b.main)
        events = [b.item(raw, b.when(raw)) for raw in fixture.events]
        for ev in events:
            if isinstance(ev, Event):
                b.account(ev.account)
        engine = Engine(Inventory(accounts=tuple(b.accounts.values()), source="<fixture>"), ruleset, settings)
        intake = Intake(engine)
        for item in history:
            intake.feed(item.to_dict() if isinstance(item, Event) else item)
        decision: Outcome | None = None
        for item in events:
            for outcome in intake.feed(item.to_dict() if isinstance(item, Event) else item):
                decision = outcome
        for outcome in intake.flush():
            decision = outcome
    except (EventError, ValueError, KeyError, TypeError) as e:
        return FixtureResult(rule, fixture, False, f"fixture cannot run: {e}")
    assert decision is not None
    hits = [f for f in decision.findings if f.rule == rule.id]
    found = ", ".join(f"{f.rule} ({f.detail})" for f in decision.findings) or "no findings"
    if fixture.expect == "finding":
        if not hits:
            return FixtureResult(rule, fixture, False, f"expected a finding, got {found}", decision)
        if fixture.detail and not any(fixture.detail in f.detail for f in hits):
            return FixtureResult(
                rule,
                fixture,
                False,
                f"expected detail containing {fixture.detail!r}, got {hits[0].detail!r}",
                decision,
            )
        return FixtureResult(rule, fixture, True, hits[0].detail, decision)
    if hits:
        return FixtureResult(rule, fixture, False, f"expected no finding, got {hits[0].detail!r}", decision)
    return FixtureResult(rule, fixture, True, "no finding", decision)


def run_fixtures(ruleset: RuleSet, settings: EngineSettings | None = None) -> list[FixtureResult]:
    return [run_fixture(rule, fx, ruleset, settings) for rule in ruleset.rules for fx in rule.fixtures]

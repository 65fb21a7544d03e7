"""Integrators hear of held posts through the alert outbox (signed webhooks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentinel.api.wiring import integrator_events
from sentinel.config import Config
from sentinel.daemon import App
from sentinel.inventory import parse_inventory
from sentinel.sdnotify import Notifier
from sentinel.store import Store


def test_held_post_becomes_a_held_post_alert(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    app = App(config=Config(), inventory=parse_inventory({}), store=store, notifier=Notifier({}))
    raised: list[dict[str, Any]] = []
    app.alert = lambda **kw: raised.append(kw)
    sink = integrator_events(app)
    sink("post.held", {"held_id": "h1", "account": "acme-x", "author": "op-ann", "kind": "post"})
    sink("account.frozen", {"account": "acme-x"})  # the responder alerts on freezes itself
    assert [(a["kind"], a["accounts"], a["details"]["held_id"]) for a in raised] == [
        ("held_post", ["acme-x"], "h1")
    ]
    store.close()

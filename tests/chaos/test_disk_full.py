"""The state directory on a full filesystem: the gate keeps answering, nothing committed is lost.

The state directory is a 4 MiB tmpfs of the test's own, filled to the last byte by another
file while the daemon runs, then emptied again. Mounting needs root; elsewhere the test is
skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sentinel.daemon import STORE_ALERT_KEY
from sentinel.response.responder import STEPS
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.chaos.conftest import ChaosDaemon, publishers
from tests.full_disk import fill, small_tmpfs
from tests.security.test_identity import SCAM
from tests.waiting import wait_until


@pytest.fixture
def small_state_dir(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/state`` as a 4 MiB tmpfs (unmounted at the end, after the daemon stopped)."""
    with small_tmpfs(tmp_path / "state") as state:
        yield state


def test_a_full_disk_keeps_the_gate_answering_alerts_and_loses_nothing(
    daemon_factory: Callable[..., ChaosDaemon], small_state_dir: Path
) -> None:
    tokens: dict[str, str] = {}
    d = daemon_factory(prepare=publishers(tokens, "pub"))
    try:
        wait_until("ready", lambda: (d.ready() or {}).get("ready"))
        db = small_state_dir / "sentinel.sqlite3"
        with Store(db) as store:
            ResponseStore(store).mark_frozen(["example-brand-x"], STEPS, "before", "op-ivy", False)
            alerts_before = [
                dict(r) for r in store.query("SELECT seq, kind, status FROM alerts ORDER BY seq")
            ]

        def check(account: str) -> httpx.Response:
            return d.check(tokens["pub"], account)

        assert check("example-brand-bluesky").status_code == 200  # Vault's answer now remembered

        filler = small_state_dir / "filler"
        print(f"filled the state filesystem with {fill(filler)} bytes")
        wait_until("the full disk", lambda: ((d.ready() or {}).get("checks") or {}).get("store") is False)
        assert d.metric("sentinel_store_up") == 0.0
        # The gate keeps answering from memory: a check allowed, a frozen account still blocked.
        allowed = check("example-brand-bluesky")
        assert allowed.status_code == 200 and allowed.json()["verdict"] == "allow", allowed.text
        frozen = check("example-brand-x")
        assert frozen.status_code != 200 or frozen.json()["verdict"] != "allow", frozen.text
        # A hijacker's post meanwhile: blocked and frozen at once, recorded once there is room.
        scam = httpx.post(
            d.api + "/v1/check",
            json={"account": "example-brand-facebook", "text": SCAM},
            headers={"Authorization": f"Bearer {tokens['pub']}"},
            timeout=10,
        )
        assert scam.status_code == 200 and scam.json()["frozen"] is True, scam.text
        assert (d.get("/healthz") or httpx.Response(0)).status_code == 200

        filler.unlink()  # room again
        wait_until("recovery", lambda: (d.ready() or {}).get("ready"))
        said = [a for a in d.alerts(STORE_ALERT_KEY) if a["status"] == "firing"]
        assert said and "was unwritable from" in said[-1]["summary"] and "full" in said[-1]["summary"]

        def recorded() -> list[str]:
            with Store(db) as store:
                return ResponseStore(store).frozen()

        wait_until("the hijack's freeze recorded", lambda: "example-brand-facebook" in recorded())
        assert recorded() == ["example-brand-facebook", "example-brand-x"]
        with Store(db) as store:
            kept = [dict(r) for r in store.query("SELECT seq, kind, status FROM alerts ORDER BY seq")]
        assert kept[: len(alerts_before)] == alerts_before
        assert d.stop() == 0
        assert d.output().count('"store.unwritable"') == 1 and '"store.recovered"' in d.output()
    finally:
        d.stop()

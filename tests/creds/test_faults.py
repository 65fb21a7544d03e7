"""Fault injection: SIGKILL the rotating process at random points, restart, check nothing is lost.

A real child process (forked from a preloaded fork server, so that a restart costs
milliseconds) rotates an account's credentials against the real OpenBao and a real platform
server: the sandbox platform running as its own process, and a real Bluesky PDS. It is
killed with SIGKILL at a random event (a step boundary, just before or just after a Vault
call or a platform HTTP request) or, for some points, after a random delay chosen by this
process: first inside each kind of event of a rotation once, then at random ones. After every kill we check that a secret Vault holds (current or pending) logs in
at the platform. Some kills are followed by another killed run (a resume killed midway);
then a clean run resumes, and we check that Vault's current version logs in, that the
credential from before the rotation no longer does, and that no app password other than
the current one is left at the platform.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from sentinel.creds.store import CredentialStore
from sentinel.platforms.sandbox_server import SandboxProcess
from sentinel.vault.devserver import DevVault
from tests.conftest import new_mount
from tests.creds import faultchild
from tests.creds.conftest import sandbox_accepts, sandbox_api, sandbox_login
from tests.pds_fixture import Pds

pytestmark = pytest.mark.slow

SANDBOX_KILLS = 60
"""Kills in all: first inside each kind of event of a rotation, then at random events."""
PDS_KILLS = 12
"""At random events only: a run against the PDS costs far more than one against the sandbox."""
CHAIN = 0.5
"""Chance that a killed run is followed by another killed run (a resume killed midway)."""


@pytest.fixture(scope="module")
def sandbox_process() -> Iterator[str]:
    """The sandbox platform as its own server process (not a thread of the test)."""
    with SandboxProcess() as sandbox:
        yield sandbox.url


@pytest.fixture(scope="module")
def forks() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    # pytest too: each child re-runs the parent's main script (pytest's), which then costs nothing.
    ctx.set_forkserver_preload(["pytest", "tests.creds.faultchild"])
    return ctx


class Platform(Protocol):
    url: str

    def accepts(self, handle: str, secret: str) -> bool: ...
    def app_passwords(self, handle: str, main_password: str) -> set[str]: ...


@dataclass
class Sandbox:
    url: str
    platform: str = "sandbox"

    def create(self) -> dict[str, str]:
        handle = f"k{secrets.token_hex(5)}"  # unique whatever the seed of ``random``
        password = f"pw-{secrets.token_hex(8)}"
        sandbox_api(self.url, "POST", "/api/accounts", json={"handle": handle, "password": password})
        return {"handle": handle, "password": password}

    def accepts(self, handle: str, secret: str) -> bool:
        return sandbox_accepts(self.url, handle, secret)

    def new_app_password(self, handle: str, password: str) -> dict[str, str]:
        token = sandbox_login(self.url, handle, password)
        out = sandbox_api(self.url, "POST", "/api/app-passwords", token=token, json={"name": "seed-app"})
        return {"value": out["password"], "name": out["name"]}

    def app_passwords(self, handle: str, main_password: str) -> set[str]:
        token = sandbox_login(self.url, handle, main_password)
        return {
            a["name"]
            for a in sandbox_api(self.url, "GET", "/api/app-passwords", token=token)["app_passwords"]
        }


@dataclass
class Bluesky:
    pds: Pds
    platform: str = "bluesky"

    @property
    def url(self) -> str:
        return self.pds.url

    def _session(self, handle: str, secret: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/xrpc/com.atproto.server.createSession",
            json={"identifier": handle, "password": secret},
            timeout=30,
        )

    def create(self) -> dict[str, str]:
        user = self.pds.create_account()
        return {"handle": user["handle"], "password": user["password"]}

    def accepts(self, handle: str, secret: str) -> bool:
        r = self._session(handle, secret)
        if r.status_code == 200:
            return True
        assert r.status_code == 401, r.text
        return False

    def _jwt(self, handle: str, password: str) -> str:
        r = self._session(handle, password)
        r.raise_for_status()
        return str(r.json()["accessJwt"])

    def new_app_password(self, handle: str, password: str) -> dict[str, str]:
        r = httpx.post(
            f"{self.url}/xrpc/com.atproto.server.createAppPassword",
            json={"name": "seed-app"},
            headers={"authorization": f"Bearer {self._jwt(handle, password)}"},
            timeout=30,
        )
        r.raise_for_status()
        return {"value": r.json()["password"], "name": r.json()["name"]}

    def app_passwords(self, handle: str, main_password: str) -> set[str]:
        r = httpx.get(
            f"{self.url}/xrpc/com.atproto.server.listAppPasswords",
            headers={"authorization": f"Bearer {self._jwt(handle, main_password)}"},
            timeout=30,
        )
        r.raise_for_status()
        return {p["name"] for p in r.json()["passwords"]}


@dataclass
class Harness:
    bao: DevVault
    platform: Any
    forks: Any
    tmp: Path
    rng: random.Random
    kills: int = 0
    runs: int = 0
    chained: int = 0
    events_seen: set[str] = field(default_factory=set)
    last_events: list[str] = field(default_factory=list)
    every_event: int = 0

    def __post_init__(self) -> None:
        self.settings, self.admin, self.daemon, self.token = new_mount(self.bao)
        self.store = CredentialStore(self.admin)

    def account(self, kinds: tuple[str, ...]) -> dict[str, Any]:
        from datetime import UTC, datetime

        from sentinel.inventory import Account, CredentialSpec

        user = self.platform.create()
        spec = {
            "id": f"acct-{user['handle'].split('.')[0]}",
            "platform": self.platform.platform,
            "handle": user["handle"],
            "kinds": list(kinds),
        }
        acct = Account(
            spec["id"],
            spec["platform"],
            spec["handle"],
            "UTC",
            "gated",
            credentials=tuple(CredentialSpec(kind=k) for k in kinds),
        )
        now = datetime.now(UTC)
        self.store.replace(acct, "password", "password", {"value": user["password"]}, "seed", now)
        if "app_password" in kinds:
            data = self.platform.new_app_password(user["handle"], user["password"])
            self.store.replace(acct, "app_password", "app_password", data, "seed", now)
        return spec

    def conf(self, spec: dict[str, Any], kill_at: int | None) -> dict[str, Any]:
        return {
            "vault_addr": self.bao.addr,
            "token": self.token,
            "mount": self.settings.kv_mount,
            "password_policy": self.settings.password_policy,
            "account": spec,
            "base_url": self.platform.url,
            "kill_at": kill_at,
            "out": str(self.tmp / f"run-{self.runs}.json"),
        }

    def run(self, spec: dict[str, Any], kill_at: int | None = None, after: float | None = None) -> bool:
        """One child run; True when it died of SIGKILL."""
        self.runs += 1
        conf = self.conf(spec, kill_at)
        p = self.forks.Process(target=faultchild.run, args=(conf,))
        p.start()
        if after is not None:
            p.join(after)
            if p.is_alive():
                p.kill()
        p.join(60)
        assert p.exitcode is not None, "the rotating child hung"
        if p.exitcode == -signal.SIGKILL:
            return True
        assert p.exitcode == 0, f"the rotating child crashed (exit {p.exitcode})"
        out = json.loads(Path(conf["out"]).read_text())
        self.events_seen.update(out["events"])
        self.last_events = list(out["events"])
        for r in out["results"]:
            assert r["status"] in ("rotated", "resumed", "manual"), r
        return False

    def calibrate(self, spec: dict[str, Any]) -> tuple[list[str], float]:
        """The events of one clean rotation, and how long it took."""
        t0 = time.monotonic()
        assert not self.run(spec)
        took = time.monotonic() - t0
        return self.last_events, took

    def one_of_each(self, events: list[str]) -> list[int]:
        """A kill point (1-based) inside each kind of event, at one of its occurrences: each
        step boundary, and just before and just after each kind of Vault call or request."""
        where: dict[str, list[int]] = {}
        call = ""
        for i, name in enumerate(events, start=1):
            if name.endswith(":done"):
                name = f"{call} done"  # after a PATCH is not after a GET
            else:
                call = name
            where.setdefault(name, []).append(i)
        return [self.rng.choice(points) for points in where.values()]

    # -- the checks ----------------------------------------------------------------------
    def secrets_in_vault(self, spec: dict[str, Any], key: str) -> list[str]:
        loaded = self.store.load(spec["id"], key)
        st = loaded.state
        values = [str(self.store.read_version(spec["id"], key, st.current)["value"])]
        if st.pending is not None:
            values.append(str(loaded.data["value"]))
        return values

    def check_nothing_lost(self, spec: dict[str, Any]) -> None:
        for key in spec["kinds"]:
            held = self.secrets_in_vault(spec, key)
            assert any(self.platform.accepts(spec["handle"], s) for s in held), (
                f"after a kill, no secret Vault holds for {spec['id']}/{key} logs in"
            )

    def snapshot(self, spec: dict[str, Any]) -> dict[str, str]:
        return {key: str(self.store.current(spec["id"], key)[1]["value"]) for key in spec["kinds"]}

    def check_finished(self, spec: dict[str, Any], before: dict[str, str], rotated: tuple[str, ...]) -> None:
        now = {}
        for key in spec["kinds"]:
            st, data = self.store.current(spec["id"], key)
            assert st.phase == "idle", f"{spec['id']}/{key} still {st.phase} after a clean resume"
            now[key] = str(data["value"])
            assert self.platform.accepts(spec["handle"], now[key]), f"Vault's current {key} does not log in"
        for key in (k for k in rotated if k in now):
            assert now[key] != before[key]
            assert not self.platform.accepts(spec["handle"], before[key]), f"the old {key} still logs in"
        if "app_password" in spec["kinds"]:
            current_name = str(self.store.current(spec["id"], "app_password")[1]["name"])
            left = self.platform.app_passwords(spec["handle"], now["password"])
            assert left == {current_name}, f"app passwords left at the platform: {sorted(left)}"

    def inject(
        self, specs: list[dict[str, Any]], target: int, rotated: tuple[str, ...], each_event: bool = True
    ) -> None:
        """Kill a rotation once inside every kind of event it has (at one of its occurrences,
        in a random order; unless not ``each_event``), then at random events and after random
        delays until ``target`` kills."""
        calib = {s["id"]: self.calibrate(s) for s in specs}
        for s in specs:
            self.check_finished(s, {k: "" for k in s["kinds"]}, ())
        every = [(s, at) for s in specs for at in self.one_of_each(calib[s["id"]][0]) if each_event]
        self.rng.shuffle(every)
        self.every_event = len(every)
        while every or self.kills < target:
            spec, at = every.pop() if every else (self.rng.choice(specs), None)
            events, took = len(calib[spec["id"]][0]), calib[spec["id"]][1]
            before = self.snapshot(spec)
            while True:
                if at is not None:
                    killed, at = self.run(spec, kill_at=at), None
                elif self.rng.random() < 0.8:
                    killed = self.run(spec, kill_at=self.rng.randint(1, events))
                else:
                    killed = self.run(spec, after=self.rng.uniform(0.0, took))
                if not killed:
                    break
                self.kills += 1
                self.check_nothing_lost(spec)
                if self.rng.random() >= CHAIN:
                    assert not self.run(spec), "the clean resume was killed"
                    break
                self.chained += 1
            self.check_finished(spec, before, rotated)


def test_sigkill_at_random_points_against_sandbox_process(
    bao: DevVault, sandbox_process: str, forks: Any, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    h = Harness(bao, Sandbox(sandbox_process), forks, tmp_path, random.Random(seed))
    specs = [h.account(("password",)), h.account(("password", "app_password"))]
    try:
        h.inject(specs, SANDBOX_KILLS, rotated=("password", "app_password"))
    except AssertionError as e:
        raise AssertionError(f"{e} (seed {seed}, kill {h.kills})") from None
    print(
        f"\nsandbox: {h.kills} SIGKILLs ({h.every_event} inside each kind of event, {h.chained} during a resume)"
        f" over {h.runs} runs, seed {seed}"
    )
    assert h.kills >= SANDBOX_KILLS
    # The kills landed inside every kind of event, including inside platform and Vault calls.
    assert any(e.startswith("http:POST /api/password") for e in h.events_seen)
    assert any(e.startswith("vault:PATCH") for e in h.events_seen)


@pytest.mark.pds
def test_sigkill_at_random_points_against_bluesky_pds(
    bao: DevVault, pds: Pds, forks: Any, tmp_path: Path
) -> None:
    seed = random.randrange(2**32)
    h = Harness(bao, Bluesky(pds), forks, tmp_path, random.Random(seed))
    specs = [h.account(("password", "app_password"))]
    try:
        # Bluesky's API cannot change the main password: only the app password rotates.
        h.inject(specs, PDS_KILLS, rotated=("app_password",), each_event=False)  # a PDS run is slow
    except AssertionError as e:
        raise AssertionError(f"{e} (seed {seed}, kill {h.kills})") from None
    print(
        f"\nbluesky: {h.kills} SIGKILLs ({h.every_event} inside each kind of event, {h.chained} during a resume)"
        f" over {h.runs} runs, seed {seed}"
    )
    assert h.kills >= PDS_KILLS

"""``sentinel held`` and the incident verbs, against the API served for real (uvicorn) over
real OpenBao tokens: the CLI acts with the person's own token, as the API decides."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.api.service import ServerHandle, bind
from sentinel.cli import main
from sentinel.response.store import ResponseStore
from sentinel.store import Store
from tests.api.conftest import World, build_deps, world

__all__ = ["world"]


@dataclass
class Served:
    world: World
    config: Path
    url: str
    incidents: ResponseStore

    async def run(self, person: str, *args: str) -> tuple[int, str, str]:
        """``sentinel --config C ARGS`` as ``person`` (their token in VAULT_TOKEN), off the loop."""

        def go() -> tuple[int, str, str]:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["--config", str(self.config), *args])
            return code, out.getvalue(), err.getvalue()

        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("VAULT_TOKEN", self.world.tokens[person])
            return await asyncio.to_thread(go)

    async def hold(self, account: str, text: str, person: str = "op-editor") -> str:
        async with httpx.AsyncClient(base_url=self.url) as c:
            resp = await c.post(
                f"/v1/accounts/{account}/posts", json={"text": text}, headers=self.world.auth(person)
            )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["held"]["id"])


@pytest.fixture
async def served(world: World, tmp_path: Path) -> AsyncIterator[Served]:
    (tmp_path / "state").mkdir()
    store = Store(tmp_path / "state" / "sentinel.sqlite3")
    incidents = ResponseStore(store)
    deps, *_ = build_deps(
        world, store, incidents=incidents.incidents, incident=incidents.incident, incident_log=incidents
    )
    handle = ServerHandle(create_app(deps), bind("127.0.0.1", 0))
    await handle.start()
    port = handle.url.rsplit(":", 1)[1]
    (tmp_path / "inventory.toml").write_text("")
    config = tmp_path / "sentinel.toml"
    config.write_text(
        f'[sentinel]\nstate_dir = "state"\ninventory = "inventory.toml"\n'
        f'[vault]\naddr = "{world.bao.addr}"\n[api]\nhost = "127.0.0.1"\nport = {port}\n'
    )
    yield Served(world, config, handle.url, incidents)
    await handle.stop()
    assert deps.aclose is not None
    await deps.aclose()
    store.close()


async def test_held_list_show_and_approve_by_a_second_person(served: Served) -> None:
    held = await served.hold("acct-b", "HOLDME see https://launch.example/now")
    code, out, _ = await served.run("op-approver", "held", "list")
    assert code == 0 and held in out and "hxxps://launch[.]example/now" in out
    code, out, _ = await served.run("op-approver", "held", "show", held)
    assert code == 0 and "test.hold-marker" in out and "by op-editor" in out
    code, out, _ = await served.run("op-approver", "--json", "held", "approve", held)
    assert code == 0 and json.loads(out)["status"] == "published"
    assert any(p["text"].startswith("HOLDME see") for p in served.world.posts("acct-b"))


async def test_held_refusals_name_the_reason_and_exit_codes(served: Served) -> None:
    held = await served.hold("acct-b", "HOLDME mine")
    code, _, err = await served.run("op-editor", "held", "approve", held)
    assert code == 6 and "cannot approve it" in err
    code, _, err = await served.run("op-analyst", "held", "list")
    assert code == 6 and "'approve'" in err
    code, _, err = await served.run("op-approver", "held", "reject", "held_nope")
    assert code == 1 and "no held post" in err
    code, out, _ = await served.run("op-approver", "held", "reject", held, "--reason", "off-brand")
    assert code == 0 and "rejected by op-approver" in out and "off-brand" in out


async def test_incident_note_assign_close_and_list(served: Served) -> None:
    number = served.incidents.open_incident("Lockdown: test", ["acct-a"])
    code, out, _ = await served.run("op-lock", "incidents", "note", str(number), "called the manager")
    assert code == 0 and f"note added to incident {number} (by op-lock)" in out
    code, _, _ = await served.run("op-lock", "incidents", "assign", str(number), "op-lee")
    assert code == 0
    code, out, _ = await served.run("op-lock", "incidents", "list", "--open")
    assert code == 0 and "op-lee" in out
    code, _, err = await served.run("op-analyst", "incidents", "close", str(number), "--reason", "x")
    assert code == 6 and "'lockdown'" in err
    code, _, _ = await served.run("op-lock", "incidents", "close", str(number), "--reason", "contained")
    assert code == 0
    code, out, _ = await served.run("op-lock", "incidents", "list", "--open")
    assert str(number) not in out.split("\n", 2)[-1]


async def test_without_the_daemon_the_cli_says_so(served: Served, tmp_path: Path) -> None:
    config = served.config.read_text().replace(f"port = {served.url.rsplit(':', 1)[1]}", "port = 1")
    served.config.write_text(config)
    code, _, err = await served.run("op-approver", "held", "list")
    assert code == 3 and "does not answer" in err and "sentinel run" in err

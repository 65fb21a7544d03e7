"""The sandbox platform server and its adapter, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import secrets
import subprocess
import sys

import httpx
import pytest

from sentinel.platforms import (
    PlatformAuthFailed,
    PlatformLocked,
    PlatformNotFound,
    PlatformRejected,
    create_adapter,
)
from sentinel.platforms.sandbox import SandboxAdapter
from sentinel.platforms.sandbox_server import SandboxServer
from tests.waiting import wait_until


def new_account(server: SandboxServer) -> dict[str, str]:
    handle, password = f"u{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    httpx.post(f"{server.url}/api/accounts", json={"handle": handle, "password": password}).raise_for_status()
    return {"identifier": handle, "password": password, "service": server.url}


def sandbox_adapter(creds: dict[str, str], account: str = "acct") -> SandboxAdapter:
    a = create_adapter("sandbox", account, creds)
    assert isinstance(a, SandboxAdapter)
    return a


async def test_publish_list_since_cursor_delete(sandbox: SandboxServer) -> None:
    async with sandbox_adapter(new_account(sandbox)) as sb:
        base = await sb.list_posts(None)
        assert base.posts == () and base.cursor == "0"
        one = await sb.publish("one", client="Buffer")
        two = await sb.publish("two")
        page = await sb.list_posts(base.cursor)
        assert [(p.text, p.client) for p in page.posts] == [("one", "Buffer"), ("two", "Sentinel")]
        assert page.cursor == two.post_id
        assert (await sb.list_posts(page.cursor)).posts == ()
        await sb.delete_post(one.post_id)
        await sb.delete_post(one.post_id)
        assert [p.text for p in (await sb.list_posts(None)).posts] == ["two"]


async def test_lock_cuts_off_open_sessions_and_unlock_restores(sandbox: SandboxServer) -> None:
    creds = new_account(sandbox)
    async with sandbox_adapter(creds) as owner, sandbox_adapter(creds, "thief") as thief:
        await thief.publish("thief logged in")
        await owner.lock()
        with pytest.raises(PlatformLocked):
            await thief.publish("blocked")
        await owner.unlock()
        await owner.publish("unlocked")


async def test_password_change_ends_other_sessions(sandbox: SandboxServer) -> None:
    creds = new_account(sandbox)
    old = creds["password"]
    async with sandbox_adapter(dict(creds)) as owner, sandbox_adapter(dict(creds), "thief") as thief:
        await thief.publish("thief session open")
        await owner.change_password("a-brand-new-password")
        # The thief's session is gone and the old password no longer logs in.
        with pytest.raises(PlatformAuthFailed):
            await thief.publish("after change")
        with pytest.raises(PlatformAuthFailed):
            await owner.verify({"password": old})
        await owner.publish("owner still works")


async def test_app_password_rotation_and_revocation(sandbox: SandboxServer) -> None:
    creds = new_account(sandbox)
    async with sandbox_adapter(creds) as owner:
        app = await owner.create_app_password("broker")
        owner.credentials.update({"app_password": app.secret, "app_password_name": "broker"})
        await owner.publish("via app password")
        rotated = await owner.rotate_credential()
        assert [a.name for a in await owner.list_app_passwords()] == [rotated["app_password_name"]]
        with pytest.raises(PlatformAuthFailed):
            await owner.verify({"app_password": app.secret})
        await owner.publish("via rotated app password")
        await owner.revoke_sessions()
        assert await owner.list_app_passwords() == []


def test_runs_as_a_module_on_a_given_port() -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sentinel.platforms.sandbox_server",
            "--port",
            str(port),
            "--account",
            "demo:demo-password",
        ],
        stderr=subprocess.PIPE,
    )
    try:

        def signed_in() -> httpx.Response | None:
            try:
                return httpx.post(
                    f"http://127.0.0.1:{port}/api/sessions",
                    json={"handle": "demo", "password": "demo-password"},
                )
            except httpx.ConnectError:
                return None

        r = wait_until("the sandbox on its port", signed_in, timeout=20, every=0.1)
        assert r.status_code == 201 and r.json()["handle"] == "demo"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stderr is not None
        proc.stderr.close()


async def test_replies_and_comment_moderation(sandbox: SandboxServer) -> None:
    async with (
        sandbox_adapter(new_account(sandbox), "brand") as brand,
        sandbox_adapter(new_account(sandbox), "fan") as fan,
        sandbox_adapter(new_account(sandbox), "other") as other,
    ):
        root = await brand.publish("We are hiring")
        question = await fan.reply(root.post_id, "Remote too?")
        answer = await brand.reply(question.post_id, "Yes")
        spam = await other.reply(root.post_id, "spam")
        listed = await brand.list_comments(root.post_id)
        assert [(c.comment_id, c.text, c.author, c.own) for c in listed] == [
            (question.post_id, "Remote too?", fan.handle, False),
            (spam.post_id, "spam", other.handle, False),
        ]
        assert [(c.comment_id, c.own) for c in await brand.list_comments(question.post_id)] == [
            (answer.post_id, True)
        ]
        assert len(await brand.list_comments(root.post_id, limit=1)) == 1
        # the author of the replied-to post moderates; nobody else does
        with pytest.raises(PlatformRejected):
            await other.hide_comment(question.post_id)
        with pytest.raises(PlatformRejected):
            await other.delete_comment(question.post_id)
        await brand.hide_comment(spam.post_id)
        assert [c.hidden for c in await fan.list_comments(root.post_id)] == [False, True]
        await brand.hide_comment(spam.post_id, hidden=False)
        await brand.delete_comment(spam.post_id)
        await brand.delete_comment(spam.post_id)  # already gone
        assert [c.comment_id for c in await brand.list_comments(root.post_id)] == [question.post_id]
        # the reply is on the replier's own timeline too
        assert [p.text for p in (await fan.list_posts(None)).posts] == ["Remote too?"]
        with pytest.raises(PlatformNotFound):
            await brand.hide_comment("999999")
        with pytest.raises(PlatformNotFound):
            await fan.reply("999999", "to nothing")
        with pytest.raises(PlatformNotFound):
            await brand.list_comments("999999")
        await brand.lock()
        with pytest.raises(PlatformLocked):
            await brand.hide_comment(question.post_id)
        await brand.unlock()

"""The Bluesky adapter against a real PDS (the AT Protocol reference server, tests/pds)."""

from __future__ import annotations

import json

import httpx
import pytest

from sentinel.platforms import Capability, PlatformAuthFailed, PlatformLocked, create_adapter
from sentinel.platforms.bluesky import BlueskyAdapter
from sentinel.redact import scrub
from tests.pds_fixture import Pds

pytestmark = pytest.mark.pds


def adapter(pds: Pds, creds: dict[str, str], account: str = "acct-bsky") -> BlueskyAdapter:
    a = create_adapter("bluesky", account, creds, base_url=pds.url)
    assert isinstance(a, BlueskyAdapter)
    return a


async def test_publish_list_since_cursor_and_delete(pds: Pds) -> None:
    user = pds.create_account()
    async with adapter(pds, user) as bsky:
        ident = await bsky.verify()
        assert ident.user_id == user["did"]
        first = await bsky.list_posts(None)
        assert first.posts == () and first.cursor == ""
        a = await bsky.publish("first post")
        b = await bsky.publish("second post")
        page = await bsky.list_posts(first.cursor)
        assert [p.text for p in page.posts] == ["first post", "second post"]
        assert [p.post_id for p in page.posts] == [a.post_id, b.post_id]
        assert page.cursor == b.post_id
        c = await bsky.publish("third post")
        later = await bsky.list_posts(page.cursor)
        assert [p.post_id for p in later.posts] == [c.post_id]
        await bsky.delete_post(b.post_id)
        await bsky.delete_post(b.post_id)  # already gone: not an error
        newest = await bsky.list_posts(None)
        assert [p.text for p in newest.posts] == ["first post", "third post"]


async def test_wrong_password_is_auth_failed_without_leaking_it(pds: Pds) -> None:
    user = pds.create_account()
    wrong = "wrong-password-" + user["password"]
    async with adapter(pds, {"identifier": user["handle"], "password": wrong}) as bsky:
        with pytest.raises(PlatformAuthFailed) as err:
            await bsky.verify()
    assert wrong not in str(err.value)
    assert wrong not in scrub(f"login with {wrong}")


async def test_app_password_rotation_verifies_new_and_revokes_old(pds: Pds) -> None:
    user = pds.create_account()
    async with adapter(pds, user) as bsky:
        first = await bsky.create_app_password("broker")
        bsky.credentials.update({"app_password": first.secret, "app_password_name": "broker"})
        assert [p.name for p in await bsky.list_app_passwords()] == ["broker"]
        new = await bsky.rotate_credential()
        assert new["app_password"] != first.secret
        names = [p.name for p in await bsky.list_app_passwords()]
        assert names == [new["app_password_name"]]
        # The new app password logs in; the old one no longer does.
        await bsky.verify({"identifier": user["handle"], "app_password": new["app_password"]})
        with pytest.raises(PlatformAuthFailed):
            await bsky.verify({"identifier": user["handle"], "app_password": first.secret})
        posted = await bsky.publish("posted with the rotated app password")
        assert posted.post_id


async def test_app_password_session_cannot_manage_app_passwords(pds: Pds) -> None:
    user = pds.create_account()
    async with adapter(pds, user) as owner:
        app = await owner.create_app_password("tool")
    tool_creds = {"identifier": user["handle"], "app_password": app.secret}
    async with adapter(pds, tool_creds) as tool:
        await tool.publish("a tool may post")
        with pytest.raises(PlatformAuthFailed, match="main password"):
            await tool.create_app_password("escalate")


async def test_lock_cuts_off_an_already_open_session_that_revocation_does_not(pds: Pds) -> None:
    user = pds.create_account()
    async with adapter(pds, user, "owner") as owner:
        stolen = await owner.create_app_password("stolen")
        # The hijacker holds a session opened with the app password.
        async with adapter(
            pds, {"identifier": user["handle"], "app_password": stolen.secret}, "thief"
        ) as thief:
            await thief.publish("hijacker's first post")
            # Revoking the app password does NOT end the access token already issued (the trap).
            await owner.revoke_sessions()
            assert await owner.list_app_passwords() == []
            still = await thief.publish("hijacker still posting after revocation")
            assert still.post_id
            # Deactivation does.
            await owner.lock()
            with pytest.raises(PlatformLocked):
                await thief.publish("blocked by the lock")
            # New logins cannot post either while locked.
            async with adapter(pds, user, "again") as again:
                with pytest.raises(PlatformLocked):
                    await again.publish("also blocked")
            await owner.unlock()
        posts = await owner.list_posts(None)
        texts = [p.text for p in posts.posts]
        assert "blocked by the lock" not in texts and "also blocked" not in texts
        assert "hijacker still posting after revocation" in texts
        await owner.publish("back in control")


async def test_expired_access_token_is_refreshed_once() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.rsplit(".", 1)[-1]
        calls.append(nsid)
        auth = request.headers.get("authorization", "")
        if nsid == "createSession":
            return httpx.Response(
                200,
                json={
                    "did": "did:plc:abc",
                    "handle": "a.test",
                    "accessJwt": "acc-old-1234",
                    "refreshJwt": "ref-1234",
                },
            )
        if nsid == "refreshSession":
            assert auth == "Bearer ref-1234"
            return httpx.Response(
                200,
                json={
                    "did": "did:plc:abc",
                    "handle": "a.test",
                    "accessJwt": "acc-new-1234",
                    "refreshJwt": "ref-5678",
                },
            )
        if nsid == "createRecord":
            if auth == "Bearer acc-old-1234":
                return httpx.Response(400, json={"error": "ExpiredToken", "message": "Token has expired"})
            body = json.loads(request.content)
            assert body["record"]["text"] == "hello"
            return httpx.Response(200, json={"uri": "at://did:plc:abc/app.bsky.feed.post/3abc", "cid": "x"})
        return httpx.Response(404)

    bsky = BlueskyAdapter(
        "acct", {"identifier": "did:plc:abc", "password": "pw-123456"}, transport=httpx.MockTransport(handler)
    )
    post = await bsky.publish("hello")
    await bsky.aclose()
    assert post.post_id == "3abc"
    assert calls == ["createSession", "createRecord", "refreshSession", "createRecord"]


def test_capabilities_declare_what_bluesky_cannot_do() -> None:
    info = BlueskyAdapter.info
    assert info.supports(Capability.LOCK_ACCOUNT)
    assert not info.supports(Capability.CHANGE_PASSWORD)
    assert "e-mailed code" in info.manual[Capability.CHANGE_PASSWORD]

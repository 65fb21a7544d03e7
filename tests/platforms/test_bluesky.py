"""The Bluesky adapter against a real PDS (the AT Protocol reference server, tests/pds)."""

from __future__ import annotations

import json

import httpx
import pytest

from sentinel.platforms import (
    Capability,
    PlatformAuthFailed,
    PlatformLocked,
    PlatformNotFound,
    PlatformRejected,
    PlatformUnavailable,
    create_adapter,
)
from sentinel.platforms.base import content_hash
from sentinel.platforms.bluesky import BlueskyAdapter, comment_id, linked_text, tid_time
from sentinel.redact import scrub
from tests.pds_fixture import Pds
from tests.platforms.mockapi import no_sleep

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


# -- replies and moderation ------------------------------------------------------------------------
def record(pds: Pds, uri: str) -> dict[str, object] | None:
    """A record read straight from the PDS (``None`` when it does not exist)."""
    did, collection, rkey = uri.removeprefix("at://").split("/")
    r = httpx.get(
        f"{pds.url}/xrpc/com.atproto.repo.getRecord",
        params={"repo": did, "collection": collection, "rkey": rkey},
    )
    if r.status_code == 400 and r.json().get("error") == "RecordNotFound":
        return None
    r.raise_for_status()
    value: dict[str, object] = r.json()["value"]
    return value


async def test_replies_carry_root_and_parent_strong_refs(pds: Pds) -> None:
    brand, fan = pds.create_account(), pds.create_account()
    async with adapter(pds, brand, "brand") as owner, adapter(pds, fan, "fan") as other:
        root = await owner.publish("We launched today")
        question = await other.reply(root.url, "Which countries?")
        answer = await owner.reply(comment_id(question.url), "All of the EU")
        again = await owner.reply(root.post_id, "Thanks everyone")  # own post by record key
    root_ref = record(pds, root.url)
    assert root_ref is not None
    q, a, g = record(pds, question.url), record(pds, answer.url), record(pds, again.url)
    assert q is not None and a is not None and g is not None
    assert q["reply"]["root"]["uri"] == q["reply"]["parent"]["uri"] == root.url  # type: ignore[index]
    # an answer to a reply: root is the thread's first post, parent the reply, with their CIDs
    assert a["reply"]["root"] == q["reply"]["root"]  # type: ignore[index]
    assert a["reply"]["parent"]["uri"] == question.url  # type: ignore[index]
    assert str(a["reply"]["parent"]["cid"]).startswith("bafy")  # type: ignore[index]
    assert g["reply"]["parent"]["uri"] == root.url and a["text"] == "All of the EU"  # type: ignore[index]


async def test_hiding_replies_writes_the_root_posts_threadgate_and_keeps_its_rules(pds: Pds) -> None:
    brand, fan, troll = pds.create_account(), pds.create_account(), pds.create_account()
    async with (
        adapter(pds, brand, "brand") as owner,
        adapter(pds, fan, "fan") as kind,
        adapter(pds, troll, "troll") as rude,
    ):
        root = await owner.publish("Ask us anything")
        nice = await kind.reply(root.url, "How is the team?")
        spam = await rude.reply(root.url, "cheap followers at spam.example")
        deep = await rude.reply(nice.url, "more spam")
        gate_uri = f"at://{brand['did']}/app.bsky.feed.threadgate/{root.post_id}"
        # the account had restricted replies to mentioned people: hiding must keep that
        rules = [{"$type": "app.bsky.feed.threadgate#mentionRule"}]
        await owner._call(
            "app",
            "POST",
            "com.atproto.repo.createRecord",
            json={
                "repo": brand["did"],
                "collection": "app.bsky.feed.threadgate",
                "rkey": root.post_id,
                "record": {
                    "$type": "app.bsky.feed.threadgate",
                    "post": root.url,
                    "createdAt": "2026-01-01T00:00:00Z",
                    "allow": rules,
                },
            },
        )
        await owner.hide_comment(comment_id(spam.url))
        await owner.hide_comment(comment_id(deep.url))  # a reply to a reply: same root, same gate
        await owner.hide_comment(comment_id(deep.url))  # twice: listed once
        gate = record(pds, gate_uri)
        assert gate is not None
        assert gate["hiddenReplies"] == [spam.url, deep.url] and gate["allow"] == rules
        await owner.hide_comment(deep.url, hidden=False)  # an at:// URI works too
        gate = record(pds, gate_uri)
        assert gate is not None and gate["hiddenReplies"] == [spam.url]
        # only the thread's author can hide its replies
        with pytest.raises(PlatformRejected, match="only the thread's author"):
            await rude.hide_comment(comment_id(nice.url))
        with pytest.raises(PlatformRejected, match="not a reply"):
            await owner.hide_comment(comment_id(root.url))
        with pytest.raises(PlatformNotFound):
            await owner.hide_comment(f"{troll['did']}:3zzzzzzzzzzzz")


async def test_hiding_in_a_thread_without_a_gate_creates_one(pds: Pds) -> None:
    brand, fan = pds.create_account(), pds.create_account()
    async with adapter(pds, brand, "brand") as owner, adapter(pds, fan, "fan") as other:
        root = await owner.publish("Hello")
        spam = await other.reply(root.url, "spam")
        await owner.hide_comment(comment_id(spam.url))
    gate = record(pds, f"at://{brand['did']}/app.bsky.feed.threadgate/{root.post_id}")
    assert gate is not None and gate["hiddenReplies"] == [spam.url] and gate["post"] == root.url
    assert "allow" not in gate  # no allow rules: everybody may still reply


async def test_an_account_deletes_only_its_own_replies(pds: Pds) -> None:
    brand, fan = pds.create_account(), pds.create_account()
    async with adapter(pds, brand, "brand") as owner, adapter(pds, fan, "fan") as other:
        root = await owner.publish("Hello")
        theirs = await other.reply(root.url, "a reply by someone else")
        mine = await owner.reply(theirs.url, "our answer")
        with pytest.raises(PlatformRejected, match="hide the reply instead"):
            await owner.delete_comment(comment_id(theirs.url))
        await owner.delete_comment(comment_id(mine.url))
        await owner.delete_comment(comment_id(mine.url))  # already gone: not an error
    assert record(pds, theirs.url) is not None
    assert record(pds, mine.url) is None


async def test_listing_replies_needs_an_appview_which_the_test_pds_lacks(pds: Pds) -> None:
    """The test network runs no AppView: the PDS cannot answer getPostThread, and the adapter
    says the platform is unavailable rather than inventing an empty thread."""
    user = pds.create_account()
    bsky = BlueskyAdapter("acct", user, base_url=pds.url, sleep=no_sleep)
    async with bsky:
        root = await bsky.publish("Hello")
        with pytest.raises(PlatformUnavailable):
            await bsky.list_comments(root.post_id)


async def test_list_comments_from_the_documented_thread_shape() -> None:
    """app.bsky.feed.getPostThread's documented output (threadViewPost, notFoundPost,
    threadgateView) through MockTransport, asked of the AppView named in the credential."""
    root = "at://did:plc:brand/app.bsky.feed.post/3root"
    fan = "at://did:plc:fan/app.bsky.feed.post/3fan"
    spam = "at://did:plc:troll/app.bsky.feed.post/3spam"
    ours = "at://did:plc:brand/app.bsky.feed.post/3ours"

    def view(uri: str, handle: str, text: str) -> dict[str, object]:
        did = uri.split("/")[2]
        return {
            "uri": uri,
            "cid": "bafy" + uri[-4:],
            "author": {"did": did, "handle": handle},
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-03-01T10:00:00.000Z"},
            "indexedAt": "2026-03-01T10:00:01.000Z",
        }

    thread = {
        "thread": {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": view(root, "brand.test", "root"),
            "replies": [
                {
                    "$type": "app.bsky.feed.defs#threadViewPost",
                    "post": view(fan, "fan.test", "question"),
                    "replies": [
                        {
                            "$type": "app.bsky.feed.defs#threadViewPost",
                            "post": view(ours, "brand.test", "answer"),
                        }
                    ],
                },
                {"$type": "app.bsky.feed.defs#notFoundPost", "uri": "at://x/y/z", "notFound": True},
                {"$type": "app.bsky.feed.defs#threadViewPost", "post": view(spam, "troll.test", "spam")},
            ],
        },
        "threadgate": {
            "uri": "at://did:plc:brand/app.bsky.feed.threadgate/3root",
            "cid": "bafygate",
            "record": {"$type": "app.bsky.feed.threadgate", "post": root, "hiddenReplies": [spam]},
        },
    }
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.host == "appview.test"
        assert request.url.path == "/xrpc/app.bsky.feed.getPostThread"
        return httpx.Response(200, json=thread)

    creds = {"identifier": "did:plc:brand", "password": "pw-123456", "appview": "https://appview.test"}
    async with BlueskyAdapter("acct", creds, transport=httpx.MockTransport(handler)) as bsky:
        comments = await bsky.list_comments("3root")
        first = await bsky.list_comments("3root", limit=1)
    assert seen[0].url.params["uri"] == root
    assert [(c.comment_id, c.author, c.text, c.hidden, c.own, c.parent_id) for c in comments] == [
        ("did:plc:fan:3fan", "fan.test", "question", False, False, "did:plc:brand:3root"),
        ("did:plc:troll:3spam", "troll.test", "spam", True, False, "did:plc:brand:3root"),
        ("did:plc:brand:3ours", "brand.test", "answer", False, True, "did:plc:fan:3fan"),
    ]
    assert comments[0].created_at == "2026-03-01T10:00:00Z" and comments[0].url == fan
    assert [c.comment_id for c in first] == ["did:plc:fan:3fan"]


async def test_account_state_on_the_real_pds_and_plc(pds: Pds) -> None:
    user = pds.create_account()
    image = b"\x89PNG\r\n\x1a\n" + b"avatar" * 20
    async with httpx.AsyncClient(base_url=f"{pds.url}/xrpc/") as c:
        auth = pds.auth_headers(user)
        blob = await c.post(
            "com.atproto.repo.uploadBlob", headers={**auth, "content-type": "image/png"}, content=image
        )
        profile = {
            "$type": "app.bsky.actor.profile",
            "displayName": "Brand",
            "description": "Official",
            "avatar": blob.json()["blob"],
        }
        put = await c.post(
            "com.atproto.repo.putRecord",
            headers=auth,
            json={
                "repo": user["did"],
                "collection": "app.bsky.actor.profile",
                "rkey": "self",
                "record": profile,
            },
        )
        assert put.status_code == 200
    async with adapter(pds, {**user, "plc": pds.plc_url}) as bsky:
        await bsky.create_app_password("broker")
        state = await bsky.account_state()
    did = state.pop("did")
    assert state == {
        "handle": user["handle"],
        "display_name": "Brand",
        "avatar": content_hash(image),
        "bio": "Official",
        "pinned_post": None,
        "email": f"{user['handle']}@example.com",
        "two_factor": "off",
        "app_password": ["broker"],
    }
    assert did["id"] == user["did"]
    assert did["pds"].endswith(":" + pds.url.rsplit(":", 1)[1])  # the PDS the PLC names
    assert did["rotation_keys"] and all(k.startswith("did:key:") for k in did["rotation_keys"])


async def test_account_state_reads_email_two_factor_from_get_session() -> None:
    """The test network's PDS does not implement ``emailAuthFactor``: its documented shape."""

    def handler(request: httpx.Request) -> httpx.Response:
        nsid = request.url.path.rsplit(".", 1)[-1]
        if nsid == "createSession":
            return httpx.Response(
                200, json={"did": "did:plc:abc", "accessJwt": "a-123456", "refreshJwt": "r-123456"}
            )
        if nsid == "getSession":
            return httpx.Response(
                200,
                json={
                    "did": "did:plc:abc",
                    "handle": "brand.test",
                    "email": "s@brand.example",
                    "emailAuthFactor": True,
                },
            )
        if nsid == "getRecord":
            return httpx.Response(400, json={"error": "RecordNotFound", "message": "no profile"})
        if nsid == "listAppPasswords":
            return httpx.Response(200, json={"passwords": []})
        if request.url.path == "/did:plc:abc/data":
            return httpx.Response(
                200,
                json={
                    "rotationKeys": ["did:key:z1"],
                    "services": {
                        "atproto_pds": {
                            "type": "AtprotoPersonalDataServer",
                            "endpoint": "https://pds.example",
                        }
                    },
                },
            )
        return httpx.Response(404)

    creds = {"identifier": "brand.test", "password": "pw-123456", "plc": "https://plc.example"}
    async with BlueskyAdapter("acct", creds, transport=httpx.MockTransport(handler)) as bsky:
        state = await bsky.account_state()
    assert state["two_factor"] == "email"
    assert state["display_name"] is None and state["avatar"] is None
    assert state["did"] == {
        "id": "did:plc:abc",
        "pds": "https://pds.example",
        "rotation_keys": ["did:key:z1"],
    }


def test_linked_text_carries_the_addresses_link_facets_open() -> None:
    def link(start: int, end: int, uri: str) -> dict[str, object]:
        return {
            "index": {"byteStart": start, "byteEnd": end},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
        }

    text = "Été: see example.com/spri... and northwind.com/x"
    at = len("Été: see ".encode())
    shown = len(b"example.com/spri...")
    record = {
        "text": text,
        "facets": [
            link(at, at + shown, "https://example.com/spring"),
            # the words name one site, the link opens another
            link(len(text.encode()) - len("northwind.com/x"), len(text.encode()), "https://evil.example/x"),
            {"index": {"byteStart": 0, "byteEnd": 3}, "features": [{"$type": "app.bsky.richtext.facet#tag"}]},
            link(5, 999, "https://out-of-range.example"),  # does not fit the text: ignored
        ],
    }
    assert linked_text(record) == "Été: see https://example.com/spring and https://evil.example/x"
    assert linked_text({"text": "plain"}) == "plain"


def test_tid_record_keys_read_as_their_time() -> None:
    assert tid_time("3n3v277fg4k2i") == 1796430374.482
    assert tid_time("2222222222222") == 0.0
    assert tid_time("bzzzzzzzzzzzz") == (2**53 - 1) / 1e6  # the last TID there is
    assert tid_time("jzzzzzzzzzzzz") is None  # the top bit is set
    assert tid_time("self") is None and tid_time("3n3v277fg4k2I") is None

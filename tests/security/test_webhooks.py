"""Webhooks against an attacker: deliveries are verified with secrets the daemon's own token
reads from a real OpenBao, before the body is parsed; a forged, altered, replayed or
oversized delivery wakes nothing, and even a valid one only wakes the account's reconcile,
so what reaches the engine is what the platform lists (X and Meta on their documented
shapes, through httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from sentinel.api.app import create_app
from sentinel.api.body import MAX_BODY_BYTES as MAX_BODY
from sentinel.api.wiring import build_deps
from sentinel.config import load_config
from sentinel.platforms import create_adapter
from sentinel.watcher import WatchedAccount, Watcher
from sentinel.watcher.push import PushSources
from tests.conftest import Deployment, running_app
from tests.watcher.test_watcher import Sink, wait_for

X_USER, PAGE = "2244994945", "104730582351234"
X_API, GRAPH = "https://api.x.com", "https://graph.facebook.com/v21.0"


@dataclass
class Platforms:
    """What the platforms list: the truth a webhook can only point at."""

    tweets: list[dict[str, Any]] = field(default_factory=list)
    page_posts: list[dict[str, Any]] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == f"/2/users/{X_USER}/tweets":
            return httpx.Response(200, json={"data": list(self.tweets), "meta": {}})
        if request.url.path == f"/v21.0/{PAGE}/posts":
            return httpx.Response(200, json={"data": list(self.page_posts)})
        return httpx.Response(404, json={"error": "not mocked"})


@dataclass
class Hooked:
    api: httpx.AsyncClient
    watcher: Watcher
    sink: Sink
    platforms: Platforms
    meta_secret: str
    verify_token: str
    x_secret: str


@pytest.fixture
def secrets_in_vault(deployment: Deployment) -> Iterator[dict[str, str]]:
    values = {
        "app_secret": secrets.token_hex(16),
        "verify_token": secrets.token_urlsafe(16),
        "consumer_secret": secrets.token_urlsafe(32),
    }
    admin = deployment.admin
    admin.kv_write(
        "system/hooks/meta",
        {"app_secret": values["app_secret"], "verify_token": values["verify_token"]},
        cas=None,
    )
    admin.kv_write("system/hooks/x", {"consumer_secret": values["consumer_secret"]}, cas=None)
    yield values


@pytest.fixture
async def hooked(deployment: Deployment, secrets_in_vault: dict[str, str]) -> AsyncIterator[Hooked]:
    config = load_config(str(deployment.config), {})
    app = running_app(config, deployment.admin.with_token(deployment.token))  # the daemon's token
    platforms = Platforms()
    transport = httpx.MockTransport(platforms.handler)
    x = create_adapter(
        "x", "brand-x", {"access_token": "x-tok-123456", "user_id": X_USER}, transport=transport
    )
    fb = create_adapter(
        "facebook", "brand-fb", {"access_token": "fb-tok-123456", "page_id": PAGE}, transport=transport
    )
    sink = Sink()
    # Polls alone would come in an hour: anything sooner was woken by a webhook.
    watcher = Watcher(
        app.store,
        [WatchedAccount("brand-x", x, interval=3600.0), WatchedAccount("brand-fb", fb, interval=3600.0)],
        sink,
        spread=False,
    )
    push = PushSources(watcher)
    assert await push.add("brand-x", x) and await push.add("brand-fb", fb)
    app.extras["push"] = push
    runner = asyncio.create_task(watcher.run())
    await wait_for(lambda: all(watcher.cursor(a) is not None for a in ("brand-x", "brand-fb")))
    deps = build_deps(app)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(deps)), base_url="http://sentinel"
    )
    try:
        yield Hooked(
            client,
            watcher,
            sink,
            platforms,
            secrets_in_vault["app_secret"],
            secrets_in_vault["verify_token"],
            secrets_in_vault["consumer_secret"],
        )
    finally:
        watcher.stop()
        await runner
        await client.aclose()
        await x.aclose()
        await fb.aclose()
        app.store.close()


def x_sign(secret: str, data: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def meta_sign(secret: str, data: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def tweet_create(text: str) -> bytes:
    """The documented Account Activity API shape of a new post by the subscribed user."""
    return json.dumps(
        {
            "for_user_id": X_USER,
            "tweet_create_events": [
                {
                    "created_at": "Wed Dec 04 19:00:00 +0000 2026",
                    "id_str": "1864000000000000001",
                    "text": text,
                    "user": {"id_str": X_USER, "screen_name": "brand"},
                }
            ],
        }
    ).encode()


def page_feed(message: str) -> bytes:
    """The documented Page ``feed`` change notification."""
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE,
                    "time": int(time.time()),
                    "changes": [
                        {
                            "field": "feed",
                            "value": {
                                "item": "status",
                                "verb": "add",
                                "post_id": f"{PAGE}_900",
                                "message": message,
                                "created_time": int(time.time()),
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def not_due(h: Hooked, account: str) -> bool:
    """No poll is scheduled before the hour: nothing woke the account."""
    st = h.watcher.state[account]
    return st.due > time.time() + 600 and not st.running


async def test_a_forged_post_in_a_valid_delivery_never_reaches_the_engine(hooked: Hooked) -> None:
    h = hooked
    h.platforms.tweets.append(
        {"id": "1864000000000000002", "text": "what is really on X", "created_at": "2026-12-04T19:00:01.000Z"}
    )
    body = tweet_create("Claim your airdrop at http://x-gift.example")
    r = await h.api.post(
        "/v1/hooks/x", content=body, headers={"x-twitter-webhooks-signature": x_sign(h.x_secret, body)}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": True, "duplicate": False, "woken": ["brand-x"]}
    await wait_for(lambda: len(h.sink.events) == 1)
    assert h.sink.events[0]["text"] == "what is really on X"
    assert h.sink.events[0]["post_id"] == "x:1864000000000000002"

    # The same delivery again (a platform's retry or an attacker's replay): woken once only.
    again = await h.api.post(
        "/v1/hooks/x", content=body, headers={"x-twitter-webhooks-signature": x_sign(h.x_secret, body)}
    )
    assert again.json() == {"accepted": True, "duplicate": True, "woken": []}
    assert not_due(h, "brand-x")
    assert [e["text"] for e in h.sink.events] == ["what is really on X"]


async def test_wrong_missing_or_reused_signatures_are_refused_before_parsing(hooked: Hooked) -> None:
    h = hooked
    body = tweet_create("hello")
    attempts = [
        {"x-twitter-webhooks-signature": x_sign("not-the-consumer-secret", body)},
        {"x-twitter-webhooks-signature": x_sign(h.x_secret, body + b" ")},  # signs another body
        {"x-twitter-webhooks-signature": meta_sign(h.x_secret, body)},  # hex, not base64
        {},
    ]
    for headers in attempts:
        r = await h.api.post("/v1/hooks/x", content=body, headers=headers)
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["error"]["code"] == "invalid_signature"
    # Not even parsed: a body that is not JSON gets the same answer as a forged one.
    junk = await h.api.post(
        "/v1/hooks/meta", content=b"{not json", headers={"X-Hub-Signature-256": "sha256=00"}
    )
    assert junk.status_code == 403
    # Meta's signature with X's secret, and X's header on the Meta route: refused.
    fb = page_feed("hi")
    for headers in (
        {"X-Hub-Signature-256": meta_sign(h.x_secret, fb)},
        {"x-twitter-webhooks-signature": x_sign(h.x_secret, fb)},
    ):
        r = await h.api.post("/v1/hooks/meta", content=fb, headers=headers)
        assert r.status_code == 403
    # Signed but not JSON (or JSON nested past the API's depth): 400, nothing woken.
    for junk_body in (b"{not json", b'{"for_user_id": ' + b"[" * 40 + b"]" * 40 + b"}"):
        r = await h.api.post(
            "/v1/hooks/x",
            content=junk_body,
            headers={"x-twitter-webhooks-signature": x_sign(h.x_secret, junk_body)},
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    assert not_due(h, "brand-x") and not_due(h, "brand-fb")
    assert h.sink.events == []
    assert h.x_secret not in r.text and h.meta_secret not in r.text


async def test_oversized_bodies_are_refused_unread(hooked: Hooked) -> None:
    h = hooked
    big = b'{"for_user_id": "' + X_USER.encode() + b'", "pad": "' + b"a" * MAX_BODY + b'"}'
    sig = {"x-twitter-webhooks-signature": x_sign(h.x_secret, big)}
    r = await h.api.post("/v1/hooks/x", content=big, headers=sig)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = await h.api.post("/v1/hooks/x", content=chunks(), headers=sig)
    assert r.status_code == 413
    assert not_due(h, "brand-x") and h.sink.events == []


async def test_meta_handshake_and_a_signed_page_feed_change(hooked: Hooked) -> None:
    h = hooked
    ok = await h.api.get(
        "/v1/hooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": h.verify_token, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": h.verify_token, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": h.verify_token},
    ):
        bad = await h.api.get("/v1/hooks/meta", params=params)
        assert bad.status_code == 403 and bad.json()["error"]["code"] == "invalid_signature"

    h.platforms.page_posts.append(
        {"id": f"{PAGE}_901", "message": "the Page's real post", "created_time": "2026-12-04T19:00:02+0000"}
    )
    body = page_feed("Free crypto for our fans")
    r = await h.api.post(
        "/v1/hooks/meta", content=body, headers={"X-Hub-Signature-256": meta_sign(h.meta_secret, body)}
    )
    assert r.json() == {"accepted": True, "duplicate": False, "woken": ["brand-fb"]}
    await wait_for(lambda: len(h.sink.events) == 1)
    assert h.sink.events[0]["text"] == "the Page's real post"
    # A page nobody watches wakes nothing.
    other = body.replace(PAGE.encode(), b"999")
    r = await h.api.post(
        "/v1/hooks/meta", content=other, headers={"X-Hub-Signature-256": meta_sign(h.meta_secret, other)}
    )
    assert r.json()["woken"] == []


async def test_x_crc_answers_with_the_consumer_secret_and_unknown_hooks_are_404(hooked: Hooked) -> None:
    h = hooked
    r = await h.api.get("/v1/hooks/x", params={"crc_token": "9b4507b3-9f4b-4c4d-a6f2-2ac1b2a1f2b4"})
    assert r.status_code == 200
    expected = base64.b64encode(
        hmac.new(h.x_secret.encode(), b"9b4507b3-9f4b-4c4d-a6f2-2ac1b2a1f2b4", hashlib.sha256).digest()
    ).decode()
    assert r.json() == {"response_token": f"sha256={expected}"}
    missing = await h.api.get("/v1/hooks/x")
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "crc_token"
    for path in ("/v1/hooks/linkedin", "/v1/hooks/..%2Fadmin"):
        r = await h.api.post(path, content=b"{}")
        assert r.status_code == 404


async def test_a_platform_without_secrets_in_vault_is_not_set_up(deployment: Deployment) -> None:
    config = load_config(str(deployment.config), {})
    app = running_app(config, deployment.admin.with_token(deployment.token))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(build_deps(app))), base_url="http://sentinel"
    ) as api:
        body = tweet_create("x")
        r = await api.post(
            "/v1/hooks/x", content=body, headers={"x-twitter-webhooks-signature": x_sign("", body)}
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = await api.get(
            "/v1/hooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
        )
        assert r.status_code == 404
    app.store.close()

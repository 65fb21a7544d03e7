from __future__ import annotations

import httpx

from sentinel.alerts.receivers.matrix import MatrixReceiver
from sentinel.alerts.render import Message
from tests.alerts.conftest import receiver_settings
from tests.alerts.receivers.conftest import Capture

TOKEN = "syt_c2VudGluZWw_secretsecretsecret_0abcd"


def matrix(room: str = "!abc:example.org") -> MatrixReceiver:
    s = receiver_settings(type="matrix", url="https://matrix.example.org/", token=TOKEN, room=room)
    return MatrixReceiver("mx", s, url="https://matrix.example.org/", token=TOKEN)


def test_notice_with_html(message: Message) -> None:
    body = matrix().render(message)
    assert body["msgtype"] == "m.notice" and body["format"] == "org.matrix.custom.html"
    assert body["body"].startswith("[CRITICAL] Account frozen: 40 alerts")
    assert "<h4>" in body["formatted_body"] and "hxxps://evil[.]com" in body["formatted_body"]
    assert "@room" not in body["body"]


async def test_put_with_txn_id_and_bearer_token(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(200, json={"event_id": "$e"}))
    async with cap.client() as client:
        assert (await matrix().send(client, matrix().render(message), "txn-42")).delivered
    req = cap.requests[0]
    assert req.method == "PUT"
    assert req.url.raw_path == b"/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message/txn-42"
    assert req.headers["authorization"] == f"Bearer {TOKEN}"


async def test_alias_is_resolved_once(message: Message) -> None:
    def reply(r: httpx.Request) -> httpx.Response:
        if r.method == "GET":
            return httpx.Response(200, json={"room_id": "!resolved:example.org", "servers": []})
        return httpx.Response(200, json={"event_id": "$e"})

    cap = Capture(reply)
    r = matrix("#alerts:example.org")
    async with cap.client() as client:
        await r.send(client, r.render(message), "t1")
        await r.send(client, r.render(message), "t2")
    assert [q.method for q in cap.requests] == ["GET", "PUT", "PUT"]
    assert cap.requests[0].url.raw_path == b"/_matrix/client/v3/directory/room/%23alerts%3Aexample.org"
    assert b"%21resolved%3Aexample.org" in cap.requests[1].url.raw_path


async def test_rate_limit_reads_retry_after_ms(message: Message) -> None:
    cap = Capture(lambda r: httpx.Response(429, json={"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 1500}))
    async with cap.client() as client:
        outcome = await matrix().send(client, matrix().render(message), "t")
    assert outcome.retry_after == 1.5 and not outcome.permanent

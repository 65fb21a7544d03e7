"""Follow a Bluesky PDS's repository event stream for the accounts Sentinel watches on it.

``com.atproto.sync.subscribeRepos`` is a WebSocket; each binary frame is two concatenated
DAG-CBOR objects, a header ``{op, t}`` and a body (decoded with ``libipld``, the IPLD
library the AT Protocol SDK uses). The PDS sends every repository it hosts; frames for DIDs
outside the inventory are dropped after decoding. What a frame becomes:

- ``#commit`` touching ``app.bsky.feed.post`` (create, update, delete), a ``tooBig`` commit
  or a ``#sync`` (the repository was reset): the account's posts changed;
- a commit touching ``app.bsky.actor.profile``, ``#identity`` (a new handle), ``#account``
  (deactivated, taken down, active again): the account's state changed;
- ``#info`` (``OutdatedCursor``) and other records (likes, follows) change nothing watched.

Every frame's ``seq`` is the cursor; it is kept in the state store (at once after a watched
change, at most once a second otherwise), and a restart subscribes from it, so the PDS
replays what happened while Sentinel was away. An error frame ``FutureCursor`` (the PDS
was reset) drops the cursor. A lost connection is retried with backoff; the accounts fall
back to polling until the stream is back, and every (re)connection reconciles them once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import libipld
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from sentinel.errors import PlatformError
from sentinel.logs import get_logger
from sentinel.platforms.base import PlatformAdapter
from sentinel.platforms.bluesky import COLLECTION, DEFAULT_SERVICE
from sentinel.watcher.streams import ACCOUNT, POSTS, Change, CursorStream, OnChange, OnLive, StreamCursors

log = get_logger("sentinel.watcher.bluesky_stream")

NSID = "com.atproto.sync.subscribeRepos"
PROFILE = "app.bsky.actor.profile"
MAX_FRAME = 5 << 20
"""Bytes in one frame at most (a commit's CAR slice is capped at 2 MB by the PDS)."""
Connect = Callable[[str], Any]


class StreamFrameError(Exception):
    """A frame that is not a valid event, or an error frame (its ``error`` name)."""

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error


def decode_frame(frame: bytes) -> tuple[int | None, list[tuple[str, str, str]]]:
    """``(seq, [(did, kind, what)])`` of one frame; ``kind`` is ``posts`` or ``account``.

    Raises ``StreamFrameError`` for an error frame (``op == -1``) or a malformed one."""
    try:
        parts = libipld.decode_dag_cbor_multi(frame)
    except (ValueError, TypeError, RecursionError) as e:  # RecursionError: nested past the decoder
        raise StreamFrameError("MalformedFrame", str(e)) from None
    if len(parts) != 2 or not isinstance(parts[0], dict) or not isinstance(parts[1], dict):
        raise StreamFrameError("MalformedFrame", "expected a header and a body")
    header, body = parts
    if header.get("op") == -1:
        raise StreamFrameError(str(body.get("error", "Error")), str(body.get("message", "")))
    seq = body.get("seq")
    seq = seq if isinstance(seq, int) else None
    kind = header.get("t")
    did = str(body.get("repo") or body.get("did") or "")
    changes: list[tuple[str, str, str]] = []
    if kind == "#commit":
        if body.get("tooBig"):
            changes.append((did, POSTS, "commit tooBig"))
        ops = body.get("ops") or []
        if not isinstance(ops, list):
            raise StreamFrameError("MalformedFrame", "a commit's ops are not a list")
        for op in ops:
            path = str(op.get("path", "")) if isinstance(op, dict) else ""
            collection = path.partition("/")[0]
            action = str(op.get("action", "")) if isinstance(op, dict) else ""
            if collection == COLLECTION:
                changes.append((did, POSTS, f"{path} {action}"))
            elif collection == PROFILE:
                changes.append((did, ACCOUNT, f"{path} {action}"))
    elif kind == "#sync":
        changes.append((did, POSTS, "sync"))
    elif kind in ("#identity", "#handle"):
        changes.append((did, ACCOUNT, f"identity handle={body.get('handle', '')}"))
    elif kind in ("#account", "#tombstone"):
        status = body.get("status") or ("active" if body.get("active", kind == "#account") else "inactive")
        changes.append((did, ACCOUNT, f"account {status}"))
    # Several ops of one kind in one commit are one change.
    unique: dict[tuple[str, str], tuple[str, str, str]] = {}
    for change in changes:
        unique.setdefault(change[:2], change)
    return seq, list(unique.values())


def stream_url(service: str, cursor: str | None) -> str:
    base = service.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    url = f"{base}/xrpc/{NSID}"
    return f"{url}?cursor={cursor}" if cursor else url


async def did_of(adapter: PlatformAdapter) -> str:
    """The account's DID: from the credential, else its handle resolved at the PDS."""
    creds: Mapping[str, str] = getattr(adapter, "credentials", {})
    ident = creds.get("did") or creds.get("identifier", "")
    if ident.startswith("did:"):
        return ident
    http = getattr(adapter, "http", None)
    if http is None or not ident:
        raise PlatformError(f"account {adapter.account!r} on bluesky: no DID or handle to follow")
    data = await http.json("GET", "com.atproto.identity.resolveHandle", params={"handle": ident})
    return str(data["did"])


def service_of(adapter: PlatformAdapter) -> str:
    return str(getattr(adapter, "service", "") or DEFAULT_SERVICE).rstrip("/")


class BlueskyStream(CursorStream):
    """One PDS's event stream, handing each watched account's change to ``on_change``."""

    errors = (OSError, TimeoutError, WebSocketException, StreamFrameError)

    def __init__(
        self,
        cursors: StreamCursors,
        service: str,
        on_change: OnChange,
        on_live: OnLive,
        *,
        clock: Callable[[], float] = time.time,
        max_backoff: float = 60.0,
        connect_to: Connect | None = None,
    ) -> None:
        self.service = service.rstrip("/")
        super().__init__(cursors, f"bluesky:{self.service}", on_change, on_live, max_backoff, clock)
        self._connect = connect_to or (lambda url: connect(url, max_size=MAX_FRAME, compression=None))
        self._ws: ClientConnection | None = None

    def handle(self, frame: bytes) -> list[Change]:
        """Hand on the watched changes of one frame and move the cursor past it."""
        seq, found = decode_frame(frame)
        self.frames += 1
        changes = [
            Change(self.accounts[did], kind, what, self.source)
            for did, kind, what in found
            if did in self.accounts
        ]
        for change in changes:
            self.on_change(change)
        self.advance(seq, bool(changes))
        return changes

    def lost(self, error: Exception) -> None:
        if isinstance(error, StreamFrameError) and error.error == "FutureCursor":
            self.forget()

    async def _follow(self) -> None:
        cursor = self.cursor()
        async with self._connect(stream_url(self.service, cursor)) as ws:
            self._ws = ws
            try:
                self._set_live(True)
                log.info(
                    "watcher.stream_up", source=self.source, cursor=cursor or "", accounts=len(self.accounts)
                )
                async for message in ws:
                    if isinstance(message, bytes):
                        self.handle(message)
            finally:
                self._ws = None

    async def drop_connection(self) -> None:
        """Close the current connection as a network failure would (the stream reconnects)."""
        if self._ws is not None:
            await self._ws.close()

    async def aclose(self) -> None:
        await self.drop_connection()

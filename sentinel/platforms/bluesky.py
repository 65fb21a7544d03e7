"""Bluesky (AT Protocol) over XRPC, against the account's PDS.

Endpoints used (https://docs.bsky.app/docs/api/, lexicons ``com.atproto.*``):

- ``com.atproto.server.createSession`` / ``refreshSession`` / ``deleteSession`` / ``getSession``
- ``com.atproto.repo.createRecord`` / ``listRecords`` / ``deleteRecord`` (collection ``app.bsky.feed.post``)
- ``com.atproto.server.createAppPassword`` / ``listAppPasswords`` / ``revokeAppPassword``
- ``com.atproto.server.deactivateAccount`` / ``activateAccount`` (the platform-side lock)
- ``com.atproto.repo.getRecord`` (a replied-to post: its CID and its thread's root, for the
  reply's ``root`` and ``parent`` strong refs)
- ``app.bsky.feed.getPostThread`` (the replies under a post; an AppView method the PDS
  proxies, or the AppView at ``appview`` directly)
- ``com.atproto.repo.putRecord`` on ``app.bsky.feed.threadgate`` (record key = the root
  post's): hiding a reply adds its URI to the gate's ``hiddenReplies``, keeping ``allow``

Replies and comment ids: a reply is an ``app.bsky.feed.post`` record whose ``reply`` holds
strong refs (URI and CID) to the thread's root and to the parent. Comment ids are
``<did>:<rkey>`` (URL-path safe; an ``at://`` URI is accepted too). Only the root post's
author can hide replies (the threadgate lives in their repository), and an account can
delete only its own records: another person's reply can be hidden, not deleted.

Credentials: ``identifier`` (handle or DID), ``password`` (the main password, needed for
app passwords and the lock), ``app_password`` and ``app_password_name`` (what the broker
publishes with), optional ``service`` (the PDS URL, default ``https://bsky.social``).

The trap this adapter is built around: revoking an app password ends its *refresh* token,
but an access token already issued for it keeps working until it expires (up to 2 hours).
Only deactivating the account (or a main-password reset, which needs an e-mailed code)
cuts such a session off at once, so ``lock`` deactivates. Reactivating lets a surviving
access token post again, so unlock only after the app passwords were revoked at least
2 hours before, or after the incident is over.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sentinel.errors import PlatformError
from sentinel.logs import get_logger
from sentinel.platforms.base import (
    COMMENTS,
    FUTURE_SKEW,
    POSTING,
    AdapterBase,
    AppPassword,
    Capability,
    Comment,
    Identity,
    PlatformInfo,
    Post,
    Push,
    RateLimit,
    RateLimits,
    TimelinePage,
    content_hash,
    not_own,
    state_snapshot,
)
from sentinel.platforms.errors import (
    PlatformAuthFailed,
    PlatformLocked,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
)
from sentinel.platforms.http import retry_after_seconds
from sentinel.platforms.post_length import TextLimit
from sentinel.platforms.timefmt import normalise_time, now_z
from sentinel.redact import register_secret

COLLECTION = "app.bsky.feed.post"
THREADGATE = "app.bsky.feed.threadgate"
THREAD_DEPTH = 6
DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_PLC = "https://plc.directory"
PROFILE = "app.bsky.actor.profile"
_DOCS = "https://docs.bsky.app/docs/advanced-guides/rate-limits"
_TID_DIGITS = {c: i for i, c in enumerate("234567abcdefghijklmnopqrstuvwxyz")}

log = get_logger(__name__)

INFO = PlatformInfo(
    platform="bluesky",
    text_limit=TextLimit(
        300,
        "graphemes",
        "https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json",
        max_bytes=3_000,
        note="app.bsky.feed.post text: maxGraphemes 300, maxLength 3,000 (UTF-8 bytes)",
    ),
    renews="app_password",
    push=frozenset({Push.STREAM}),
    capabilities=POSTING
    | COMMENTS
    | {
        Capability.REVOKE_SESSIONS,
        Capability.APP_PASSWORDS,
        Capability.ROTATE_CREDENTIAL,
        Capability.LOCK_ACCOUNT,
        Capability.ACCOUNT_STATE,
    },
    state_fields=frozenset(
        {
            "handle",
            "display_name",
            "avatar",
            "bio",
            "pinned_post",
            "email",
            "two_factor",
            "app_password",
            "did",
        }
    ),
    limits=RateLimits(
        # Repo writes cost points: 5,000 per hour per account; create 3, delete 1.
        delete=RateLimit(5000, 3600, _DOCS),
        write=RateLimit(1666, 3600, _DOCS),
        read=RateLimit(3000, 300, _DOCS),
        poll_interval=30.0,
    ),
    manual={
        Capability.REVOKE_TOKEN: "Bluesky sessions are not OAuth tokens: use revoke_sessions (revokes "
        "every app password) and lock (ends sessions already open)",
        Capability.CHANGE_PASSWORD: (
            "a password change needs a code e-mailed to the account's address: sign in at "
            "https://bsky.app, Settings > Account > Change password, enter the e-mailed code and a "
            "new password from Vault, then store it with `sentinel vault`"
        ),
    },
    notes={
        Capability.REVOKE_SESSIONS: (
            "revokes every app password and ends Sentinel's own sessions; access tokens already "
            "issued stay valid up to 2 h, so a hijack also needs lock (deactivateAccount)"
        ),
        Capability.LOCK_ACCOUNT: (
            "deactivateAccount cuts off every open session at once; activateAccount lets a still "
            "unexpired access token (up to 2 h old) post again"
        ),
        Capability.LIST_COMMENTS: "getPostThread is an AppView method: the PDS proxies it (or set "
        "'appview' in the credential); replies from accounts that block this one are not listed",
        Capability.HIDE_COMMENT: "a threadgate on the root post, so only replies in threads this account "
        "started; hidden replies stay readable by link (Bluesky shows them behind a 'hidden' notice)",
        Capability.DELETE_COMMENT: "only the account's own replies (records in its repository); hide others'",
        Capability.ACCOUNT_STATE: "needs the main password (getSession's e-mail and listAppPasswords); "
        "Bluesky lists no sessions and no OAuth grants; the DID document comes from the PLC directory "
        "('plc' in the credential, default https://plc.directory) or, for did:web, the host's did.json",
        Capability.LIST_TIMELINE: "listRecords by record key; a back-dated record key from a third-party "
        "client sorts before the cursor and is missed (a key dated in the future is listed, and "
        "never becomes the cursor)",
    },
    endpoints=(
        "com.atproto.server.createSession",
        "com.atproto.server.refreshSession",
        "com.atproto.server.deleteSession",
        "com.atproto.repo.createRecord",
        "com.atproto.repo.listRecords",
        "com.atproto.repo.deleteRecord",
        "com.atproto.server.createAppPassword",
        "com.atproto.server.listAppPasswords",
        "com.atproto.server.revokeAppPassword",
        "com.atproto.server.deactivateAccount",
        "com.atproto.server.activateAccount",
        "com.atproto.repo.getRecord",
        "com.atproto.repo.putRecord",
        "app.bsky.feed.getPostThread",
        "com.atproto.server.getSession",
        "com.atproto.sync.getBlob",
        "PLC directory: GET /{did}/data",
    ),
)


class _TokenExpired(PlatformAuthFailed):
    """The access token expired: refresh the session and try once more."""


@dataclass(slots=True)
class _Session:
    did: str
    handle: str
    access: str
    refresh: str
    active: bool = True


def _xrpc_error(response: httpx.Response, message: str) -> PlatformError | None:
    try:
        body = response.json()
    except ValueError:
        return None
    name = body.get("error") if isinstance(body, dict) else None
    if name == "ExpiredToken":
        return _TokenExpired(message)
    if name in ("InvalidToken", "AuthenticationRequired", "AuthMissing", "InvalidPassword"):
        return PlatformAuthFailed(message)
    if name in ("AccountDeactivated", "AccountTakedown", "AccountSuspended"):
        return PlatformLocked(message)
    if name in ("RecordNotFound", "RepoNotFound", "AccountNotFound"):
        return PlatformNotFound(message)
    if name == "InvalidRequest" and "could not find" in str(body.get("message", "")).lower():
        return PlatformNotFound(message)
    if name == "RateLimitExceeded":
        return PlatformRateLimited(message, retry_after=retry_after_seconds(response.headers))
    return None


def tid_time(rkey: str) -> float | None:
    """Epoch seconds a TID record key stands for (``None`` for a key that is not a TID): 13
    base32-sortable characters, microseconds since the epoch above a 10-bit clock id."""
    if len(rkey) != 13 or not all(c in _TID_DIGITS for c in rkey):
        return None
    n = 0
    for c in rkey:
        n = n * 32 + _TID_DIGITS[c]
    return None if n >> 63 else (n >> 10) / 1e6


def timeline_cursor(posts: tuple[Post, ...], previous: str) -> str:
    """The newest post's record key to list after next time, passing over keys that are not
    TIDs or are dated in the future: listing sorts by key, so a client that wrote such a key
    (anyone holding an app password may) would otherwise hide every later post behind it."""
    now = time.time()
    for post in reversed(posts):
        if _sane_key(post.post_id, now):
            return post.post_id
        log.warning("bluesky.record_key_out_of_order", post_id=post.post_id)
    return previous


def _sane_key(rkey: str, now: float) -> bool:
    at = tid_time(rkey)
    return at is not None and at <= now + FUTURE_SKEW


def rkey_of(post_id: str) -> str:
    """The record key of a post id given as a record key or an ``at://`` URI."""
    return post_id.rstrip("/").rsplit("/", 1)[-1]


def split_ref(ref: str) -> tuple[str, str]:
    """``(did, rkey)`` of a post named by ``at://`` URI or ``<did>:<rkey>``; ``("", rkey)`` for
    a bare record key (the account's own post)."""
    if ref.startswith("at://"):
        parts = ref[5:].rstrip("/").split("/")
        return parts[0], parts[-1]
    if ref.startswith("did:"):
        did, _, rkey = ref.rpartition(":")
        return did, rkey
    return "", ref


def comment_id(uri: str) -> str:
    """The URL-path-safe id of the post at ``uri``: ``<did>:<rkey>``."""
    did, rkey = split_ref(uri)
    return f"{did}:{rkey}"


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{COLLECTION}/{rkey}"


class BlueskyAdapter(AdapterBase):
    info = INFO

    def __init__(self, account: str, credentials: Mapping[str, str], **options: Any) -> None:
        super().__init__(account, credentials, **options)
        self._sessions: dict[str, _Session] = {}
        appview = self.credentials.get("appview", "").rstrip("/")
        self.appview = self.http_client(appview + "/xrpc/") if appview else None

    def api_root(self, base_url: str | None) -> str:
        self.service = (base_url or self.credentials.get("service") or DEFAULT_SERVICE).rstrip("/")
        return self.service + "/xrpc/"

    def classify(self, response: httpx.Response, message: str) -> PlatformError | None:
        return _xrpc_error(response, message)

    async def aclose(self) -> None:
        await super().aclose()
        if self.appview is not None:
            await self.appview.aclose()

    # -- sessions ------------------------------------------------------------------------
    def _identifier(self, credentials: Mapping[str, str] | None = None) -> str:
        """What to log in as: the DID when the credential has it (a hijacker's rename of the
        handle must not lock Sentinel out of the account it has to freeze), else the handle."""
        creds = credentials or self.credentials
        ident = creds.get("did") or creds.get("identifier", "")
        if not ident:
            raise PlatformAuthFailed(f"account {self.account!r} on bluesky: credential has no 'identifier'")
        return ident

    async def _create_session(self, identifier: str, password: str) -> _Session:
        data = await self.http.json(
            "POST",
            "com.atproto.server.createSession",
            json={"identifier": identifier, "password": password},
        )
        session = _Session(
            did=str(data["did"]),
            handle=str(data.get("handle", "")),
            access=str(data["accessJwt"]),
            refresh=str(data["refreshJwt"]),
            active=bool(data.get("active", True)),
        )
        register_secret(session.access)
        register_secret(session.refresh)
        return session

    def _secret_for(self, kind: str) -> str:
        if kind == "app" and self.credentials.get("app_password"):
            return self.credentials["app_password"]
        if self.credentials.get("password"):
            return self.credentials["password"]
        what = "main password ('password')" if kind == "main" else "'app_password' or 'password'"
        raise PlatformAuthFailed(f"account {self.account!r} on bluesky: this step needs the {what}")

    def _key(self, kind: str) -> str:
        """ "app" (posting) falls back to the main password when there is no app password."""
        return "app" if kind == "app" and self.credentials.get("app_password") else "main"

    async def _session(self, kind: str) -> _Session:
        """The cached session of ``kind`` ("app" for posting, "main" for account settings)."""
        key = self._key(kind)
        session = self._sessions.get(key)
        if session is None:
            session = await self._create_session(self._identifier(), self._secret_for(key))
            self._sessions[key] = session
        return session

    async def _refresh(self, kind: str, session: _Session) -> _Session:
        try:
            data = await self.http.json("POST", "com.atproto.server.refreshSession", token=session.refresh)
        except PlatformAuthFailed:
            self._sessions.pop(self._key(kind), None)
            return await self._session(kind)
        fresh = _Session(
            did=str(data.get("did", session.did)),
            handle=str(data.get("handle", session.handle)),
            access=str(data["accessJwt"]),
            refresh=str(data["refreshJwt"]),
            active=bool(data.get("active", True)),
        )
        register_secret(fresh.access)
        register_secret(fresh.refresh)
        self._sessions[self._key(kind)] = fresh
        return fresh

    async def _call(self, kind: str, method: str, nsid: str, **kwargs: Any) -> Any:
        """An authenticated XRPC call; an expired access token is refreshed once."""
        session = await self._session(kind)
        try:
            return await self.http.json(method, nsid, token=session.access, **kwargs)
        except _TokenExpired:
            session = await self._refresh(kind, session)
            return await self.http.json(method, nsid, token=session.access, **kwargs)

    async def _did(self) -> str:
        ident = self.credentials.get("did") or self._identifier()
        if ident.startswith("did:"):
            return ident
        return (await self._session("app")).did

    # -- the interface ---------------------------------------------------------------------
    async def verify(self, credentials: Mapping[str, str] | None = None) -> Identity:
        if credentials is None:
            self._sessions.pop(self._key("app"), None)
            session = await self._session("app")
        else:
            secret = credentials.get("app_password") or credentials.get("password") or ""
            register_secret(secret)
            # the same account: by its DID when known, so a renamed handle still verifies
            ident = credentials.get("did") or self.credentials.get("did") or self._identifier(credentials)
            session = await self._create_session(ident, secret)
            await self._end_session(session)
        return Identity(user_id=session.did, handle=session.handle, active=session.active)

    async def list_posts(self, cursor: str | None = None, limit: int = 50) -> TimelinePage:
        repo = self.credentials.get("did") or self._identifier()
        params: dict[str, Any] = {"repo": repo, "collection": COLLECTION, "limit": max(1, min(limit, 100))}
        if cursor and not _sane_key(cursor, time.time()):
            # A cursor such a key already became (before keys were checked): list the newest
            # page instead; the watcher skips the posts it has seen.
            log.warning("bluesky.cursor_out_of_order", cursor=cursor)
            page = await self.list_posts(None, limit)
            return TimelinePage(posts=page.posts, cursor=page.cursor or cursor)
        if cursor is None:
            data = await self.http.json("GET", "com.atproto.repo.listRecords", params=params)
            records = list(reversed(data.get("records", [])))
            posts = tuple(self._post(r) for r in records)
            return TimelinePage(posts=posts, cursor=timeline_cursor(posts, ""))
        params["reverse"] = "true"
        if cursor:
            params["cursor"] = cursor
        data = await self.http.json("GET", "com.atproto.repo.listRecords", params=params)
        posts = tuple(self._post(r) for r in data.get("records", []))
        return TimelinePage(
            posts=posts, cursor=timeline_cursor(posts, cursor), more=len(posts) >= params["limit"]
        )

    def _post(self, record: Mapping[str, Any]) -> Post:
        uri = str(record.get("uri", ""))
        value = record.get("value") or {}
        return Post(
            post_id=rkey_of(uri),
            text=linked_text(value),
            created_at=normalise_time(str(value.get("createdAt", ""))),
            client="",
            url=uri,
        )

    async def publish(self, text: str) -> Post:
        did = await self._did()
        created = now_z()
        data = await self._call(
            "app",
            "POST",
            "com.atproto.repo.createRecord",
            json={
                "repo": did,
                "collection": COLLECTION,
                "record": {"$type": COLLECTION, "text": text, "createdAt": created},
            },
        )
        uri = str(data["uri"])
        return Post(post_id=rkey_of(uri), text=text, created_at=created, url=uri)

    async def _record(self, ref: str, collection: str = COLLECTION) -> dict[str, Any]:
        """``{uri, cid, value}`` of a record (a bare rkey: in the account's own repository)."""
        did, rkey = split_ref(ref)
        params = {"repo": did or await self._did(), "collection": collection, "rkey": rkey}
        data: dict[str, Any] = await self.http.json("GET", "com.atproto.repo.getRecord", params=params)
        return data

    async def reply(self, post_id: str, text: str) -> Post:
        parent = await self._record(post_id)
        parent_ref = {"uri": str(parent["uri"]), "cid": str(parent["cid"])}
        root = ((parent.get("value") or {}).get("reply") or {}).get("root") or parent_ref
        did = await self._did()
        created = now_z()
        record = {
            "$type": COLLECTION,
            "text": text,
            "createdAt": created,
            "reply": {"root": {"uri": str(root["uri"]), "cid": str(root["cid"])}, "parent": parent_ref},
        }
        data = await self._call(
            "app",
            "POST",
            "com.atproto.repo.createRecord",
            json={"repo": did, "collection": COLLECTION, "record": record},
        )
        uri = str(data["uri"])
        return Post(post_id=rkey_of(uri), text=text, created_at=created, url=uri)

    async def list_comments(self, post_id: str, limit: int = 50) -> list[Comment]:
        did, rkey = split_ref(post_id)
        params = {"uri": post_uri(did or await self._did(), rkey), "depth": THREAD_DEPTH, "parentHeight": 0}
        if self.appview is not None:
            data = await self.appview.json("GET", "app.bsky.feed.getPostThread", params=params)
        else:
            data = await self._call("app", "GET", "app.bsky.feed.getPostThread", params=params)
        gate = ((data.get("threadgate") or {}).get("record") or {}).get("hiddenReplies") or []
        own = await self._did()
        out: list[Comment] = []
        pending = [data.get("thread") or {}]
        while pending and len(out) < limit:
            node = pending.pop(0)
            parent = str((node.get("post") or {}).get("uri", ""))
            for child in node.get("replies") or []:
                view = child.get("post") if isinstance(child, dict) else None
                if not view:
                    continue  # notFoundPost / blockedPost
                record = view.get("record") or {}
                author = view.get("author") or {}
                uri = str(view.get("uri", ""))
                out.append(
                    Comment(
                        comment_id=comment_id(uri),
                        text=str(record.get("text", "")),
                        author=str(author.get("handle") or author.get("did", "")),
                        created_at=normalise_time(str(record.get("createdAt", ""))),
                        parent_id=comment_id(parent),
                        hidden=uri in gate,
                        own=split_ref(uri)[0] == own,
                        url=uri,
                    )
                )
                pending.append(child)
        return out[:limit]

    async def hide_comment(self, comment_id: str, hidden: bool = True) -> None:
        """Add the reply to (or take it off) the ``hiddenReplies`` of its thread's threadgate."""
        reply = await self._record(comment_id)
        uri = str(reply["uri"])
        root = str((((reply.get("value") or {}).get("reply") or {}).get("root") or {}).get("uri", ""))
        own = await self._did()
        root_did, root_rkey = split_ref(root) if root else ("", "")
        if not root:
            raise PlatformRejected(f"account {self.account!r} on bluesky: {uri} is not a reply")
        if root_did != own:
            raise PlatformRejected(
                f"account {self.account!r} on bluesky: the thread of {uri} was started by {root_did}, "
                "not this account; only the thread's author can hide its replies"
            )
        try:
            gate = await self._record(root_rkey, THREADGATE)
        except PlatformNotFound:
            gate = {}
        value = dict(gate.get("value") or {"$type": THREADGATE, "post": root, "createdAt": now_z()})
        listed = [u for u in value.get("hiddenReplies") or [] if u != uri]
        value["hiddenReplies"] = [*listed, uri] if hidden else listed
        body: dict[str, Any] = {"repo": own, "collection": THREADGATE, "rkey": root_rkey, "record": value}
        if gate:
            body["swapRecord"] = gate["cid"]  # a concurrent change fails instead of being lost
        await self._call("app", "POST", "com.atproto.repo.putRecord", json=body)

    async def delete_comment(self, comment_id: str) -> None:
        did, rkey = split_ref(comment_id)
        if did and did != await self._did():
            raise not_own(self, comment_id, "hide the reply instead")
        await self.delete_post(rkey)

    async def delete_post(self, post_id: str) -> None:
        did = await self._did()
        await self._call(
            "app",
            "POST",
            "com.atproto.repo.deleteRecord",
            json={"repo": did, "collection": COLLECTION, "rkey": rkey_of(post_id)},
        )

    async def create_app_password(self, name: str) -> AppPassword:
        data = await self._call("main", "POST", "com.atproto.server.createAppPassword", json={"name": name})
        secret = str(data["password"])
        register_secret(secret)
        return AppPassword(name=str(data["name"]), created_at=str(data.get("createdAt", "")), secret=secret)

    async def list_app_passwords(self) -> list[AppPassword]:
        data = await self._call("main", "GET", "com.atproto.server.listAppPasswords")
        return [
            AppPassword(name=str(p["name"]), created_at=str(p.get("createdAt", "")))
            for p in data.get("passwords", [])
        ]

    async def revoke_app_password(self, name: str) -> None:
        await self._call("main", "POST", "com.atproto.server.revokeAppPassword", json={"name": name})

    async def rotate_credential(self) -> dict[str, str]:
        """New app password, verified by logging in with it, then the old one revoked."""
        name = f"sentinel-{int(time.time() * 1000)}"
        created = await self.create_app_password(name)
        try:
            await self.verify({"identifier": self._identifier(), "app_password": created.secret})
        except PlatformError:
            await self.revoke_app_password(name)
            raise
        old = self.credentials.get("app_password_name")
        if old and old != name:
            await self.revoke_app_password(old)
        self.credentials.update({"app_password": created.secret, "app_password_name": name})
        self._sessions.pop("app", None)
        return {"app_password": created.secret, "app_password_name": name}

    async def revoke_sessions(self) -> None:
        for app in await self.list_app_passwords():
            await self.revoke_app_password(app.name)
        for kind in list(self._sessions):
            await self._end_session(self._sessions.pop(kind))

    async def _end_session(self, session: _Session) -> None:
        try:
            await self.http.request("POST", "com.atproto.server.deleteSession", token=session.refresh)
        except PlatformAuthFailed:
            pass  # already ended

    async def lock(self) -> None:
        await self._call("main", "POST", "com.atproto.server.deactivateAccount", json={})
        self._sessions.pop("app", None)

    async def unlock(self) -> None:
        await self._call("main", "POST", "com.atproto.server.activateAccount")

    # -- account state ---------------------------------------------------------------------
    async def account_state(self) -> dict[str, Any]:
        """Handle, e-mail and e-mail 2FA (getSession), the profile record, the app passwords
        and the DID document (PDS endpoint and rotation keys) from the PLC directory."""
        me = await self._call("main", "GET", "com.atproto.server.getSession")
        did = str(me["did"])
        try:
            profile = await self._record(f"{did}:self", PROFILE)
        except PlatformNotFound:
            profile = {}
        value = profile.get("value") or {}
        avatar = ((value.get("avatar") or {}).get("ref") or {}).get("$link")
        pinned = str((value.get("pinnedPost") or {}).get("uri", ""))
        return state_snapshot(
            INFO,
            handle=str(me.get("handle", "")),
            display_name=str(value.get("displayName", "")),
            avatar=await self._blob_hash(did, str(avatar)) if avatar else None,
            bio=str(value.get("description", "")),
            pinned_post=f"bluesky:{rkey_of(pinned)}" if pinned else None,
            email=str(me.get("email", "")),
            two_factor="email" if me.get("emailAuthFactor") else "off",
            app_password=[p.name for p in await self.list_app_passwords()],
            did=await self._did_document(did),
        )

    async def _blob_hash(self, did: str, cid: str) -> str:
        response = await self.http.request("GET", "com.atproto.sync.getBlob", params={"did": did, "cid": cid})
        return content_hash(response.content)

    async def _did_document(self, did: str) -> dict[str, Any]:
        """``{"id", "pds", "rotation_keys"}``: where the account's repository lives and who may
        move it (a change of either is an account migration)."""
        if did.startswith("did:web:"):
            host = did.removeprefix("did:web:").replace("%3A", ":")
            doc = await self.http.json("GET", f"https://{host}/.well-known/did.json")
            services = doc.get("service") or []
            pds = next(
                (str(x.get("serviceEndpoint", "")) for x in services if x.get("id") == "#atproto_pds"), ""
            )
            return {"id": did, "pds": pds, "rotation_keys": []}
        plc = (self.credentials.get("plc") or DEFAULT_PLC).rstrip("/")
        data = await self.http.json("GET", f"{plc}/{did}/data")
        pds = str(((data.get("services") or {}).get("atproto_pds") or {}).get("endpoint", ""))
        return {"id": did, "pds": pds, "rotation_keys": [str(k) for k in data.get("rotationKeys") or []]}


LINK_FACET = "app.bsky.richtext.facet#link"


def linked_text(record: Mapping[str, Any]) -> str:
    """A post record's text with each link facet's span replaced by the address it opens.

    A reader clicks the facet's ``uri``, not the text it covers (which apps shorten, and which
    may name another site entirely), so the text compared with the gate's approval carries
    the real targets. Spans are UTF-8 byte ranges; one that does not fit the text is ignored.
    """
    text = str(record.get("text", ""))
    raw = text.encode()
    spans: list[tuple[int, int, str]] = []
    for facet in record.get("facets") or []:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        uris = [
            str(f.get("uri"))
            for f in facet.get("features") or []
            if f.get("$type") == LINK_FACET and f.get("uri")
        ]
        if uris and isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(raw):
            spans.append((start, end, uris[0]))
    last = len(raw) + 1
    for start, end, uri in sorted(spans, reverse=True):
        if end <= last:  # overlapping spans: the later one wins
            raw = raw[:start] + uri.encode() + raw[end:]
            last = start
    return raw.decode(errors="replace") if spans else text

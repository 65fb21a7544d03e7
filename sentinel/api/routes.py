"""The API's handlers: gate, broker, moderation, held posts, response, read-only views.

Every ``/v1`` handler first authenticates the caller's Vault token (401 without a valid
one, before the body is even read), then asks the ``Authorizer`` for the capability the
request needs (403 naming it), then acts. Who acts is the token's Vault identity
(``sentinel.identity``): a post's author is the caller unless the caller holds
``assert_author`` and names another, and nothing acts on a frozen account
(``account_frozen``, before any platform call). Each handler runs inside ``endpoint()``, which
turns any error into the one JSON error shape and counts requests per route and status.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sentinel import metrics
from sentinel.alerts.model import KIND_TITLES, alert_from_dict, default_next_steps
from sentinel.api.admin import AdminRoutes
from sentinel.api.body import MAX_FIELD, field_bool, field_list, field_str, json_body, optional_body
from sentinel.api.caller_access import Caller, Need
from sentinel.api.deps import AuditSink, Deps
from sentinel.api.errors import ApiError
from sentinel.api.grace import in_grace, mark_audit, mark_response, request_audit, request_grace
from sentinel.api.held import STATUSES, HeldPost
from sentinel.api.hooks import HookRoutes
from sentinel.api.moderation import ModerationRoutes, offered
from sentinel.api.protocols import Gate, ResponderConflict, StepUpFailed
from sentinel.api.tuning import TuningRoutes
from sentinel.api.workflow import WorkflowRoutes
from sentinel.capabilities import ACCOUNT_CAPABILITIES, GLOBAL_CAPABILITIES
from sentinel.engine.events import Decision, Event, EventError, format_ts
from sentinel.errors import InventoryError, PlatformError, SentinelError, StoreError, VaultUnavailable
from sentinel.identity import same_name
from sentinel.inventory import Account
from sentinel.logs import get_logger
from sentinel.platforms.base import Capability
from sentinel.platforms.errors import PlatformNotSupported
from sentinel.platforms.registry import text_limit
from sentinel.response.store import FreezeRecord

_T = TypeVar("_T")
log = get_logger("sentinel.api")

POST_ID = re.compile(r"[!-.0-~]{1,512}")
MAX_TEXT = 100_000
Handler = Callable[[Request], Awaitable[Response]]


def endpoint(route: str, fn: Handler, audit: AuditSink | None = None) -> Handler:
    """Wrap a handler: one JSON error shape, request metrics, no stack trace to the caller, and
    a request decided on Vault's remembered answers marked so in its answer and the audit
    trail (``sentinel.api.grace``), whatever the route and the outcome."""

    seconds = metrics.API_SECONDS.labels(route=route)

    async def handle(request: Request) -> Response:
        t0 = time.perf_counter()
        with request_grace() as grace:
            response = await _answer(route, fn, request)
        if grace.decisions:
            response = mark_response(grace, response)
            if not grace.audited and audit is not None:
                audit(*request_audit(grace, route, response.status_code))
        metrics.API_REQUESTS.labels(route=route, status=response.status_code).inc()
        seconds.observe(time.perf_counter() - t0)
        return response

    return handle


async def _answer(route: str, fn: Handler, request: Request) -> Response:
    try:
        return await fn(request)
    except ApiError as e:
        return e.response({"WWW-Authenticate": 'Bearer realm="sentinel"'} if e.status == 401 else None)
    except VaultUnavailable as e:
        return ApiError("vault_unavailable", e.message).response()
    except PlatformNotSupported as e:
        return ApiError("not_supported", e.message).response()
    except PlatformError as e:
        return ApiError("platform_error", e.message).response()
    except StoreError as e:
        log.error("api.store_unavailable", route=route, error=e.message)
        message = (
            "Sentinel's state database cannot be written now (full disk, or locked by another "
            "process): the request was not completed; try again once /readyz says the store is back"
        )
        return ApiError("store_unavailable", message).response()
    except Exception as e:
        log.error("api.internal_error", route=route, error=str(e), exc_info=True)
        return ApiError("internal_error", "internal error; see the daemon log").response()


def bearer(request: Request) -> str:
    """The caller's Vault token from ``Authorization: Bearer`` or ``X-Vault-Token``."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    token = token or request.headers.get("x-vault-token", "").strip()
    if not token:
        raise ApiError(
            "missing_token", "send your Vault token as 'Authorization: Bearer <token>' or 'X-Vault-Token'"
        )
    if len(token) > 4096 or not token.isprintable():
        raise ApiError("invalid_token", "Vault does not accept this token")
    return token


def decision_dict(d: Decision, post_id: str) -> dict[str, Any]:
    """The gate's answer. Rules on trial (``mode: observe``) that matched are listed apart, in
    ``observed`` with the verdict they ``would`` have given: they never change ``verdict``."""
    out = {
        "event": d.event,
        "account": d.account,
        "post_id": post_id,
        "verdict": d.verdict,
        "score": round(d.score, 3),
        "severity": d.severity,
        "findings": [f.to_dict() for f in d.findings],
        "frozen": d.frozen,
    }
    if d.observed:
        out["observed"] = [f.to_dict() for f in d.observed]
        out["would"] = d.would
    return out


def account_summary(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "platform": a.platform,
        "handle": a.handle,
        "display_name": a.display_name,
        "publishing": a.publishing,
        "tags": list(a.tags),
        "retired": a.retired,
    }


class Api(ModerationRoutes, AdminRoutes, HookRoutes, WorkflowRoutes, TuningRoutes):
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.authz = deps.authorizer

    # -- helpers ---------------------------------------------------------------------------
    def account(self, account_id: str) -> Account:
        a = self.deps.inventory().get(account_id)
        if a is None:
            raise ApiError("not_found", f"no account {account_id!r} in the inventory", account=account_id)
        return a

    async def caller(self, request: Request) -> tuple[str, Caller]:
        """The caller's token and who Vault says it is; failed authentications are counted
        per client address (``[api] trusted_proxies`` decide what the address is)."""
        token = bearer(request)
        client = request.client.host if request.client else ""
        caller = await self.authz.authenticate(token, client)
        if request.method not in ("GET", "HEAD") and self.deps.audit_full():
            # the audit trail keeps what it could not write in a bounded backlog: an action now
            # would push the oldest held entry (a deletion, a rotation) out of the trail for good
            raise ApiError(
                "store_unavailable",
                "Sentinel's audit trail cannot hold another entry until its state database can be "
                "written (full disk, or locked by another process): nothing was done; try again "
                "once /readyz says the store is back",
            )
        return token, caller

    async def require(self, token: str, capability: str, account: str | None, route: str) -> Caller:
        return await self.authz.require(token, Need(capability, account), route)

    async def visible(self, token: str, caller: Caller, accounts: Iterable[str], route: str) -> set[str]:
        """Accounts among ``accounts`` the caller holds ``analytics`` on."""
        inv = self.deps.inventory()
        ids = [a for a in dict.fromkeys(accounts) if a in inv]
        _, got = await self.authz.grants(token, [Need("analytics", a) for a in ids])
        return {n.account for n, ok in got.items() if ok and n.account}

    def refuse_frozen(self, account: Account) -> None:
        """Defence in depth: nothing acts on a frozen account, whatever Vault's policies allow."""
        gate = self.deps.gate()
        fz = gate.frozen(account.id) if gate is not None else None
        if fz is not None:
            raise ApiError(
                "account_frozen",
                f"account {account.id!r} is frozen ({fz.reason}); a responder must unfreeze it first",
                account=account.id,
            )

    async def refuse_too_long(self, account: Account, text: str) -> None:
        """A text longer than the account's platform takes is refused before the engine sees
        it (no platform would publish it, and a long text costs the engine): ``422
        text_too_long`` naming the field and the limit. A text past the limit is counted in a
        worker thread, piece by piece, so that even a hostile one leaves the loop its turns."""
        limit = text_limit(account.platform, account.max_post_length)
        if len(text) > limit.maximum:
            why = await asyncio.to_thread(limit.excess, text)
        else:
            why = limit.excess(text)
        if why:
            raise ApiError(
                "text_too_long",
                f"field 'text' {why} (account {account.id!r} on {account.platform})",
                field="text",
                limit=limit.maximum,
                unit=limit.unit,
                max_bytes=limit.max_bytes,
                platform=account.platform,
            )

    async def author(self, token: str, caller: Caller, body: Mapping[str, Any], route: str) -> str:
        """Who wrote the post: the caller, or the ``author`` the caller asserts, which needs the
        global ``assert_author`` capability (a publishing tool posting on behalf of people)."""
        asserted = field_str(body, "author", max_len=MAX_FIELD)
        if asserted and asserted != caller.actor:
            await self.require(token, "assert_author", None, route)
            return asserted
        return caller.actor

    async def asserted_ip(self, token: str, body: Mapping[str, Any]) -> str:
        """The author's address a publishing tool relays (``ip``): an assertion about somebody
        else, like ``author``, so it needs ``assert_author`` — without it a caller could teach
        an account's address baseline or borrow its usual address to look like its owner."""
        ip = field_str(body, "ip", max_len=64)
        if ip:
            await self.require(token, "assert_author", None, "check")
        return ip

    async def holds(self, token: str, capability: str) -> bool:
        _, got = await self.authz.grants(token, [Need(capability)])
        return next(iter(got.values()))

    def audit(self, actor: str, action: str, target: str, details: Mapping[str, Any]) -> None:
        if self.deps.audit is None:
            return
        try:
            self.deps.audit(actor, action, target, mark_audit(details))
        except SentinelError as e:
            log.error("api.audit_failed", action=action, error=e.message)

    def emit(self, kind: str, data: Mapping[str, Any]) -> None:
        if self.deps.events is None:
            return
        try:
            self.deps.events(kind, data)
        except Exception as e:  # an integrator's webhook never breaks the API
            log.error("api.event_failed", event_type=kind, error=str(e))

    def explain(self, event: Event) -> tuple[Decision, dict[str, Any]]:
        """A dry run of the gate with every rule, score and threshold (nothing learned or held)."""
        return self.decide(event, lambda gate: gate.explain(event))

    def decide(self, event: Event, how: Callable[[Gate], _T]) -> _T:
        gate = self.deps.gate()
        if gate is None:
            raise ApiError("not_configured", "the detection engine is not running in this daemon")
        try:
            return how(gate)
        except EventError as e:
            raise ApiError("invalid_request", e.message) from None

    def evaluate(self, event: Event) -> Decision:
        decision = self.decide(event, lambda gate: gate.evaluate(event))
        metrics.POSTS_CHECKED.labels(verdict=decision.verdict).inc()
        log.info(
            "gate.decision",
            event_id=event.id,
            account=event.account,
            author=event.author,
            verdict=decision.verdict,
            score=round(decision.score, 3),
            rules=[f.rule for f in decision.findings],
        )
        if decision.freeze is not None:
            self.on_freeze(decision)
        return decision

    def on_freeze(self, decision: Decision) -> None:
        """The policy froze the account on this post (the guard has started the responder)."""
        fz = decision.freeze
        assert fz is not None
        self.emit(
            "account.frozen",
            {"account": fz.account, "reason": fz.reason, "event": fz.event, "actor": "sentinel"},
        )

    def event(self, account: Account, body: Mapping[str, Any], caller: Caller, author: str, ip: str) -> Event:
        now = self.deps.clock()
        post_id = field_str(body, "post_id", max_len=MAX_FIELD) or "api:" + uuid.uuid4().hex
        return Event(
            id="evt_" + uuid.uuid4().hex,
            ts=now,
            account=account.id,
            via="gate",
            text=field_str(body, "text", required=True, max_len=MAX_TEXT),
            client=field_str(body, "client"),
            post_id=post_id,
            author=author,
            caller=caller.actor,
            ip=ip,
            reply_to=field_str(body, "reply_to"),
            ts_text=format_ts(now),
        )

    # -- unauthenticated -----------------------------------------------------------------------
    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        checks = self.deps.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(self, request: Request) -> Response:
        # rendered in a worker thread: a scrape of a busy daemon takes milliseconds the gate
        # should not wait for (the state readers and the store are thread-safe)
        return Response(await asyncio.to_thread(self.deps.metrics.render), media_type=metrics.CONTENT_TYPE)

    # -- gate -----------------------------------------------------------------------------
    async def check(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        body = await json_body(request)
        account = self.account(field_str(body, "account", required=True))
        reply_to = field_str(body, "reply_to")
        allowed_as = await self.require(token, "respond" if reply_to else "publish", account.id, "check")
        author = await self.author(token, caller, body, "check")
        dry_run, want_explain = field_bool(body, "dry_run"), field_bool(body, "explain")
        if dry_run or want_explain:
            # a decision without consequences, or the scores behind it, is a tuner's tool: to a
            # stolen publishing token it would be an oracle for shaping lures that pass
            await self.require(token, "tune", account.id, "check")
        event = self.event(account, body, caller, author, await self.asserted_ip(token, body))
        await self.refuse_too_long(account, event.text)
        explained = self.explain(event) if dry_run or want_explain else None
        if explained is not None and dry_run:  # decided, nothing learned, held or frozen
            out = {**decision_dict(explained[0], event.post_id), "dry_run": True}
            return JSONResponse({**out, "explain": explained[1]} if want_explain else out)
        decision = self.evaluate(event)
        out = decision_dict(decision, event.post_id)
        if explained is not None:
            out["explain"] = explained[1]
        age = in_grace(allowed_as)
        if age is not None:  # Vault could not be asked: decided on its last answer (endpoint marks it)
            self.audit(
                allowed_as.actor,
                "gate.check_in_grace",
                account.id,
                {"post_id": event.post_id, "verdict": decision.verdict, "vault_answered_seconds_ago": age},
            )
        if decision.verdict == "allow" and self.deps.ledger is not None:
            self.deps.ledger.record(account.id, event.text, ts=event.ts, source="gate")
        elif decision.verdict == "hold":
            held = self.hold("gate", event, decision, caller)
            out["held_id"] = held.id
        return JSONResponse(out)

    def hold(self, kind: str, event: Event, decision: Decision, caller: Caller) -> HeldPost:
        held = self.deps.held.add(
            kind,
            event.account,
            event.author,
            event.text,
            event.id,
            event.ts,
            decision.score,
            [f.to_dict() for f in decision.findings],
            reply_to=event.reply_to,
            client=event.client,
            caller=caller.identity.key,
            caller_name=caller.actor,
        )
        self.emit(
            "post.held", {"held_id": held.id, "account": held.account, "author": held.author, "kind": kind}
        )
        return held

    # -- broker --------------------------------------------------------------------------------
    async def publish(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        body = await json_body(request)
        account = self.account(request.path_params["account"])
        reply_to = field_str(body, "reply_to")
        await self.require(token, "respond" if reply_to else "publish", account.id, "publish")
        if reply_to:
            offered(account, Capability.REPLY)  # before the gate: no hold for a reply that cannot be sent
        ip = request.client.host if request.client else ""
        author = await self.author(token, caller, body, "publish")
        event = self.event(
            account, {**body, "client": body.get("client") or "sentinel-broker"}, caller, author, ip
        )
        await self.refuse_too_long(account, event.text)
        decision = self.evaluate(event)
        out: dict[str, Any] = {"decision": decision_dict(decision, event.post_id)}
        if decision.frozen:
            self.refuse_frozen(account)
        if decision.verdict == "block":
            raise ApiError(
                "post_blocked",
                "the gate blocked this post; nothing was published",
                verdict="block",
                findings=[f.to_dict() for f in decision.findings],
            )
        if decision.verdict == "hold":
            held = self.hold("broker", event, decision, caller)
            out["status"] = "held"
            out["held"] = held.to_dict()
            return JSONResponse(out, status_code=202)
        post_id, url = await self.send(account, event.text, reply_to, event.post_id)
        details = {"post_id": post_id, "event": event.id}
        self.audit(caller.actor, "post.publish", account.id, details | _asserted(event))
        out.update(status="published", post={"post_id": post_id, "url": url})
        return JSONResponse(out, status_code=201)

    async def send(
        self, account: Account, text: str, reply_to: str = "", gate_post_id: str = ""
    ) -> tuple[str, str]:
        self.refuse_frozen(account)
        factory = self.deps.adapters()
        if factory is None:
            raise ApiError("not_configured", "no platform adapters are configured in this daemon")
        adapter = await factory(account)
        try:
            if reply_to:
                reply = getattr(adapter, "reply", None)
                if reply is None:
                    raise ApiError(
                        "not_supported",
                        f"the {account.platform} adapter cannot publish replies",
                        account=account.id,
                    )
                post = await reply(reply_to, text)
            else:
                post = await adapter.publish(text)
        finally:
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()
        metrics.POSTS_PUBLISHED.labels(account=account.id).inc()
        if self.deps.ledger is not None:
            self.deps.ledger.record(account.id, text, post_id=post.post_id, source="broker")
        hook = getattr(self.deps.gate(), "published", None)
        if callable(hook):
            hook(account.id, gate_post_id, post.post_id, text)
        log.info("broker.published", account=account.id, post_id=post.post_id)
        return post.post_id, post.url

    async def delete_post(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        account = self.account(request.path_params["account"])
        post_id = request.path_params["post"]
        if not POST_ID.fullmatch(post_id):
            raise ApiError("invalid_request", "post ids are 1-512 printable ASCII characters", field="post")
        await self.require(token, "moderate", account.id, "delete_post")
        self.refuse_frozen(account)
        factory = self.deps.adapters()
        if factory is None:
            raise ApiError("not_configured", "no platform adapters are configured in this daemon")
        adapter = await factory(account)
        try:
            await adapter.delete_post(post_id)
        finally:
            close = getattr(adapter, "aclose", None)
            if close is not None:
                await close()
        self.audit(caller.actor, "post.delete", account.id, {"post_id": post_id})
        log.info("broker.deleted", account=account.id, post_id=post_id, actor=caller.actor)
        return JSONResponse({"account": account.id, "post_id": post_id, "deleted": True})

    # -- held posts ------------------------------------------------------------------------------
    async def held_list(self, request: Request) -> Response:
        token, _ = await self.caller(request)
        status = request.query_params.get("status")  # "status=" is no status: refused like any other
        if status is not None and status not in STATUSES:
            raise ApiError("invalid_request", f"status must be one of {', '.join(STATUSES)}", field="status")
        account = request.query_params.get("account") or None
        limit = _limit(request)
        await self.require(token, "approve", None, "held_list")
        posts = self.deps.held.list(status, account, limit)
        return JSONResponse({"held": [p.to_dict() for p in posts]})

    def held_post(self, request: Request) -> HeldPost:
        held = self.deps.held.get(request.path_params["held"])
        if held is None:
            raise ApiError("not_found", f"no held post {request.path_params['held']!r}")
        return held

    async def held_get(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        held = self.held_post(request)
        need = Need("respond" if held.reply_to else "publish", held.account)
        _, got = await self.authz.grants(token, [Need("approve"), need])
        if not any(got.values()):
            self.authz.record(caller, Need("approve"), False, "held_get")
            raise ApiError(
                "missing_capability",
                f"reading a held post needs 'approve' or {need.capability!r} on its account",
                capability="approve",
            )
        return JSONResponse(held.to_dict())

    async def held_approve(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        held = self.held_post(request)
        await self.require(token, "approve", None, "held_approve")
        if caller.identity.same_person(held.caller, held.caller_name) or same_name(held.author, caller.actor):
            raise ApiError(
                "self_approval",
                f"{caller.actor} sent this post or is its author and cannot approve it; ask another approver",
            )
        self.refuse_frozen(self.account(held.account))  # before anything changes
        # a post held before its platform's limit was known stays held: reject it instead
        await self.refuse_too_long(self.account(held.account), held.text)
        now = self.deps.clock()
        done = self.deps.held.transition(held.id, ("held", "failed"), "approved", caller.actor, now)
        if done is None:
            raise ApiError("conflict", f"held post {held.id} is {held.status}, not held", status=held.status)
        self.audit(
            caller.actor,
            "held.approve",
            held.account,
            {"held_id": held.id, "author": held.author, "sent_by": held.caller_name},
        )
        approve = getattr(self.deps.gate(), "approve", None)
        if callable(approve):  # the post is expected on the platform now, as an allowed one
            approve(done.account, done.event, now, done.text, done.created)
        if done.kind == "gate":
            if self.deps.ledger is not None:
                self.deps.ledger.record(done.account, done.text, ts=now, source="approved")
            return JSONResponse(done.to_dict())
        account = self.account(done.account)
        try:
            post_id, url = await self.send(account, done.text, done.reply_to, done.event)
        except ApiError as e:
            self.deps.held.failed(done.id, e.message)
            raise
        except SentinelError as e:
            self.deps.held.failed(done.id, e.message)
            raise
        published = self.deps.held.published(done.id, post_id, url)
        assert published is not None
        return JSONResponse(published.to_dict())

    async def held_reject(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        held = self.held_post(request)
        body = await optional_body(request)
        reason = field_str(body, "reason", max_len=1000)
        await self.require(token, "approve", None, "held_reject")
        done = self.deps.held.transition(
            held.id, ("held", "failed"), "rejected", caller.actor, self.deps.clock(), reason
        )
        if done is None:
            raise ApiError("conflict", f"held post {held.id} is {held.status}, not held", status=held.status)
        self.audit(caller.actor, "held.reject", held.account, {"held_id": held.id, "reason": reason})
        return JSONResponse(done.to_dict())

    # -- response -------------------------------------------------------------------------------
    async def lockdown(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        body = await json_body(request)
        reason = field_str(body, "reason", required=True, max_len=1000)
        ids, tags = field_list(body, "accounts"), field_list(body, "tags")
        operator = field_str(body, "operator", max_len=MAX_FIELD, min_len=1)
        everything = body.get("all", False)
        if not isinstance(everything, bool):
            raise ApiError("invalid_request", "field 'all' must be true or false", field="all")
        await self.require(token, "lockdown", None, "lockdown")
        inv = self.deps.inventory()
        unknown = [i for i in ids if i not in inv]
        if unknown:
            raise ApiError("not_found", f"no account {unknown[0]!r} in the inventory", account=unknown[0])
        if not (ids or tags or everything or operator):
            raise ApiError(
                "invalid_request", "name the accounts: 'accounts', 'tags', 'operator' or 'all': true"
            )
        try:
            chosen = (
                {a.id for a in inv.select(ids, tags, (), (), everything)}
                if (ids or tags or everything)
                else set()
            )
        except InventoryError as e:
            raise ApiError("not_found", e.message) from None
        reach = None
        if operator:
            if self.deps.reach is None:
                raise ApiError("not_configured", "operator reach is not available in this daemon")
            reach = await asyncio.to_thread(self.deps.reach, operator)
            chosen.update(a for a in reach.accounts if a in inv)
        selected = [a.id for a in inv if a.id in chosen and not a.retired]
        if not selected:
            raise ApiError(
                "not_found", "no active account has the tags or ids named, or the operator reaches none"
            )
        responder = self.deps.responder()
        if responder is None:
            raise ApiError("not_configured", "the responder is not running in this daemon")
        log.warning(
            "api.lockdown", actor=caller.actor, accounts=len(selected), reason=reason, operator=operator
        )
        report = await responder.lock(
            selected, reason, caller.actor, operator=operator, actor_id=caller.identity.key
        )
        for a in selected:
            self.emit("account.frozen", {"account": a, "reason": reason, "actor": caller.actor})
        out: dict[str, Any] = {"accounts": selected, "report": dict(report)}
        if reach is not None:
            out["reach"] = reach.to_dict()
        return JSONResponse(out)

    async def unfreeze(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        account = self.account(request.path_params["account"])
        body = await json_body(request)
        reason = field_str(body, "reason", required=True, max_len=1000)
        code = field_str(body, "totp", required=True, max_len=16)
        await self.require(token, "unfreeze", None, "unfreeze")
        responder = self.deps.responder()
        if responder is None:
            raise ApiError("not_configured", "the responder is not running in this daemon")
        try:
            record = await responder.unfreeze(account.id, reason, caller.actor, code, caller.identity.key)
        except StepUpFailed as e:
            log.warning("api.step_up_failed", actor=caller.actor, account=account.id, locked=e.locked)
            raise ApiError("step_up_locked" if e.locked else "step_up_failed", e.message) from None
        except ResponderConflict as e:
            raise ApiError("conflict", e.message) from None
        self.emit("account.unfrozen", {"account": account.id, "reason": reason, "actor": caller.actor})
        return JSONResponse({"account": account.id, "record": dict(record)})

    # -- read-only views -----------------------------------------------------------------------------
    async def accounts(self, request: Request) -> Response:
        """Every account the caller holds ``analytics`` on, each with its state and the caller's
        capabilities on it: one Vault question and two store reads, whatever the count."""
        token, _ = await self.caller(request)
        inv = self.deps.inventory()
        needs = [Need(c, a.id) for a in inv for c in ACCOUNT_CAPABILITIES] + [
            Need(c) for c in GLOBAL_CAPABILITIES
        ]
        _, got = await self.authz.grants(token, needs)
        held = self.deps.held.counts()
        freezes = self.freeze_records()
        out = [
            {
                **account_summary(a),
                "status": self.account_state(a.id, freezes, held.get(a.id, 0)),
                "capabilities": _capabilities(got, a.id),
            }
            for a in inv
            if got.get(Need("analytics", a.id))
        ]
        return JSONResponse({"accounts": out})

    def freeze_records(self) -> Mapping[str, FreezeRecord]:
        return self.deps.freezes() if self.deps.freezes is not None else {}

    def account_state(self, account: str, freezes: Mapping[str, FreezeRecord], held: int) -> dict[str, Any]:
        """``ok``, ``frozen`` (blocked at the gate and in Vault) or ``locked`` (at the platform too),
        with who froze it, when and why: the responder's record, else the gate's own memory."""
        gate = self.deps.gate()
        fz = gate.frozen(account) if gate is not None else None
        record = freezes.get(account)
        frozen = fz is not None or record is not None
        return {
            "state": record.state if record is not None else ("frozen" if frozen else "ok"),
            "frozen": frozen,
            "frozen_since": record.since if record else (format_ts(fz.ts) if fz is not None else None),
            "freeze_reason": record.reason if record else (fz.reason if fz is not None else None),
            "frozen_by": record.actor if record is not None else None,
            "automatic": record.automatic if record is not None else None,
            "incident": record.incident if record is not None else None,
            "held": held,
        }

    async def account_status(self, request: Request) -> Response:
        token, _ = await self.caller(request)
        account = self.account(request.path_params["account"])
        await self.require(token, "analytics", account.id, "account")
        needs = [Need(c, account.id) for c in ACCOUNT_CAPABILITIES] + [Need(c) for c in GLOBAL_CAPABILITIES]
        _, got = await self.authz.grants(token, needs)
        out = {
            **account_summary(account),
            "timezone": account.timezone,
            "domains": list(account.domains),
            "status": self.account_state(account.id, self.freeze_records(), self.deps.held.count(account.id)),
            "capabilities": _capabilities(got, account.id),
        }
        return JSONResponse(out)

    async def incidents(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        status = request.query_params.get("status")  # "status=" is no status: refused like any other
        if status is not None and status not in ("open", "resolved"):
            raise ApiError("invalid_request", "status must be 'open' or 'resolved'", field="status")
        if self.deps.incidents is None:
            raise ApiError("not_configured", "incidents are not recorded in this daemon")
        rows = [i for i in self.deps.incidents() if status is None or i.get("status") == status]
        rows = await self.filter_visible(token, caller, rows, "incidents")
        return JSONResponse({"incidents": rows[: _limit(request)]})

    async def incident(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        try:
            number = int(request.path_params["incident"])
        except ValueError:
            raise ApiError("not_found", "incident ids are numbers") from None
        if self.deps.incident is None:
            raise ApiError("not_configured", "incidents are not recorded in this daemon")
        row = self.deps.incident(number) if 0 < number < 2**63 else None
        if row is None:
            raise ApiError("not_found", f"no incident {number}")
        shown = await self.filter_visible(token, caller, [row], "incident")
        if not shown:
            raise ApiError(
                "missing_capability",
                "reading this incident needs 'analytics' on one of its accounts or 'lockdown'",
                capability="analytics",
            )
        return JSONResponse(shown[0])

    async def alerts(self, request: Request) -> Response:
        token, caller = await self.caller(request)
        limit = _limit(request)
        if self.deps.alerts is None:
            raise ApiError("not_configured", "alerts are not recorded in this daemon")
        rows = await self.filter_visible(token, caller, self.deps.alerts(1000), "alerts")
        return JSONResponse({"alerts": rows[:limit]})

    async def filter_visible(
        self, token: str, caller: Caller, rows: list[dict[str, Any]], route: str
    ) -> list[dict[str, Any]]:
        """Rows about accounts the caller may see: all for ``lockdown`` holders and for callers
        with ``analytics`` on every account (the organisation's view), else by ``analytics``, each narrowed to those accounts (its ``accounts`` list, its
        ``events``, and words that could name the others; see ``_narrowed``)."""
        if await self.holds(token, "lockdown"):
            return rows
        everyone = [a.id for a in self.deps.inventory()]
        seen = await self.visible(
            token, caller, [*everyone, *(a for r in rows for a in r.get("accounts", ()))], route
        )
        if everyone and seen.issuperset(everyone):  # entitled to every account: the organisation's view
            return rows
        return [_narrowed(r, seen) for r in rows if seen.intersection(r.get("accounts", ()))]


def _capabilities(got: Mapping[Need, bool], account: str) -> list[str]:
    """The capabilities granted on ``account`` and globally, from one ``grants`` answer."""
    return [c for c in ACCOUNT_CAPABILITIES if got.get(Need(c, account))] + [
        c for c in GLOBAL_CAPABILITIES if got.get(Need(c))
    ]


def _narrowed(row: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    """``row`` with only the accounts in ``seen`` (and only their events, for an incident).

    An alert's summary and an incident's title are free text that may name any of the row's
    accounts: when some are left out, they are replaced by words naming only those shown, and
    an alert keeps only its facts (``_ALERT_FACTS``), its next steps rebuilt for those shown."""
    accounts = list(row.get("accounts", ()))
    shown = [a for a in accounts if a in seen]
    out = {**row, "accounts": shown}
    if "events" in row:
        out["events"] = [e for e in row["events"] if e.get("account") in seen]
    if len(shown) < len(accounts):
        about = ", ".join(shown)
        if "summary" in row:
            kind = str(row.get("kind") or "")
            out = {k: v if k in _ALERT_FACTS else _blank(v) for k, v in out.items()}
            out["summary"] = f"{KIND_TITLES.get(kind, kind or 'Alert')} on {about}"
            out["steps"] = [s for s in row.get("steps", ()) if s.get("account") in seen]
            if "kind" in row:
                out["next_steps"] = list(default_next_steps(alert_from_dict(out)))
        if "title" in row:
            out["title"] = f"Incident on {about}"
    return out


_ALERT_FACTS = frozenset(
    {"id", "kind", "status", "severity", "accounts", "rule", "tags", "incident_id", "runbook_url"}
    | {"ongoing", "occurred_at", "events"}
)
"""What an alert shown about some of its accounts keeps as raised: facts that name no account.
Everything else is free text that may name the others (summary, details, findings, steps,
next steps, dedup key, the post and its address) and is left out or rebuilt from the shown."""


def _blank(value: Any) -> Any:
    """An empty value of ``value``'s JSON type (a field left out keeps its shape)."""
    return type(value)() if isinstance(value, str | list | dict) else None


def _asserted(event: Event) -> dict[str, str]:
    """The author a publishing tool asserted, for the audit entry beside the caller."""
    return {"author": event.author} if event.author != event.caller else {}


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return 100
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError("invalid_request", "limit must be a whole number", field="limit") from None
    if not 1 <= limit <= 1000:
        raise ApiError("invalid_request", "limit must be between 1 and 1000", field="limit")
    return limit

"""``sentinel alerts``: inspect and repair the alert outbox, test receivers, silence noise."""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from typing import Any

from sentinel.alerts.dispatcher import Dispatcher, send_test
from sentinel.alerts.model import Alert, Step
from sentinel.alerts.outbox import AlertOutbox, Delivery
from sentinel.alerts.receivers import build_receiver, build_receivers
from sentinel.alerts.render import build_message
from sentinel.alerts.silences import Silence
from sentinel.cli.context import Context
from sentinel.cli.output import emit_json, table
from sentinel.durations import format_duration, parse_duration
from sentinel.errors import SentinelError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "alerts", help="alert outbox: pending, dead letters, retries, receiver tests, silences"
    )
    actions = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)

    pending = actions.add_parser("pending", help="deliveries not yet accepted by their receiver")
    pending.add_argument("--receiver", help="only this receiver")
    pending.set_defaults(func=cmd_pending)

    dead = actions.add_parser("dead", help="deliveries given up on (dead letters)")
    dead.add_argument("--receiver", help="only this receiver")
    dead.set_defaults(func=cmd_dead)

    retry = actions.add_parser("retry", help="send dead deliveries again")
    retry.add_argument("ids", nargs="*", type=int, help="delivery ids (from `sentinel alerts dead`)")
    retry.add_argument("--receiver", help="every dead delivery of this receiver")
    retry.add_argument("--all", action="store_true", help="every dead delivery")
    retry.set_defaults(func=cmd_retry)

    test = actions.add_parser("test", help="send a test message straight to a receiver")
    test.add_argument("receiver", metavar="RECEIVER")
    test.set_defaults(func=cmd_test)

    silence = actions.add_parser(
        "silence", help="mute alerts for an account, rule or kind for a while (or --list, --expire ID)"
    )
    what = silence.add_mutually_exclusive_group()
    what.add_argument("--account", help="account id (glob allowed, e.g. 'brand-*')")
    what.add_argument("--rule", help="rule name (glob allowed)")
    what.add_argument("--kind", help="alert kind, e.g. held_post")
    what.add_argument("--list", action="store_true", help="list active silences")
    what.add_argument("--expire", type=int, metavar="ID", help="end the silence ID now")
    silence.add_argument("--for", dest="duration", help="how long, e.g. 30m, 2h, 1d")
    silence.add_argument("--comment", default="", help="why (shown in the list)")
    silence.set_defaults(func=cmd_silence)

    deliver = actions.add_parser(
        "deliver", help="run the delivery loop in the foreground (the daemon does this)"
    )
    deliver.add_argument("--once", action="store_true", help="one pass: send what is due now, then exit")
    deliver.set_defaults(func=cmd_deliver)


def _outbox(ctx: Context) -> AlertOutbox:
    ctx.setup_logging()  # log lines go to stderr, so stdout stays a clean table or JSON document
    return AlertOutbox.from_config(ctx.store, ctx.config)


def _ago(t: float | None, now: float) -> str:
    if t is None:
        return "-"
    delta = t - now
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(-delta)} ago"


def _show(ctx: Context, rows: list[Delivery], extra: dict[str, Any] | None = None) -> None:
    if ctx.as_json:
        emit_json({"deliveries": [d.to_dict() for d in rows], **(extra or {})})
        return
    now = time.time()
    table(
        ["id", "receiver", "status", "alerts", "attempts", "created", "next", "last error", "title"],
        [
            (
                d.id,
                d.receiver,
                d.status,
                len(d.alert_ids),
                d.attempts,
                _ago(d.created_at, now),
                _ago(d.next_attempt_at, now) if d.state == "pending" else "-",
                d.last_error[:60] or None,
                d.title[:70],
            )
            for d in rows
        ],
    )


def cmd_pending(ctx: Context, args: argparse.Namespace) -> int:
    outbox = _outbox(ctx)
    rows = outbox.pending(args.receiver)
    waiting = outbox.waiting_alerts()
    _show(ctx, rows, {"waiting_alerts": waiting})
    if not ctx.as_json and waiting:
        print(f"{waiting} alert(s) waiting for their group to be sent")
    return 0


def cmd_dead(ctx: Context, args: argparse.Namespace) -> int:
    rows = _outbox(ctx).dead(args.receiver)
    _show(ctx, rows)
    return 1 if rows else 0


def cmd_retry(ctx: Context, args: argparse.Namespace) -> int:
    n = _outbox(ctx).retry(args.ids, receiver=args.receiver, all_dead=args.all)
    if ctx.as_json:
        emit_json({"retried": n})
    else:
        print(f"{n} dead deliver{'y' if n == 1 else 'ies'} queued again")
    return 0 if n else 1


def test_alert(receiver: str, runbook_url: str) -> Alert:
    return Alert(
        kind="test",
        severity="info",
        summary=f"test message for receiver {receiver}",
        accounts=("example-account",),
        rule="test.rule",
        post_excerpt="This is how a quoted post looks: https://example.com/link",
        steps=(Step("gate_block", True), Step("platform_revoke", False, "example failure")),
        next_steps=('sentinel unfreeze example-account --reason "..."',),
        runbook_url=runbook_url,
    ).with_defaults()


def cmd_test(ctx: Context, args: argparse.Namespace) -> int:
    ctx.setup_logging()
    cfg = ctx.config
    settings = cfg.alerts.receivers.get(args.receiver)
    if settings is None:
        raise UsageError(
            f"no receiver {args.receiver!r} in [alerts.receivers]; defined: "
            + (", ".join(sorted(cfg.alerts.receivers)) or "none")
        )
    receiver = build_receiver(args.receiver, settings)
    alert = test_alert(args.receiver, cfg.alerts.runbook_url or cfg.sentinel.runbook_url)
    message = build_message([alert], "firing", alert.dedup_key, cfg.sentinel.organisation, now=time.time())
    outcome = asyncio.run(send_test(receiver, message))
    if ctx.as_json:
        emit_json(
            {
                "receiver": args.receiver,
                "delivered": outcome.delivered,
                "status": outcome.status,
                "error": outcome.error,
            }
        )
    elif outcome.delivered:
        print(f"{args.receiver}: delivered (HTTP {outcome.status})")
    else:
        print(f"{args.receiver}: NOT delivered: {ctx.scrub(outcome.error)}")
    return 0 if outcome.delivered else 1


def _silence_row(s: Silence, now: float) -> tuple[Any, ...]:
    return (s.id, s.matcher, s.value, _ago(s.ends_at, now), s.author, s.comment)


def cmd_silence(ctx: Context, args: argparse.Namespace) -> int:
    outbox = _outbox(ctx)
    now = time.time()
    if args.list:
        rows = outbox.silences()
        if ctx.as_json:
            emit_json({"silences": [_silence_dict(s) for s in rows]})
        else:
            table(
                ["id", "matcher", "value", "ends", "author", "comment"], [_silence_row(s, now) for s in rows]
            )
        return 0
    if args.expire is not None:
        if not outbox.expire_silence(args.expire):
            raise SentinelError(f"no active silence with id {args.expire}")
        print(f"silence {args.expire} expired")
        return 0
    matcher, value = next(
        ((m, getattr(args, m)) for m in ("account", "rule", "kind") if getattr(args, m)), (None, None)
    )
    if matcher is None or value is None:
        raise UsageError("say what to silence: --account, --rule or --kind (or --list, --expire ID)")
    if not args.duration:
        raise UsageError("say for how long: --for 2h")
    try:
        duration = parse_duration(args.duration)
    except ValueError as e:
        raise UsageError(f"--for: {e}") from None
    # the caller's Vault identity, never the Unix user or a flag. Muting alerts is what an
    # intruder wants most: one account's alerts need 'admin' on it; a pattern, a rule or a
    # kind (which reach every account, today's and tomorrow's) need 'admin' on every account
    everyone = [a.id for a in ctx.inventory.active]
    reach = [value] if matcher == "account" and value in everyone else everyone
    author = ctx.caller("admin", reach).name
    s = outbox.add_silence(matcher, value, duration, author=author, comment=args.comment)
    if ctx.as_json:
        emit_json(_silence_dict(s))
    else:
        print(
            f"silence {s.id}: {matcher} {value!r} muted until {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(s.ends_at))}"
        )
    return 0


def _silence_dict(s: Silence) -> dict[str, Any]:
    return {
        "id": s.id,
        "matcher": s.matcher,
        "value": s.value,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "author": s.author,
        "comment": s.comment,
    }


def cmd_deliver(ctx: Context, args: argparse.Namespace) -> int:
    outbox = _outbox(ctx)
    receivers = build_receivers(ctx.config.alerts)

    async def main() -> int:
        dispatcher = Dispatcher(outbox, receivers)
        if args.once:
            try:
                sent = await dispatcher.tick()
            finally:
                await dispatcher.stop()
            print(f"{sent} deliver{'y' if sent == 1 else 'ies'} sent")
            return 0
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        await dispatcher.start()
        await done.wait()
        await dispatcher.stop()
        return 0

    return asyncio.run(main())

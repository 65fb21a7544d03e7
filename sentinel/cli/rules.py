"""``sentinel rules validate|test|list|stats``: check rule files, run their fixtures, list detectors,
show what each rule fired on.

``validate`` reports every problem with file, line and field and exits 2 when there is one.
``test`` runs every rule's fixtures against the whole rule set and exits 1 on a mismatch.
Without ``DIR`` arguments both use the configured rule directories (shipped rules included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sentinel.cli.context import Context
from sentinel.cli.output import emit_json, table
from sentinel.errors import UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("rules", help="validate and test detection rule files", description=__doc__)
    rsub = p.add_subparsers(dest="rules_command", metavar="ACTION")
    v = rsub.add_parser("validate", help="check rule files; report every error with file, line and field")
    v.add_argument("dirs", nargs="*", metavar="DIR", help="rule directories or files (default: configured)")
    v.set_defaults(func=validate)
    t = rsub.add_parser("test", help="run every rule's fixtures; exit 1 on a mismatch")
    t.add_argument("dirs", nargs="*", metavar="DIR", help="rule directories or files (default: configured)")
    t.add_argument("--rule", action="append", default=[], help="only this rule id (repeatable)")
    t.add_argument("-v", "--verbose", action="store_true", help="show passing fixtures too")
    t.set_defaults(func=test)
    ls = rsub.add_parser("list", help="list the rules, or the detectors rule files can use")
    ls.add_argument("dirs", nargs="*", metavar="DIR", help="rule directories or files (default: configured)")
    ls.add_argument("--detectors", action="store_true", help="list detectors and their parameters")
    ls.set_defaults(func=list_rules)
    ex = rsub.add_parser(
        "explain",
        help="decide one event as a dry run and show every rule, score, combination and threshold",
    )
    ex.add_argument("event", metavar="EVENT_JSON", help="the event as JSON (replay format), or - for stdin")
    ex.add_argument(
        "--rules", dest="dirs", action="append", default=[], help="rule directory (default: configured)"
    )
    ex.add_argument("--inventory", help="inventory file (default: configured)")
    ex.set_defaults(func=explain_event)
    ak = rsub.add_parser(
        "ack",
        help="acknowledge a rule on an account for a key (domain, client, author) until a date",
        description="Needs the 'tune' capability on the account in Vault; acts as you (VAULT_TOKEN), audited.",
    )
    ak.add_argument("rule", help="rule id")
    ak.add_argument("account", help="account id")
    ak.add_argument("key", help="what the finding is about: a link's domain or host, the client, the author")
    ak.add_argument("--until", required=True, help="UTC date or time it expires (YYYY-MM-DD), within a year")
    ak.add_argument("--reason", required=True, help="why it is expected (goes into the audit trail)")
    ak.set_defaults(func=ack)
    al = rsub.add_parser("acks", help="list acknowledgements (active ones, or --all)")
    al.add_argument("--all", action="store_true", help="include expired and revoked ones")
    al.set_defaults(func=list_acks)
    un = rsub.add_parser("unack", help="revoke an acknowledgement (needs 'tune' on its account; audited)")
    un.add_argument("id", type=int, help="acknowledgement id (see rules acks)")
    un.set_defaults(func=unack)
    st = rsub.add_parser("stats", help="what each rule fired on over the last days, observe mode included")
    st.add_argument("--days", type=_days, default=7, help="how many days back (default 7)")
    st.set_defaults(func=stats)
    p.set_defaults(func=lambda ctx, args: (p.print_help(sys.stderr), 2)[1])


def explain_event(ctx: Context, args: argparse.Namespace) -> int:
    """Against the daemon's stored baselines (when its state store exists), nothing changed."""
    import json

    from sentinel.engine.engine import Engine
    from sentinel.engine.events import EventError, parse_event
    from sentinel.engine.explain import explain
    from sentinel.engine.loader import load_rules
    from sentinel.platforms.registry import gate_refusal
    from sentinel.post_guard import restore_baselines

    text = sys.stdin.read() if args.event == "-" else args.event
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise UsageError(f"EVENT_JSON is not valid JSON: {e}") from None
    if isinstance(raw, dict) and raw.get("via") == "gate" and not raw.get("post_id"):
        raw["post_id"] = f"gate:{raw.get('id', '')}"
    try:
        event = parse_event(raw)
    except EventError as e:
        raise UsageError(f"EVENT_JSON: {e.message}") from None
    inventory = ctx.load_inventory(args.inventory)
    account = inventory.get(event.account)
    if account is None:
        raise UsageError(f"EVENT_JSON: account {event.account!r} is not in the inventory")
    # the gate refuses a text past the platform's length before deciding; an observed post is
    # judged whatever its length
    why = gate_refusal(account.platform, account.max_post_length, event.text) if event.via == "gate" else ""
    if why:
        raise UsageError(f"EVENT_JSON: {why}")
    engine = Engine(inventory, load_rules(_dirs(ctx, args)), ctx.config.engine)
    baselines = 0
    if Path(ctx.config.sentinel.database).exists():
        baselines = restore_baselines(engine, ctx.store, inventory)
    _, out = explain(engine, event)
    out["baselines"]["accounts_restored"] = baselines
    if ctx.as_json:
        emit_json(out)
        return 0
    print(
        f"{out['event']} on {out['account']} ({out['via']}): {out['verdict']}"
        + (" and freeze" if out["freeze"] else "")
        + f" — {out['decided_by']}"
    )
    b = out["baselines"]
    if b.get("learned"):
        print(
            f"baseline: {b['learned_posts']} learned posts since {b['first_seen']}"
            + ("" if b["mature"] else " (still learning: novelty rules silent)")
        )
    else:
        print("baseline: this account has no learned posts (novelty rules silent)")
    rows = []
    for r in out["rules"]:
        what = r.get("detail") or r.get("skipped") or "-"
        rows.append([r["rule"], r["mode"], r["group"], f"{r.get('score', 0):g}" if r["fired"] else "", what])
    table(["RULE", "MODE", "GROUP", "SCORE", "FOUND"], rows)
    c = out["combined"]
    for g in c["groups"]:
        scores = " + ".join(f"{s:g}" for s in g["scores"])
        print(f"group {g['group']}: {scores} -> {g['counts']:g} (damping {c['group_damping']:g})")
    t = out["thresholds"]
    print(
        f"score {c['score']:g}; thresholds: hold {t['hold_score']:g}, block {t['block_score']:g}, "
        f"flag {t['flag_score']:g}, freeze {t['freeze_score']:g}"
    )
    if "would" in out:
        trial = ", ".join(f["rule"] for f in out["observed"])
        print(f"observed, not counted: {trial}; counted, they would have made it: {out['would']}")
    return 0


def _tuning(ctx: Context) -> Any:
    """The acknowledgements core the API uses too, over this host's store and configured rules."""
    from sentinel.acks import Tuning
    from sentinel.engine.loader import load_rules

    def rules() -> frozenset[str]:
        return frozenset(r.id for r in load_rules(list(ctx.config.sentinel.all_rules_dirs)))

    return Tuning(ctx.store, lambda: ctx.inventory, rules, alert=ctx.alert_sink())


def _acting(ctx: Context, account: str) -> tuple[Any, str]:
    """The person at the keyboard, who must hold 'tune' on ``account``, and the audit trail."""
    from sentinel.audit import AuditTrail
    from sentinel.audit_keys import audit_keystore
    from sentinel.capabilities import acl_prefix, require_self

    person, who = ctx.operator()
    require_self(person, acl_prefix(ctx.config), "tune", [account])
    return AuditTrail(ctx.store, audit_keystore(ctx.config, ctx.vault)), who


def ack(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.acks import AckInvalid, parse_until

    tuning = _tuning(ctx)
    try:
        req = tuning.check(args.rule, args.account, args.key, parse_until(args.until), args.reason)
    except AckInvalid as e:
        raise UsageError(e.message) from None
    trail, who = _acting(ctx, req.account)
    got = tuning.add(req, who, trail.append)
    if ctx.as_json:
        emit_json(got.to_dict())
    else:
        print(
            f"acknowledgement {got.id}: {got.rule} on {got.account} for {got.key} until {got.to_dict()['until']}"
        )
    return 0


def list_acks(ctx: Context, args: argparse.Namespace) -> int:
    acks = [a.to_dict() for a in _tuning(ctx).list(active_only=not args.all)]
    if ctx.as_json:
        emit_json({"acks": acks})
        return 0
    if not acks:
        print("no acknowledgements")
        return 0
    cols = ("id", "rule", "account", "key", "until", "by", "reason", "revoked")
    table([c.upper() for c in cols], [[a[c] for c in cols] for a in acks])
    return 0


def unack(ctx: Context, args: argparse.Namespace) -> int:
    tuning = _tuning(ctx)
    found = tuning.active(args.id)
    if found is None:
        raise UsageError(f"no active acknowledgement {args.id}")
    trail, who = _acting(ctx, found.account)
    if tuning.revoke(found, who, trail.append) is None:
        raise UsageError(f"no active acknowledgement {args.id}")
    print(f"acknowledgement {found.id} revoked")
    return 0


def _days(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 3650:
        raise argparse.ArgumentTypeError(f"--days must be a whole number from 1 to 3650, got {value!r}")
    return n


def stats(ctx: Context, args: argparse.Namespace) -> int:
    """Counts the daemon stored: per rule, mode (enforce or observe) and the verdict given (or,
    in observe mode, the verdict it would have given)."""
    import time

    from sentinel.rulestats import read

    counts = read(ctx.store, time.time() - args.days * 86400)
    if ctx.as_json:
        emit_json({"days": args.days, "rules": [c.to_dict() for c in counts]})
        return 0
    if not counts:
        print(f"no rule fired in the last {args.days} day(s)")
        return 0
    table(["RULE", "MODE", "VERDICT", "COUNT"], [[c.rule, c.mode, c.verdict, str(c.count)] for c in counts])
    return 0


def _dirs(ctx: Context, args: argparse.Namespace) -> list[Path]:
    dirs = [Path(d) for d in args.dirs] if args.dirs else list(ctx.config.sentinel.all_rules_dirs)
    if not dirs:
        raise UsageError("no rule directories: pass DIR or set rules_dirs in the config")
    for d in dirs:
        if not d.exists():
            raise UsageError(f"{d}: no such rule directory or file")
    return dirs


def validate(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.engine.loader import collect_rules

    ruleset, issues = collect_rules(_dirs(ctx, args))
    if ctx.as_json:
        emit_json(
            {
                "valid": not issues,
                "rules": len(ruleset),
                "files": list(ruleset.sources),
                "problems": [i.to_dict() for i in issues],
            }
        )
        return 2 if issues else 0
    for issue in issues:
        print(str(issue), file=sys.stderr)
    if issues:
        print(f"{len(issues)} problem(s) in {len(ruleset.sources)} file(s)", file=sys.stderr)
        return 2
    print(f"{len(ruleset)} rules in {len(ruleset.sources)} file(s): valid")
    return 0


def test(ctx: Context, args: argparse.Namespace) -> int:
    from sentinel.engine.fixtures import run_fixture
    from sentinel.engine.loader import load_rules

    ruleset = load_rules(_dirs(ctx, args))
    wanted = set(args.rule)
    unknown = sorted(wanted - {r.id for r in ruleset.rules})
    if unknown:
        raise UsageError(f"no rule with id {unknown[0]!r}")
    results = [
        run_fixture(rule, fx, ruleset, ctx.config.engine)
        for rule in ruleset.rules
        if not wanted or rule.id in wanted
        for fx in rule.fixtures
    ]
    failed = [r for r in results if not r.passed]
    if ctx.as_json:
        emit_json(
            {
                "passed": len(results) - len(failed),
                "failed": len(failed),
                "results": [r.to_dict() for r in results],
            }
        )
        return 1 if failed else 0
    for r in results:
        if r.passed and not args.verbose:
            continue
        mark = "ok  " if r.passed else "FAIL"
        print(f"{mark} {r.rule.id}: {r.fixture.name} ({r.rule.file}:{r.fixture.line}): {r.message}")
    untested = [r.id for r in ruleset.rules if not r.fixtures and (not wanted or r.id in wanted)]
    print(
        f"{len(results) - len(failed)} passed, {len(failed)} failed"
        + (f"; rules without fixtures: {', '.join(untested)}" if untested else "")
    )
    return 1 if failed else 0


def list_rules(ctx: Context, args: argparse.Namespace) -> int:
    if args.detectors:
        from sentinel.engine.detectors import DETECTORS

        if ctx.as_json:
            emit_json(
                {
                    name: {
                        "doc": d.doc,
                        "params": {
                            k: {"kind": p.kind, "default": p.default, "doc": p.doc}
                            for k, p in d.params.items()
                        },
                    }
                    for name, d in sorted(DETECTORS.items())
                }
            )
            return 0
        for name, d in sorted(DETECTORS.items()):
            print(f"{name}: {d.doc}")
            for k, p in d.params.items():
                print(f"    {k} ({p.kind}, default {p.default!r}): {p.doc}")
        return 0
    from sentinel.engine.loader import load_rules

    ruleset = load_rules(_dirs(ctx, args))
    if ctx.as_json:
        emit_json(
            [
                {
                    "id": r.id,
                    "detector": r.detector.name,
                    "severity": r.severity,
                    "score": r.score,
                    "group": r.group,
                    "enabled": r.enabled,
                    "fixtures": len(r.fixtures),
                    "where": r.where,
                }
                for r in ruleset.rules
            ]
        )
        return 0
    table(
        ["id", "detector", "severity", "score", "fixtures", "where"],
        [
            (
                r.id + ("" if r.enabled else " (disabled)"),
                r.detector.name,
                r.severity,
                f"{r.score:g}",
                len(r.fixtures),
                r.where,
            )
            for r in ruleset.rules
        ],
    )
    return 0

"""``sentinel incidents``: the timeline of each incident, for responders and the report."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from typing import Any

from sentinel.alerts.defang import defang, defuse
from sentinel.cli.context import Context
from sentinel.cli.daemon_api import call
from sentinel.cli.output import emit_json, table
from sentinel.errors import SentinelError, UsageError
from sentinel.response.indicators import indicators, stix_bundle
from sentinel.response.store import ResponseStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("incidents", help="list, show and export incidents (findings, evidence, actions)")
    isub = p.add_subparsers(dest="incidents_command", metavar="ACTION", required=True)
    ls = isub.add_parser("list", help="one line per incident, newest first")
    ls.add_argument("--open", action="store_true", help="only open incidents")
    ls.set_defaults(func=handle_list)
    show = isub.add_parser("show", help="the full timeline of one incident")
    show.add_argument("id", type=int)
    show.set_defaults(func=handle_show)
    export = isub.add_parser("export", help="export one incident for the post-incident report")
    export.add_argument("id", type=int)
    export.add_argument(
        "--format",
        choices=["json", "markdown", "stix"],
        default="markdown",
        help="markdown: the report; json: the data with its indicators (both defanged); "
        "stix: a STIX 2.1 bundle (indicator patterns carry the live values, as STIX needs)",
    )
    export.set_defaults(func=handle_export)
    note = isub.add_parser("note", help="add a note to the incident's timeline (as you; needs 'lockdown')")
    note.add_argument("id", type=int)
    note.add_argument("text")
    note.set_defaults(func=handle_work, action="note", field="text")
    assign = isub.add_parser("assign", help="assign the incident to a person (needs 'lockdown')")
    assign.add_argument("id", type=int)
    assign.add_argument("assignee")
    assign.set_defaults(func=handle_work, action="assign", field="assignee")
    close = isub.add_parser("close", help="close the incident once none of its accounts is frozen")
    close.add_argument("id", type=int)
    close.add_argument("--reason", required=True)
    close.set_defaults(func=handle_work, action="close", field="reason")


def _get(ctx: Context, incident: int) -> dict[str, Any]:
    data = ResponseStore(ctx.store).incident(incident)
    if data is None:
        raise UsageError(f"no incident {incident}")
    return data


def handle_list(ctx: Context, args: argparse.Namespace) -> int:
    store = ResponseStore(ctx.store)
    rows = store.incidents("open" if args.open else None)
    if ctx.as_json:
        emit_json(rows)
    else:
        table(
            ["id", "status", "opened", "accounts", "assignee", "title"],
            [
                (
                    r["id"],
                    r["status"],
                    r["opened"][:19],
                    len(r["accounts"]),
                    _assignee(store, r["id"]),
                    r["title"],
                )
                for r in rows
            ],
        )
    return 0


def _assignee(store: ResponseStore, incident: int) -> str:
    data = store.incident(incident)
    return str(data.get("assignee") or "-") if data else "-"


def handle_work(ctx: Context, args: argparse.Namespace) -> int:
    """note / assign / close, through the daemon's API with your own token."""
    value = getattr(args, args.field)
    out = call(ctx, "POST", f"/v1/incidents/{args.id}/{args.action}", json={args.field: value})
    if ctx.as_json:
        emit_json(out)
    else:
        done = {"note": "note added to", "assign": f"assigned {value}:", "close": "closed"}[args.action]
        print(f"{done} incident {args.id} (by {out.get('by', '?')})")
    return 0


def _line(e: dict[str, Any]) -> str:
    """One timeline line; what the attacker may have written (texts, details, reasons) defanged."""
    d = e["data"]
    if e["kind"] == "action":
        what = (
            f"{d.get('step')}: {d.get('status', '')} {defuse(str(d.get('detail') or d.get('reason') or ''))}"
        )
    elif e["kind"] == "post":
        what = f"post {d.get('post_id')}: {defuse(str(d.get('text', '')))!r}"
    elif e["kind"] == "finding":
        what = f"{d.get('rule', '')} ({d.get('severity', '')}): {defuse(str(d.get('detail', '')))}"
    else:
        what = defuse(json.dumps(d, sort_keys=True))
    return f"{e['ts'][:19]}  {e['kind']:8} {e['account'] or '-':28} {e['actor']:12} {what.strip()}"


def handle_show(ctx: Context, args: argparse.Namespace) -> int:
    data = _get(ctx, args.id)
    if ctx.as_json:
        emit_json(data)
        return 0
    print(f"Incident {data['id']} ({data['status']}): {defuse(data['title'])}")
    print(f"Opened {data['opened']}; accounts: {', '.join(data['accounts'])}")
    print(f"Assigned to {data.get('assignee') or 'nobody'}\n")
    for e in data["events"]:
        print(_line(e))
    return 0


def markdown(data: dict[str, Any], own_domains: Iterable[str] = ()) -> str:
    """The post-incident report; everything the attacker wrote, and every indicator, defanged."""
    out = [
        f"# Incident {data['id']}: {defuse(data['title'])}",
        "",
        f"- Status: {data['status']}",
        f"- Opened: {data['opened']}" + (f", closed {data['closed']}" if data.get("closed") else ""),
        f"- Accounts: {', '.join(data['accounts'])}",
        f"- Assigned to: {data.get('assignee') or 'nobody'}",
        "",
    ]
    found = indicators(data, own_domains)
    if found:
        out += ["## Indicators (defanged)", "", "| kind | value |", "|---|---|"]
        out += [f"| {i.kind} | `{defang(i.value)}` |" for i in found]
        out.append("")
    sections = (
        ("finding", "Findings"),
        ("post", "Evidence (posts)"),
        ("action", "Actions"),
        ("note", "Notes"),
    )
    for kind, title in sections:
        events = [e for e in data["events"] if e["kind"] == kind]
        if not events:
            continue
        out += [f"## {title}", ""]
        if kind == "post":
            for e in events:
                d = e["data"]
                out += [
                    f"- `{e['account']}` post `{d.get('post_id')}` at {d.get('ts') or e['ts']}:",
                    "",
                    "  > " + defuse(str(d.get("text", ""))).replace("\n", "\n  > "),
                    "",
                ]
        else:
            out += ["| time | account | by | what |", "|---|---|---|---|"]
            for e in events:
                what = (
                    _line(e).split(None, 4)[-1]
                    if kind != "action"
                    else (
                        f"{e['data'].get('step')}: {e['data'].get('status', '')} "
                        + defuse(str(e["data"].get("detail", "")))
                    )
                )
                what = what.replace("|", "/")
                out.append(f"| {e['ts'][:19]} | {e['account'] or '-'} | {e['actor']} | {what} |")
            out.append("")
    return "\n".join(out)


VERBATIM = frozenset(
    (
        "id", "ts", "kind", "actor", "account", "accounts", "step", "status", "severity", "rule", "rules",
        "event", "post_id", "attack", "opened", "closed", "assignee", "incident", "generation", "attempts",
    )
)  # fmt: skip
"""Keys whose values Sentinel itself writes (ids, times, rule ids, names): kept as they are. Every
other string in an export may quote the attacker, so it is defanged."""


def json_export(data: dict[str, Any], own_domains: Iterable[str] = ()) -> dict[str, Any]:
    """The incident as data for a report or a ticket, every link in it and every indicator
    defanged (``hxxps://evil[.]com``): pasted into a wiki, a ticket or a chat, nothing is
    clickable. Machines that need live values take the STIX bundle."""

    def clean(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: clean(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v, key) for v in value]
        if isinstance(value, str) and key not in VERBATIM:
            return defuse(value)
        return value

    found = [{"kind": i.kind, "value": defang(i.value)} for i in indicators(data, own_domains)]
    return {**clean(data), "indicators": found, "defanged": True}


def handle_export(ctx: Context, args: argparse.Namespace) -> int:
    data = _get(ctx, args.id)
    own = _own_domains(ctx)
    if args.format == "stix":
        print(stix_bundle(data, ctx.config.sentinel.organisation, own))
    elif args.format == "json" or ctx.as_json:
        emit_json(json_export(data, own))
    else:
        print(markdown(data, own))
    return 0


def _own_domains(ctx: Context) -> set[str]:
    """The organisation's own link domains (the inventory's), never reported as indicators."""
    try:
        return {d for a in ctx.inventory for d in a.domains}
    except SentinelError:  # no inventory here: every domain counts
        return set()

"""``sentinel held``: the posts the gate held, approved or rejected by a second person.

Through the daemon's API with your own Vault token: listing and deciding need
``approve``, and the author of a post cannot approve it.
"""

from __future__ import annotations

import argparse
from typing import Any

from sentinel.alerts.defang import defuse
from sentinel.api.held import STATUSES
from sentinel.cli.context import Context
from sentinel.cli.daemon_api import call
from sentinel.cli.output import emit_json, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("held", help="posts held for approval: list, show, approve, reject (four-eyes)")
    hsub = p.add_subparsers(dest="held_command", metavar="ACTION", required=True)
    ls = hsub.add_parser("list", help="held posts, newest first (waiting ones by default)")
    ls.add_argument("--status", choices=STATUSES, default="held")
    ls.add_argument("--account", help="only this account's")
    ls.set_defaults(func=handle_list)
    show = hsub.add_parser("show", help="one held post: text (links defanged), findings, decision")
    show.add_argument("id")
    show.set_defaults(func=handle_show)
    approve = hsub.add_parser("approve", help="approve a post someone else wrote (the daemon publishes it)")
    approve.add_argument("id")
    approve.set_defaults(func=handle_approve)
    reject = hsub.add_parser("reject", help="reject a held post")
    reject.add_argument("id")
    reject.add_argument("--reason", default="", help="why (recorded with the decision)")
    reject.set_defaults(func=handle_reject)


def handle_list(ctx: Context, args: argparse.Namespace) -> int:
    params = {"status": args.status, **({"account": args.account} if args.account else {})}
    rows = call(ctx, "GET", "/v1/held", **params)["held"]
    if ctx.as_json:
        emit_json(rows)
        return 0
    table(
        ["id", "account", "author", "created", "score", "text"],
        [
            (r["id"], r["account"], r["author"], r["created"][:19], f"{r['score']:.1f}", _excerpt(r["text"]))
            for r in rows
        ],
    )
    return 0


def _excerpt(text: str, width: int = 60) -> str:
    line = defuse(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 1] + "…"


def _print(post: dict[str, Any]) -> None:
    print(f"Held post {post['id']} ({post['status']}) on {post['account']}, by {post['author']}")
    print(f"Created {post['created']}; score {post['score']:.2f}; {post['kind']}")
    print("\n  " + defuse(post["text"]).replace("\n", "\n  ") + "\n")
    for f in post.get("findings", []):
        print(f"  - {f.get('severity', '')}: {f.get('rule', '')}: {defuse(str(f.get('detail', '')))}")
    if post.get("decided_by"):
        print(f"\n{post['status']} by {post['decided_by']} at {post['decided_at']}", end="")
        print(f": {post['reason']}" if post.get("reason") else "")
    if post.get("url"):
        print(f"published: {defuse(post['url'])}")
    if post.get("error"):
        print(f"error: {post['error']}")


def _out(ctx: Context, post: dict[str, Any]) -> int:
    if ctx.as_json:
        emit_json(post)
    else:
        _print(post)
    return 0


def handle_show(ctx: Context, args: argparse.Namespace) -> int:
    return _out(ctx, call(ctx, "GET", f"/v1/held/{args.id}"))


def handle_approve(ctx: Context, args: argparse.Namespace) -> int:
    return _out(ctx, call(ctx, "POST", f"/v1/held/{args.id}/approve", json={}))


def handle_reject(ctx: Context, args: argparse.Namespace) -> int:
    return _out(ctx, call(ctx, "POST", f"/v1/held/{args.id}/reject", json={"reason": args.reason}))

"""Provenance detectors: did this post come through the gate, and is it part of a campaign?"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sentinel.engine.context import Context
from sentinel.engine.detectors.base import Hit, Param, detector
from sentinel.engine.similarity import normalise


@detector(
    "out_of_band",
    "On a gated account, a published post that no allowed gate check covers: someone posted "
    "with the account's credentials outside the publishing tools.",
    requires=frozenset({"observed", "gated"}),
)
def out_of_band(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    if ctx.out_of_band:
        return "published without an allowed gate check on a gated account", 1.0
    return None


@detector(
    "gate_mismatch",
    "An observed post whose words differ from the text its gate check approved, or that links "
    "elsewhere (links compared by where they lead: scheme, ``www.``, a trailing slash and "
    "tracking parameters aside; adapters expand the platform's own wrapped links).",
    on_matched=True,
    requires=frozenset({"matched"}),
)
def gate_mismatch(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    if ctx.approved_text is None:
        return None
    if ctx.approved_text != ctx.template:
        return "published text differs from the text approved at the gate", 1.0
    if ctx.approved_links is not None and ctx.approved_links != ctx.links_key:
        return "published links differ from the links approved at the gate", 1.0
    return None


@detector(
    "campaign",
    "The same or nearly the same text posted by at least ``min_accounts`` accounts within "
    "``window``, when no member of the group was a clean gate-approved post (a sanctioned "
    "organisation campaign) and the text is not one the organisation posts routinely.",
    {
        "window": Param("duration", "30m", "how close in time the copies are"),
        "min_accounts": Param("int", 3, "accounts, this one included"),
        "sanctioned_exempt": Param("bool", True, "ignore groups with a clean gate-approved member"),
    },
)
def campaign(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    c = ctx.cluster
    if c is None:
        return None
    if p["sanctioned_exempt"] and c.sanctioned:
        return None
    seen = ctx.org.texts.get(ctx.signature.exact)
    if seen is not None and seen < c.first_ts:
        return None  # a text the organisation posted before this wave began
    others = c.accounts_since(ctx.event.ts - p["window"], ctx.account.id)
    if others + 1 < p["min_accounts"]:
        return None
    return f"same text on {others} other account(s) within {int(p['window'] // 60)} min", 1.0


@detector(
    "campaign_link",
    "The same link to a target new to the organisation posted by at least ``min_accounts`` "
    "accounts within ``window``.",
    {
        "window": Param("duration", "30m", "how close in time the copies are"),
        "min_accounts": Param("int", 3, "accounts, this one included"),
        "sanctioned_exempt": Param("bool", True, "ignore links a clean gate-approved post also used"),
    },
    requires=frozenset({"foreign_links"}),
)
def campaign_link(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    for key, c in ctx.link_clusters():
        if p["sanctioned_exempt"] and c.sanctioned:
            continue
        others = c.accounts_since(ctx.event.ts - p["window"], ctx.account.id)
        if others + 1 >= p["min_accounts"]:
            return f"new link {key} on {others} other account(s) within {int(p['window'] // 60)} min", 1.0
    return None


@detector(
    "campaign_template",
    "One template (the same words, links left out) posted by at least ``min_accounts`` accounts "
    "within ``window``, each copy with a link new to the organisation that this copy does not "
    "carry: a campaign rotating fresh domains so that no link repeats. With "
    "``sanctioned_exempt``, groups with a clean gate-approved member are left alone (off in the "
    "shipped rule: a stolen scheduler token posts as the usual operator).",
    {
        "window": Param("duration", "30m", "how close in time the copies are"),
        "min_accounts": Param("int", 3, "accounts, this one included"),
        "min_words": Param(
            "int", 4, "words the template has without its links (shorter ones are too common)"
        ),
        "sanctioned_exempt": Param("bool", True, "ignore templates a clean gate-approved post also used"),
    },
)
def campaign_template(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    keys = ctx.new_link_keys
    if not keys:
        return None
    group = ctx.campaigns.template(ctx.template, ctx.event.ts)
    if group is None or (p["sanctioned_exempt"] and group.sanctioned):
        return None
    others = group.others_since(ctx.event.ts - p["window"], ctx.account.id, keys)
    if len(others) + 1 < p["min_accounts"] or _words(ctx.event.text) < p["min_words"]:
        return None
    seen = sorted({k.split("/", 1)[0] for lk in others.values() for k in lk})
    return (
        f"same text on {len(others)} other account(s) within {int(p['window'] // 60)} min, "
        f"each with another new link ({', '.join(seen[:3])}{', ...' if len(seen) > 3 else ''})",
        1.0,
    )


@lru_cache(maxsize=1024)
def _words(text: str) -> int:
    return len(normalise(text, keep_links=False).split())


@detector(
    "campaign_taint",
    "A copy of a text, or a new link, that was found suspicious on an account within ``memory``: "
    "a campaign spreading across accounts inherits the first detection.",
    {"memory": Param("duration", "6h", "how long a suspicious text stays suspicious")},
)
def campaign_taint(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    since = ctx.event.ts - p["memory"]
    c = ctx.cluster
    if c is not None and c.taint and c.taint_ts >= since:
        where = "this account" if c.taint_account == ctx.account.id else c.taint_account
        return f"copy of a post found suspicious on {where} ({c.taint})", 1.0
    for key, lc in ctx.link_clusters():
        if lc.taint and lc.taint_ts >= since:
            where = "this account" if lc.taint_account == ctx.account.id else lc.taint_account
            return f"link {key} was found suspicious on {where} ({lc.taint})", 1.0
    return None


@detector(
    "escalation",
    "Another anomalous post shortly after suspicious ones on the same account: counts when the "
    "account had a held, blocked or flagged post within ``window`` and this post has anomalies "
    "of its own (score at least ``min_own_score``).",
    {
        "window": Param("duration", "2h", "how far back suspicious posts count"),
        "min_own_score": Param("float", 1.0, "this post's own score needed"),
    },
    phase="after",
    requires=lambda p: frozenset({"suspicious", "scored"} if p["min_own_score"] > 0 else {"suspicious"}),
)
def escalation(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    if ctx.partial_score < p["min_own_score"]:
        return None
    since = ctx.event.ts - p["window"]
    recent = [s for t, s in ctx.state.suspicious if t >= since]
    if not recent:
        return None
    return f"{len(recent)} suspicious post(s) on this account in the last {int(p['window'] // 60)} min", 1.0


@detector(
    "compromise",
    "A post already suspicious (score at least ``min_score``) that also comes with provenance "
    "anomalies of at least ``min_kinds`` kinds (a new address or author, an odd hour, a new "
    "client, a domain nobody linked, published outside the gate) and evidence of its own "
    "beyond them (the other findings score at least ``min_other``), or with ``kinds_alone`` "
    "kinds of anomaly: not a content problem but an account in someone else's hands. "
    "``signals`` maps the rules that count to their kind.",
    {
        "min_score": Param("float", 4.0, "this post's own score needed (held or flagged)"),
        "min_kinds": Param("int", 2, "distinct kinds of provenance anomaly needed"),
        "min_other": Param("float", 2.0, "score of the other findings needed with min_kinds kinds"),
        "kinds_alone": Param("int", 3, "kinds of anomaly that are enough without other evidence"),
        "signals": Param("str_list", [], "rule-id=kind pairs, e.g. source.new-ip=source"),
    },
    phase="after",
    requires=lambda p: frozenset({"scored"}) if p["min_score"] > 0 else frozenset(),
)
def compromise(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    if ctx.partial_score < p["min_score"]:
        return None
    kinds = _signal_kinds(p["signals"])
    found: dict[str, str] = {}
    other = 0.0
    for f in ctx.findings:
        kind = kinds.get(f.rule)
        if kind is None:
            other += f.score
        elif kind not in found:
            found[kind] = f.rule
    if len(found) < p["min_kinds"] or (other < p["min_other"] and len(found) < p["kinds_alone"]):
        return None
    return f"suspicious post with {len(found)} provenance anomalies: {', '.join(found.values())}", 1.0


@lru_cache(maxsize=64)
def _signal_kinds(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        rule, _, kind = pair.partition("=")
        out[rule.strip()] = kind.strip() or rule.strip()
    return out

"""Behaviour detectors: when, how fast and from where the account posts, against its own normal."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sentinel.engine.context import Context
from sentinel.engine.detectors.base import Hit, Param, detector
from sentinel.engine.state import Rate

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _in_org_campaign(ctx: Context, window: float) -> bool:
    c = ctx.cluster
    return c is not None and c.sanctioned and c.accounts_since(ctx.event.ts - window, ctx.account.id) >= 1


@detector(
    "odd_hour",
    "A post at an hour of the day (account's time zone) this account has never or rarely posted "
    "at: never (neighbouring hours included) counts fully, rare (below ``rare_share``) counts "
    "``rare_factor``. A copy of a sanctioned organisation campaign already posted elsewhere is exempt.",
    {
        "rare_share": Param("float", 0.01, "share of learned posts below which an hour is rare"),
        "rare_factor": Param("float", 0.5, "share of the score for a rare (not unseen) hour"),
        "min_posts": Param("int", 25, "learned posts needed before judging hours"),
        "campaign_window": Param("duration", "1h", "how recent the campaign's other copies must be"),
    },
    requires=frozenset({"mature"}),
)
def odd_hour(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    if not ctx.mature:
        return None
    share, total = ctx.state.hour_share(ctx.hour_of_week)
    if total < p["min_posts"] or share >= p["rare_share"]:
        return None
    if _in_org_campaign(ctx, p["campaign_window"]):
        return None
    t = ctx.local
    when = f"{_DAYS[t.weekday()]} {t:%H:%M} {ctx.account.timezone}"
    if share == 0:
        return f"{when}: never posted at this hour in {total} posts", 1.0
    return f"{when}: {share:.1%} of {total} posts at this hour", p["rare_factor"]


@detector(
    "business_hours",
    "A post outside the business hours the inventory gives for the account.",
    {"campaign_window": Param("duration", "1h", "copies of a sanctioned campaign are exempt")},
    requires=frozenset({"business_hours"}),
)
def business_hours(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    bh = ctx.account.business_hours
    if bh is None:
        return None
    t = ctx.local
    if bh.contains(t.weekday(), t.hour * 60 + t.minute):
        return None
    if _in_org_campaign(ctx, p["campaign_window"]):
        return None
    return f"{_DAYS[t.weekday()]} {t:%H:%M} is outside business hours ({bh.spec})", 1.0


def _rate(ctx: Context, subject: str) -> tuple[Rate | None, str]:
    if subject == "account":
        return ctx.state.rate, "account"
    if subject == "author":
        a = ctx.author
        return (a.rate if a else None), f"author {ctx.event.author}"
    return ctx.org.rate, "organisation"


@detector(
    "burst",
    "Posting far faster than normal for the account, the author or the organisation: the count "
    "in the window reaches ``min_count`` and exceeds ``factor`` times the ``quantile`` of the "
    "daily peak counts of the last 28 days (today's burst never raises today's baseline).",
    {
        "subject": Param("choice", "account", "account, author or org", choices=("account", "author", "org")),
        "window": Param("window", "1h", "10m or 1h"),
        "min_count": Param("int", 6, "never a burst below this many posts in the window"),
        "factor": Param("float", 3.0, "times the usual count"),
        "quantile": Param("float", 0.9, "which daily peak counts as usual"),
        "min_history": Param("int", 7, "days with clean posts needed for a baseline"),
    },
    requires=lambda p: frozenset({"known_author"}) if p["subject"] == "author" else frozenset(),
)
def burst(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    rate, who = _rate(ctx, p["subject"])
    if rate is None:
        return None
    window = p["window"]
    count = rate.count(ctx.event.ts, window)
    if count < p["min_count"]:
        return None
    usual, n = rate.quantile(window, p["quantile"])
    if n < p["min_history"]:
        return None
    if count <= p["factor"] * max(usual, 1):
        return None
    return f"{who}: {count} posts in {window // 60} min, usually at most {usual}", 1.0


@detector(
    "new_client",
    "A client application this account has not posted from before. Silent while learning.",
    requires=frozenset({"client", "mature"}),
)
def new_client(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    client = ctx.event.client
    if not client or not ctx.mature or client in ctx.state.clients:
        return None
    usual = ", ".join(list(ctx.state.clients)[-3:])
    return f"client {client!r} never used by this account (usually {usual})", 1.0


@detector(
    "new_author",
    "A gate check by an author (operator) who has not posted for this account before. Counts "
    "``owner_factor`` when the inventory lists the author as an owner of the account and "
    "``stranger_factor`` when nobody in the organisation has seen the author.",
    {
        "owner_factor": Param("float", 0.5, "share of the score for a listed owner"),
        "stranger_factor": Param("float", 1.5, "share of the score for an author new to the organisation"),
    },
    requires=frozenset({"author", "mature"}),
)
def new_author(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    author = ctx.event.author
    if not author or not ctx.mature or author in ctx.state.authors:
        return None
    if author in ctx.account.owners:
        return f"first post for this account by owner {author}", p["owner_factor"]
    if ctx.author is None or ctx.author.learned == 0:
        return f"author {author} is new to the organisation and not an owner", p["stranger_factor"]
    return f"author {author} has not posted for this account and is not an owner", 1.0


@detector(
    "new_ip",
    "A gate check from an IP address the author has not used before (once the author has a "
    "history). Counts ``shared_factor`` when another known author uses that IP.",
    {
        "min_posts": Param("int", 5, "author's clean posts needed before IPs are judged"),
        "shared_factor": Param("float", 0.5, "share of the score when the IP is known in the organisation"),
    },
    requires=frozenset({"ip", "known_author"}),
)
def new_ip(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    ip = ctx.event.ip
    a = ctx.author
    if not ip or a is None or a.learned < p["min_posts"] or ip in a.ips:
        return None
    usual = ", ".join(list(a.ips)[-2:])
    if ip in ctx.org.ips:
        return f"{ctx.event.author} posts from {ip}, known in the organisation (usually {usual})", p[
            "shared_factor"
        ]
    return f"{ctx.event.author} posts from new address {ip} (usually {usual})", 1.0


_PLATFORM_WORDS = {
    "x": ("twitter", "tweetdeck", "x for ", "x web"),
    "instagram": ("instagram",),
    "facebook": ("facebook", "meta business"),
    "linkedin": ("linkedin",),
    "youtube": ("youtube",),
    "threads": ("threads",),
    "bluesky": ("bsky", "bluesky"),
    "mastodon": ("mastodon",),
    "tiktok": ("tiktok",),
}


@detector(
    "client_platform_mismatch",
    "The client names a different platform than the account's (a Twitter app posting to Instagram): "
    "forged or replayed metadata.",
    requires=frozenset({"client"}),
)
def client_platform_mismatch(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    client = ctx.event.client
    if not client:
        return None
    other = _other_platform(client, ctx.account.platform)
    if other is None:
        return None
    return f"client {client!r} belongs to {other}, not {ctx.account.platform}", 1.0


@lru_cache(maxsize=4096)
def _other_platform(client: str, platform: str) -> str | None:
    """The other platform a client's name points to (None: its own, or none)."""
    name = client.lower()
    own = _PLATFORM_WORDS.get(platform, ())
    if any(w in name for w in own):
        return None
    for other, words in _PLATFORM_WORDS.items():
        if other != platform and any(w in name for w in words):
            return other
    return None


@detector(
    "repeat_template",
    "The same words as recent posts on this account, each time with a link to another foreign "
    "domain this account never linked to (one template, rotating fresh links: spam through a "
    "hijacked account). Counts once ``min_repeats`` earlier copies, each with other foreign "
    "domains, fall within ``window``.",
    {
        "window": Param("duration", "15m", "how far back earlier copies count"),
        "min_repeats": Param("int", 1, "earlier copies with other foreign domains needed"),
    },
    requires=frozenset({"foreign_links"}),
)
def repeat_template(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    recent = ctx.state.recent
    since = ctx.event.ts - p["window"]
    if not recent or recent[-1][0] < since:
        return None
    domains = ctx.foreign_domains
    known = ctx.state.domains
    if not any(d not in known for d in domains):
        return None
    key = ctx.template
    seen: set[str] = set(domains)
    copies = 0
    for ts, k, other in reversed(recent):
        if ts < since:
            break
        if k == key and other and not other <= seen:
            copies += 1
            seen |= other
    if copies < p["min_repeats"]:
        return None
    minutes = max(1, int(p["window"] // 60))
    return (
        f"same text as {copies} post(s) in the last {minutes} min, each linking another domain "
        f"({', '.join(sorted(seen)[:4])})",
        1.0,
    )

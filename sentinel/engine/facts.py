"""What an event is, as bits, so that a rule which cannot fire on it is never called.

A detector may declare what it ``requires`` of an event (``@detector(requires=...)``): a link
in the post, a link to a foreign domain, an author, a client, a mature account, ... Each
requirement is a condition the detector checks itself before it can find anything, so
leaving the rule out when the fact does not hold changes no decision, only the time spent.
``event_facts`` works one event's facts out once; ``account_facts`` the ones fixed by the
account (worked out when the account's rules are). A rule runs when ``need & ~facts == 0``.

Text rules add one bit each: ``RuleSet`` sets it when one of the rule's required literals
(``sentinel.engine.prefilter``) occurs in the post, found for all rules in one scan.
"""

from __future__ import annotations

from collections.abc import Iterable

from sentinel.engine.context import Context
from sentinel.inventory import Account

FACTS: dict[str, int] = {
    name: 1 << i
    for i, name in enumerate(
        (
            "gate",  # a gate check
            "observed",  # a post seen on the platform
            "links",  # the post has a link
            "foreign_links",  # ... to a domain the organisation does not own
            "author",  # the event names an author
            "known_author",  # ... whom the organisation has seen before
            "client",  # the event names a client
            "ip",  # the event names an address
            "mature",  # the account's learning period is over
            "org_mature",  # the organisation's learning period is over
            "suspicious",  # the account had a held, blocked or flagged post not yet forgotten
            "matched",  # an observed post an allowed gate check covers
            "scored",  # the other rules found something (only for rules that run after them)
            "gated",  # the account publishes through the gate
            "business_hours",  # the inventory gives the account business hours
            "non_ascii",  # the post's text holds a character outside ASCII
        )
    )
}
(
    GATE,
    OBSERVED,
    LINKS,
    FOREIGN_LINKS,
    AUTHOR,
    KNOWN_AUTHOR,
    CLIENT,
    IP,
    MATURE,
    ORG_MATURE,
    SUSPICIOUS,
    MATCHED,
    SCORED,
    GATED,
    BUSINESS_HOURS,
    NON_ASCII,
) = FACTS.values()  # in the order above; tests/engine/test_facts.py holds each name to its bit
FIRST_FREE_BIT = len(FACTS)
"""Bits from here on are the rule set's own (one per text rule)."""


def requirement(names: Iterable[str]) -> int:
    """The bits of the named facts; ``ValueError`` names an unknown one."""
    bits = 0
    for name in names:
        bit = FACTS.get(name)
        if bit is None:
            raise ValueError(f"unknown event fact {name!r}; known: {', '.join(FACTS)}")
        bits |= bit
    return bits


def account_facts(a: Account) -> int:
    """The facts the account itself fixes."""
    bits = GATED if a.gated else 0
    if a.business_hours is not None:
        bits |= BUSINESS_HOURS
    return bits


def event_facts(ctx: Context) -> int:
    """The facts of the event in ``ctx`` (features worked out here are kept for the rules)."""
    ev = ctx.event
    bits = GATE if ev.via == "gate" else OBSERVED
    if ev.author:
        bits |= AUTHOR | KNOWN_AUTHOR if ctx.author is not None else AUTHOR
    if ev.client:
        bits |= CLIENT
    if ev.ip:
        bits |= IP
    if ctx.parsed.links:
        bits |= LINKS | FOREIGN_LINKS if ctx.foreign_links else LINKS
    if ctx.mature:
        bits |= MATURE
    if ctx.org_mature:
        bits |= ORG_MATURE
    if ctx.state.suspicious:
        bits |= SUSPICIOUS
    if ctx.approved_text is not None:
        bits |= MATCHED
    if not ev.text.isascii():
        bits |= NON_ASCII
    return bits

"""Link detectors: where the post points, and how it hides it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sentinel.engine.context import Context
from sentinel.engine.detectors.base import Hit, Param, detector
from sentinel.engine.links import MAX_LINKS, SHORTENERS, public_suffix
from sentinel.engine.lookalike import Brand, embeds_brand, lookalike


@detector(
    "new_domain",
    "A link to a registrable domain this account (scope=account) or the whole organisation "
    "(scope=org) has not linked to in clean posts before. Silent while learning.",
    {"scope": Param("choice", "account", "account or org", choices=("account", "org"))},
    requires=lambda p: frozenset({"foreign_links", "mature" if p["scope"] == "account" else "org_mature"}),
)
def new_domain(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    links = ctx.foreign_links
    if not links:
        return None
    if p["scope"] == "account":
        if not ctx.mature:
            return None
        known = ctx.state.domains
    else:
        if not ctx.org_mature:
            return None
        known = ctx.org.domains
    new = sorted({link.domain or link.host for link in links} - known.keys())
    if not new:
        return None
    who = "this account" if p["scope"] == "account" else "the organisation"
    return f"{', '.join(new[:3])} never linked by {who}", 1.0


@detector(
    "shortener",
    "A link through a URL shortener that hides the target. Shorteners listed in the account's "
    "own domains are fine; ones this account already uses count ``known_factor``.",
    {
        "domains": Param("domain_list", sorted(SHORTENERS), "shortener domains"),
        "known_factor": Param("float", 0.5, "share of the score when the account used it before"),
    },
    requires=frozenset({"foreign_links"}),
)
def shortener(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    for link in ctx.foreign_links:
        if link.domain in p["domains"] or link.host in p["domains"]:
            d = link.domain or link.host
            known = d in ctx.state.domains
            return f"shortened link {link.host}{link.path}", p["known_factor"] if known else 1.0
    return None


def _brand(ctx: Context, extra: frozenset[str]) -> Brand:
    if not extra:
        return ctx.brand
    return Brand.of([*ctx.brand.domains, *extra])


@detector(
    "lookalike_domain",
    "A domain imitating the organisation's own domains (all accounts' ``domains`` in the "
    "inventory) or the ``protected`` ones: homoglyphs, punycode, typos, another suffix, or a "
    "protected domain used as a sub-domain of a foreign one.",
    {"protected": Param("domain_list", [], "partner domains to protect as well")},
    requires=frozenset({"foreign_links"}),
)
def lookalike_domain(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    links = ctx.foreign_links
    if not links:
        return None
    brand = _brand(ctx, p["protected"])
    for link in links:
        why = lookalike(link.host, link.domain, brand)
        if why:
            return why, 1.0
    return None


@detector(
    "brand_in_domain",
    "A foreign domain that contains the organisation's name (``brand-support-help.com``, "
    "``claim.brand.io``). With ``words``, only when the host also has one of them.",
    {
        "words": Param("str_list", [], "words that must also appear in the host (any)"),
        "protected": Param("domain_list", [], "partner domains to protect as well"),
    },
    requires=frozenset({"foreign_links"}),
)
def brand_in_domain(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    links = ctx.foreign_links
    if not links:
        return None
    brand = _brand(ctx, p["protected"])
    words = p["words"]
    for link in links:
        label = embeds_brand(link.host, link.domain, brand)
        if not label:
            continue
        if words:
            host = link.host.lower()
            word = next((w for w in words if w in host), None)
            if word is None:
                continue
            return f"{link.host} combines {label!r} with {word!r}", 1.0
        return f"{link.host} is not an organisation domain but contains {label!r}", 1.0
    return None


@detector(
    "idn_domain",
    "A link to an internationalised (punycode, non-ASCII) domain.",
    requires=frozenset({"foreign_links"}),
)
def idn_domain(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    for link in ctx.foreign_links:
        if link.idn:
            return f"internationalised domain {link.host}", 1.0
    return None


@detector("ip_literal", "A link to a bare IP address instead of a domain.", requires=frozenset({"links"}))
def ip_literal(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    for link in ctx.links:
        if link.ip_literal:
            return f"link to IP address {link.host}", 1.0
    return None


@detector(
    "obfuscated_link",
    "A link written to slip past filters: hxxp, [.] or (dot), zero-width or bidirectional "
    "characters, credentials before the host (``https://brand.com@evil.io``); or more different "
    "links than the engine examines in one post (``MAX_LINKS``).",
)
def obfuscated_link(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    parsed = ctx.parsed
    for link in parsed.links:
        kinds = [k for k in link.obfuscation if k != "no scheme"]
        if kinds:
            return f"{', '.join(kinds)} in link to {link.host}", 1.0
    if parsed.hidden_chars:
        return f"{parsed.hidden_chars} hidden character(s) inside words", 1.0
    if parsed.unexamined:
        return f"more than {MAX_LINKS} different links: the rest were not examined", 1.0
    return None


@detector(
    "suspicious_tld",
    "A link under a top-level domain that is mostly used for abuse.",
    {"tlds": Param("str_list", [], "suffixes, without the dot")},
    requires=frozenset({"foreign_links"}),
)
def suspicious_tld(ctx: Context, p: Mapping[str, Any]) -> Hit | None:
    tlds = p["tlds"]
    for link in ctx.foreign_links:
        suffix = public_suffix(link.host)
        if suffix in tlds or suffix.rsplit(".", 1)[-1] in tlds:
            return f"{link.host} is under .{suffix}", 1.0
    return None

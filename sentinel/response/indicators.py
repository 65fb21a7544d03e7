"""Indicators of an incident, for people and for threat-intelligence sharing.

``indicators`` collects what the attacker's posts point at — URLs (shortened ones kept
whole), domains, IP addresses and cryptocurrency wallets — from the evidence kept in the
incident, with the same extractors the detection engine uses. ``stix_bundle`` turns an
incident into a STIX 2.1 bundle (the ``stix2`` library): the organisation as the creating
identity, one indicator per URL, domain and IP address, and a report naming them with the
incident's accounts and title; wallets, which STIX has no pattern object for, are named in
the report's description. The patterns carry the live values (a consumer matches on them);
everything else in the bundle a person reads is defanged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentinel.alerts.defang import defuse
from sentinel.engine.detectors.content import find_wallets
from sentinel.engine.links import SHORTENERS, extract_links


@dataclass(frozen=True, order=True)
class Indicator:
    kind: str
    """``url``, ``domain``, ``ipv4``, ``ipv6`` or ``wallet:<currency>``."""
    value: str


def indicators(incident: dict[str, Any], own_domains: Iterable[str] = ()) -> list[Indicator]:
    """Every URL, domain, IP address and wallet in the incident's evidence posts, sorted.

    Link shorteners and the organisation's ``own_domains`` are never domain indicators
    (their URLs still are): sharing them would block every link of theirs."""
    own = {d.lower() for d in own_domains}
    found: set[Indicator] = set()
    for event in incident.get("events", []):
        if event.get("kind") != "post":
            continue
        text = str(event.get("data", {}).get("text", ""))
        for link in extract_links(text).links:
            found.add(
                Indicator("url", link.url if "://" in link.url else f"{link.scheme or 'http'}://{link.url}")
            )
            try:
                ip = ipaddress.ip_address(link.host.strip("[]"))
            except ValueError:
                if link.domain and link.domain not in SHORTENERS and link.domain.lower() not in own:
                    found.add(Indicator("domain", link.host.lower()))
            else:
                found.add(Indicator(f"ipv{ip.version}", str(ip)))
        for kind, address, _ in find_wallets(text):
            found.add(Indicator(f"wallet:{kind}", address))
    return sorted(found)


def _pattern(ind: Indicator) -> str | None:
    value = ind.value.replace("\\", "\\\\").replace("'", "\\'")
    objects = {"url": "url", "domain": "domain-name", "ipv4": "ipv4-addr", "ipv6": "ipv6-addr"}
    obj = objects.get(ind.kind)
    return f"[{obj}:value = '{value}']" if obj else None


def _ts(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def stix_bundle(incident: dict[str, Any], organisation: str, own_domains: Iterable[str] = ()) -> str:
    """The incident as a STIX 2.1 bundle (JSON text)."""
    import stix2

    opened = _ts(incident.get("opened"))
    creator = stix2.Identity(name=organisation or "Sentinel", identity_class="organization")
    found = indicators(incident, own_domains)
    objects: list[Any] = [creator]
    for ind in found:
        pattern = _pattern(ind)
        if pattern is None:
            continue
        objects.append(
            stix2.Indicator(
                name=f"{ind.kind} in posts of a hijacked social-media account",
                pattern=pattern,
                pattern_type="stix",
                valid_from=opened,
                indicator_types=["malicious-activity"],
                created_by_ref=creator.id,
            )
        )
    wallets = [f"{i.kind.split(':', 1)[1]} {i.value}" for i in found if i.kind.startswith("wallet:")]
    description = (
        f"Sentinel incident {incident.get('id')} ({incident.get('status')}): accounts "
        f"{', '.join(incident.get('accounts', []))}."
        + (f" Cryptocurrency wallets in the posts: {'; '.join(wallets)}." if wallets else "")
    )
    report = stix2.Report(
        name=defuse(str(incident.get("title", f"incident {incident.get('id')}"))),
        description=description,
        published=opened,
        report_types=["incident"],
        object_refs=[o.id for o in objects],
        created_by_ref=creator.id,
        labels=["social-media-account-hijack"],
    )
    return str(stix2.Bundle(*objects, report).serialize(pretty=True))

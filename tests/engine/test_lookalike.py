from __future__ import annotations

from sentinel.engine.links import registrable_domain
from sentinel.engine.lookalike import Brand, edit_distance, embeds_brand, lookalike

BRAND = Brand.of(["northwind.com", "shop.northwind.com", "nwnd.co"])


def check(host: str) -> str | None:
    return lookalike(host, registrable_domain(host), BRAND)


def test_lookalikes() -> None:
    assert check("n0rthwind.com") and check("northwlnd.com") and check("nortwind.com")
    assert check("northwind.io") and check("northwind.com.evil.io")
    assert check("n\u03bfrthwind.com")  # Greek omicron
    assert check("shop.northwind.com") is None and check("bbc.co.uk") is None


def test_brand_embedding_is_separate() -> None:
    host = "northwindsummerfest.com"
    assert check(host) is None and embeds_brand(host, registrable_domain(host), BRAND) == "northwind"


def test_edit_distance() -> None:
    assert edit_distance("northwind", "nortwhind") == 1 and edit_distance("abc", "xyz", 1) == 2


def spelt(host: str) -> bool:
    return "with look-alike characters" in (check(host) or "")


def test_look_alikes_of_every_script_the_content_rules_read_are_caught() -> None:
    armenian = "\u0578\u0585rt\u0570\u0561ind.com"  # Armenian ո (n), օ (o), հ (h), ա (w)
    assert spelt(armenian) and spelt(armenian.encode("idna").decode("ascii"))  # as written and as punycode
    # Cherokee Ꭱ, Ꭲ, Ꮋ (r, t, h) as a domain holds them: in lower case
    assert spelt("no\uab71\uab72\uab8bwind.com")
    assert spelt("\u0578wnd.co")  # a short label, where no typo is looked for
    assert spelt("\u0578\u043erth\u0561ind.com")  # Armenian ո, Cyrillic о, Armenian ա (w)
    assert spelt("nort\u04bbw\u0456nd.com")  # Cyrillic һ, і: the letters the short table knew
    host = "n\u0585rthwind-support.com"
    assert embeds_brand(host, registrable_domain(host), BRAND) == "northwind"


BENIGN = (
    "\u044f\u043d\u0434\u0435\u043a\u0441.\u0440\u0444",  # яндекс.рф
    "\u0433\u043e\u0441\u0443\u0441\u043b\u0443\u0433\u0438.\u0440\u0444",  # госуслуги.рф
    "\u03b5\u03bb\u03bb\u03ac\u03b4\u03b1.gr",  # ελλάδα.gr
    "\u0570\u0561\u0575\u0561\u057d\u057f\u0561\u0576.am",  # հայաստան.am
    "\u0441\u0435\u0432\u0435\u0440.com",  # север.com ("north")
    "northern.com",
    "worldwind.org",
    "nowhere.com",
    "bbc.co.uk",
)


def test_domains_of_other_scripts_and_the_brands_own_are_not_look_alikes() -> None:
    for host in (*BENIGN, *BRAND.domains, "shop.northwind.com"):
        domain = registrable_domain(host)
        assert check(host) is None and embeds_brand(host, domain, BRAND) is None, host

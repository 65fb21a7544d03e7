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

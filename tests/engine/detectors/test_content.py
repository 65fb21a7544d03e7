from __future__ import annotations

from sentinel.engine.detectors.content import find_wallets


def test_wallets_with_and_without_checksums() -> None:
    found = {
        k: ok
        for k, _, ok in find_wallets(
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        )
    }
    assert found == {"Bitcoin (bech32)": True, "Bitcoin": True}
    assert find_wallets("order 1AAAAAAAAAAAAAAAAAAAAAAAAAAAA")[0][2] is False
    assert find_wallets("Your order 1234567890 ships tomorrow") == []


def test_a_limit_checks_each_address_once_and_takes_a_flood_as_verified() -> None:
    fake = "1AAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert len(find_wallets(f"{fake} {fake} {fake}", 16)) == 1
    flood = " ".join(f"1{'A' * 27}{'BCDEFGHJKLMNPQRSTUVWXYZ'[i]}" for i in range(20))
    found = find_wallets(flood, 16)
    assert [ok for _, _, ok in found] == [False] * 16 + [True] * 4
    assert len(find_wallets(flood)) == 20 and not any(ok for _, _, ok in find_wallets(flood))

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

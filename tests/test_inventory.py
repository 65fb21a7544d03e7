from __future__ import annotations

from pathlib import Path

import pytest

from sentinel.errors import InventoryError
from sentinel.inventory import BusinessHours, load_inventory, parse_inventory

GOOD = """
[[accounts]]
id = "acme-x"
platform = "x"
handle = "@acme"
timezone = "Europe/Berlin"
publishing = "gated"
owners = ["op-a", "op-b"]
tags = ["brand"]
domains = ["Acme.com"]
business_hours = "mon-fri 08:00-18:00, sat 10:00-12:00"
credentials = [{ kind = "password", rotation = "30d" }, { kind = "totp_seed" }]

[[accounts]]
id = "acme-bsky"
platform = "bluesky"
handle = "@acme.bsky.social"
timezone = "UTC"
publishing = "open"
owners = ["op-b"]
retired = true
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "inventory.toml"
    p.write_text(text)
    return p


def test_loads_accounts_with_defaults_and_options(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    assert [a.id for a in inv] == ["acme-x", "acme-bsky"]
    x = inv["acme-x"]
    assert x.gated and x.domains == ("acme.com",)
    assert x.credentials[0].rotation_seconds == 30 * 86400
    assert x.credentials[1].key == "totp_seed"
    assert x.business_hours is not None and x.business_hours.contains(0, 9 * 60)
    assert not x.business_hours.contains(6, 11 * 60)  # Sunday
    assert x.business_hours.contains(5, 11 * 60)  # Saturday morning
    assert [a.id for a in inv.active] == ["acme-x"]
    assert inv.reach() == {"op-a": ["acme-x"], "op-b": ["acme-x", "acme-bsky"]}


def test_select_by_tag_platform_operator_and_unknown_id(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    assert [a.id for a in inv.select(tags=["brand"])] == ["acme-x"]
    assert [a.id for a in inv.select(platforms=["bluesky"])] == ["acme-bsky"]
    assert [a.id for a in inv.select(operators=["op-b"])] == ["acme-x", "acme-bsky"]
    assert len(inv.select(everything=True)) == 2
    with pytest.raises(InventoryError, match="no account with id 'nope'"):
        inv.select(ids=["nope"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('platform = "x"', 'platform = "myspace"'),
            "account 'acme-x': key 'platform' is 'myspace'; allowed:",
        ),
        (('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"'), "key 'timezone' is 'Mars/Olympus'"),
        (
            ('publishing = "gated"', 'publishing = "maybe"'),
            "key 'publishing' is 'maybe'; allowed: gated, open",
        ),
        (('handle = "@acme"\n', ""), "account 'acme-x': missing required key 'handle'"),
        (('owners = ["op-a", "op-b"]', "owners = 3"), "key 'owners' must be a list of non-empty strings"),
        (("sat 10:00-12:00", "sat 10:00-09:00"), "key 'business_hours'"),
        (('rotation = "30d"', 'rotation = "monthly"'), "credentials[0]: key 'rotation'"),
        (('kind = "totp_seed"', 'kind = "passkey"'), "credentials[1]: key 'kind' is 'passkey'"),
        (('id = "acme-bsky"', 'id = "acme-x"'), "key 'id' is used by two accounts"),
        (('id = "acme-x"', 'id = "Acme X"'), "account 'Acme X': key 'id' must be lowercase"),
        (('tags = ["brand"]', 'tagz = ["brand"]'), "unknown key 'tagz'"),
    ],
)
def test_errors_name_file_account_and_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = write(tmp_path, GOOD.replace(*change, 1))
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_bad_toml_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + "\n[[accounts]\n")
    with pytest.raises(InventoryError, match=r"not valid TOML: .*line 23"):
        load_inventory(path)


def test_missing_file() -> None:
    with pytest.raises(InventoryError, match="inventory file not found"):
        load_inventory("/nonexistent/inventory.toml")


def test_business_hours_wrap_around_week() -> None:
    bh = BusinessHours.parse("fri-mon 22:00-24:00")
    assert {d for d, _, _ in bh.windows} == {4, 5, 6, 0}
    with pytest.raises(ValueError, match="unknown day"):
        BusinessHours.parse("xyz 08:00-09:00")


def test_shared_sample_inventory_loads_if_present() -> None:
    sample = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev" / "inventory.toml"
    if not sample.exists():
        pytest.skip("shared sample corpus not present")
    inv = load_inventory(sample)
    assert len(inv) == 40


def test_top_level_must_be_accounts() -> None:
    with pytest.raises(InventoryError, match="unknown top-level key 'account'"):
        parse_inventory({"account": []}, "inv.toml")


def test_an_account_may_declare_its_own_post_length_and_only_a_sensible_one() -> None:
    base = {"id": "a", "platform": "x", "handle": "@a", "timezone": "UTC", "publishing": "gated"}
    inv = parse_inventory({"accounts": [{**base, "max_post_length": 280}]})
    assert inv["a"].max_post_length == 280 and inv["a"].to_dict()["max_post_length"] == 280
    assert parse_inventory({"accounts": [base]})["a"].max_post_length is None
    for bad in (0, -1, True, "280", 1.5, 1_000_001):
        with pytest.raises(InventoryError, match="'max_post_length' must be a whole number"):
            parse_inventory({"accounts": [{**base, "max_post_length": bad}]})

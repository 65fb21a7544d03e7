"""Incidents that mean one thing: one campaign is one incident, an unrelated attack at the same
time is another, each titled by what happened."""

from __future__ import annotations

from pathlib import Path

from sentinel.response.store import AUTOMATIC, ResponseStore
from sentinel.store import Store


def test_one_campaign_one_incident_and_unrelated_attacks_apart(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        rs = ResponseStore(store)
        worm = f"{AUTOMATIC}: same post on {{n}} accounts"

        def freeze(account: str, what: str, campaign: str) -> int:
            title = f"{AUTOMATIC}: {what} post on {account}"
            return rs.open_incident(title, [account], 900.0, True, campaign, worm)

        first = freeze("brand-x", "html injection", "c-worm")
        assert freeze("news-x", "html injection", "c-worm") == first
        assert freeze("shop-x", "tainted copy", "c-worm") == first
        hoax = freeze("careers-li", "out of band", "c-hoax")  # another attack, same minute
        assert hoax != first
        # a responder's lockdown of an account already in an incident joins that incident
        assert rs.open_incident("Lockdown: checking", ["careers-li"], 900.0) == hoax
        titles = {i["id"]: (i["title"], sorted(i["accounts"])) for i in rs.incidents()}
        assert titles[first] == (f"{AUTOMATIC}: same post on 3 accounts", ["brand-x", "news-x", "shop-x"])
        assert titles[hoax] == (f"{AUTOMATIC}: out of band post on careers-li", ["careers-li"])

"""``sentinel demo attack hoax|giveaway|worm``: play a hijack against the running demo.

The attacker here holds leaked credentials (read from the demo's Vault with its root token,
standing in for a phished password) and posts straight on the sandbox platform, the way a
hijacker posts from a stolen session: nothing goes through Sentinel's gate. The daemon's
watcher sees the posts, the engine judges them, the responder freezes the accounts. Each
scenario models a public incident:

- ``hoax``: a fake breaking-news statement from the news account (the 2013 AP tweet);
- ``giveaway``: a crypto "send 1, get 2 back" scam from the brand account (the 2020
  admin-tool scam, hijacked YouTube channels);
- ``worm``: the same phishing lure from many accounts within seconds (the 2014 TweetDeck
  worm, the 2020 mass hijack through an internal tool);
- ``insider``: an operator's own Vault login reads every account's credentials at once
  (the inside job, or a stolen operator token): nothing is posted, the daemon sees it in
  Vault's audit log.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from sentinel.config import load_config
from sentinel.errors import UsageError, VaultError
from sentinel.files import write_private
from sentinel.inventory import load_inventory
from sentinel.vault.client import VaultClient
from sentinel.vault.layout import credential_path


@dataclass(frozen=True)
class Scenario:
    accounts: tuple[str, ...]
    text: str
    client: str
    pause: float = 0.0


SCENARIOS = {
    "hoax": Scenario(
        ("example-news-x",),
        "BREAKING: Two explosions at Example Corp headquarters, CEO injured. Trading halted. "
        "Live updates: https://examplecorp-newsroom.info/live",
        "Twitter for Android",
    ),
    "giveaway": Scenario(
        ("example-brand-x", "example-brand-youtube"),
        "To celebrate 10 years we are giving back! Send 0.1 BTC to "
        "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh and get 0.2 BTC back instantly. "
        "Claim: https://claim-example.com",
        "Web",
    ),
    "worm": Scenario(
        (
            "example-brand-x",
            "example-brand-bluesky",
            "example-brand-facebook",
            "example-brand-linkedin",
            "example-support-x",
            "example-support-mastodon",
            "example-news-bluesky",
            "example-region-jp-x",
        ),
        "Important: your Example account must be verified within 24h or it will be closed. "
        "Verify now: https://example-support-help.com/verify",
        "SocialSuite",
        0.3,
    ),
}


ATTACKS = (*SCENARIOS, "insider")


def play(workdir: Path, name: str) -> list[str]:
    """Play the attack ``name`` against the demo in ``workdir``; return one line per step."""
    if name not in ATTACKS:
        raise UsageError(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}")
    if not (workdir / "sentinel.toml").exists():
        raise UsageError(f"no running demo in {workdir}: start it first with `make run`")
    if name == "insider":
        return read_everything(workdir)
    scenario = SCENARIOS[name]
    config = load_config(workdir / "sentinel.toml", env={})
    inventory = load_inventory(config.sentinel.inventory)
    root = (workdir / "root-token").read_text().strip()
    sandbox = (workdir / "sandbox-url").read_text().strip()
    vault = VaultClient(config.vault.addr, root, kv_mount=config.vault.kv_mount)
    lines = []
    loot_file = workdir / "attacker-loot.json"
    loot: dict[str, str] = json.loads(loot_file.read_text()) if loot_file.exists() else {}
    with httpx.Client(base_url=sandbox, timeout=10) as http:
        for account_id in scenario.accounts:
            account = inventory[account_id]  # a typo in a scenario fails loudly
            # The password leaks once; the attacker keeps using what they stole.
            if account_id not in loot:
                loot[account_id] = str(vault.kv_read(credential_path(account_id, "password")).data["value"])
            stolen = loot[account_id]
            login = http.post("/api/sessions", json={"handle": account.id, "password": stolen})
            if login.status_code not in (200, 201):
                lines.append(
                    f"{account_id}: the stolen password no longer works ({login.status_code}): frozen?"
                )
                continue
            token = login.json()["token"]
            posted = http.post(
                "/api/posts",
                json={"text": scenario.text, "client": scenario.client},
                headers={"authorization": f"Bearer {token}"},
            )
            if posted.status_code in (200, 201):
                lines.append(f"{account_id}: posted out of band (post {posted.json()['id']})")
            else:
                lines.append(f"{account_id}: post refused by the platform ({posted.status_code}): locked?")
            time.sleep(scenario.pause)
    vault.close()
    write_private(loot_file, json.dumps(loot))
    return lines


def read_everything(workdir: Path) -> list[str]:
    """Log in as the demo's operator and read every active account's credentials, one
    request after the other (each one a line in Vault's audit log)."""
    from sentinel.demo.up import OPERATOR

    config = load_config(workdir / "sentinel.toml", env={})
    inventory = load_inventory(config.sentinel.inventory)
    password = (workdir / "operator-password").read_text().strip()
    anonymous = VaultClient(config.vault.addr, None, kv_mount=config.vault.kv_mount)
    login = anonymous.request("POST", f"auth/userpass/login/{OPERATOR}", json={"password": password})
    anonymous.close()
    operator = VaultClient(
        config.vault.addr, str(login["auth"]["client_token"]), kv_mount=config.vault.kv_mount
    )
    read = 0
    refused: list[str] = []
    try:
        for account in inventory.active:
            for spec in account.credentials:
                try:
                    operator.kv_read(credential_path(account.id, spec.key))
                    read += 1
                except VaultError as e:
                    refused.append(f"{account.id}/{spec.key}: {e.__class__.__name__}")
    finally:
        operator.close()
    lines = [f"{OPERATOR}: read {read} credentials of {len(inventory.active)} accounts"]
    lines += [f"refused: {r}" for r in refused]
    return lines

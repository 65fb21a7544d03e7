"""Another user on the host cannot steer Sentinel through the files it trusts.

The config, the inventory and the rules decide what Sentinel protects and what it lets
through; the token file, the AppRole secret and the audit key are secrets; the CA bundle
decides whom the token is sent to. Before, Sentinel read them whoever could write them: a
world-writable rules directory let any local user empty a rule file and the daemon reloaded
without it, and a token file every user could read was used as is. Now, as ssh's
StrictModes, such a file is refused with a message naming it and why, when it (or a directory
above it, or what a symlink on the way leads to) belongs to another user or is writable by
group or others, and a secret is refused when others can read it. Files owned by root pass,
so a container where everything is root keeps working; a sticky world-writable directory
(``/tmp``) may lie above, as others cannot replace entries they do not own there.

"Another user" is uid 65534 (nobody): the ownership cases need root to chown, and skip without.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from sentinel.alerts.receivers import resolve_secret
from sentinel.audit import FileKeyStore
from sentinel.config import load_config
from sentinel.engine.loader import RuleSetError, load_rules
from sentinel.engine.rule_reload import RuleWatcher
from sentinel.errors import AuditError, ConfigError, InventoryError, VaultAuthError
from sentinel.files import private_group, write_private
from sentinel.inventory import load_inventory
from sentinel.vault.client import VaultClient
from tests.conftest import Deployment
from tests.security.conftest import SHIPPED

RULES = Path(__file__).resolve().parents[2] / "rules"
NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def world_writable_rules(tmp_path: Path) -> Path:
    shared = tmp_path / "rules"
    shutil.copytree(RULES, shared)
    os.chmod(shared, 0o777)  # noqa: S103  (the mistake under test)
    return shared


def test_a_rule_file_emptied_in_a_world_writable_rules_directory_is_not_reloaded(tmp_path: Path) -> None:
    shared = world_writable_rules(tmp_path)
    watcher = RuleWatcher([shared], on_reload=lambda _: None, current=SHIPPED)
    (shared / "content.yaml").write_text("rules: []\n")  # any local user can do this
    assert watcher.reload() is None
    assert watcher.current is SHIPPED  # the daemon keeps judging with the rules it had
    with pytest.raises(RuleSetError, match="writable by every user"):
        load_rules([shared])


@as_root
def test_a_group_writable_rule_file_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "rules"
    shutil.copytree(RULES, shared)
    os.chown(shared / "links.yaml", -1, NOBODY)  # a group others are in (nogroup: nobody's)
    os.chmod(shared / "links.yaml", 0o664)
    with pytest.raises(RuleSetError, match=r"links\.yaml is writable by its group"):
        load_rules([shared])


@as_root
def test_a_config_file_another_user_owns_is_refused(deployment: Deployment) -> None:
    os.chown(deployment.config, NOBODY, NOBODY)
    with pytest.raises(ConfigError, match=rf"{deployment.config}.*another user \(uid {NOBODY}\)"):
        load_config(deployment.config, env={})


def test_a_config_in_a_directory_others_can_write_is_refused(deployment: Deployment) -> None:
    os.chmod(deployment.dir, 0o777)  # noqa: S103  (anyone could swap the file for their own)
    with pytest.raises(ConfigError, match="writable by every user"):
        load_config(deployment.config, env={})


@as_root
def test_an_inventory_swapped_for_a_symlink_by_another_user_is_refused(deployment: Deployment) -> None:
    theirs = deployment.dir / "theirs"
    theirs.mkdir()
    (theirs / "inventory.toml").write_text((deployment.dir / "inventory.toml").read_text())
    os.chown(theirs, NOBODY, NOBODY)
    inventory = deployment.dir / "inventory.toml"
    inventory.unlink()
    inventory.symlink_to(theirs / "inventory.toml")
    config = load_config(deployment.config, env={})
    with pytest.raises(InventoryError, match=rf"{theirs} belongs to another user"):
        load_inventory(config.sentinel.inventory)


def test_a_token_file_every_user_can_read_is_not_sent_to_vault(deployment: Deployment) -> None:
    token_file = deployment.dir / "vault-token"
    os.chmod(token_file, 0o644)
    config = load_config(deployment.config, env={})
    with pytest.raises(VaultAuthError, match=r"vault-token can be read by others \(mode 0o644\)") as caught:
        VaultClient.from_settings(config.vault, env={})
    assert deployment.token not in str(caught.value)
    os.chmod(token_file, 0o600)  # the same file, ours alone, logs in
    client = VaultClient.from_settings(config.vault, env={})
    try:
        assert client.lookup_self().accessor
    finally:
        client.close()


def test_an_approle_secret_others_can_read_is_refused(deployment: Deployment) -> None:
    secret = deployment.dir / "secret-id"
    write_private(secret, "not-sent\n")
    os.chmod(secret, 0o640)
    env = {
        "SENTINEL_VAULT_AUTH": "approle",
        "SENTINEL_VAULT_APPROLE_ROLE_ID": "sentinel",
        "SENTINEL_VAULT_APPROLE_SECRET_ID_FILE": str(secret),
    }
    config = load_config(deployment.config, env=env)
    with pytest.raises(VaultAuthError, match=r"AppRole secret id file: .*can be read by others"):
        VaultClient.from_settings(config.vault, env={})


def test_a_ca_bundle_others_can_replace_is_refused(deployment: Deployment) -> None:
    shared = deployment.dir / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103
    (shared / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    env = {"SENTINEL_VAULT_CA_CERT": str(shared / "ca.pem")}
    config = load_config(deployment.config, env=env)
    with pytest.raises(ConfigError, match=r"\[vault\] ca_cert.*shared is writable by every user"):
        VaultClient.from_settings(config.vault, env={})


def test_an_audit_key_others_can_read_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "audit.key"
    store = FileKeyStore(key, tmp_path / "checkpoints.jsonl", create=True)
    assert store.local_public_key() is not None  # created 0600: used
    os.chmod(key, 0o644)
    with pytest.raises(AuditError, match=r"audit signing key: .*can be read by others"):
        FileKeyStore(key, tmp_path / "checkpoints.jsonl").load_or_create()


def test_files_of_ours_under_a_sticky_world_writable_directory_are_trusted(tmp_path: Path) -> None:
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)  # noqa: S103  (as /tmp)
    mine = sticky / "rules"
    shutil.copytree(RULES, mine)
    os.chmod(mine, 0o755)  # noqa: S103  (readable by all, writable by us alone)
    assert len(load_rules([mine])) == len(SHIPPED)


@as_root
def test_an_alert_webhook_url_file_others_can_change_is_refused(tmp_path: Path) -> None:
    url_file = tmp_path / "slack-webhook"
    write_private(url_file, "https://hooks.slack.com/services/T0/B0/secret\n")
    os.chown(url_file, -1, NOBODY)
    os.chmod(url_file, 0o660)  # a group could point the alerts at their own endpoint
    with pytest.raises(
        ConfigError, match=r"'alerts\.receivers\.ops\.url_file': refusing it: .*writable by its group"
    ):
        resolve_secret("alerts.receivers.ops.url", "", url_file, "", {})


def test_a_checkout_writable_by_the_users_own_group_loads(tmp_path: Path) -> None:
    """Debian gives every account a group of its own and users a umask of 002, so a checkout
    is group-writable while nobody else can write it: its rules load (``make run`` works)."""
    me = os.geteuid()
    gid = pwd.getpwuid(me).pw_gid
    if not private_group(gid, me):
        pytest.skip("this user's primary group is shared with others")
    mine = tmp_path / "rules"
    shutil.copytree(RULES, mine)
    os.chown(mine, -1, gid)
    os.chmod(mine, 0o775)  # noqa: S103  (group-writable, the group being ours alone)
    for f in mine.iterdir():
        os.chown(f, -1, gid)
        os.chmod(f, 0o664)
    assert len(load_rules([mine])) == len(SHIPPED)

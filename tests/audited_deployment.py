"""A deployment on the OpenBao that writes a file audit log the daemon tails, with sandbox
accounts whose credentials hold only a password."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sentinel.files import write_private
from sentinel.vault.devserver import AUDIT_DEVICE, DevVault
from tests.conftest import Deployment, new_mount


def audited_deployment(
    bao: DevVault, where: Path, letter: str, accounts: Sequence[str], owners: Sequence[str] = ()
) -> Deployment:
    """A fresh mount bootstrapped on ``bao`` (which has an audit log), its daemon token in
    ``where/vault-token``, an inventory of ``accounts`` and a config that tails the audit log."""
    settings, admin, _, token = new_mount(bao, letter)
    write_private(where / "vault-token", token)
    d = Deployment(dir=where, vault=bao, settings=settings, token=token, admin=admin)
    owned = f"owners = {list(owners)!r}\n".replace("'", '"') if owners else ""
    (where / "inventory.toml").write_text(
        "".join(
            f'[[accounts]]\nid = "{a}"\nplatform = "sandbox"\nhandle = "{a}"\ntimezone = "UTC"\n'
            f'publishing = "gated"\n{owned}credentials = [{{ kind = "password" }}]\n'
            for a in accounts
        )
    )
    d.write_config('[watcher]\naccount_state_interval = "1h"\naccount_state_jitter = 0\n')
    d.config.write_text(
        d.config.read_text().replace(
            "[api]", f'audit_log = "{bao.audit_log}"\naudit_device = "{AUDIT_DEVICE}"\n[api]', 1
        )
    )
    return d

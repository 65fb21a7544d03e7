"""Dependencies point one way: the engine and the Vault client stand on a few base modules
and load nothing of the components above them (alerts, adapters, the watcher, the API, the
configuration of everything). Each import runs in a fresh interpreter, so what another
test imported cannot hide a dependency."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

BASE = {
    "sentinel",
    "sentinel.account_fields",
    "sentinel.durations",
    "sentinel.errors",
    "sentinel.files",
    "sentinel.net",
    "sentinel.redact",
    "sentinel.settings",
}


def loaded_by(module: str) -> set[str]:
    """The ``sentinel.*`` modules that ``import <module>`` loads in a new interpreter."""
    code = (
        f"import json, sys, {module}; "
        "print(json.dumps(sorted(m for m in sys.modules if m == 'sentinel' or m.startswith('sentinel.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout))


def outside(modules: set[str], allowed: set[str], packages: tuple[str, ...]) -> set[str]:
    return {m for m in modules if m not in allowed and not m.startswith(packages)}


@pytest.mark.parametrize(
    ("module", "allowed", "packages"),
    [
        # The Vault client: its own package and the base (not sentinel.config, which imports
        # every component's settings).
        ("sentinel.vault.client", BASE, ("sentinel.vault",)),
        # The engine is pure: events and rules in, decisions out.
        ("sentinel.engine.engine", BASE | {"sentinel.inventory"}, ("sentinel.engine",)),
        # The sandbox platform server is a platform, not a Vault user.
        (
            "sentinel.platforms.sandbox_server",
            BASE | {"sentinel.logs", "sentinel.metrics", "sentinel.net", "sentinel.retry"},
            ("sentinel.platforms",),
        ),
    ],
)
def test_what_an_import_loads(module: str, allowed: set[str], packages: tuple[str, ...]) -> None:
    loaded = loaded_by(module)
    assert module in loaded
    assert outside(loaded, allowed, packages) == set()


def test_the_vault_client_loads_a_dozen_modules_not_the_whole_daemon() -> None:
    loaded = loaded_by("sentinel.vault.client")
    assert not any(
        m.startswith(("sentinel.alerts", "sentinel.platforms", "sentinel.watcher")) for m in loaded
    )
    assert len(loaded) <= 12

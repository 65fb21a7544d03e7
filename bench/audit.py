"""The audit trail against a local OpenBao: append, seal and verify.

Starts an OpenBao dev server, bootstraps it (Transit key, daemon policy) and, with the
daemon's own token, times: appending ``--entries`` entries (local, no Vault), sealing them
in checkpoints of ``--per-checkpoint`` entries (Transit batch signatures + one create-only
KV write each), an eager append (what a CLI command pays: append, sign, checkpoint), and
``audit verify``'s work over the whole trail and every checkpoint. Prints one line each.

    python bench/audit.py [--entries 2000] [--per-checkpoint 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sentinel import logs
from sentinel.audit import AuditTrail, VaultKeyStore
from sentinel.audit_keys import transit_public_keys
from sentinel.config import VaultSettings
from sentinel.store import Store
from sentinel.vault.bootstrap import bootstrap, issue_daemon_token
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault
from sentinel.vault.policies import transit_key_name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--per-checkpoint", type=int, default=20)
    args = ap.parse_args()
    logs.configure(level="error", fmt="json")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = DevVault(log_path=work / "bao.log").start()
        try:
            settings = VaultSettings(addr=server.addr)
            admin = VaultClient(server.addr, server.root_token, kv_mount=settings.kv_mount)
            bootstrap(admin, settings)
            token, _ = issue_daemon_token(admin, settings, ttl="1h")
            daemon = admin.with_token(token)
            keys = VaultKeyStore(daemon, settings.transit_mount, transit_key_name(settings))
            store = Store(work / "state.sqlite3")
            trail = AuditTrail(store, keys, eager=False)

            n, per = args.entries, args.per_checkpoint
            t0 = time.perf_counter()
            t_append = t_seal = 0.0
            for i in range(n):
                a = time.perf_counter()
                trail.append(f"op-{i % 7}", "post.publish", f"acct-{i % 50}", {"post_id": str(i)})
                t_append += time.perf_counter() - a
                if (i + 1) % per == 0:
                    s = time.perf_counter()
                    trail.seal()
                    t_seal += time.perf_counter() - s
            trail.seal()
            total = time.perf_counter() - t0
            checkpoints = -(-n // per)
            print(f"append (local, chained):        {t_append / n * 1e6:8.1f} µs/entry")
            print(
                f"seal ({per} entries/checkpoint): {t_seal / checkpoints * 1e3:8.2f} ms/checkpoint "
                f"({t_seal / n * 1e3:.2f} ms/entry)"
            )
            print(f"{n} entries written and sealed in {total:.2f} s")

            eager = AuditTrail(store, keys, eager=True)
            rounds = 50
            a = time.perf_counter()
            for i in range(rounds):
                eager.append("op-cli", "credential.reveal", f"acct-{i}", {})
            print(
                f"eager append (CLI: append, sign, checkpoint): {(time.perf_counter() - a) / rounds * 1e3:.2f} ms"
            )

            pinned = transit_public_keys(admin, settings)[1]
            v = time.perf_counter()
            result = trail.verify(pinned)
            took = time.perf_counter() - v
            assert result.ok, result.problems
            print(
                f"verify: {result.entries} entries, {result.checkpoints} checkpoints in {took:.2f} s "
                f"({took / result.checkpoints * 1e3:.2f} ms/checkpoint)"
            )
            store.close()
            daemon.close()
            admin.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

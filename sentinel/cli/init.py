"""``sentinel init``: a commented ``sentinel.toml`` and ``inventory.toml`` to start from.

The files are the package's own templates (``sentinel/data/init-*.toml``), written where
asked, never over an existing file unless ``--force``. The config's paths are relative to
its directory, so the pair works wherever it is written; edit the Vault address and the
accounts, then ``sentinel vault bootstrap`` and ``sentinel run``.
"""

from __future__ import annotations

import argparse
from importlib.resources import files
from pathlib import Path

from sentinel.cli.context import Context
from sentinel.errors import UsageError
from sentinel.files import write_file

TEMPLATES = {"sentinel.toml": "init-sentinel.toml", "inventory.toml": "init-inventory.toml"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="write a commented sentinel.toml and inventory.toml to start from")
    p.add_argument("--dir", default=".", help="where to write them (default: here)")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(func=handle)


def handle(ctx: Context, args: argparse.Namespace) -> int:
    target = Path(args.dir)
    target.mkdir(parents=True, exist_ok=True)
    existing = [name for name in TEMPLATES if (target / name).exists()]
    if existing and not args.force:
        raise UsageError(f"{', '.join(existing)} already exist(s) in {target}; use --force to overwrite")
    data = files("sentinel") / "data"
    for name, template in TEMPLATES.items():
        # 0644: the daemon may read it, only whoever ran init may change it (files.writable_by_others)
        write_file(target / name, data.joinpath(template).read_text(), 0o644)
        print(f"wrote {target / name}")
    print(
        "next: set [vault] addr and your accounts, then "
        f"`sentinel --config {target / 'sentinel.toml'} vault bootstrap` (with an administrator's token)"
    )
    return 0

"""Detectors that rule files can name; importing this package registers them all."""

from __future__ import annotations

from sentinel.engine.detectors import account, behaviour, content, links, provenance, vault
from sentinel.engine.detectors.base import DETECTORS, DetectorSpec, Hit, Param

__all__ = [
    "DETECTORS",
    "DetectorSpec",
    "Hit",
    "Param",
    "account",
    "behaviour",
    "content",
    "links",
    "provenance",
    "vault",
]

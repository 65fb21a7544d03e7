from __future__ import annotations

from sentinel.alerts.model import Alert
from sentinel.alerts.silences import Silence, silenced_by


def _s(matcher: str, value: str, start: float = 0, end: float = 100, sid: int = 1) -> Silence:
    return Silence(sid, matcher, value, start, end)  # type: ignore[arg-type]


def test_rule_and_kind_silences_with_globs() -> None:
    a = Alert(kind="held_post", summary="", rule="links.unknown_domain", accounts=("a",))
    assert silenced_by(a, [_s("rule", "links.*")], 50) is not None
    assert silenced_by(a, [_s("kind", "held_post")], 50) is not None
    assert silenced_by(a, [_s("rule", "other")], 50) is None


def test_silences_are_time_bounded() -> None:
    a = Alert(kind="freeze", summary="", accounts=("a",))
    s = [_s("account", "a", 10, 20)]
    assert silenced_by(a, s, 9) is None
    assert silenced_by(a, s, 10) is not None
    assert silenced_by(a, s, 20) is None


def test_account_silence_must_cover_every_account() -> None:
    a = Alert(kind="freeze", summary="", accounts=("brand-a", "corp-b"))
    assert silenced_by(a, [_s("account", "brand-*")], 5) is None
    assert silenced_by(a, [_s("account", "brand-*"), _s("account", "corp-b", sid=2)], 5) is not None
    assert silenced_by(Alert(kind="vault_unreachable", summary=""), [_s("account", "*")], 5) is None

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sentinel.redact import REDACTED, REDACTOR, is_secret_key, register_secret, scrub, scrub_obj


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    yield
    REDACTOR.forget_all()


def test_registered_values_are_scrubbed_everywhere() -> None:
    register_secret("correct-horse-battery")
    assert scrub("login with correct-horse-battery failed") == f"login with {REDACTED} failed"
    nested = {"outer": ["x correct-horse-battery y", {"deep": b"correct-horse-battery"}]}
    assert "correct-horse-battery" not in repr(scrub_obj(nested))


def test_short_values_are_not_registered() -> None:
    register_secret("abc")
    assert scrub("abc abc") == "abc abc"


def test_secret_keys_are_masked_but_safe_keys_kept() -> None:
    out = scrub_obj(
        {"password": "p4ss-unregistered", "token_ttl": 3600, "user": "alice", "api_key": "k-1234567"}
    )
    assert out == {"password": REDACTED, "token_ttl": 3600, "user": "alice", "api_key": REDACTED}
    assert is_secret_key("X-Vault-Token") and is_secret_key("totp_seed") and not is_secret_key("account")


def test_known_secret_shapes_without_registration() -> None:
    text = (
        "hvs.CAESIJ1abcdefghijklmnopqrstuvwxyz012345 Bearer abcdefghijklmnop otpauth://totp/x?secret=JBSWY3DP"
    )
    out = scrub(text)
    assert "hvs.CAES" not in out and "abcdefghijklmnop" not in out and "JBSWY3DP" not in out


def test_exceptions_are_rendered_and_scrubbed() -> None:
    register_secret("s3cr3t-value-xyz")
    assert scrub_obj(ValueError("bad s3cr3t-value-xyz")) == f"ValueError: bad {REDACTED}"


def test_registry_is_bounded_and_keeps_secrets_in_use() -> None:
    from sentinel.redact import Redactor

    r = Redactor(capacity=3)
    for v in ("secret-one-1", "secret-two-2", "secret-three-3"):
        r.register(v)
    r.register("secret-one-1")  # read again: still in use
    r.register("secret-four-4")  # evicts the least recently seen: secret-two-2
    assert r.scrub("secret-one-1 secret-two-2 secret-four-4") == "[REDACTED] secret-two-2 [REDACTED]"


def test_known_shapes_are_not_stored() -> None:
    from sentinel.redact import Redactor

    r = Redactor(capacity=10)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    r.register(jwt)
    assert r._values == {} and r.scrub(f"token {jwt}") == "token [REDACTED]"

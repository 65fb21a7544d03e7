from __future__ import annotations

import pytest

import sentinel.creds.rotator  # noqa: F401  (registers the rotation statuses)
from sentinel.redact import REDACTED, is_secret_key, register_secret, scrub, scrub_obj


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


def _naive(secrets_: list[str], text: str) -> str:
    for value in sorted(set(secrets_), key=len, reverse=True):
        text = text.replace(value, "[REDACTED]")
    return text


@pytest.mark.parametrize("filler", [0, 2000], ids=["per-secret search", "windows by length"])
def test_finding_by_length_scrubs_exactly_what_a_search_for_each_secret_would(filler: int) -> None:
    import random

    from sentinel.redact import Redactor

    rng = random.Random(7)
    alphabet = "abcdefghij0123-_"
    for _ in range(200):
        r = Redactor(capacity=4096)
        for i in range(filler):  # many other secrets make the window lookups the cheaper path
            r.register(f"filler-secret-{i:05d}-zz")
        registered = ["".join(rng.choices(alphabet, k=rng.randint(6, 14))) for _ in range(rng.randint(1, 30))]
        # secrets inside other secrets, and overlapping ones
        registered.append(registered[0][:6] + "XYZ" + registered[-1])
        for v in registered:
            r.register(v)
        text = "".join(
            rng.choice(registered) if rng.random() < 0.3 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 60))
        )
        assert r.scrub(text) == _naive(registered, text), text


def test_the_long_text_path_and_eviction_agree_with_the_short_one() -> None:
    from sentinel.redact import Redactor

    r = Redactor(capacity=3)
    for v in ("first-secret-1", "second-secret-22", "third-secret-333", "fourth-secret-4444"):
        r.register(v)
    long_text = "x" * 5000 + " first-secret-1 fourth-secret-4444 third-secret-333"
    # the oldest one was evicted; the rest are found through the per-secret search
    assert r.scrub(long_text).endswith(" first-secret-1 [REDACTED] [REDACTED]")
    assert r.scrub("fourth-secret-4444") == "[REDACTED]"
    r.forget_all()
    assert r.scrub("fourth-secret-4444") == "fourth-secret-4444"


def test_statuses_under_secret_keys_are_kept_and_values_are_not() -> None:
    details = {
        "reason": "a contractor left",
        "results": {"password": "rotated", "app_password": "parked", "access_token": "failed"},
        "password": {"status": "rotated", "ok": True, "value": "pw-not-registered-1"},
        "token": "hvs-looking-but-short",
        "otp": 123456,
        "secrets": [{"name": "a", "ok": False}, "s3cr3t-value"],
        "refresh_token": True,
    }
    assert scrub_obj(details) == {
        "reason": "a contractor left",
        "results": {"password": "rotated", "app_password": "parked", "access_token": "failed"},
        "password": {"status": "rotated", "ok": True, "value": REDACTED},
        "token": REDACTED,
        "otp": REDACTED,
        "secrets": [{"name": REDACTED, "ok": False}, REDACTED],
        "refresh_token": True,
    }


def test_a_registered_secret_is_scrubbed_even_where_a_status_may_stand() -> None:
    register_secret("rotated-but-secret")
    assert scrub_obj({"password": "rotated-but-secret", "results": {"token": "rotated"}}) == {
        "password": REDACTED,
        "results": {"token": "rotated"},
    }


def test_the_rotation_statuses_are_status_words() -> None:
    from typing import get_args

    from sentinel.creds.rotator import Status
    from sentinel.redact import STATUS_WORDS

    assert set(get_args(Status)) <= STATUS_WORDS


def test_a_scope_forgets_what_was_registered_inside_and_keeps_what_was_known() -> None:
    from sentinel.redact import Redactor

    r = Redactor()
    r.register("known-before-1")
    with r.scope():
        r.register("inside-only-2")
        r.register("known-before-1")  # read again inside: still known before
        assert r.scrub("known-before-1 inside-only-2") == f"{REDACTED} {REDACTED}"
    assert r.scrub("known-before-1 inside-only-2") == f"{REDACTED} inside-only-2"
    r.register("after-scope-3")
    assert r.scrub("after-scope-3 xx") == f"{REDACTED} xx"

from __future__ import annotations

import hashlib

import pyotp
import pytest

from sentinel.creds.totp import TotpError, TotpSeed, parse_seed

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_base32_seed_with_spaces_and_lower_case() -> None:
    s = parse_seed(" jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp\n")
    assert s.seed == SEED and s.digits == 6 and s.period == 30 and s.algorithm == "SHA1"
    assert s.code(1_000_000)[0] == pyotp.TOTP(SEED).at(1_000_000)


def test_otpauth_uri_with_parameters() -> None:
    uri = f"otpauth://totp/Example%20Corp:brand%40example.com?secret={SEED}&issuer=Example&digits=8&period=60&algorithm=SHA256"
    s = parse_seed(uri)
    assert (s.digits, s.period, s.algorithm, s.issuer, s.label) == (
        8,
        60,
        "SHA256",
        "Example",
        "Example Corp:brand@example.com",
    )
    expected = pyotp.TOTP(SEED, digits=8, interval=60, digest=hashlib.sha256).at(1_234_567)
    code, left = s.code(1_234_567)
    assert code == expected and 0 < left <= 60
    assert TotpSeed.from_data(s.to_data()) == s


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"otpauth://hotp/x?secret={SEED}&counter=1", "HOTP"),
        ("otpauth://totp/x?issuer=y", "no 'secret'"),
        ("not base32 at all!", "not valid base32"),
        ("JBSWY3DP", "too short"),
        (f"otpauth://totp/x?secret={SEED}&digits=4", "4 digits"),
        (f"otpauth://totp/x?secret={SEED}&algorithm=MD5", "'MD5'"),
        (f"otpauth://totp/x?secret={SEED}&period=abc", "whole numbers"),
        ("", "no TOTP seed"),
    ],
)
def test_bad_seeds_are_refused_without_quoting_the_seed(text: str, message: str) -> None:
    with pytest.raises(TotpError) as err:
        parse_seed(text)
    assert message in str(err.value)
    assert SEED not in str(err.value) and (len(text) < 8 or text not in str(err.value))


def test_repr_never_shows_the_seed() -> None:
    assert SEED not in repr(parse_seed(SEED))

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from sentinel.errors import SentinelError
from sentinel.redact import REDACTOR
from sentinel.response import stepup
from sentinel.vault.client import VaultClient
from sentinel.vault.devserver import DevVault


@pytest.fixture
def vault(bao: DevVault) -> VaultClient:
    client = VaultClient(bao.addr, bao.root_token, kv_mount="stepup")
    client.enable_kv2("stepup")
    return client


def test_enrol_verify_and_no_replay(vault: VaultClient) -> None:
    uri = stepup.enroll(vault, "op-dana")
    assert uri.startswith("otpauth://totp/") and "Sentinel" in uri
    seed = parse_qs(urlparse(uri).query)["secret"][0]
    assert REDACTOR.scrub(seed) == "[REDACTED]"
    now = time.time()
    code = pyotp.TOTP(seed).at(now)
    assert stepup.verify(vault, "op-dana", "000000" if code != "000000" else "111111", now) is False
    assert stepup.verify(vault, "op-dana", code, now) is True
    assert stepup.verify(vault, "op-dana", code, now) is False  # already used
    later = now + 30
    assert stepup.verify(vault, "op-dana", pyotp.TOTP(seed).at(later), later) is True
    assert stepup.verify(vault, "op-dana", "12ab56", later) is False


def test_enrol_twice_needs_replace_and_unknown_operator(vault: VaultClient) -> None:
    stepup.enroll(vault, "op-eli")
    with pytest.raises(SentinelError, match="already enrolled"):
        stepup.enroll(vault, "op-eli")
    stepup.enroll(vault, "op-eli", replace=True)
    with pytest.raises(SentinelError, match="has no TOTP seed"):
        stepup.verify(vault, "op-nobody", "123456")
    with pytest.raises(SentinelError, match="may only hold"):
        stepup.enroll(vault, "op/../x")

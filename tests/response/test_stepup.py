from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from sentinel.errors import SentinelError
from sentinel.redact import REDACTOR
from sentinel.response import stepup
from sentinel.store import Store
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


def test_a_code_that_could_not_be_checked_is_not_counted(vault: VaultClient, tmp_path: Path) -> None:
    with Store(tmp_path / "state.sqlite3") as store:
        limiter = stepup.StepUpLimiter(store, max_failures=2)
        for _ in range(3):  # no seed: nothing was checked, so no guess is used up
            with pytest.raises(SentinelError, match="has no TOTP seed"):
                stepup.verify_limited(vault, limiter, "op-unenrolled", "entity:u", "123456")
        limiter.check("entity:u", time.time())
        stepup.enroll(vault, "op-fay")
        for _ in range(2):
            assert stepup.verify_limited(vault, limiter, "op-fay", "entity:f", "12ab56") is False
        with pytest.raises(stepup.StepUpLocked):
            stepup.verify_limited(vault, limiter, "op-fay", "entity:f", "123456")

"""The console end to end in headless Chromium (Debian's ``chromium``, driven by Playwright).

The demo runs as ``sentinel demo up`` does for a new user (its own OpenBao dev server, the
sandbox platform, the daemon) with its two responders' Vault tokens: op-ana signs in and
sees a worm arrive live (no reload), approves a post op-ben wrote and the gate held, and
locks an account down; op-ben unfreezes it with a TOTP code. Screenshots go to a temporary directory, or to
``$SENTINEL_CONSOLE_SCREENSHOTS`` (``docs`` refreshes ``docs/console-*.png``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sentinel.demo.process import DemoProcess
from sentinel.demo.up import RESPONDERS, responder_code

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The screenshots in docs/ are refreshed by hand: SENTINEL_CONSOLE_SCREENSHOTS=docs make test.
# Otherwise they go to a temporary directory, so a test run never changes the work tree.
SHOTS_ENV = "SENTINEL_CONSOLE_SCREENSHOTS"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (Debian: apt-get install chromium)"),
]
playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright (PyPI) is not installed")


@dataclass
class Demo:
    proc: DemoProcess
    workdir: Path
    api: str
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo as a new user runs it, with its two responders, op-ana and op-ben."""
    with DemoProcess(tmp_path_factory.mktemp("console-demo") / "run") as proc:
        tokens = {p: (proc.workdir / f"{p}.token").read_text().strip() for p in RESPONDERS}
        yield Demo(proc, proc.workdir, proc.api, tokens)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get(SHOTS_ENV)
    return Path(where).resolve() if where else tmp_path_factory.mktemp("screenshots")


def _sign_in(page: playwright_sync.Page, demo: Demo, person: str) -> None:
    page.goto(f"{demo.api}/")
    page.fill("#token", demo.tokens[person])
    page.click("#signin-token")
    page.wait_for_url(re.compile(r"/console/$"))
    assert page.locator(".who").inner_text() == person


def test_sign_in_live_attack_approval_lockdown_and_unfreeze(demo: Demo, shots: Path) -> None:
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            ana = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            ana.goto(f"{demo.api}/console/signin")
            ana.screenshot(path=str(shots / "console-signin.png"))
            _sign_in(ana, demo, "op-ana")
            ana.wait_for_selector("#live.on")  # the event stream is connected

            # a worm arrives while the overview is open: it shows without a reload
            marker = ana.evaluate("() => { window.__same_page = true; return true; }")
            assert marker
            attack = demo.proc.cli("demo", "attack", "worm", "--dir", str(demo.workdir), timeout=120)
            assert attack.returncode == 0, attack.stdout + attack.stderr
            ana.wait_for_function(
                "() => Number(document.getElementById('incident-count').textContent) > 0", timeout=60_000
            )
            assert ana.evaluate("() => window.__same_page === true")  # updated live, not reloaded
            ana.wait_for_function(
                "() => Number(document.getElementById('frozen-count').textContent) >= 3", timeout=60_000
            )
            ana.screenshot(path=str(shots / "console-overview.png"), full_page=True)

            # the incident page: evidence defanged, steps done and left
            ana.click("#content table a[href*='/incidents/']")
            ana.wait_for_selector("text=Evidence")
            assert "https://" not in ana.locator("#content").inner_text()
            ana.screenshot(path=str(shots / "console-incident.png"), full_page=True)

            # op-ben's post is held; a second person, op-ana, approves it
            held = httpx.post(
                f"{demo.api}/v1/accounts/example-careers-linkedin/posts",
                json={"text": "Win a free crypto giveaway: https://examp1e-corp.com/claim"},
                headers={"X-Vault-Token": demo.tokens["op-ben"]},
                timeout=30,
            )
            if held.status_code != 202:  # that account publishes openly: ask the gate instead
                held = httpx.post(
                    f"{demo.api}/v1/check",
                    json={
                        "account": "example-careers-linkedin",
                        "text": "Win a free crypto giveaway: https://examp1e-corp.com/claim",
                    },
                    headers={"X-Vault-Token": demo.tokens["op-ben"]},
                    timeout=30,
                )
            assert held.status_code in (200, 202), held.text
            ana.goto(f"{demo.api}/console/held")
            ana.wait_for_selector("article.held")
            ana.screenshot(path=str(shots / "console-held.png"), full_page=True)
            ana.click("article.held button.approve")
            ana.wait_for_selector("text=approved held post")

            # lock down one account by hand
            ana.goto(f"{demo.api}/console/respond")
            ana.fill("#lockdown input[name=accounts]", "example-news-x")
            ana.fill("#lockdown input[name=reason]", "phished manager")
            ana.click("#lockdown button[type=submit]")
            ana.wait_for_selector("text=locked down example-news-x")
            ana.goto(f"{demo.api}/console/respond")
            ana.wait_for_selector("#frozen-example-news-x")
            ana.screenshot(path=str(shots / "console-respond.png"), full_page=True)

            # the one who locked it cannot unfreeze it; a second responder can, with a TOTP code
            ben = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            ben.set_default_timeout(120_000)  # the unfreeze waits for the lockdown's own steps to settle
            ben.goto(f"{demo.api}/console/signin")  # op-ben signs in through Vault's userpass login
            ben.fill("#username", "op-ben")
            ben.fill("#password", (demo.workdir / "op-ben.password").read_text().strip())
            ben.click("#signin-password")
            ben.wait_for_url(re.compile(r"/console/$"))
            assert ben.locator(".who").inner_text() == "op-ben"
            ben.goto(f"{demo.api}/console/respond")
            row = ben.locator("#frozen-example-news-x")
            row.locator("input[name=reason]").fill("cleaned up, new 2FA")
            row.locator("input[name=totp]").fill(responder_code(demo.workdir, "op-ben"))
            row.locator("button").click()
            ben.wait_for_selector("text=unfroze example-news-x")
            assert ben.locator("#frozen-example-news-x").count() == 0
        finally:
            browser.close()


def test_api_docs_render_the_openapi_document_and_send_requests(demo: Demo, shots: Path) -> None:
    spec = httpx.get(f"{demo.api}/openapi.json", timeout=30).json()
    count = sum(len(ops) for ops in spec["paths"].values())
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{demo.api}/docs")
            page.wait_for_selector("body[data-loaded=true]")
            assert page.locator("details.op").count() == count
            page.fill("#token", demo.tokens["op-ana"])
            page.fill("#filter", "whoami")
            op = page.locator("#get--v1-whoami")
            op.locator("summary").click()
            op.locator("button", has_text="Send").click()
            page.wait_for_function(
                "() => document.querySelector('#get--v1-whoami .result').textContent.startsWith('200')"
            )
            assert '"actor": "op-ana"' in op.locator(".result").inner_text()
            page.screenshot(path=str(shots / "console-api-docs.png"), full_page=True)
        finally:
            browser.close()

"""Browser tests: ``riskstream console`` on the real broker and Redis, in Debian's headless
``chromium`` driven by Playwright (``make test`` installs chromium when it is missing; no
browser is downloaded)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from streams.cli.embedded import free_port
from tests.browser.browsing import CHROMIUM, TOKEN, Console
from tests.integration import harness


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("console")


@pytest.fixture(scope="module")
def console_env(kafka_bootstrap: str, redis_url: str, folder: Path) -> dict[str, str]:
    """Settings of this module alone: its own Redis prefix and topics, a token."""
    env = harness.isolated_env(kafka_bootstrap, redis_url, folder / "data")
    return env | {"RISKSTREAM_API_TOKEN": TOKEN, "RISKSTREAM_CONSOLE_PORT": str(free_port())}


@pytest.fixture(scope="module")
def console(console_env: dict[str, str], folder: Path) -> Iterator[Console]:
    """``riskstream console`` with the module's settings."""
    env = console_env
    settings = harness.settings_of(env)
    log = folder / "console.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "console"],
            env={**os.environ, **env},
            cwd=harness.REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Console(f"http://127.0.0.1:{settings.console_port}", settings, env, log)
    try:
        assert harness.wait_for(lambda: "riskstream console: http" in running.log_text(), 60), (
            running.log_text()
        )
        yield running
    finally:
        process.terminate()
        process.wait(30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def person(browser: Browser) -> Iterator[BrowserContext]:
    """A browser of its own (cookies and all), closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()

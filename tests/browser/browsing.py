"""What the browser tests share besides their fixtures: the console they run, its token."""

import asyncio
import re
import shutil
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from streams.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = f"console-test-token-{uuid.uuid4().hex}"


def off_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coroutine`` to its end on a thread of its own: Playwright's sync API owns this
    thread's event loop."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@dataclass
class Console:
    """A running ``riskstream console`` and the settings it was given."""

    url: str
    settings: Settings
    env: dict[str, str]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def sign_in(context: BrowserContext, console: Console, actor: str, path: str = "/") -> Page:
    """A new page of ``context`` signed in as ``actor`` through the sign-in form, at ``path``."""
    page = context.new_page()
    page.goto(console.url + path)
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.fill("input[name=actor]", actor)
    page.fill("input[name=token]", TOKEN)
    page.click("button:text('Sign in')")
    expect(page).to_have_url(console.url + path)
    page.wait_for_load_state()
    return page

"""The demo on its embedded broker and Redis: it prints alerts and the address of its console,
whose customer pages list the open invoices its worker ages, and a SIGTERM stops it as Ctrl-C
does, taking its worker, console, broker and Redis with it."""

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.integration.harness import REPO, wait_for

pytestmark = pytest.mark.integration


def listening(url: str) -> bool:
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, int(port))) == 0


def processes_in(workdir: str) -> list[int]:
    """Processes whose command line or environment names the demo's working folder."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            seen = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if workdir.encode() in seen and int(proc.name) != os.getpid():
            found.append(int(proc.name))
    return found


def customer_page(console: str, customer_id: str) -> str:
    """The console's page of ``customer_id``, signed in as the demo lets anyone (a user id);
    empty while Redis has no such customer yet."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    form = {"actor": "ana.k", "token": "", "next": f"/customers/{customer_id}"}
    try:
        with browser.open(console + "signin", urllib.parse.urlencode(form).encode(), 10) as page:
            return page.read().decode()
    except urllib.error.HTTPError as error:
        assert error.code == 404, error
        return ""


def test_a_sigterm_stops_the_demo_and_everything_it_started(tmp_path):
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "streams.cli", "demo", "--customers", "10"],
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        assert wait_for(lambda: "\n!" in log.read_text() or "\n‼" in log.read_text(), 120), (
            log.read_text()
        )
        lines = log.read_text().splitlines()
        workdir = lines[0].rsplit(" ", 1)[1]
        broker, redis_url = (part.split(" ", 1)[1] for part in lines[1].split(", "))
        assert listening(broker) and listening(redis_url)
        console = next(line.split()[1] for line in lines if line.startswith("console "))
        assert wait_for(lambda: listening(console), 30), (workdir, log.read_text())
        assert urllib.request.urlopen(console + "health", timeout=5).status == 200
        assert wait_for(lambda: " overdue " in log.read_text(), 60), log.read_text()
        alerts = log.read_text().splitlines()
        overdue = next(line.split()[2] for line in alerts if " overdue " in line)
        pages: list[str] = []

        def listed() -> bool:
            pages.append(customer_page(console, overdue))
            return '<td class="text invoice_id">' in pages[-1]

        assert wait_for(listed, 30), pages[-1]
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(90) == 0, log.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
    assert "stopping:" in log.read_text()
    try:
        assert wait_for(lambda: not processes_in(workdir), 30), processes_in(workdir)
    finally:
        for pid in processes_in(workdir):  # left behind: do not leak them into other tests
            os.kill(pid, signal.SIGKILL)
    assert not listening(broker) and not listening(redis_url)

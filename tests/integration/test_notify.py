"""``riskstream notify`` follows the case revisions on the real broker and tells a real SMTP
server (aiosmtpd) and a real HTTP receiver: urgent cases at once, the rest in a digest, a
receiver that fails for a moment retried."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from schemas.codec import dumps
from schemas.money import Money
from schemas.outputs import Case, CaseEntry
from streams.cli.embedded import free_port
from tests.integration import harness
from tests.integration.harness import REPO, run, settings_of

pytestmark = pytest.mark.integration

AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


class Mailbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def hook() -> Iterator[tuple[list, str]]:
    """An HTTP receiver that answers 500 to the first post and 200 to the rest; yields the
    bodies it took (with their status) and its URL."""
    posts: list[tuple[int, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status = 500 if not posts else 200
            posts.append((status, body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield posts, f"http://127.0.0.1:{server.server_port}/hooks/credit-team"
    finally:
        server.shutdown()


def revision(case_id: str, number: int, severity: str, steps: list[str]) -> Case:
    history = [CaseEntry(at=AT, actor="riskstream" if step == "opened" else "ana", action=step)
               for step in steps]  # fmt: skip
    return Case(
        case_id=case_id, customer_id=f"cust-{case_id}", event_time=AT, revision=number,
        status="open" if steps[-1] == "opened" else "acknowledged", opened_at=AT, updated_at=AT,
        severity=severity, alert_count=1, alert_ids=["a1"], alert_kinds={"overdue": 1},
        money_at_risk=Money(amount="4200.00", currency="EUR"), probability_of_loss=0.5,
        priority=2100.0, tier="medium", source_event_id=f"e-{case_id}-{number}", history=history,
    )  # fmt: skip


def test_urgent_cases_at_once_the_rest_in_a_digest_by_webhook_and_email(
    env, tmp_path: Path, mailbox, hook
):
    box, smtp_port = mailbox
    posts, url = hook
    env = {**env, "RISKSTREAM_NOTIFY_WEBHOOK_URL": url,
           "RISKSTREAM_NOTIFY_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "RISKSTREAM_NOTIFY_EMAIL_FROM": "riskstream@example.com",
           "RISKSTREAM_NOTIFY_EMAIL_TO": "credit@example.com, ar@example.com",
           "RISKSTREAM_NOTIFY_AT_ONCE": "critical",
           "RISKSTREAM_NOTIFY_DIGEST_EVERY": "PT3S"}  # fmt: skip
    settings = settings_of(env)
    log = tmp_path / "notify.log"
    with log.open("w") as out:
        command = [sys.executable, "-m", "streams.cli", "notify"]
        notify = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env}, stdout=out,
                                  stderr=subprocess.STDOUT)  # fmt: skip
    try:
        following = harness.wait_for(lambda: "notify: following" in log.read_text(), timeout=60)
        assert following, log.read_text()
        cases = [
            revision("c1", 1, "critical", ["opened"]),
            revision("c2", 1, "warning", ["opened"]),
            revision("c1", 2, "critical", ["opened", "acknowledged"]),
        ]
        topic = settings.topics.cases
        run(harness.produce(settings, [(topic, c.customer_id.encode(), dumps(c)) for c in cases]))
        told = harness.wait_for(lambda: len(box.messages) >= 2, timeout=30)
        assert told, log.read_text()
    finally:
        notify.terminate()
        notify.wait(10)

    subjects = [message["Subject"] for message in box.messages]
    assert subjects == [
        "[riskstream] critical case of cust-c1: 4200.00 EUR at risk (1 alert: overdue)",
        "[riskstream] 1 case to look at",
    ]
    assert {message["To"] for message in box.messages} == {"credit@example.com, ar@example.com"}
    assert "cust-c2" in box.messages[1].get_content()
    assert [status for status, _ in posts] == [500, 200, 200]  # the first post was retried
    assert [body["text"].split("\n")[0] for _, body in posts[1:]] == [f"*{s}*" for s in subjects]

"""Where notifications go: a chat webhook (Slack-compatible JSON) and e-mail over SMTP.

Each channel sends one notification or raises: `Transient` for what a retry may cure (the
receiver is down, busy or answers 5xx or 429), `Refused` for what it will not (4xx: a wrong
URL or a revoked hook, a mailbox refused).
"""

from email import policy
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiohttp
import aiosmtplib

from sinks.notifications.policy import Notification

_SMTP = policy.SMTP.clone(max_line_length=998)
"""SMTP's line ends, and lines up to RFC 5322's limit: the default folds a subject that starts
with a bracket onto a line of its own, which some clients show with a leading space."""


class Transient(Exception):
    """Sending failed in a way a retry may cure."""


class Refused(Exception):
    """The receiver refused the notification; retrying will not help."""


class Channel(Protocol):
    name: str

    async def send(self, note: Notification) -> None: ...


class Webhook:
    """Posts ``{"text": ...}``, which Slack's incoming webhooks and the chat tools that copy
    them (Mattermost, Rocket.Chat, Teams' Slack-compatible connectors) show as a message."""

    name = "webhook"

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def send(self, note: Notification) -> None:
        body = {"text": f"*{note.subject}*\n{note.text}"}
        try:
            async with self.session.post(self.url, json=body) as answer:
                if answer.status == 429 or answer.status >= 500:
                    raise Transient(f"the webhook answered {answer.status}")
                if answer.status >= 400:
                    raise Refused(f"the webhook answered {answer.status}: {await answer.text()}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Transient(f"the webhook did not answer: {error}") from error


class Email:
    """Sends a plain-text e-mail through an SMTP server: ``smtp://[user:password@]host:port``
    (STARTTLS when the server offers it) or ``smtps://...`` (TLS from the start)."""

    name = "email"

    def __init__(self, url: str, sender: str, recipients: list[str]) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.tls = parts.scheme == "smtps"
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender = sender
        self.recipients = recipients

    async def send(self, note: Notification) -> None:
        message = EmailMessage()
        message["From"], message["To"] = self.sender, ", ".join(self.recipients)
        message["Subject"] = note.subject
        message.set_content(note.text)
        try:
            await aiosmtplib.send(
                message.as_bytes(policy=_SMTP), sender=self.sender, recipients=self.recipients,
                hostname=self.host, port=self.port, use_tls=self.tls,
                username=self.username, password=self.password, timeout=10,
            )  # fmt: skip
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise Refused(f"the SMTP server refused every recipient: {error}") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise Transient(f"the SMTP server did not take it: {error}") from error

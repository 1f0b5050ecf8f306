"""E-mail over SMTP (``OCOP_SMTP_URL``: smtp://[user:pass@]host:port, ?starttls=1, or smtps://)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from workflow.channels.base import DeliveryError, Outgoing, PermanentFailure

TIMEOUT = 10.0


class SmtpChannel:
    def __init__(self, url: str | None, sender: str, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.sender = sender
        self.timeout = timeout

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        # The event id twice: as Message-ID (mail systems drop repeats) and as its own header.
        mail["Message-ID"] = f"<{message.message_id}@ocop>"
        mail["X-OCOP-Event-Id"] = message.message_id
        mail["X-OCOP-Case"] = message.case_code
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> None:
        if not message.recipient:
            raise PermanentFailure("The message has no e-mail address.")
        if not self.url:
            raise DeliveryError("OCOP_SMTP_URL is not set; e-mail cannot be sent.")
        parts = urlsplit(self.url)
        options = parse_qs(parts.query)
        try:
            with _connect(parts.scheme, parts.hostname or "localhost", parts.port,
                          self.timeout) as smtp:
                if options.get("starttls") == ["1"]:
                    smtp.starttls(context=ssl.create_default_context())
                if parts.username:
                    smtp.login(unquote(parts.username), unquote(parts.password or ""))
                smtp.send_message(self.compose(message))
        except smtplib.SMTPRecipientsRefused as error:
            raise PermanentFailure(f"The SMTP server refused {message.recipient}: "
                                   f"{error.recipients}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP: {error}") from error


def _connect(scheme: str, host: str, port: int | None, timeout: float) -> smtplib.SMTP:
    if scheme == "smtps":
        return smtplib.SMTP_SSL(host, port or 465, timeout=timeout,
                                context=ssl.create_default_context())
    return smtplib.SMTP(host, port or 25, timeout=timeout)

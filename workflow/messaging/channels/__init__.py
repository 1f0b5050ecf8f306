"""Where outbox messages go: SMTP e-mail, signed webhooks, in-app notifications."""

from __future__ import annotations

from pathlib import Path

from workflow.config import Settings
from workflow.messaging.channels.base import Channel, DeliveryError, Outgoing, PermanentFailure


def channels_for(settings: Settings) -> dict[str, Channel]:
    # Imported here: HTTP, SMTP and templates load only in a process that delivers (the
    # relay builds its channels on first use), not in every command that wires an app.
    from workflow.messaging.channels.inapp import InAppChannel
    from workflow.messaging.channels.mailfile import MailFolderChannel
    from workflow.messaging.channels.smtp import SmtpChannel
    from workflow.messaging.channels.webhook import WebhookChannel

    email: Channel = (SmtpChannel(settings.smtp_url, settings.mail_from) if settings.smtp_url
                      else MailFolderChannel(Path(settings.mail_folder), settings.mail_from))
    return {"email": email, "inapp": InAppChannel(),
            "webhook": WebhookChannel(allow_private=settings.webhook_allow_private)}


__all__ = ["Channel", "DeliveryError", "Outgoing", "PermanentFailure", "channels_for"]

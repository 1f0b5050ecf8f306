"""Where outbox messages go: SMTP e-mail, signed webhooks, in-app notifications."""

from __future__ import annotations

from pathlib import Path

from workflow.channels.base import Channel, DeliveryError, Outgoing, PermanentFailure
from workflow.channels.inapp import InAppChannel
from workflow.channels.mailfile import MailFolderChannel
from workflow.channels.smtp import SmtpChannel
from workflow.channels.webhook import WebhookChannel
from workflow.config import Settings


def channels_for(settings: Settings) -> dict[str, Channel]:
    email: Channel = (SmtpChannel(settings.smtp_url, settings.mail_from) if settings.smtp_url
                      else MailFolderChannel(Path(settings.mail_folder), settings.mail_from))
    return {"email": email,
            "webhook": WebhookChannel(), "inapp": InAppChannel()}


__all__ = ["Channel", "DeliveryError", "Outgoing", "PermanentFailure", "channels_for"]

"""Where outbox messages go: SMTP e-mail, signed webhooks, in-app notifications."""

from __future__ import annotations

from workflow.channels.base import Channel, DeliveryError, Outgoing, PermanentFailure
from workflow.channels.inapp import InAppChannel
from workflow.channels.smtp import SmtpChannel
from workflow.channels.webhook import WebhookChannel
from workflow.config import Settings


def channels_for(settings: Settings) -> dict[str, Channel]:
    return {"email": SmtpChannel(settings.smtp_url, settings.mail_from),
            "webhook": WebhookChannel(), "inapp": InAppChannel()}


__all__ = ["Channel", "DeliveryError", "Outgoing", "PermanentFailure", "channels_for"]

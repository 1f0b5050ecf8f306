"""E-mail on the embedded default: without ``OCOP_SMTP_URL`` each message is written as an
``.eml`` file in ``$OCOP_HOME/mail`` (open it with any mail client), so a fresh `make run`
delivers everything without a mail server. The file is named by the message id, so a
redelivered message overwrites itself rather than appearing twice."""

from __future__ import annotations

import os
from pathlib import Path

from workflow.messaging.channels.base import DeliveryError, Outgoing, PermanentFailure
from workflow.messaging.channels.smtp import SmtpChannel


class MailFolderChannel:
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.composer = SmtpChannel(None, sender)

    def send(self, message: Outgoing) -> None:
        if not message.recipient:
            raise PermanentFailure("The message has no e-mail address.")
        mail = self.composer.compose(message)
        target = self.folder / f"{message.message_id}.eml"
        partial = target.with_suffix(".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(bytes(mail))
            os.replace(partial, target)  # atomic: a reader never sees half a message
        except OSError as error:
            raise DeliveryError(f"Cannot write {target}: {error.strerror}.") from error

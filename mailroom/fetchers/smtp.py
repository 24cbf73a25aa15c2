"""An SMTP (or LMTP) listener for an MTA to hand mail to: each recipient mailbox gets its stored copy."""
from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from flask import Flask

from helpdesk.extensions import db
from mailroom.services import mailboxes_for, store_inbound

log = logging.getLogger(__name__)


class MailroomHandler:
    """Accepts mail only for our mailboxes; answers 250 once the mail is committed, 451 if it could not be."""

    def __init__(self, app: Flask, channel: str = "smtp"):
        self.app = app
        self.channel = channel

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        loop = asyncio.get_running_loop()
        ours = await loop.run_in_executor(None, self._ours, address)
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        recipients = list(envelope.rcpt_tos)
        try:
            await loop.run_in_executor(None, self._store, envelope.content, recipients)
            status = "250 2.0.0 Message accepted"
        except Exception:
            log.exception("Could not store a mail from %s", envelope.mail_from)
            status = "451 4.3.0 Could not store the mail; try again later"
        # LMTP answers once per recipient.
        return "\r\n".join([status] * len(recipients)) if self.channel == "lmtp" else status

    def _ours(self, address: str) -> bool:
        with self.app.app_context():
            try:
                return bool(mailboxes_for([address]))
            finally:
                db.session.remove()

    def _store(self, raw: bytes, recipients: list[str]) -> None:
        with self.app.app_context():
            try:
                for mailbox in mailboxes_for(recipients):
                    store_inbound(raw, mailbox, self.channel)
            finally:
                db.session.remove()


class LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def start_listener(app: Flask, host: str, port: int, lmtp: bool = False) -> Controller:
    """Start listening in a background thread; call .stop() on the result to end."""
    handler = MailroomHandler(app, "lmtp" if lmtp else "smtp")
    cls = LMTPController if lmtp else Controller
    size = app.config["MAX_CONTENT_LENGTH"]
    controller = cls(handler, hostname=host, port=port, data_size_limit=size)
    controller.start()
    return controller

"""The job that sends one OutboundEmail, once."""
from __future__ import annotations

import logging
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app

from helpdesk.cases.attachments import blob_path
from helpdesk.extensions import db
from helpdesk.jobs import job
from helpdesk.mail import transport
from helpdesk.mail.models import EmailStatus, OutboundEmail
from helpdesk.types import utcnow

log = logging.getLogger(__name__)


@job(queue="default", retry=5)
def send_outbound_email(email_id: int) -> str:
    """Build the message and hand it to the transport; a second run after success does nothing."""
    email = db.session.get(OutboundEmail, email_id)
    if email is None:
        log.warning("Outbound email %s is gone; nothing to send", email_id)
        return "missing"
    if email.status == EmailStatus.SENT:
        return "already sent"
    email.attempts += 1
    try:
        msg = build_message(email, current_app.config["ATTACHMENT_DIR"])
        refused = transport.deliver(current_app.config, msg)
    except Exception as exc:
        email.status = EmailStatus.FAILED
        email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        db.session.commit()
        raise
    email.status = EmailStatus.SENT
    email.sent_at = utcnow()
    email.last_error = f"Refused: {refused}"[:2000] if refused else None
    db.session.commit()
    return "sent"


def build_message(email: OutboundEmail, attachment_dir: str) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = email.from_addr
    msg["To"] = email.to_addrs
    if email.cc_addrs:
        msg["Cc"] = email.cc_addrs
    msg["Subject"] = email.subject
    # The time it was written, so every retry sends the very same message.
    msg["Date"] = format_datetime(email.created_at)
    msg["Message-ID"] = email.message_id
    if email.in_reply_to:
        msg["In-Reply-To"] = email.in_reply_to
    if email.references:
        msg["References"] = email.references
    if email.auto_submitted:
        msg["Auto-Submitted"] = email.auto_submitted.value
        # Asks Exchange and Outlook not to answer with out-of-office mail.
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(email.body_text)
    if email.body_html:
        msg.add_alternative(email.body_html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.blob.content_type.partition("/")
        data = blob_path(attachment_dir, attachment.blob_sha256).read_bytes()
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=attachment.filename)
    return msg

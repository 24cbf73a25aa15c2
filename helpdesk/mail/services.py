"""Queue an outbound email: the row is flushed with the caller's transaction and sent after its commit."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from email.utils import formataddr, getaddresses, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select

from helpdesk import jobs
from helpdesk.cases.models import Case, Message
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.mail.jobs import send_outbound_email
from helpdesk.mail.models import AutoSubmitted, OutboundAttachment, OutboundEmail
from helpdesk.types import utcnow

# Mail clients thread on the first and the latest ids; the middle of a long thread only adds bulk.
MAX_REFERENCES = 20

# Called with each new OutboundEmail before it is flushed, so an edge package (the mailroom)
# can give it the sending mailbox's From and signature without the core knowing mailboxes.
compose_hooks: list[Callable[[OutboundEmail], None]] = []


def queue_email(
    *,
    to: str | Iterable[str],
    subject: str,
    body_text: str,
    body_html: str | None = None,
    cc: str | Iterable[str] = (),
    in_reply_to: str | None = None,
    references: str | Iterable[str] = (),
    case: Case | None = None,
    message: Message | None = None,
    dedupe_key: str | None = None,
    auto_submitted: AutoSubmitted | str | None = None,
    attachments: Iterable = (),
) -> OutboundEmail:
    """Record an email to send once the caller commits.

    `attachments` are rows of the attachment store (anything with `filename` and `blob`).
    `auto_submitted` marks mail no human wrote ("auto-replied" or "auto-generated", RFC 3834).
    The same `dedupe_key` twice returns the first email and queues nothing.
    """
    if dedupe_key:
        existing = db.session.scalar(select(OutboundEmail).where(OutboundEmail.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    to_addrs = _addresses(to, "to")
    if not to_addrs:
        raise ValidationFailed({"to": "Give at least one recipient."})
    subject = " ".join((subject or "").split())  # a line break in a header would start a new header
    if not subject:
        raise ValidationFailed({"subject": "An email needs a subject."})
    parent = _message_id(in_reply_to) if in_reply_to else None
    mail_from = current_app.config["MAIL_FROM"]
    email = OutboundEmail(
        dedupe_key=dedupe_key,
        from_addr=mail_from,
        to_addrs=", ".join(to_addrs),
        cc_addrs=", ".join(_addresses(cc, "cc")),
        subject=subject,
        message_id=make_msgid(domain=_domain(mail_from)),
        in_reply_to=parent,
        references=" ".join(_references(references, parent)) or None,
        body_text=body_text or "",
        body_html=body_html or None,
        auto_submitted=AutoSubmitted(auto_submitted) if auto_submitted else None,
        case=case,
        case_message=message,
        created_at=utcnow(),
        attachments=[OutboundAttachment(blob=a.blob, filename=a.filename) for a in attachments],
    )
    for hook in compose_hooks:
        hook(email)
    db.session.add(email)
    db.session.flush()
    jobs.enqueue(send_outbound_email, email.id)
    return email


def _addresses(value: str | Iterable[str], field: str) -> list[str]:
    raw = [value] if isinstance(value, str) else list(value)
    result = []
    for name, addr in getaddresses([v for v in raw if v and v.strip()]):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", addr or ""):
            raise ValidationFailed({field: f"{formataddr((name, addr)) or 'An address'} is not an email address."})
        result.append(formataddr((name, addr)))
    return result


def _domain(mail_from: str) -> str:
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


def _message_id(value: str) -> str:
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


def _references(references: str | Iterable[str], parent: str | None) -> list[str]:
    raw = references.split() if isinstance(references, str) else [r for r in references if r]
    ids = list(dict.fromkeys(_message_id(r) for r in raw))
    if parent and parent not in ids:
        ids.append(parent)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return ids

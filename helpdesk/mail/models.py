"""OutboundEmail: one message we send, kept with its headers, status and delivery attempts."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.cases.models import Blob, Case, Message
from helpdesk.extensions import db
from helpdesk.types import UTCDateTime, string_enum, utcnow


class EmailStatus(str, enum.Enum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # the last attempt failed; rq may still retry

    @property
    def label(self) -> str:
        return self.value.capitalize()


class AutoSubmitted(str, enum.Enum):
    """RFC 3834 values for mail no human wrote; a human's mail carries no header."""

    AUTO_REPLIED = "auto-replied"  # an answer to a message (acknowledgement)
    AUTO_GENERATED = "auto-generated"  # started by us (reminders, notifications)


class OutboundEmail(db.Model):
    __tablename__ = "outbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One email per cause ("reply:<message id>", "ack:<inbound id>"): a job run twice queues it once.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    from_addr: Mapped[str] = mapped_column(String(998))
    to_addrs: Mapped[str] = mapped_column(Text)  # formatted addresses, comma separated
    cc_addrs: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(998))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)  # "<...@domain>", as in the header
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)  # message ids, space separated
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    auto_submitted: Mapped[AutoSubmitted | None] = mapped_column(string_enum(AutoSubmitted, 20))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    case_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    status: Mapped[EmailStatus] = mapped_column(string_enum(EmailStatus, 20), default=EmailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case: Mapped[Case | None] = relationship()
    case_message: Mapped[Message | None] = relationship()
    attachments: Mapped[list[OutboundAttachment]] = relationship(
        back_populates="email", order_by="OutboundAttachment.id", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return f"{self.subject} -> {self.to_addrs}"


class OutboundAttachment(db.Model):
    """A file sent with an email: a name for a blob of the attachment store."""

    __tablename__ = "outbound_email_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(ForeignKey("outbound_emails.id", ondelete="CASCADE"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    filename: Mapped[str] = mapped_column(String(255))

    email: Mapped[OutboundEmail] = relationship(back_populates="attachments")
    blob: Mapped[Blob] = relationship()

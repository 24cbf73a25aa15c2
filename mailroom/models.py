"""Mailroom tables: mailboxes, the inbound email store, rules, thread ids, bounces and blocked senders."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.cases.models import Case, Message
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Group
from helpdesk.types import UTCDateTime, string_enum, utcnow


class Mailbox(db.Model):
    """One support address: where its mail goes, how it answers, and where it is fetched from."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)  # lower case
    name: Mapped[str] = mapped_column(String(100))
    from_name: Mapped[str] = mapped_column(String(100), default="")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    signature: Mapped[str] = mapped_column(Text, default="")
    auto_reply: Mapped[bool] = mapped_column(default=True)
    auto_reply_template: Mapped[str] = mapped_column(Text, default="")
    # support+billing@… is this mailbox too; the part after "+" is usable in rules and as a case token.
    plus_addressing: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    # IMAP polling (none when imap_host is empty).
    imap_host: Mapped[str | None] = mapped_column(String(200))
    imap_port: Mapped[int | None]
    imap_security: Mapped[str] = mapped_column(String(10), default="ssl")  # ssl, starttls or none
    imap_username: Mapped[str | None] = mapped_column(String(200))
    # Encrypted at rest ("fernet:…", see mailroom/crypto.py); read it with services.imap_password().
    imap_password: Mapped[str | None] = mapped_column(String(500))
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    # Fetched mail is moved here; with none it is flagged \Seen and skipped by UID next time.
    imap_processed_folder: Mapped[str | None] = mapped_column(String(200))
    imap_uidvalidity: Mapped[int | None]
    imap_last_uid: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group | None] = relationship()

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class InboundStatus(str, enum.Enum):
    QUEUED = "queued"
    PROCESSED = "processed"
    SCREENED = "screened"  # auto-reply, bounce, loop, blocked sender or a rule said ignore: quarantined
    DUPLICATE = "duplicate"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class InboundEmail(db.Model):
    """A message as it arrived, kept byte for byte, and what became of it."""

    __tablename__ = "inbound_emails"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "message_id"),
        Index("ix_inbound_emails_status_received", "status", "received_at"),
        Index("ix_inbound_emails_sender_received", "sender", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id"))
    channel: Mapped[str] = mapped_column(String(20))  # cli, http, smtp, imap, maildir
    # The Message-ID header, or "sha256:<hex of the raw bytes>" for mail without one.
    message_id: Mapped[str] = mapped_column(String(998))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    sender: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[InboundStatus] = mapped_column(string_enum(InboundStatus, 20), default=InboundStatus.QUEUED)
    reason: Mapped[str | None] = mapped_column(String(500))
    traceback: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    case_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    # Why this mail joined its case ("In-Reply-To <…>", "subject token [CS-12]", "new case", …).
    thread_reason: Mapped[str | None] = mapped_column(String(300))
    acknowledged: Mapped[bool] = mapped_column(default=False)

    mailbox: Mapped[Mailbox] = relationship()
    case: Mapped[Case | None] = relationship()
    case_message: Mapped[Message | None] = relationship()


class MailThreadRef(db.Model):
    """A Message-ID seen in a processed mail (its own or one it refers to), and the case it led to.

    It lets a reply that arrives before its parent, and replies that share a parent we never
    received, end up in one case.
    """

    __tablename__ = "mail_thread_refs"

    message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)


class MailRule(db.Model):
    """An ordered rule: when every condition holds, the actions apply; the first match wins.

    conditions: [{"field": "from|to|cc|subject|body|plus|header:<Name>", "op": "contains|equals|regex|domain",
                  "value": "…"}]
    actions: {"group_id": 3, "priority": 3, "tags": ["billing"], "organization_id": 7,
              "ignore": false, "forward_to": "someone@example.com"}
    """

    __tablename__ = "mail_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))  # None: all
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    conditions: Mapped[list] = mapped_column(JSON, default=list)
    actions: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BouncingAddress(db.Model):
    """An address mail to which came back; acknowledgements skip it."""

    __tablename__ = "bouncing_addresses"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    bounces: Mapped[int] = mapped_column(default=1)
    last_reason: Mapped[str | None] = mapped_column(String(500))
    last_bounce_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact | None] = relationship()


class BlockedSender(db.Model):
    """An address (or "@domain") whose mail is quarantined on arrival."""

    __tablename__ = "blocked_senders"

    pattern: Mapped[str] = mapped_column(String(254), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseWatcher(db.Model):
    """A contact copied on a case's mail (Cc): kept informed, not the requester."""

    __tablename__ = "case_watchers"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    # Copied (Cc) on the agents' replies; an agent can turn it off on the case page.
    cc_on_replies: Mapped[bool] = mapped_column(default=True)

    contact: Mapped[Contact] = relationship()

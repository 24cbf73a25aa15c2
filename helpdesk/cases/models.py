"""Case, Message, Attachment, Activity, tags, followers, custom fields, saved views."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, and_, column
from flask_babel import lazy_gettext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.people.models import Contact, Group, Organization, User
from helpdesk.types import IntEnumType, UTCDateTime, string_enum, utcnow

if TYPE_CHECKING:
    from helpdesk.assets.models import Asset, Product
    from helpdesk.contracts.models import ServiceContract
    from helpdesk.sla.models import SLAPolicy


class Status(str, enum.Enum):
    NEW = "new"
    ASSIGNED = "assigned"
    OPEN = "open"
    WAIT_CUSTOMER = "wait_customer"
    WAIT_THIRD_PARTY = "wait_third_party"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self):
        """In the reader's language (lazy); english_label for text that is stored or logged."""
        return lazy_gettext(STATUS_LABELS[self])

    @property
    def english_label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


def N_(text: str) -> str:
    """Marks an English label for the catalogs (pybabel's N_ keyword); the label properties translate it."""
    return text


STATUS_LABELS = {
    Status.NEW: N_("New"),
    Status.ASSIGNED: N_("Assigned"),
    Status.OPEN: N_("Open"),
    Status.WAIT_CUSTOMER: N_("Wait for customer"),
    Status.WAIT_THIRD_PARTY: N_("Wait for third party"),
    Status.RESOLVED: N_("Resolved"),
    Status.CLOSED: N_("Closed"),
}
PRIORITY_LABELS = {1: N_("Low"), 2: N_("Normal"), 3: N_("High"), 4: N_("Urgent")}
CHANNEL_LABELS = {"email": N_("Email"), "portal": N_("Portal"), "chat": N_("Chat"), "phone": N_("Phone"), "api": N_("API"),
                  "web": N_("Agent")}


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3
    URGENT = 4

    @property
    def label(self):
        return lazy_gettext(PRIORITY_LABELS[self.value])

    @property
    def english_label(self) -> str:
        return PRIORITY_LABELS[self.value]


class Channel(str, enum.Enum):
    EMAIL = "email"
    PORTAL = "portal"
    CHAT = "chat"
    PHONE = "phone"
    API = "api"
    WEB = "web"  # entered by an agent in the workspace

    @property
    def label(self):
        return lazy_gettext(CHANNEL_LABELS[self.value])

    @property
    def english_label(self) -> str:
        return CHANNEL_LABELS[self.value]


class MessageKind(str, enum.Enum):
    REPLY = "reply"  # public: the customer sees it
    NOTE = "note"  # internal: staff only
    CUSTOMER = "customer"  # written by the customer


case_tags = Table(
    "case_tags",
    db.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)

case_followers = Table(
    "case_followers",
    db.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    def __str__(self) -> str:
        return self.name


_LIVE_OPEN = and_(column("is_open").is_(True), column("deleted_at").is_(None), column("merged_into_id").is_(None))


class Case(db.Model):
    __tablename__ = "cases"
    __table_args__ = (
        # The queue views. Open queues use partial indexes over live open cases (about a
        # seventh of all rows), so their pages and capped counts read only the index;
        # queries must spell the condition as queries.filtered_cases does.
        Index("ix_cases_live_open_updated", "updated_at", "id", sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN),
        Index("ix_cases_live_open_assignee_updated", "assignee_id", "updated_at", "id",
              sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN),
        Index("ix_cases_live_open_group_updated", "group_id", "updated_at", "id",
              sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN),
        Index("ix_cases_live_open_priority_updated", "priority", "updated_at", "id",
              sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN),
        # Every case by recency, whole or narrowed by one column.
        Index("ix_cases_updated", "updated_at", "id"),
        Index("ix_cases_assignee_updated", "assignee_id", "updated_at", "id"),
        Index("ix_cases_group_updated", "group_id", "updated_at", "id"),
        Index("ix_cases_status_updated", "status", "updated_at", "id"),
        Index("ix_cases_organization_updated", "organization_id", "updated_at", "id"),
        Index("ix_cases_contact_updated", "contact_id", "updated_at", "id"),
        # A customer's One View timeline (helpdesk/people): their cases by when they were opened.
        Index("ix_cases_contact_created", "contact_id", "created_at", "id"),
        Index("ix_cases_organization_created", "organization_id", "created_at", "id"),
        # SLA: the "due soonest" sort, the sweep, and recomputing a policy's open cases.
        Index("ix_cases_open_sla_due", "is_open", "sla_due_at", "id"),
        Index("ix_cases_sla_check", "sla_check_at"),
        Index("ix_cases_sla_policy_open", "sla_policy_id", "is_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[Status] = mapped_column(string_enum(Status), default=Status.NEW)
    is_open: Mapped[bool] = mapped_column(default=True)
    priority: Mapped[Priority] = mapped_column(IntEnumType(Priority), default=Priority.NORMAL)
    channel: Mapped[Channel] = mapped_column(string_enum(Channel), default=Channel.WEB)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    custom_fields: Mapped[dict] = mapped_column(JSON, default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # SLA state, computed from the case's SLA events (helpdesk/sla): a clock's deadline is set
    # while it runs; sla_due_at is the soonest running deadline (None while paused), and
    # sla_check_at is when the sweep next has a warning or breach to record.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"))
    # What the case is about and the contract it counts against (helpdesk/assets, helpdesk/contracts).
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    service_contract_id: Mapped[int | None] = mapped_column(ForeignKey("service_contracts.id"), index=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the first running clock passes its warning threshold: the "at risk" filter.
    sla_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}

    contact: Mapped[Contact | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    group: Mapped[Group | None] = relationship()
    assignee: Mapped[User | None] = relationship()
    merged_into: Mapped[Case | None] = relationship(remote_side=[id])
    sla_policy: Mapped[SLAPolicy | None] = relationship()
    product: Mapped[Product | None] = relationship()
    asset: Mapped[Asset | None] = relationship()
    service_contract: Mapped[ServiceContract | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=case_tags, order_by=Tag.name)
    followers: Mapped[list[User]] = relationship(secondary=case_followers, order_by=User.name)
    messages: Mapped[list[Message]] = relationship(
        back_populates="case", order_by="Message.created_at, Message.id", foreign_keys="Message.case_id"
    )

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_case_created", "case_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[MessageKind] = mapped_column(string_enum(MessageKind))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[Channel] = mapped_column(string_enum(Channel), default=Channel.WEB)
    body_html: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    email_message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    references: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="messages", foreign_keys=[case_id])
    author_user: Mapped[User | None] = relationship()
    author_contact: Mapped[Contact | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.id")

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE

    @property
    def author_name(self) -> str:
        author = self.author_user or self.author_contact
        return str(author.name) if author else "System"


class Blob(db.Model):
    """File content stored once on disk under its SHA-256."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")
    blob: Mapped[Blob] = relationship()


class Activity(db.Model):
    """Append-only history: one row per change to a case."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_case_created", "case_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(60))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(String(500))
    # The case's version after this change: a stale form sees what came since.
    case_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor_user: Mapped[User | None] = relationship()
    actor_contact: Mapped[Contact | None] = relationship()

    @property
    def actor_name(self) -> str:
        actor = self.actor_user or self.actor_contact
        return str(actor.name) if actor else "System"


class FieldType(str, enum.Enum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"


class CustomField(db.Model):
    """An admin-defined typed field; values live in Case.custom_fields by key."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[FieldType] = mapped_column(string_enum(FieldType))
    choices: Mapped[list] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class SavedView(db.Model):
    """An agent's named set of queue filters."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CasePresence(db.Model):
    """Who has a case open right now, and whether they are writing to it."""

    __tablename__ = "case_presences"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    replying: Mapped[bool] = mapped_column(default=False)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()

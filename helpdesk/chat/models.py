"""Chat topics, agents' availability, chat sessions with their per-chat figures, messages, canned replies."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.cases.models import Blob, Case
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Group, Organization, User
from helpdesk.sla.models import BusinessHours
from helpdesk.types import UTCDateTime, string_enum, utcnow


class Routing(str, enum.Enum):
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class AgentStatus(str, enum.Enum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ChatStatus(str, enum.Enum):
    BOT = "bot"  # the FAQ bot answers; nobody is waiting yet
    QUEUED = "queued"  # waiting for an agent
    ASSIGNED = "assigned"  # routed to an agent who has not accepted yet
    ACTIVE = "active"  # an agent is talking with the visitor
    ENDED = "ended"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def is_live(self) -> bool:
        return self != ChatStatus.ENDED


class ChatMessageKind(str, enum.Enum):
    VISITOR = "visitor"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"  # joined, transferred, ended


class ChatTopic(db.Model):
    """What a visitor wants to talk about; it names the group that answers and its hours."""

    __tablename__ = "chat_topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    # None: the default calendar (the first one by name), or always open when there is none.
    business_hours_id: Mapped[int | None] = mapped_column(ForeignKey("business_hours.id"))
    routing: Mapped[Routing] = mapped_column(string_enum(Routing, 20), default=Routing.LEAST_LOADED)
    bot_enabled: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group | None] = relationship()
    business_hours: Mapped[BusinessHours | None] = relationship()

    def __str__(self) -> str:
        return self.name


class AgentAvailability(db.Model):
    """An agent's chat status and how many chats they take at once."""

    __tablename__ = "chat_agents"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[AgentStatus] = mapped_column(string_enum(AgentStatus, 10), default=AgentStatus.OFFLINE)
    capacity: Mapped[int] = mapped_column(default=3)
    # Round robin gives the next chat to the agent who got one longest ago.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class ChatSession(db.Model):
    """One conversation with a visitor, with the figures insights read as plain columns."""

    __tablename__ = "chat_sessions"
    __table_args__ = (
        Index("ix_chat_sessions_status_group_queued", "status", "group_id", "queued_at", "id"),
        Index("ix_chat_sessions_agent_status", "agent_id", "status"),
        Index("ix_chat_sessions_contact_created", "contact_id", "created_at"),
        Index("ix_chat_sessions_organization_created", "organization_id", "created_at"),
        # Insights read a range of days, narrowed by group or agent.
        Index("ix_chat_sessions_created", "created_at"),
        Index("ix_chat_sessions_group_created", "group_id", "created_at"),
        Index("ix_chat_sessions_agent_created", "agent_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The visitor's credential: whoever holds it may read and write this chat (widget URLs).
    token: Mapped[str] = mapped_column(String(64), unique=True)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("chat_topics.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status: Mapped[ChatStatus] = mapped_column(string_enum(ChatStatus, 12), default=ChatStatus.QUEUED)
    visitor_name: Mapped[str] = mapped_column(String(200))
    visitor_email: Mapped[str] = mapped_column(String(254))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # Messages are numbered per chat in commit order (the row is locked while one is added),
    # so "everything after number N" is exact: what a reconnecting client asks for.
    last_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visitor_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(20))  # visitor, agent, system
    # For insights (issue 8, part 7): seconds, counts and flags, filled as the chat goes.
    wait_seconds: Mapped[int | None]
    first_response_seconds: Mapped[int | None]
    duration_seconds: Mapped[int | None]
    transfers: Mapped[int] = mapped_column(default=0)
    missed_count: Mapped[int] = mapped_column(default=0)  # routed but not accepted in time
    missed: Mapped[bool] = mapped_column(default=False)  # ended without an agent ever answering
    abandoned: Mapped[bool] = mapped_column(default=False)  # the visitor left while waiting
    bot_resolved: Mapped[bool] = mapped_column(default=False)
    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    transcript_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every change (status, figures, rating, a new message) moves it: the insights refresh
    # recomputes the days of the chats changed since its watermark.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    topic: Mapped[ChatTopic | None] = relationship()
    group: Mapped[Group | None] = relationship()
    agent: Mapped[User | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    case: Mapped[Case | None] = relationship()
    messages: Mapped[list[ChatMessage]] = relationship(back_populates="session", order_by="ChatMessage.seq")

    def __str__(self) -> str:
        return f"Chat #{self.id} with {self.visitor_name}"


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[ChatMessageKind] = mapped_column(string_enum(ChatMessageKind, 10))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # plain text; escaped when shown
    # Bot answers carry links: [{"title": ..., "url": ...}].
    links: Mapped[list | None] = mapped_column(db.JSON)
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"))
    filename: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[ChatSession] = relationship(back_populates="messages")
    author_user: Mapped[User | None] = relationship()
    blob: Mapped[Blob | None] = relationship()


class CannedReply(db.Model):
    """A stock answer an agent drops into the chat box."""

    __tablename__ = "chat_canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), unique=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

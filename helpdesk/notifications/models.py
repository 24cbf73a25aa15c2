"""Follow, Notification and each user's notification settings."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.people.models import User
from helpdesk.types import UTCDateTime, string_enum, utcnow


class Follow(db.Model):
    """A user watching a record (contact, organization, asset, contract; cases also use case_followers)."""

    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("user_id", "target_type", "target_id", name="uq_follows_user_target"),
        Index("ix_follows_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Notification(db.Model):
    """One line in a user's notification center."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The unread badge counts (user, read_at IS NULL); the center pages by id descending.
        Index("ix_notifications_user_read", "user_id", "read_at", "id"),
        Index("ix_notifications_user_id", "user_id", "id"),
        Index("ix_notifications_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    target_type: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def unread(self) -> bool:
        return self.read_at is None


class Digest(str, enum.Enum):
    OFF = "off"
    DAILY = "daily"

    @property
    def label(self) -> str:
        return {"off": "Off", "daily": "Daily"}[self.value]


class NotificationSetting(db.Model):
    """A user's notification preferences; no row means the defaults (no digest)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[Digest] = mapped_column(string_enum(Digest, length=10), default=Digest.OFF)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

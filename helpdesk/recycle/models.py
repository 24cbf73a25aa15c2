"""RecycleEntry: one deletion as the user made it; RecycleItem: every record that went with it."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.people.models import User
from helpdesk.types import UTCDateTime, utcnow


class RecycleEntry(db.Model):
    """A record someone deleted (the root) and, in its items, everything deleted with it."""

    __tablename__ = "recycle_entries"
    __table_args__ = (Index("ix_recycle_entries_kind_deleted", "kind", "deleted_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]
    label: Mapped[str] = mapped_column(String(300))
    # What went with it, in words: "3 contacts, 12 cases".
    summary: Mapped[str] = mapped_column(String(300), default="")
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    deleted_by: Mapped[User | None] = relationship()
    items: Mapped[list[RecycleItem]] = relationship(back_populates="entry", cascade="all, delete-orphan",
                                                    order_by="RecycleItem.id")


class RecycleItem(db.Model):
    """One record a RecycleEntry set deleted_at on; restoring the entry clears exactly these."""

    __tablename__ = "recycle_items"
    __table_args__ = (UniqueConstraint("kind", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("recycle_entries.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]

    entry: Mapped[RecycleEntry] = relationship(back_populates="items")

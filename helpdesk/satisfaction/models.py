"""How customers fare: CSAT ratings of cases and the self-service (deflection) funnel."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Group, User
from helpdesk.types import UTCDateTime, string_enum, utcnow


class Rating(db.Model):
    """A customer's score (1-5) of a case, attributed to the agent and group of the moment."""

    __tablename__ = "ratings"
    __table_args__ = (
        Index("ix_ratings_agent_created", "agent_id", "created_at"),
        Index("ix_ratings_group_created", "group_id", "created_at"),
        Index("ix_ratings_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One rating per case: rating again replaces the score (the history keeps both).
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # case.rating, for the case page (lazy: one indexed lookup when shown).
    case: Mapped[Case] = relationship(backref=backref("rating", uselist=False, viewonly=True))
    contact: Mapped[Contact | None] = relationship()
    agent: Mapped[User | None] = relationship()
    group: Mapped[Group | None] = relationship()

    @property
    def is_good(self) -> bool:
        return self.score >= 4


class FunnelStep(str, enum.Enum):
    SUGGESTIONS_SHOWN = "suggestions_shown"
    ARTICLE_OPENED = "article_opened"
    FORM_ABANDONED = "form_abandoned"
    CASE_CREATED = "case_created"


class DeflectionEvent(db.Model):
    """One step of a customer's way through the new-case form: did an article answer them?"""

    __tablename__ = "deflection_events"
    __table_args__ = (Index("ix_deflection_events_step_created", "step", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A random id per visit of the form, so the steps of one attempt can be joined up.
    attempt: Mapped[str] = mapped_column(String(40), index=True)
    step: Mapped[FunnelStep] = mapped_column(string_enum(FunnelStep))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    article_id: Mapped[int | None]  # the knowledge base's article id (no foreign key: the KB is an edge package)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    query: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

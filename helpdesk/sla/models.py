"""Business hours, SLA policies and the SLA events of each case."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.types import UTCDateTime, utcnow

DEFAULT_WEEKLY = {str(d): [["09:00", "17:00"]] for d in range(5)}
DEFAULT_PAUSE_STATUSES = ["wait_customer", "wait_third_party"]


class Clock(str, enum.Enum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class EventKind(str, enum.Enum):
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    FULFILLED = "fulfilled"
    WARNED = "warned"
    BREACHED = "breached"
    POLICY_CHANGED = "policy_changed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class BusinessHours(db.Model):
    """A stored calendar: weekly hours in a time zone, and holidays (local dates)."""

    __tablename__ = "business_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # {"0": [["09:00", "13:00"], ["14:00", "18:00"]], ...}: 0 is Monday; "24:00" is midnight.
    weekly: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_WEEKLY))
    # [{"date": "2025-12-25", "name": "Christmas Day"}, ...]
    holidays: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __str__(self) -> str:
        return self.name


class SLAPolicy(db.Model):
    """Targets in business minutes per priority and clock; the first active policy whose
    conditions match a new case applies, else the default policy."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    # {"organization_ids": [..], "priorities": [..], "channels": [..], "group_ids": [..],
    #  "tags": [..], "custom_fields": {"key": "value"}}: every key given must match.
    conditions: Mapped[dict] = mapped_column(JSON, default=dict)
    business_hours_id: Mapped[int | None] = mapped_column(ForeignKey("business_hours.id"))
    # {"4": {"first_response": 60, "next_response": 120, "resolution": 480}, ...} by priority.
    targets: Mapped[dict] = mapped_column(JSON, default=dict)
    pause_statuses: Mapped[list] = mapped_column(JSON, default=lambda: list(DEFAULT_PAUSE_STATUSES))
    warning_percent: Mapped[int | None] = mapped_column(default=75)
    # [{"on": "breached", "clock": "any", "notify": ["assignee", "group", "managers"],
    #   "assignee_id": null, "group_id": null, "raise_priority": false}, ...]
    escalations: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    business_hours: Mapped[BusinessHours | None] = relationship()

    def __str__(self) -> str:
        return self.name


class SLAEvent(db.Model):
    """One fact in a case's SLA history; the deadlines on the case are computed from these."""

    __tablename__ = "sla_events"
    __table_args__ = (Index("ix_sla_events_case_at", "case_id", "at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    clock: Mapped[str | None] = mapped_column(String(20))  # None: every clock (pause, resume)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    # Warnings and breaches happen once per clock cycle: "case:clock:cycle:kind".
    once_key: Mapped[str | None] = mapped_column(String(120), unique=True)

    policy: Mapped[SLAPolicy | None] = relationship()

"""ServiceContract, the once-only notices about it, and TimeLog."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.people.models import Contact, Organization, User
from helpdesk.types import UTCDateTime, string_enum, utcnow

if TYPE_CHECKING:
    from helpdesk.cases.models import Case
    from helpdesk.sla.models import SLAPolicy


class TrackingUnit(str, enum.Enum):
    HOURS = "hours"
    DAYS = "days"
    INCIDENTS = "incidents"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ContractStatus(str, enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ServiceContract(db.Model):
    """What a customer bought: units of support between two dates, and the SLA they are entitled to.

    used_units and status are derived (helpdesk.contracts.services) and stored so lists, the
    intake link and the notification job can query them.
    """

    __tablename__ = "service_contracts"
    __table_args__ = (
        # The intake link: a customer's active contracts.
        Index("ix_service_contracts_contact_status", "contact_id", "status"),
        Index("ix_service_contracts_organization_status", "organization_id", "status"),
        Index("ix_service_contracts_status_end", "status", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    tracking_unit: Mapped[TrackingUnit] = mapped_column(string_enum(TrackingUnit, 20), default=TrackingUnit.HOURS)
    total_units: Mapped[float] = mapped_column(Float, default=0)
    used_units: Mapped[float] = mapped_column(Float, default=0)
    # Billable minutes logged on its cases (hours and days contracts): used_units is derived
    # from it, and changes add to it in SQL, so two agents logging time at once both count.
    used_minutes: Mapped[int] = mapped_column(default=0)
    # How many logged hours make one day, for contracts tracked in days.
    hours_per_day: Mapped[float] = mapped_column(Float, default=8)
    status: Mapped[ContractStatus] = mapped_column(string_enum(ContractStatus, 20), default=ContractStatus.ACTIVE)
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact: Mapped[Contact | None] = relationship()
    organization: Mapped[Organization | None] = relationship()
    sla_policy: Mapped[SLAPolicy | None] = relationship()

    @property
    def remaining_units(self) -> float:
        return round(max((self.total_units or 0) - (self.used_units or 0), 0), 2)

    @property
    def used_percent(self) -> int:
        if not self.total_units:
            return 0
        return min(100, round(100 * (self.used_units or 0) / self.total_units))

    @property
    def customer_name(self) -> str:
        names = [x.name for x in (self.contact, self.organization) if x is not None]
        return " · ".join(names) or "—"

    def __str__(self) -> str:
        return self.name


class ContractNotice(db.Model):
    """A notification sent about a contract, once per threshold: the key names the threshold and
    the contract terms it was about, so a renewed contract can warn again."""

    __tablename__ = "contract_notices"
    __table_args__ = (UniqueConstraint("contract_id", "key", name="uq_contract_notices_contract_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("service_contracts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_RUNNING = text("stopped_at IS NULL")


class TimeLog(db.Model):
    """Time an agent spent on a case, typed in or measured by the start/stop timer.

    A running timer has stopped_at None and minutes 0; each user has at most one.
    """

    __tablename__ = "time_logs"
    __table_args__ = (
        Index("ix_time_logs_case_started", "case_id", "started_at"),
        Index("ix_time_logs_user_started", "user_id", "started_at"),
        Index("ix_time_logs_started", "started_at"),  # the hours report over a period
        Index("uq_time_logs_running_user", "user_id", unique=True, sqlite_where=_RUNNING, postgresql_where=_RUNNING),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    minutes: Mapped[int] = mapped_column(default=0)
    billable: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    # When the work was done: the timer's start, or the date given for a manual entry.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    user: Mapped[User] = relationship()

    @property
    def running(self) -> bool:
        return self.stopped_at is None

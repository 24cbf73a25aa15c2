"""The insights' own tables: facts kept up to date from the other domains' events, and scheduled reports."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, and_, column
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.cases.models import Case
from helpdesk.extensions import db
from helpdesk.satisfaction.models import Rating
from helpdesk.sla.models import SLAEvent
from helpdesk.types import UTCDateTime, utcnow

# What the rollup is broken down by; "all" has the single key "0".
DIMENSIONS = ("all", "channel", "priority", "product", "organization", "policy")
# The additive measures of a rollup row, in this order everywhere (facts.contribution too).
MEASURES = (
    "created", "solved", "reopened",
    "frt_count", "frt_minutes", "frt_business_minutes",
    "res_count", "res_minutes", "res_business_minutes",
    "fr_met", "fr_breached", "res_met", "res_breached",
    "rated", "rating_sum", "rating_good",
)


class CaseFact(db.Model):
    """What the dashboards need to know about one case, kept up to date by services.refresh().

    Days are local dates in the reporting time zone (HELPDESK_TIMEZONE) at refresh time.
    Business minutes run on the case's SLA calendar and leave out paused spells, as the SLA
    clocks count them; plain minutes are wall time. Solved means first resolved or closed.
    """

    __tablename__ = "insight_case_facts"
    __table_args__ = (
        # Drill-down lists and medians read facts through an index that starts with the day.
        Index("ix_insight_case_facts_created", "created_day", "case_id"),
        Index("ix_insight_case_facts_solved", "solved_day", "case_id"),
        Index("ix_insight_case_facts_responded", "first_response_day", "case_id"),
        Index("ix_insight_case_facts_fr_sla", "sla_fr_day", "case_id"),
        Index("ix_insight_case_facts_res_sla", "sla_res_day", "case_id"),
        Index("ix_insight_case_facts_rated", "rating_day", "case_id"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    created_day: Mapped[date] = mapped_column(Date)
    first_response_day: Mapped[date | None] = mapped_column(Date)
    solved_day: Mapped[date | None] = mapped_column(Date)
    group_id: Mapped[int] = mapped_column(Integer, default=0)  # 0: none (rollup keys)
    assignee_id: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[int] = mapped_column(Integer, default=0)
    organization_id: Mapped[int] = mapped_column(Integer, default=0)
    sla_policy_id: Mapped[int] = mapped_column(Integer, default=0)
    live: Mapped[bool] = mapped_column(Boolean, default=True)  # not deleted, not merged
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    frt_minutes: Mapped[int | None] = mapped_column(Integer)
    frt_business_minutes: Mapped[int | None] = mapped_column(Integer)
    res_minutes: Mapped[int | None] = mapped_column(Integer)
    res_business_minutes: Mapped[int | None] = mapped_column(Integer)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    sla_fr: Mapped[str | None] = mapped_column(String(10))  # "met", "breached" or None
    sla_fr_day: Mapped[date | None] = mapped_column(Date)
    sla_res: Mapped[str | None] = mapped_column(String(10))
    sla_res_day: Mapped[date | None] = mapped_column(Date)
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)  # any clock, next response too
    rating_score: Mapped[int | None] = mapped_column(SmallInteger)
    rating_day: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailyCases(db.Model):
    """Additive per-day counts and sums of the case facts, by group, agent and one dimension.

    A case contributes to the day it was created, first answered, solved, rated, and its SLA
    outcomes were decided; refresh subtracts its old contribution and adds the new one.
    0 stands for "none" in the key columns so the primary key works on every database, and
    -1 for "any": each case is counted under (group, agent), (group, any), (any, agent) and
    (any, any), so a dashboard with or without filters sums only the rows it shows.
    """

    __tablename__ = "insight_daily_cases"
    __table_args__ = {"sqlite_with_rowid": False}  # the key is the clustered order on SQLite

    # Key order: a dashboard reads one dimension for one (group, agent) pair over a range of days.
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    agent_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[int] = mapped_column(Integer, default=0)
    solved: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    frt_count: Mapped[int] = mapped_column(Integer, default=0)
    frt_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    frt_business_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    res_count: Mapped[int] = mapped_column(Integer, default=0)
    res_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    res_business_minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    fr_met: Mapped[int] = mapped_column(Integer, default=0)
    fr_breached: Mapped[int] = mapped_column(Integer, default=0)
    res_met: Mapped[int] = mapped_column(Integer, default=0)
    res_breached: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    rating_good: Mapped[int] = mapped_column(Integer, default=0)


class InsightState(db.Model):
    """Watermarks of the incremental refresh: the last id or time of each source seen."""

    __tablename__ = "insight_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# Indexes the dashboards' live reads need on other domains' tables (declared here so the
# insights own them; the migration creates them with the rest).
_LIVE_OPEN = and_(column("is_open").is_(True), column("deleted_at").is_(None), column("merged_into_id").is_(None))
Index("ix_cases_live_open_created", Case.created_at, Case.group_id, Case.assignee_id,
      sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN)
Index("ix_cases_live_open_due", Case.sla_due_at, Case.group_id, Case.assignee_id,
      sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN)
Index("ix_cases_live_open_warn", Case.sla_warn_at, Case.sla_due_at, Case.group_id, Case.assignee_id,
      sqlite_where=_LIVE_OPEN, postgresql_where=_LIVE_OPEN)
Index("ix_sla_events_kind_at", SLAEvent.kind, SLAEvent.at, SLAEvent.clock, SLAEvent.policy_id, SLAEvent.case_id)
Index("ix_sla_events_kind_clock_at", SLAEvent.kind, SLAEvent.clock, SLAEvent.at, SLAEvent.policy_id, SLAEvent.case_id)
Index("ix_ratings_updated", Rating.updated_at, Rating.id)


# --- scheduled reports (a dashboard mailed weekly or monthly; H3 — please keep this block) ------

from sqlalchemy import Column, Table, Text  # noqa: E402
from sqlalchemy.orm import relationship  # noqa: E402

from helpdesk.people.models import Group, User  # noqa: E402

scheduled_report_users = Table(
    "scheduled_report_users",
    db.Model.metadata,
    Column("report_id", ForeignKey("scheduled_reports.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class ScheduledReport(db.Model):
    """A dashboard mailed to chosen people: weekly (the last 7 days) or monthly (the previous month).

    The send time is a local time in the reporting time zone; next_run_at is that moment in UTC,
    and a sweep claims it with a conditional UPDATE so a report goes out once per period.
    """

    __tablename__ = "scheduled_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    dashboard: Mapped[str] = mapped_column(String(40))  # a key of boards.BUILDERS
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    frequency: Mapped[str] = mapped_column(String(10))  # "weekly" or "monthly"
    weekday: Mapped[int | None] = mapped_column(SmallInteger)  # weekly: 0 Monday .. 6 Sunday
    day_of_month: Mapped[int | None] = mapped_column(SmallInteger)  # monthly: 1..31, the month's last day if shorter
    hour: Mapped[int] = mapped_column(SmallInteger, default=7)  # local hour in the reporting time zone
    emails: Mapped[str] = mapped_column(Text, default="")  # extra addresses, one per line
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    users: Mapped[list[User]] = relationship(secondary=scheduled_report_users, order_by=User.name)
    group: Mapped[Group | None] = relationship()
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in (self.emails or "").splitlines() if line.strip()]

    def __str__(self) -> str:
        return self.name


# --- chat rollup (H7): per local day and hour, recomputed per day by chat_rollup.refresh() ------

from sqlalchemy import PrimaryKeyConstraint  # noqa: E402

# Waiting and first-response time buckets (seconds, lower edges); medians are estimated in them.
CHAT_EDGES = (0, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200)
CHAT_MEASURES = (
    "chats", "answered", "missed", "abandoned", "bot_resolved", "other", "queued",
    "waited", "wait_sum", "responded", "response_sum", "ended", "duration_sum",
    "rated", "rating_sum", "good", "transfers", "transferred",
    *(f"wait_{i}" for i in range(len(CHAT_EDGES))),  # every chat with a waiting time
    *(f"accepted_wait_{i}" for i in range(len(CHAT_EDGES))),  # those an agent accepted (per agent)
    *(f"response_{i}" for i in range(len(CHAT_EDGES))),
)

# dimension "all" (key 0) or "topic" (key: topic id, 0 none) per local day, and "all-m" and
# "topic-m": their sums per calendar month (day: the 1st); group_id and agent_id 0 for none
# and -1 for any, as in DailyCases: a chat counts under (group, agent), (group, -1), (-1, agent)
# and (-1, -1), so every filter reads only its own rows.
chat_days = Table(
    "insight_chat_days", db.Model.metadata,
    Column("dimension", String(10)), Column("group_id", Integer), Column("agent_id", Integer),
    Column("day", Date), Column("key", Integer),
    *(Column(m, BigInteger if m.endswith("_sum") else Integer, nullable=False, default=0) for m in CHAT_MEASURES),
    PrimaryKeyConstraint("dimension", "group_id", "agent_id", "day", "key"),
    # Per-agent and per-group tables: one side fixed (a filter or -1), the other any, a range of days.
    Index("ix_insight_chat_days_group", "dimension", "group_id", "day", "agent_id"),
    Index("ix_insight_chat_days_agent", "dimension", "agent_id", "day", "group_id"),
    Index("ix_insight_chat_days_day", "day"),  # the refresh replaces whole days
    sqlite_with_rowid=False,
)

# Chats per local hour, for the hour-of-week heat map (weekday 0 = Monday).
chat_hours = Table(
    "insight_chat_hours", db.Model.metadata,
    Column("group_id", Integer), Column("agent_id", Integer), Column("day", Date),
    Column("hour", SmallInteger), Column("weekday", SmallInteger, nullable=False),
    Column("chats", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("group_id", "agent_id", "day", "hour"),
    Index("ix_insight_chat_hours_day", "day"),
    sqlite_with_rowid=False,
)


# --- deflection rollup (H7): the portal's funnel per local day, by deflection_rollup.refresh() -

# Attempts whose first event of `step` fell on `day`; shown_then: of the attempts first shown
# suggestions on `day`, how many ever reached `step` (for the shown step itself: all of them).
deflection_days = Table(
    "insight_deflection_days", db.Model.metadata,
    Column("day", Date), Column("step", String(30)),
    Column("attempts", Integer, nullable=False, default=0), Column("shown_then", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("day", "step"),
    sqlite_with_rowid=False,
)

# Attempts that first opened `article_id` from a suggestion on `day`; then_case: of those, how
# many still sent a case.
deflection_articles = Table(
    "insight_deflection_articles", db.Model.metadata,
    Column("day", Date), Column("article_id", Integer),
    Column("opened", Integer, nullable=False, default=0), Column("then_case", Integer, nullable=False, default=0),
    PrimaryKeyConstraint("day", "article_id"),
    sqlite_with_rowid=False,
)

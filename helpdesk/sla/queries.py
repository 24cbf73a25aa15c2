"""Reads for SLA pages: a case's badge and timeline, the admin's calendars and policies."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from helpdesk.cases.models import Case, Priority
from helpdesk.extensions import db
from helpdesk.sla import policies
from helpdesk.sla.models import BusinessHours, Clock, SLAEvent, SLAPolicy
from helpdesk.sla.services import case_calendar
from helpdesk.types import utcnow

_DUE_COLUMNS = {Clock.FIRST_RESPONSE: "first_response_due_at", Clock.NEXT_RESPONSE: "next_response_due_at",
                Clock.RESOLUTION: "resolution_due_at"}


@dataclass
class Badge:
    level: str  # ok, warning, overdue, paused
    text: str  # always says it in words: colour is never the only signal
    title: str


def badge(case: Case, now: datetime | None = None) -> Badge | None:
    """The queue's SLA badge from the stored columns alone (no event replay per row)."""
    policy = case.sla_policy
    if policy is None or not case.is_open:
        return None
    running = [(clock, getattr(case, col)) for clock, col in _DUE_COLUMNS.items() if getattr(case, col)]
    if not running:
        return None
    clock, due = min(running, key=lambda r: r[1])
    calendar = case_calendar(case)
    if case.sla_paused_at is not None and case.sla_due_at is None:
        left = calendar.minutes_between(case.sla_paused_at, due)
        return Badge("paused", f"Paused, {policies.describe_minutes(max(left, 0))} left",
                     f"{clock.label} clock paused since {case.sla_paused_at:%Y-%m-%d %H:%M} UTC")
    now = now or utcnow()
    left, words = policies.time_left(calendar, due, now)
    title = f"{clock.label} due {due:%Y-%m-%d %H:%M} UTC ({policy.name})"
    if left < 0 or now > due:
        return Badge("overdue", f"{clock.label}: {words}", title)
    target = policies.targets_for(policy.targets, case.priority).get(clock) or 0
    share = (100 - (policy.warning_percent or 75)) / 100
    level = "warning" if target and left <= target * share else "ok"
    return Badge(level, f"{clock.label}: {words}", title)


@dataclass
class ClockView:
    clock: Clock
    state: policies.ClockState
    text: str


@dataclass
class Overview:
    policy: SLAPolicy | None
    clocks: list[ClockView]
    events: list[SLAEvent]


def case_overview(case: Case, now: datetime | None = None) -> Overview:
    """Each clock's state in words, and the SLA events that explain it, oldest first."""
    events = list(db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id).order_by(SLAEvent.at, SLAEvent.id)))
    policy = case.sla_policy
    if policy is None:
        return Overview(None, [], events)
    now = now or utcnow()
    calendar = case_calendar(case)
    states = policies.evaluate(events, policies.targets_for(policy.targets, case.priority), calendar, policy.warning_percent)
    clocks = []
    for clock, state in states.items():
        if state.started_at is None:
            continue
        if state.target is None:
            text = "no target for this priority"
        elif state.fulfilled_at is not None:
            text = ("met" if state.met else "breached") + f" at {state.fulfilled_at:%Y-%m-%d %H:%M} UTC (due {state.due_at:%Y-%m-%d %H:%M} UTC)"
        elif state.paused:
            text = f"paused, {policies.describe_minutes(max(calendar.minutes_between(case.sla_paused_at or now, state.due_at), 0))} left"
        else:
            text = policies.time_left(calendar, state.due_at, now)[1] + f" (due {state.due_at:%Y-%m-%d %H:%M} UTC)"
        clocks.append(ClockView(clock, state, text))
    return Overview(policy, clocks, events)


@dataclass
class PreviewRow:
    clock: Clock
    current: datetime | None
    new: datetime | None
    text: str  # the new deadline in words, e.g. "2 h 30 min earlier; overdue by 10 min"


@dataclass
class Preview:
    policy: SLAPolicy | None
    priority: Priority
    rows: list[PreviewRow]


def deadline_preview(case: Case, priority: Priority, now: datetime | None = None) -> Preview:
    """The running clocks' deadlines if the case had another priority: the same events and
    policy replayed under that priority's targets, on the policy's calendar. Writes nothing."""
    policy = case.sla_policy
    if policy is None or priority == case.priority:
        return Preview(policy, priority, [])
    now = now or utcnow()
    calendar = case_calendar(case)
    events = list(db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id).order_by(SLAEvent.at, SLAEvent.id)))
    before = policies.evaluate(events, policies.targets_for(policy.targets, case.priority), calendar, policy.warning_percent)
    after = policies.evaluate(events, policies.targets_for(policy.targets, priority), calendar, policy.warning_percent)
    rows = []
    for clock, state in after.items():
        old = before[clock]
        if not (state.running or old.running):
            continue
        new_due = state.due_at if state.running else None
        old_due = old.due_at if old.running else None
        if new_due is None:
            text = f"no target for {priority.label} priority"
        else:
            text = _moved(calendar, old_due, new_due)
            if state.paused:
                text += "; the clock is paused"
            elif new_due <= now:
                text += "; " + policies.time_left(calendar, new_due, now)[1]
        rows.append(PreviewRow(clock, old_due, new_due, text))
    return Preview(policy, priority, rows)


def _moved(calendar, old: datetime | None, new: datetime) -> str:
    if old is None:
        return "a new deadline"
    if old == new:
        return "unchanged"
    minutes = calendar.minutes_between(min(old, new), max(old, new))
    return f"{policies.describe_minutes(minutes)} of business time {'earlier' if new < old else 'later'}"


def all_business_hours() -> list[BusinessHours]:
    return list(db.session.scalars(select(BusinessHours).order_by(BusinessHours.name)))


def all_policies() -> list[SLAPolicy]:
    return list(db.session.scalars(select(SLAPolicy).order_by(SLAPolicy.position, SLAPolicy.id)))


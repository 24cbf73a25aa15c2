"""Pure SLA rules: which policy applies to a case, and the clocks' deadlines replayed from
the case's SLA events. Nothing here touches the database."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.sla.calendar import BusinessCalendar
from helpdesk.sla.models import Clock, EventKind

CLOCKS = tuple(Clock)
_CLOCK_BY_VALUE = {c.value: c for c in Clock}
_PAUSED, _RESUMED, _STARTED, _FULFILLED, _WARNED, _BREACHED = (
    k.value for k in (EventKind.PAUSED, EventKind.RESUMED, EventKind.STARTED, EventKind.FULFILLED, EventKind.WARNED,
                      EventKind.BREACHED))
CONDITION_KEYS = ("organization_ids", "priorities", "channels", "group_ids", "tags", "custom_fields")


# --- which policy ----------------------------------------------------------------------------


def matches(conditions: Mapping | None, facts: Mapping) -> bool:
    """Every condition given must hold; a list condition holds when the case has one of its values.

    `facts`: organization_id, priority (int), channel (str), group_id, tags (names),
    custom_fields (dict). Service contracts will add a condition of their own.
    """
    conditions = conditions or {}
    for key, fact in (("organization_ids", "organization_id"), ("priorities", "priority"),
                      ("channels", "channel"), ("group_ids", "group_id")):
        wanted = conditions.get(key)
        if wanted and facts.get(fact) not in {_norm(v) for v in wanted}:
            return False
    tags = conditions.get("tags")
    if tags and not {t.lower() for t in tags} & {t.lower() for t in facts.get("tags", ())}:
        return False
    values = facts.get("custom_fields") or {}
    for key, value in (conditions.get("custom_fields") or {}).items():
        if str(values.get(key, "")) != str(value):
            return False
    return True


def _norm(value):
    return int(value) if isinstance(value, str) and value.isdigit() else value


def choose_policy(policies: Sequence, facts: Mapping):
    """Entitlement first: a case counted against a service contract that names an (active) SLA
    policy gets that policy. Else the first active policy (by position) whose conditions match,
    else the default one.

    Returns (policy or None, why)."""
    ordered = sorted((p for p in policies if p.active), key=lambda p: (p.position, p.id or 0))
    entitled = facts.get("contract_policy_id")
    if entitled:
        policy = next((p for p in ordered if p.id == entitled), None)
        if policy is not None:
            return policy, f"entitled by service contract {facts.get('contract_name')}"
    for policy in ordered:
        if not policy.is_default and matches(policy.conditions, facts):
            return policy, f"matched the conditions of {policy.name}"
    default = next((p for p in ordered if p.is_default), None)
    if default is not None:
        return default, f"default policy {default.name}: no other policy matched"
    return None, "no SLA policy applies"


def targets_for(targets: Mapping | None, priority: int) -> dict[Clock, int | None]:
    row = (targets or {}).get(str(int(priority))) or {}
    out = {}
    for clock in CLOCKS:
        value = row.get(clock.value)
        out[clock] = int(value) if value not in (None, "") and int(value) > 0 else None
    return out


# --- the clocks -------------------------------------------------------------------------------


@dataclass
class ClockState:
    clock: Clock
    cycle: int = 0
    started_at: datetime | None = None
    fulfilled_at: datetime | None = None
    target: int | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    paused: bool = False
    warned: bool = False
    breached: bool = False
    stops: list = field(default_factory=list)  # clock-only stops: resolved until reopened
    _stopped_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.fulfilled_at is None

    @property
    def met(self) -> bool | None:
        """Fulfilled in time (True), late (False), or not fulfilled yet (None)."""
        if self.fulfilled_at is None or self.due_at is None:
            return None
        return self.fulfilled_at <= self.due_at

    def once_key(self, case_id: int, kind: EventKind | str) -> str:
        kind = kind.value if isinstance(kind, EventKind) else kind
        return f"{case_id}:{self.clock.value}:{self.cycle}:{kind}"


def evaluate(events: Iterable, targets: Mapping[Clock, int | None], calendar: BusinessCalendar,
             warning_percent: int | None) -> dict[Clock, ClockState]:
    """Replay a case's SLA events (each with kind, clock, at, data; in order) into its clocks.

    A clock's deadline is its target in business minutes from its start, pushed back by every
    pause that began before the deadline came; a pause still open freezes the deadline.
    """
    current: dict[Clock, ClockState] = {}  # each clock's latest cycle, made when an event names it
    pauses: list[list] = []  # [start, end or None], every clock
    for event in events:
        # Plain string comparisons: an event's kind and clock are strings (from the database)
        # or the str enums, which compare equal to their values.
        kind, clock = event.kind, event.clock
        if clock is None:
            if kind == _PAUSED:
                if not pauses or pauses[-1][1] is not None:
                    pauses.append([event.at, None])
            elif kind == _RESUMED:
                if pauses and pauses[-1][1] is None:
                    pauses[-1][1] = event.at
            continue
        key = _CLOCK_BY_VALUE[clock]
        state = current.get(key)
        if kind == _STARTED:
            current[key] = ClockState(key, cycle=state.cycle + 1 if state is not None else 1, started_at=event.at)
            continue
        if state is None:
            state = current[key] = ClockState(key)
        if kind == _FULFILLED and state.started_at is not None and state.fulfilled_at is None:
            state.fulfilled_at = state._stopped_at = event.at
        elif kind == _RESUMED:
            if state._stopped_at is not None:
                # A reopened case: the resolved spell does not count against the clock.
                state.stops.append([state._stopped_at, event.at])
                state.fulfilled_at = state._stopped_at = None
        elif (kind == _WARNED or kind == _BREACHED) and (event.data or {}).get("cycle") == state.cycle:
            if kind == _WARNED:
                state.warned = True
            else:
                state.breached = True
    states = {clock: current.get(clock) or ClockState(clock) for clock in CLOCKS}
    warns = bool(warning_percent) and 0 < warning_percent < 100
    plain: dict[datetime, list] = {}  # clocks never stopped, by start: their sums share one look-up
    for state in states.values():
        state.target = targets.get(state.clock)
        if state.started_at is None or state.target is None:
            continue
        warn_minutes = math.ceil(state.target * warning_percent / 100) if warns and state.running else None
        spells = _spells(pauses + state.stops, state.started_at, state.fulfilled_at) if pauses or state.stops else ()
        if not spells:
            plain.setdefault(state.started_at, []).append((state, warn_minutes))
            continue
        state.due_at, state.paused = _deadline(calendar, state.started_at, state.target, spells)
        if warn_minutes is not None:
            state.warn_at, _ = _deadline(calendar, state.started_at, warn_minutes, spells)
        state.paused = state.paused and state.running
    for start, clocks in plain.items():
        sums = [m for state, warn_minutes in clocks for m in (state.target, warn_minutes) if m is not None]
        ends = iter(calendar.add_each(start, sums))
        for state, warn_minutes in clocks:
            state.due_at = next(ends)
            if warn_minutes is not None:
                state.warn_at = next(ends)
    return states


def _spells(intervals: list, start: datetime, until: datetime | None) -> list:
    """The stopped spells after `start` (and before `until`), merged and in order."""
    out: list[list] = []
    if not intervals:
        return out
    for s, e in sorted(intervals, key=lambda i: i[0]):
        s = max(s, start)
        if until is not None:
            if s >= until:
                continue
            e = until if e is None else min(e, until)
        if e is not None and e <= s:
            continue
        if out and (out[-1][1] is None or s <= out[-1][1]):
            if out[-1][1] is not None:
                out[-1][1] = None if e is None else max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def _deadline(calendar: BusinessCalendar, start: datetime, minutes: int, spells: list) -> tuple[datetime, bool]:
    """(deadline, frozen by an open pause)."""
    due = calendar.add(start, minutes)
    for s, e in spells:
        if s >= due:
            break  # the deadline had passed before this pause: a breach stays a breach
        if e is None:
            return due, True
        due = calendar.add(e, calendar.business_time(s, due))
    return due, False


@dataclass
class Summary:
    """What the case row stores for sorting and for the sweep."""

    due: dict[Clock, datetime | None]
    sla_due_at: datetime | None
    sla_check_at: datetime | None
    sla_warn_at: datetime | None = None  # when the first running clock reaches its warning threshold


def summarize(states: Mapping[Clock, ClockState]) -> Summary:
    due, soonest, check, warn = {}, [], [], []
    for clock, state in states.items():
        running = state.running and state.due_at is not None
        due[clock] = state.due_at if running else None
        if not running or state.paused:
            continue
        soonest.append(state.due_at)
        if state.warn_at is not None:
            warn.append(state.warn_at)
        if state.breached:
            continue
        if not state.warned and state.warn_at is not None and state.warn_at < state.due_at:
            check.append(state.warn_at)
        else:
            check.append(state.due_at)
    return Summary(due, min(soonest, default=None), min(check, default=None), min(warn, default=None))


def due_actions(states: Mapping[Clock, ClockState], now: datetime) -> list[tuple[ClockState, EventKind]]:
    """The warnings and breaches that are due at `now` and not yet recorded."""
    out = []
    for state in states.values():
        if not state.running or state.paused or state.due_at is None or state.breached:
            continue
        if now >= state.due_at:
            out.append((state, EventKind.BREACHED))
        elif not state.warned and state.warn_at is not None and now >= state.warn_at:
            out.append((state, EventKind.WARNED))
    return out


def describe_minutes(minutes: int) -> str:
    """Business time in words: "45 min", "3 h 20 min", "2 d 4 h" (8-hour days are not assumed)."""
    minutes = abs(int(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def time_left(calendar: BusinessCalendar, due: datetime, now: datetime) -> tuple[int, str]:
    """(business minutes left, words): "2 h 5 min left" or "overdue by 10 min"."""
    left = calendar.minutes_between(now, due) if now <= due else -calendar.minutes_between(due, now)
    if now > due:
        return left, f"overdue by {describe_minutes(left)}" if left else "overdue"
    return left, f"{describe_minutes(left)} left"


def parse_duration(raw) -> int | None:
    """Business minutes from what an admin typed: "90", "90m", "4h" or "1h30m". Days are refused:
    a business day is not 24 hours, so "2d" would mean different things on different calendars."""
    text = str(raw or "").strip().lower().replace(" ", "")
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total, number = 0, ""
    for ch in text:
        if ch.isdigit():
            number += ch
        elif ch in "hm" and number:
            total += int(number) * (60 if ch == "h" else 1)
            number = ""
        else:
            raise ValueError("write minutes (90), hours (4h) or both (1h30m)")
    if number:
        raise ValueError("write minutes (90), hours (4h) or both (1h30m)")
    return total


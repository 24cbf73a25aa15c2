"""SLA state changes: the policy a case gets, the events its conversation leaves, the deadlines
stored on the case, and the admin's calendars and policies. The caller commits."""
from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select

from helpdesk import jobs
from helpdesk.cases.models import Case, Priority, Status
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Group, User
from helpdesk.sla import policies
from helpdesk.sla.calendar import BusinessCalendar, parse_clock
from helpdesk.sla.models import BusinessHours, Clock, EventKind, SLAEvent, SLAPolicy
from helpdesk.types import utcnow

_calendars: dict[tuple, BusinessCalendar] = {}
_ALWAYS = BusinessCalendar.always()


# --- calendars -------------------------------------------------------------------------------


def calendar_for(hours: BusinessHours | None) -> BusinessCalendar:
    """The BusinessCalendar of a stored calendar (24x7 for none), built once per edit."""
    if hours is None:
        return _ALWAYS
    # Keyed by content, not id: a calendar edited (or a row reused) never serves stale hours.
    key = (hours.timezone, json.dumps(hours.weekly, sort_keys=True), json.dumps(hours.holidays, sort_keys=True))
    calendar = _calendars.get(key)
    if calendar is None:
        holidays = {date.fromisoformat(h["date"]) for h in hours.holidays or []}
        calendar = BusinessCalendar(hours.timezone, {int(d): [tuple(i) for i in ivs] for d, ivs in (hours.weekly or {}).items()}, holidays)
        if len(_calendars) > 200:
            _calendars.clear()
        _calendars[key] = calendar
    return calendar


def policy_calendar(policy: SLAPolicy | None, group: Group | None = None) -> BusinessCalendar:
    """The calendar the clocks run on: the policy's own, else the case's group's, else 24x7."""
    return calendar_for(hours_for(policy, group))


def hours_for(policy: SLAPolicy | None, group: Group | None) -> BusinessHours | None:
    if policy is not None and policy.business_hours is not None:
        return policy.business_hours
    return group.business_hours if group is not None else None


def case_calendar(case: Case) -> BusinessCalendar:
    return policy_calendar(case.sla_policy, case.group)


def save_business_hours(actor: User | None, hours: BusinessHours | None, *, name: str, timezone: str,
                        weekly: dict, holidays: list[dict]) -> BusinessHours:
    """Create or update a calendar; the open cases of the policies using it are recomputed."""
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "Give the calendar a name."
    elif db.session.scalar(select(BusinessHours.id).where(BusinessHours.name == name, BusinessHours.id != (hours.id if hours else None))):
        errors["name"] = f"There is already a calendar called {name}."
    try:
        ZoneInfo(timezone or "")
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"{timezone!r} is not a time zone (e.g. Europe/Rome)."
    cleaned_weekly = _clean_weekly(weekly, errors)
    cleaned_holidays = _clean_holidays(holidays, errors)
    if errors:
        raise ValidationFailed(errors)
    if hours is None:
        hours = BusinessHours()
        db.session.add(hours)
    hours.name, hours.timezone, hours.weekly, hours.holidays = name, timezone, cleaned_weekly, cleaned_holidays
    hours.updated_at = utcnow()
    db.session.flush()
    _recompute_calendar_users(hours, f"calendar {hours.name} changed")
    return hours


def _recompute_calendar_users(hours: BusinessHours, reason: str) -> None:
    """Recompute the policies on this calendar, and (when a group uses it) those without one."""
    using = SLAPolicy.business_hours_id == hours.id
    if db.session.scalar(select(Group.id).where(Group.business_hours_id == hours.id).limit(1)) is not None:
        using = or_(using, SLAPolicy.business_hours_id.is_(None))
    for policy_id in db.session.scalars(select(SLAPolicy.id).where(using)):
        _recompute_later(policy_id, reason)


def set_group_calendars(actor: User | None, hours: BusinessHours, groups: list[Group]) -> None:
    """Make `hours` the calendar of exactly these groups (others using it go back to none).
    Cases under a policy without a calendar of its own follow their group's: recomputed."""
    wanted = {g.id for g in groups}
    changed = False
    for group in db.session.scalars(select(Group).where(or_(Group.id.in_(wanted), Group.business_hours_id == hours.id))):
        target = hours.id if group.id in wanted else None
        if group.business_hours_id != target:
            group.business_hours_id, changed = target, True
    db.session.flush()
    if changed:
        for policy_id in db.session.scalars(select(SLAPolicy.id).where(SLAPolicy.business_hours_id.is_(None))):
            _recompute_later(policy_id, f"group calendars changed ({hours.name})")


def _clean_weekly(weekly: dict, errors: dict) -> dict:
    out = {}
    for day in range(7):
        intervals = []
        for start, end in (weekly or {}).get(str(day)) or (weekly or {}).get(day) or []:
            try:
                s, e = parse_clock(start), parse_clock(end, is_end=True)
            except ValueError as exc:
                errors[f"weekly_{day}"] = str(exc)
                continue
            if s >= e:
                errors[f"weekly_{day}"] = f"{start}-{end} ends before it starts."
            intervals.append((s, e, start, end))
        intervals.sort()
        for a, b in zip(intervals, intervals[1:]):
            if b[0] < a[1]:
                errors[f"weekly_{day}"] = f"{a[2]}-{a[3]} and {b[2]}-{b[3]} overlap."
        if intervals:
            out[str(day)] = [[i[2], i[3]] for i in intervals]
    if not out and not errors:
        errors["weekly"] = "Give at least one interval of business hours."
    return out


def _clean_holidays(holidays: list[dict], errors: dict) -> list[dict]:
    out = {}
    for h in holidays or []:
        try:
            day = date.fromisoformat(str(h.get("date", "")).strip())
        except ValueError:
            errors["holidays"] = f"{h.get('date')!r} is not a date (YYYY-MM-DD)."
            continue
        out[day] = (h.get("name") or "").strip()[:100] or "Holiday"
    return [{"date": d.isoformat(), "name": n} for d, n in sorted(out.items())]


def import_holidays(actor: User | None, hours: BusinessHours, *, country: str, subdivision: str = "",
                    years: list[int]) -> int:
    """Add a country's (and subdivision's) public holidays from the `holidays` package."""
    import holidays as holiday_data

    country = (country or "").strip().upper()
    try:
        found = holiday_data.country_holidays(country, subdiv=(subdivision or "").strip() or None, years=years)
    except (NotImplementedError, KeyError):
        raise ValidationFailed({"country": f"The holidays package knows no country {country!r}."}) from None
    except ValueError as exc:
        raise ValidationFailed({"subdivision": str(exc)}) from None
    existing = {h["date"] for h in hours.holidays or []}
    added = [{"date": d.isoformat(), "name": str(n)} for d, n in sorted(found.items()) if d.isoformat() not in existing]
    save_business_hours(actor, hours, name=hours.name, timezone=hours.timezone, weekly=hours.weekly,
                        holidays=list(hours.holidays or []) + added)
    return len(added)


ICAL_MAX_DAYS = 31  # a longer all-day event is a season, not a holiday: refused


def import_ical(actor: User | None, hours: BusinessHours, data: bytes, *, today: date | None = None) -> tuple[int, int]:
    """Add the all-day events of an iCalendar (.ics) file as holidays; a yearly or other
    recurring event is expanded over this year and the next two. Timed events are skipped:
    a holiday closes a whole local day. Returns (holidays added, events skipped)."""
    import icalendar
    from dateutil.rrule import rrulestr

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ValidationFailed({"ics": f"Not an iCalendar file: {exc}"}) from None
    today = today or utcnow().date()
    until = date(today.year + 2, 12, 31)
    found: dict[date, str] = {}
    skipped = 0
    for event in calendar.walk("VEVENT"):
        if "DTSTART" not in event:
            skipped += 1
            continue
        start = event.decoded("DTSTART")
        if isinstance(start, datetime):
            skipped += 1
            continue
        end = event.decoded("DTEND") if "DTEND" in event else None
        if isinstance(end, date) and not isinstance(end, datetime):
            days = (end - start).days
        elif "DURATION" in event:
            days = event.decoded("DURATION").days
        else:
            days = 1
        if not 1 <= days <= ICAL_MAX_DAYS:
            skipped += 1
            continue
        name = str(event.get("SUMMARY") or "Holiday").strip()[:100] or "Holiday"
        firsts = [start]
        if "RRULE" in event:
            rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=datetime.combine(start, datetime.min.time()))
            firsts = [d.date() for d in rule.between(datetime(today.year, 1, 1), datetime.combine(until, datetime.min.time()), inc=True)]
        for first in firsts:
            for offset in range(days):
                found.setdefault(date.fromordinal(first.toordinal() + offset), name)
    existing = {h["date"] for h in hours.holidays or []}
    added = [{"date": d.isoformat(), "name": n} for d, n in sorted(found.items()) if d.isoformat() not in existing]
    save_business_hours(actor, hours, name=hours.name, timezone=hours.timezone, weekly=hours.weekly,
                        holidays=list(hours.holidays or []) + added)
    return len(added), skipped


# --- policies --------------------------------------------------------------------------------


def save_policy(actor: User | None, policy: SLAPolicy | None, data: dict) -> SLAPolicy:
    """Create or update a policy from cleaned form data; its open cases are recomputed."""
    errors = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "Give the policy a name."
    elif db.session.scalar(select(SLAPolicy.id).where(SLAPolicy.name == name, SLAPolicy.id != (policy.id if policy else None))):
        errors["name"] = f"There is already a policy called {name}."
    hours = None
    if data.get("business_hours_id"):
        hours = db.session.get(BusinessHours, int(data["business_hours_id"]))
        if hours is None:
            errors["business_hours_id"] = "No such calendar."
    targets = {}
    for priority in Priority:
        row = {}
        for clock in Clock:
            raw = (data.get("targets") or {}).get(str(int(priority)), {}).get(clock.value)
            try:
                minutes = policies.parse_duration(raw)
            except ValueError as exc:
                errors[f"target_{int(priority)}_{clock.value}"] = str(exc)
                continue
            if minutes:
                row[clock.value] = minutes
        if row:
            targets[str(int(priority))] = row
    pause = [s for s in data.get("pause_statuses", []) if s in Status._value2member_map_]
    warning = data.get("warning_percent")
    if warning not in (None, ""):
        if not str(warning).isdigit() or not 0 <= int(warning) < 100:
            errors["warning_percent"] = "A percentage from 0 (no warning) to 99."
    escalations = [_clean_escalation(i, rule, errors) for i, rule in enumerate(data.get("escalations") or [])]
    if errors:
        raise ValidationFailed(errors)
    before = None if policy is None else (policy.business_hours_id, policy.warning_percent, dict(policy.targets or {}))
    if policy is None:
        policy = SLAPolicy()
        db.session.add(policy)
    policy.name, policy.business_hours = name, hours
    policy.position = int(data.get("position") or 0)
    policy.active = bool(data.get("active", True))
    policy.is_default = bool(data.get("is_default"))
    policy.conditions = {k: v for k, v in (data.get("conditions") or {}).items() if k in policies.CONDITION_KEYS and v}
    policy.targets, policy.pause_statuses = targets, pause
    policy.warning_percent = int(warning) if warning not in (None, "") else 0  # 0: no warnings
    policy.escalations = escalations
    policy.updated_at = utcnow()
    if policy.is_default:
        for other in db.session.scalars(select(SLAPolicy).where(SLAPolicy.is_default.is_(True))):
            if other is not policy:
                other.is_default = False
    db.session.flush()
    _recompute_changed(policy, before)
    return policy


def _recompute_changed(policy: SLAPolicy, before: tuple | None) -> None:
    """Recompute the open cases whose deadlines the edit can move: all of them after a new
    calendar or warning threshold, else those of the priorities whose targets changed (a
    rename or new conditions move none: conditions only choose the policy at intake)."""
    if before is None or before[:2] != (policy.business_hours_id, policy.warning_percent):
        _recompute_later(policy.id, f"policy {policy.name} changed")
        return
    changed = [int(p) for p in Priority if policies.targets_for(before[2], p) != policies.targets_for(policy.targets, p)]
    if changed:
        names = ", ".join(Priority(p).english_label for p in changed)
        _recompute_later(policy.id, f"policy {policy.name}: targets for {names} changed", changed)


def _clean_escalation(i: int, rule: dict, errors: dict) -> dict:
    clocks = {c.value for c in Clock} | {"any"}
    if rule.get("on") not in ("warned", "breached"):
        errors[f"esc_{i}_on"] = "Escalate on a warning or on a breach."
    if rule.get("clock", "any") not in clocks:
        errors[f"esc_{i}_clock"] = "No such clock."
    for key, model in (("assignee_id", User), ("group_id", Group)):
        if rule.get(key) and db.session.get(model, int(rule[key])) is None:
            errors[f"esc_{i}_{key}"] = f"No such {model.__name__.lower()}."
    return {"on": rule.get("on"), "clock": rule.get("clock", "any"),
            "notify": [n for n in rule.get("notify") or [] if n in ("assignee", "group", "managers")],
            "assignee_id": rule.get("assignee_id"), "group_id": rule.get("group_id"),
            "raise_priority": bool(rule.get("raise_priority"))}


def _recompute_later(policy_id: int, reason: str, priorities: list[int] | None = None) -> None:
    from helpdesk.sla.jobs import recompute_policy_cases

    jobs.enqueue(recompute_policy_cases, policy_id, reason, priorities)


# --- the engine: hooks called by helpdesk.cases.services ---------------------------------------


def case_facts(case: Case) -> dict:
    return dict(organization_id=case.organization_id, priority=int(case.priority), channel=case.channel.value,
                group_id=case.group_id, tags=[t.name for t in case.tags], custom_fields=case.custom_fields or {},
                contract_policy_id=contract.sla_policy_id if (contract := case.service_contract) else None,
                contract_name=contract.name if contract else None)


def start_case(case: Case) -> None:
    """At intake: choose the policy, say why, and start first response and resolution."""
    candidates = db.session.scalars(select(SLAPolicy).where(SLAPolicy.active.is_(True))).all()
    policy, why = policies.choose_policy(candidates, case_facts(case))
    if policy is None:
        return
    at = case.created_at or utcnow()
    case.sla_policy = policy
    _record(case, EventKind.POLICY_CHANGED, at=at, reason=why, data={"to": policy.id})
    _record(case, EventKind.STARTED, Clock.FIRST_RESPONSE, at=at, reason="case opened")
    _record(case, EventKind.STARTED, Clock.RESOLUTION, at=at, reason="case opened")
    if case.status.value in (policy.pause_statuses or []):
        _record(case, EventKind.PAUSED, at=at, reason=f"opened as {case.status.english_label}")
    refresh_case(case)


def record_reply(case: Case, at: datetime) -> None:
    """A public reply fulfils the first response, or else the next response."""
    states = _states(case)
    if states is None:
        return
    for clock in (Clock.FIRST_RESPONSE, Clock.NEXT_RESPONSE):
        if states[clock].running:
            _fulfil(case, states[clock], at, "agent replied")
            break
    refresh_case(case)


def record_customer_message(case: Case, at: datetime) -> None:
    """The customer wrote again: once the first response is given, the next response clock starts.

    While the first response is pending the customer's follow-ups change nothing (the first
    response deadline stands), and while a next response is pending it keeps the deadline of
    the oldest unanswered message.
    """
    states = _states(case)
    if states is None or not case.is_open:
        return
    if states[Clock.FIRST_RESPONSE].running or states[Clock.NEXT_RESPONSE].running:
        return
    if states[Clock.FIRST_RESPONSE].started_at is None:
        return
    _record(case, EventKind.STARTED, Clock.NEXT_RESPONSE, at=at, reason="customer wrote")
    refresh_case(case)


def record_status(case: Case, old: Status, new: Status, at: datetime) -> None:
    """Pause statuses stop the clocks; resolving fulfils the resolution; reopening resumes it."""
    states = _states(case)
    if states is None:
        return
    pause = set(case.sla_policy.pause_statuses or [])
    was_paused, paused = old.value in pause and old.is_open, new.value in pause and new.is_open
    if was_paused and not paused:
        _record(case, EventKind.RESUMED, at=at, reason=f"status {old.english_label} → {new.english_label}")
    if old.is_open and not new.is_open:
        for state in states.values():
            if state.running:
                why = f"case {new.english_label.lower()}" if state.clock == Clock.RESOLUTION else f"stopped: case {new.english_label.lower()}"
                _fulfil(case, state, at, why)
    elif new.is_open and not old.is_open and states[Clock.RESOLUTION].started_at is not None:
        _record(case, EventKind.RESUMED, Clock.RESOLUTION, at=at, reason=f"reopened ({old.english_label} → {new.english_label})")
    if paused and not was_paused:
        _record(case, EventKind.PAUSED, at=at, reason=f"status {old.english_label} → {new.english_label}")
    refresh_case(case)


def record_priority(case: Case, old: Priority, new: Priority, at: datetime) -> None:
    if case.sla_policy_id is None:
        return
    _record(case, EventKind.POLICY_CHANGED, at=at, reason=f"priority {old.english_label} → {new.english_label}: targets recomputed",
            data={"priority": int(new)})
    refresh_case(case)


def record_group(case: Case, old: Group | None, new: Group | None, at: datetime) -> None:
    """A case moved to another group: under a policy without a calendar, its clocks now run on
    the new group's calendar."""
    policy = case.sla_policy
    if policy is None or policy.business_hours_id is not None:
        return
    before, after = old.business_hours if old else None, new.business_hours if new else None
    if before == after:
        return
    _record(case, EventKind.POLICY_CHANGED, at=at,
            reason=f"group {old.name if old else 'none'} → {new.name if new else 'none'}: calendar "
                   f"{before.name if before else '24x7'} → {after.name if after else '24x7'}")
    refresh_case(case)


def change_case_policy(actor: User | None, case: Case, policy: SLAPolicy | None, at: datetime | None = None) -> None:
    """Put a case under another policy mid-case: its clocks keep their starts, under the new targets."""
    at = at or utcnow()
    if policy is not None and policy.id == case.sla_policy_id:
        return
    old = case.sla_policy
    case.sla_policy = policy
    who = f" by {actor.name}" if actor else ""
    _record(case, EventKind.POLICY_CHANGED, at=at, reason=f"policy {old.name if old else 'none'} → {policy.name if policy else 'none'}{who}",
            data={"from": old.id if old else None, "to": policy.id if policy else None})
    if old is None and policy is not None:
        db.session.flush()
        if not any(e.kind == EventKind.STARTED for e in _events(case)):
            _record(case, EventKind.STARTED, Clock.RESOLUTION, at=case.created_at, reason="policy applied")
            if case.first_response_at is None:
                _record(case, EventKind.STARTED, Clock.FIRST_RESPONSE, at=case.created_at, reason="policy applied")
    refresh_case(case)


def refresh_case(case: Case) -> dict | None:
    """Store the deadlines the case's events and policy give; return the clocks."""
    states = _states(case)
    summary = policies.summarize(states) if states else None
    case.first_response_due_at = summary.due[Clock.FIRST_RESPONSE] if summary else None
    case.next_response_due_at = summary.due[Clock.NEXT_RESPONSE] if summary else None
    case.resolution_due_at = summary.due[Clock.RESOLUTION] if summary else None
    case.sla_due_at = summary.sla_due_at if summary else None
    case.sla_check_at = summary.sla_check_at if summary else None
    case.sla_warn_at = summary.sla_warn_at if summary else None
    case.sla_paused_at = _paused_since(case) if states and any(s.paused for s in states.values()) else None
    return states


def record_once(case_id: int, state: policies.ClockState, kind: EventKind, *, at: datetime, policy_id: int | None,
                reason: str) -> bool:
    """Insert a warning or breach unless it is already recorded (by us or a concurrent sweep).
    True when this call recorded it."""
    params = dict(case_id=case_id, kind=kind.value, clock=state.clock.value, at=at, due_at=state.due_at,
                  policy_id=policy_id, reason=reason[:300], data={"cycle": state.cycle},
                  once_key=state.once_key(case_id, kind))
    inserted = db.session.execute(_insert_if_absent(db.session.get_bind().dialect.name), params).scalar()
    return inserted is not None


_INSERTS: dict = {}


def _insert_if_absent(dialect: str):
    """INSERT ... ON CONFLICT (once_key) DO NOTHING, built once per dialect (SQLite and PostgreSQL)."""
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = _INSERTS[dialect] = (insert(SLAEvent.__table__).on_conflict_do_nothing(index_elements=["once_key"])
                                    .returning(SLAEvent.__table__.c.id))
    return stmt


def _fulfil(case: Case, state: policies.ClockState, at: datetime, reason: str) -> None:
    late = state.due_at is not None and at > state.due_at
    _record(case, EventKind.FULFILLED, state.clock, at=at, due_at=state.due_at,
            reason=reason + (" (late)" if late else ""), data={"cycle": state.cycle, "late": late})
    if late and not state.breached:
        record_once(case.id, state, EventKind.BREACHED, at=state.due_at, policy_id=case.sla_policy_id,
                    reason=f"{state.clock.label} was due {state.due_at:%Y-%m-%d %H:%M} UTC")


def _record(case: Case, kind: EventKind, clock: Clock | None = None, *, at: datetime, reason: str,
            due_at: datetime | None = None, data: dict | None = None) -> SLAEvent:
    event = SLAEvent(case_id=case.id, kind=kind.value, clock=clock.value if clock else None, at=at, due_at=due_at,
                     policy_id=case.sla_policy.id if case.sla_policy else None, reason=reason[:300], data=data or {})
    db.session.add(event)
    return event


def _events(case: Case) -> list[SLAEvent]:
    return list(db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id).order_by(SLAEvent.at, SLAEvent.id)))


def _states(case: Case) -> dict | None:
    policy = case.sla_policy
    if policy is None:
        return None
    return policies.evaluate(_events(case), policies.targets_for(policy.targets, case.priority),
                             case_calendar(case), policy.warning_percent)


def _paused_since(case: Case) -> datetime | None:
    return db.session.scalar(
        select(SLAEvent.at).where(SLAEvent.case_id == case.id, SLAEvent.clock.is_(None), SLAEvent.kind == EventKind.PAUSED.value)
        .order_by(SLAEvent.at.desc(), SLAEvent.id.desc()).limit(1)
    )

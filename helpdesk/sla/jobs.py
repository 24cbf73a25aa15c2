"""SLA jobs: the sweep that records warnings and breaches and escalates, recomputing a policy's
open cases after an edit, and closing cases left resolved."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from flask import current_app
from sqlalchemy import Integer, and_, bindparam, insert, literal, select, text, type_coerce, update
from sqlalchemy.orm import selectinload
from sqlalchemy.types import UserDefinedType

from helpdesk import jobs
from helpdesk.cases.models import Case, Priority, Status
from helpdesk.extensions import db
from helpdesk.notifications import services as notifications
from helpdesk.people.models import Group, Role, User
from helpdesk.sla import policies
from helpdesk.sla.models import Clock, EventKind, SLAEvent, SLAPolicy
from helpdesk.sla.services import calendar_for, case_calendar, policy_calendar, record_once
from helpdesk.types import UTCDateTime, utcnow

BATCH = 500
_ONCE_KINDS = (EventKind.WARNED.value, EventKind.BREACHED.value)


# --- the sweep -------------------------------------------------------------------------------


@jobs.periodic(every=timedelta(minutes=1))
def sweep_sla(now: datetime | None = None) -> int:
    """Record the warnings and breaches that came due and run their escalations; return how many.

    Each is inserted only if absent (a unique key per case, clock, cycle and kind), and only
    the sweep whose insert landed escalates, so two sweeps at once never notify twice.
    """
    now = now or utcnow()
    recorded, seen = 0, set()
    while True:
        _write_lock()
        # The sla_check_at index finds the few due cases among millions; a case done here moves
        # its check into the future, so the next batch is the next due ones.
        ids = [i for i in db.session.scalars(
            select(Case.id).where(Case.sla_check_at <= now).order_by(Case.sla_check_at, Case.id).limit(BATCH + len(seen))
        ) if i not in seen]
        if not ids:
            return recorded
        seen.update(ids[:BATCH])
        cases = db.session.scalars(
            select(Case).where(Case.id.in_(ids[:BATCH]), Case.is_open.is_(True), Case.deleted_at.is_(None))
            .options(selectinload(Case.sla_policy).selectinload(SLAPolicy.business_hours),
                     selectinload(Case.group).selectinload(Group.business_hours), selectinload(Case.followers),
                     selectinload(Case.assignee))
        ).all()
        events = _events_by_case([c.id for c in cases])
        # A case closed or deleted meanwhile has nothing to check: clear its columns.
        results = [(i, None, []) for i in set(ids[:BATCH]) - {c.id for c in cases}]
        for case in cases:
            count, states, case_events = _sweep_case(case, events.get(case.id, []), now)
            recorded += count
            results.append((case.id, states, case_events))
        _store(results)
        db.session.commit()


def _write_lock() -> None:
    """On SQLite, take the write lock before the batch reads: a transaction that reads and
    then writes fails at once ("database is locked") when another process wrote in between,
    while one that starts by writing waits its turn (busy_timeout), then reads fresh rows.
    PostgreSQL needs nothing: the once-only insert waits for a concurrent one and skips."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE sla_events SET id = id WHERE 0"))  # writes nothing, locks


def _sweep_case(case: Case, events: list, now: datetime) -> tuple[int, dict | None, list]:
    policy = case.sla_policy
    if policy is None:
        return 0, None, []
    states = _evaluate(case, events)
    done, escalate = 0, []
    for state, kind in policies.due_actions(states, now):
        at = state.due_at if kind == EventKind.BREACHED else state.warn_at
        reason = f"{state.clock.label} {'was due' if kind == EventKind.BREACHED else 'due'} {state.due_at:%Y-%m-%d %H:%M} UTC"
        if record_once(case.id, state, kind, at=at, policy_id=policy.id, reason=reason):
            done += 1
            escalate.append((state, kind))
        # Recorded now, by this sweep or by another one that got there first.
        state.warned, state.breached = state.warned or kind == EventKind.WARNED, state.breached or kind == EventKind.BREACHED
    for state, kind in escalate:
        _notify_in_app(case, state, kind, _watchers(case))
    if any(_rules(policy, state, kind) for state, kind in escalate):
        for state, kind in escalate:
            _escalate(case, policy, state, kind)
        # An escalation may have raised the priority or moved the case: read it all again.
        db.session.flush()
        db.session.refresh(case)
        events = _events_by_case([case.id]).get(case.id, [])
        states = _evaluate(case, events) if case.sla_policy else None
    return done, states, events


def _evaluate(case: Case, events) -> dict:
    policy = case.sla_policy
    return policies.evaluate(events, policies.targets_for(policy.targets, case.priority), case_calendar(case),
                             policy.warning_percent)


def _rules(policy: SLAPolicy, state: policies.ClockState, kind: EventKind) -> list[dict]:
    return [rule for rule in policy.escalations or []
            if rule.get("on", "breached") == kind.value and rule.get("clock", "any") in ("any", state.clock.value)]


def _escalate(case: Case, policy: SLAPolicy, state: policies.ClockState, kind: EventKind) -> None:
    from helpdesk.cases import services as case_services

    for rule in _rules(policy, state, kind):
        _notify(case, state, kind, rule.get("notify") or [])
        assignee = db.session.get(User, int(rule["assignee_id"])) if rule.get("assignee_id") else None
        group = db.session.get(Group, int(rule["group_id"])) if rule.get("group_id") else None
        if (assignee and assignee.active and assignee != case.assignee) or (group and group != case.group):
            case_services.assign_case(None, case, assignee=assignee if assignee and assignee.active else case.assignee,
                                      group=group or case.group)
        if rule.get("raise_priority") and case.priority < Priority.URGENT:
            case_services.change_priority(None, case, Priority(int(case.priority) + 1))


def _watchers(case: Case) -> list[User]:
    """Who hears of every warning and breach in the app: the assignee (the group's members
    while nobody has the case) and the case's followers. Following a case goes through
    case.followers (notifications.follow hands cases to the case service), which the sweep
    loads for a whole batch at once, rather than notifications.followers() case by case."""
    people = [case.assignee] if case.assignee is not None else list(case.group.members if case.group else [])
    return people + list(case.followers)


def _notify_in_app(case: Case, state: policies.ClockState, kind: EventKind, people, escalated: bool = False) -> None:
    """One notification per person; an unread one of the same kind for the case is refreshed
    rather than doubled (notifications.notify), and only the sweep that recorded the event
    gets here, so a concurrent sweep adds nothing."""
    what = "breached" if kind == EventKind.BREACHED else "about to breach"
    due = f"{'was' if kind == EventKind.BREACHED else 'is'} due {state.due_at:%Y-%m-%d %H:%M} UTC"
    notifications.notify(
        people, kind=f"sla.{kind.value}", title=f"{case.number} SLA {what}: {state.clock.label} — {case.subject}",
        url=f"/cases/{case.id}", target=("case", case.id),
        body=f"{state.clock.label} {due} (priority {case.priority.label}, policy {case.sla_policy.name})"
             + (". Escalated to you by the SLA policy." if escalated else "."),
    )


def _notify(case: Case, state: policies.ClockState, kind: EventKind, who: list[str]) -> None:
    from helpdesk.mail.services import queue_email

    people: dict[int, User] = {}
    if "assignee" in who and case.assignee is not None:
        people[case.assignee.id] = case.assignee
    if "group" in who and case.group is not None:
        people.update({u.id: u for u in case.group.members})
    if "managers" in who:
        people.update({u.id: u for u in db.session.scalars(select(User).where(User.role.in_([Role.MANAGER, Role.ADMIN])))})
    what = "breached" if kind == EventKind.BREACHED else "about to breach"
    _notify_in_app(case, state, kind, people.values(), escalated=True)
    for user in people.values():
        if not user.active:
            continue
        queue_email(
            to=[user.email],
            subject=f"[{case.number}] SLA {what}: {state.clock.label}",
            body_text=(f"{case.number} {case.subject}\n\n{state.clock.label} {'was' if kind == EventKind.BREACHED else 'is'} "
                       f"due {state.due_at:%Y-%m-%d %H:%M} UTC (priority {case.priority.label}, policy {case.sla_policy.name}).\n"),
            case=case,
            dedupe_key=f"sla:{state.once_key(case.id, kind)}:{user.id}",
            auto_submitted="auto-generated",
        )


# --- recomputing after a policy or calendar edit ---------------------------------------------


@jobs.job
def recompute_policy_cases(policy_id: int, reason: str = "policy changed", priorities: list[int] | None = None) -> int:
    """Recompute the stored deadlines of the policy's open cases (of these priorities, when
    given); return how many. Each batch commits on its own: a case has its old deadlines or
    its new ones (and the event saying why), never half, and a long recompute never holds
    the database's write lock for all of its run (SQLite has only one)."""
    policy = db.session.get(SLAPolicy, policy_id)
    if policy is None:
        return 0
    count = recompute_cases(policy, reason, utcnow(), priorities=priorities, after_batch=db.session.commit)
    db.session.commit()
    return count


def recompute_cases(policy: SLAPolicy, reason: str, at: datetime, batch: int = 5000,
                    priorities: list[int] | None = None, after_batch=None) -> int:
    """Recompute in batches with core statements: no ORM objects, and no version bump on the
    cases (an agent's open form stays valid: deadlines are not theirs to conflict with).

    Per batch: one read of the cases, one of their events (two with warnings or breaches),
    one INSERT ... SELECT of the policy_changed events (no row goes through Python), and one
    executemany UPDATE of the cases whose deadlines moved, sent to the driver as it is. The
    stored deadlines are read and written in the driver's own form, which skips converting
    every datetime of every case both ways. `after_batch()` (e.g. a commit) runs after each
    batch's writes; the caller commits the last one."""
    targets_by_priority = {int(p): policies.targets_for(policy.targets, p) for p in Priority}
    calendar_of_group = _calendars_by_group(policy)
    warning_percent = policy.warning_percent
    evaluate = policies.evaluate
    live = (Case.sla_policy_id == policy.id, Case.is_open.is_(True), Case.deleted_at.is_(None))
    if priorities is not None:
        live += (Case.priority.in_([Priority(p) for p in priorities]),)
    read_cases = (select(Case.id, type_coerce(Case.priority, Integer), Case.group_id,
                         *(type_coerce(c, _AsIs()) for c in _STORED))
                  .where(*live, Case.id > bindparam("after_id")).order_by(Case.id).limit(batch))
    count, after_id = 0, 0
    while True:
        _write_lock()  # each batch reads, then writes
        conn = db.session.connection()  # Core rows: no ORM loading of 5,000 tuples
        to_db = _driver_datetime(conn.dialect.name)
        rows = conn.execute(read_cases, {"after_id": after_id}).all()
        if not rows:
            return count
        in_batch = and_(*live, Case.id > after_id, Case.id <= rows[-1][0])
        after_id = rows[-1][0]
        events = _events_by_case(in_batch)
        conn.execute(insert(SLAEvent.__table__).from_select(
            ["case_id", "kind", "at", "policy_id", "reason", "data"],
            select(Case.id, literal(EventKind.POLICY_CHANGED.value), literal(at, UTCDateTime()), literal(policy.id),
                   literal(reason[:300]), literal({}, SLAEvent.__table__.c.data.type)).where(in_batch),
        ))
        params = []
        no_events = ()
        for case_id, priority, group_id, *stored in rows:
            case_events = events.get(case_id, no_events)
            states = evaluate(case_events, targets_by_priority[priority], calendar_of_group(group_id), warning_percent)
            values = _driver_values(_columns(states, case_events), to_db)
            if values != stored:
                values.append(case_id)
                params.append(values)
        if params:
            _store_raw(conn, params)
        count += len(rows)
        if after_batch is not None:
            after_batch()


class _AsIs(UserDefinedType):
    """A value passed to and from the driver untouched (no processing, no cast)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "TIMESTAMP"


def _calendars_by_group(policy: SLAPolicy):
    """group id -> calendar: the policy's own for every group, or else each group's."""
    if policy.business_hours is not None:
        calendar = policy_calendar(policy)
        return lambda group_id: calendar
    by_group = {g.id: calendar_for(g.business_hours) for g in db.session.scalars(
        select(Group).where(Group.business_hours_id.is_not(None)).options(selectinload(Group.business_hours)))}
    always = calendar_for(None)
    return lambda group_id: by_group.get(group_id, always)


def _driver_datetime(dialect: str):
    """A stored datetime as the driver reads and writes it: SQLAlchemy keeps naive UTC text
    with microseconds on SQLite ("2025-06-02 09:00:00.000000"); psycopg takes and gives
    aware datetimes."""
    if dialect != "sqlite":
        return lambda d: d

    def to_text(d: datetime | None) -> str | None:
        if d is None:
            return None
        if d.tzinfo is not timezone.utc:
            d = d.astimezone(timezone.utc)
        return d.isoformat(" ", "microseconds")[:26]  # without the "+00:00"
    return to_text


def _aware(dialect: str):
    """The reverse of _driver_datetime, for reading many event times cheaply."""
    if dialect != "sqlite":
        return lambda value: value
    parse = datetime.fromisoformat
    return lambda text: parse(text + "+00:00")  # timezone.utc itself, and faster than .replace(tzinfo=...)


class _Event(NamedTuple):
    kind: str
    clock: str | None
    at: datetime
    data: dict | None


def _events_by_case(cases) -> dict[int, list]:
    """The SLA events of some cases (ids, or a condition on Case), in order, without the
    policy_changed ones (they only explain; the clocks never read them). Only warnings and
    breaches need their data (the cycle), so the JSON of the others is never decoded; an
    instant several events share (a case's clocks start together) is converted once."""
    out: dict[int, list] = defaultdict(list)
    if isinstance(cases, list | tuple | set):
        if not cases:
            return out
        which = SLAEvent.case_id.in_(cases)
    else:
        which = SLAEvent.case_id.in_(select(Case.id).where(cases))
    conn = db.session.connection()  # Core rows, not the ORM's
    cycles = dict(conn.execute(
        select(SLAEvent.id, SLAEvent.data).where(which, SLAEvent.kind.in_(_ONCE_KINDS))
    ).all())
    aware = _aware(conn.dialect.name)
    instants: dict = {}
    rows = conn.execute(
        select(SLAEvent.case_id, SLAEvent.id, SLAEvent.kind, SLAEvent.clock, type_coerce(SLAEvent.at, _AsIs()))
        .where(which, SLAEvent.kind != EventKind.POLICY_CHANGED.value)
        .order_by(SLAEvent.case_id, SLAEvent.at, SLAEvent.id)
    ).fetchall()  # one fetch: iterating the result would fetch row by row
    new_event, get_cycle = _Event._make, cycles.get
    for case_id, event_id, kind, clock, at in rows:
        when = instants.get(at)
        if when is None:
            when = instants[at] = aware(at)
        out[case_id].append(new_event((kind, clock, when, get_cycle(event_id))))
    return out


_STORED = (Case.first_response_due_at, Case.next_response_due_at, Case.resolution_due_at, Case.sla_due_at,
           Case.sla_check_at, Case.sla_paused_at, Case.sla_warn_at)
_STORE_KEYS = ("fr", "nr", "rs", "due", "chk", "paused", "warn")


def _store_statement(bind_type=None):
    return (update(Case.__table__).where(Case.__table__.c.id == bindparam("case_id"))
            .values(**{c.key: bindparam(k, type_=bind_type) for c, k in zip(_STORED, _STORE_KEYS)}))


_STORE = _store_statement()
_STORE_RAW = _store_statement(_AsIs())  # values already in the driver's form
_STORE_SQL: dict[str, tuple[str, tuple | None]] = {}


def _store_raw(conn, rows: list[list]) -> None:
    """_STORE_RAW as one executemany of the driver's own SQL: each row holds the values of
    _STORE_KEYS, then the case id, already in the driver's form."""
    dialect = conn.dialect
    keys = _STORE_KEYS + ("case_id",)
    sql, names = _STORE_SQL.get(dialect.name) or _STORE_SQL.setdefault(dialect.name, _compile_store(dialect))
    if names is None:  # named parameters (psycopg): one dict per row
        conn.exec_driver_sql(sql, [dict(zip(keys, row)) for row in rows])
    else:  # positional (SQLite's qmark): tuples in the statement's order
        order = [keys.index(n) for n in names]
        if order != list(range(len(keys))):
            rows = [[row[i] for i in order] for row in rows]
        conn.exec_driver_sql(sql, [tuple(row) for row in rows])


def _compile_store(dialect) -> tuple[str, tuple | None]:
    compiled = _STORE_RAW.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup) if compiled.positional else None


def _columns(states: dict | None, events) -> tuple:
    """The case's SLA columns, in the order of _STORED, from its clocks."""
    summary = policies.summarize(states) if states else None
    if summary is None:
        return (None,) * len(_STORED)
    paused = None
    if any(s.paused for s in states.values()):
        paused = max((e.at for e in events if e.kind == EventKind.PAUSED and e.clock is None), default=None)
    return (summary.due[Clock.FIRST_RESPONSE], summary.due[Clock.NEXT_RESPONSE], summary.due[Clock.RESOLUTION],
            summary.sla_due_at, summary.sla_check_at, paused, summary.sla_warn_at)


def _driver_values(columns: tuple, to_db) -> list:
    """The columns in the driver's form. The soonest due, next check and warning columns repeat
    the clocks' own datetimes: each object is converted once."""
    done: dict[int, object] = {}
    out = []
    for value in columns:
        if value is not None:
            key = id(value)
            converted = done.get(key)
            if converted is None:
                converted = done[key] = to_db(value)
            value = converted
        out.append(value)
    return out


def _store(results: list[tuple[int, dict | None, list]]) -> None:
    """Write the cases' SLA columns."""
    params = [dict(zip(_STORE_KEYS, _columns(states, events)), case_id=case_id) for case_id, states, events in results]
    if params:
        db.session.execute(_STORE, params)


# --- auto-close ------------------------------------------------------------------------------


@jobs.periodic(every=timedelta(hours=1))
def close_resolved_cases(now: datetime | None = None) -> int:
    """Close cases resolved more than HELPDESK_AUTO_CLOSE_DAYS ago (a customer reply would have
    reopened them); 0 days turns this off."""
    from helpdesk.cases import services as case_services

    days = current_app.config["AUTO_CLOSE_DAYS"]
    if not days:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    closed = 0
    while True:
        cases = list(db.session.scalars(
            select(Case).where(Case.status == Status.RESOLVED, Case.resolved_at <= cutoff, Case.deleted_at.is_(None),
                               Case.merged_into_id.is_(None)).order_by(Case.id).limit(BATCH)
        ))
        for case in cases:
            case_services.change_status(None, case, Status.CLOSED,
                                        reason=f"closed automatically {days} days after it was resolved")
        db.session.commit()
        closed += len(cases)
        if len(cases) < BATCH:
            return closed

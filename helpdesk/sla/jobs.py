"""SLA jobs: the sweep that records warnings and breaches and escalates, recomputing a policy's
open cases after an edit, and closing cases left resolved."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import selectinload

from helpdesk import jobs
from helpdesk.cases.models import Case, Priority, Status
from helpdesk.extensions import db
from helpdesk.people.models import Group, Role, User
from helpdesk.sla import policies
from helpdesk.sla.models import Clock, EventKind, SLAEvent, SLAPolicy
from helpdesk.sla.services import policy_calendar, record_once
from helpdesk.types import utcnow

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
            .options(selectinload(Case.sla_policy).selectinload(SLAPolicy.business_hours))
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


def _sweep_case(case: Case, events: list, now: datetime) -> tuple[int, dict | None, list]:
    policy = case.sla_policy
    if policy is None:
        return 0, None, []
    states = _evaluate(policy, case.priority, events)
    done, escalate = 0, []
    for state, kind in policies.due_actions(states, now):
        at = state.due_at if kind == EventKind.BREACHED else state.warn_at
        reason = f"{state.clock.label} {'was due' if kind == EventKind.BREACHED else 'due'} {state.due_at:%Y-%m-%d %H:%M} UTC"
        if record_once(case.id, state, kind, at=at, policy_id=policy.id, reason=reason):
            done += 1
            escalate.append((state, kind))
        # Recorded now, by this sweep or by another one that got there first.
        state.warned, state.breached = state.warned or kind == EventKind.WARNED, state.breached or kind == EventKind.BREACHED
    if any(_rules(policy, state, kind) for state, kind in escalate):
        for state, kind in escalate:
            _escalate(case, policy, state, kind)
        # An escalation may have raised the priority or moved the case: read it all again.
        db.session.flush()
        db.session.refresh(case)
        events = _events_by_case([case.id]).get(case.id, [])
        states = _evaluate(case.sla_policy, case.priority, events) if case.sla_policy else None
    return done, states, events


def _evaluate(policy: SLAPolicy, priority, events) -> dict:
    return policies.evaluate(events, policies.targets_for(policy.targets, priority), policy_calendar(policy),
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
def recompute_policy_cases(policy_id: int, reason: str = "policy changed") -> int:
    """Recompute the stored deadlines of the policy's open cases; return how many."""
    policy = db.session.get(SLAPolicy, policy_id)
    if policy is None:
        return 0
    count = recompute_cases(policy, reason, utcnow())
    db.session.commit()
    return count


def recompute_cases(policy: SLAPolicy, reason: str, at: datetime, batch: int = 5000) -> int:
    """Recompute in batches with core statements: no ORM objects, and no version bump on the
    cases (an agent's open form stays valid: deadlines are not theirs to conflict with)."""
    calendar, targets_by_priority = policy_calendar(policy), {p: policies.targets_for(policy.targets, p) for p in Priority}
    count, after_id = 0, 0
    while True:
        rows = db.session.execute(
            select(Case.id, Case.priority, *_STORED)
            .where(Case.sla_policy_id == policy.id, Case.is_open.is_(True), Case.deleted_at.is_(None), Case.id > after_id)
            .order_by(Case.id).limit(batch)
        ).all()
        if not rows:
            return count
        after_id = rows[-1].id
        events = _events_by_case([r.id for r in rows])
        db.session.execute(insert(SLAEvent.__table__), [
            dict(case_id=r.id, kind=EventKind.POLICY_CHANGED.value, clock=None, at=at, policy_id=policy.id,
                 reason=reason[:300], data={}) for r in rows
        ])
        results = []
        for r in rows:
            states = policies.evaluate(events.get(r.id, []), targets_by_priority[Priority(r.priority)], calendar,
                                       policy.warning_percent)
            results.append((r.id, states, events.get(r.id, [])))
        _store(results, {r.id: tuple(r[2:]) for r in rows})
        count += len(rows)


class _Event(NamedTuple):
    kind: str
    clock: str | None
    at: datetime
    data: dict | None


def _events_by_case(case_ids: list[int]) -> dict[int, list]:
    """Each case's SLA events, in order; only warnings and breaches need their data (the cycle),
    so the JSON of the others is never decoded."""
    out: dict[int, list] = defaultdict(list)
    if not case_ids:
        return out
    cycles = dict(db.session.execute(
        select(SLAEvent.id, SLAEvent.data).where(SLAEvent.case_id.in_(case_ids), SLAEvent.kind.in_(_ONCE_KINDS))
    ).all())
    rows = db.session.execute(
        select(SLAEvent.case_id, SLAEvent.id, SLAEvent.kind, SLAEvent.clock, SLAEvent.at)
        .where(SLAEvent.case_id.in_(case_ids)).order_by(SLAEvent.case_id, SLAEvent.at, SLAEvent.id)
    )
    for case_id, event_id, kind, clock, at in rows:
        out[case_id].append(_Event(kind, clock, at, cycles.get(event_id)))
    return out


_STORED = (Case.first_response_due_at, Case.next_response_due_at, Case.resolution_due_at, Case.sla_due_at,
           Case.sla_check_at, Case.sla_paused_at)
_STORE = (
    update(Case.__table__).where(Case.__table__.c.id == bindparam("case_id"))
    .values(first_response_due_at=bindparam("fr"), next_response_due_at=bindparam("nr"), resolution_due_at=bindparam("rs"),
            sla_due_at=bindparam("due"), sla_check_at=bindparam("check"), sla_paused_at=bindparam("paused"))
)


def _store(results: list[tuple[int, dict | None, list]], stored: dict[int, tuple] | None = None) -> None:
    """Write the cases' SLA columns; with `stored` (the columns as they are), only those that changed."""
    params = []
    for case_id, states, events in results:
        summary = policies.summarize(states) if states else None
        paused = None
        if states and any(s.paused for s in states.values()):
            paused = max((e.at for e in events if e.kind == EventKind.PAUSED and e.clock is None), default=None)
        values = (summary.due[Clock.FIRST_RESPONSE], summary.due[Clock.NEXT_RESPONSE], summary.due[Clock.RESOLUTION],
                  summary.sla_due_at, summary.sla_check_at, paused) if summary else (None,) * 6
        if stored is not None and stored.get(case_id) == values:
            continue
        params.append(dict(zip(("fr", "nr", "rs", "due", "check", "paused"), values), case_id=case_id))
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

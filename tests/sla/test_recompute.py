"""The bulk recompute after a policy edit (Core reads and writes, batches) stores exactly what the
case-by-case engine computes, and the clocks' replay agrees with a plain one."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from helpdesk.cases import services
from helpdesk.cases.models import Case, Priority, Status
from helpdesk.extensions import db
from helpdesk.recycle.services import delete_record
from helpdesk.sla import policies
from helpdesk.sla import services as sla
from helpdesk.sla.calendar import BusinessCalendar
from helpdesk.sla.jobs import recompute_cases, sweep_sla
from helpdesk.sla.models import Clock, EventKind, SLAEvent

ROME = ZoneInfo("Europe/Rome")
COLUMNS = ("first_response_due_at", "next_response_due_at", "resolution_due_at", "sla_due_at", "sla_check_at",
           "sla_paused_at", "sla_warn_at")


def _live_cases(rnd: random.Random, clock, make_case, agent, groups, n: int) -> list[Case]:
    """n cases opened over two weeks around holidays and a DST change, each with a random life:
    replies, customer follow-ups, waiting (pauses), resolving and reopening, warnings."""
    cases = []
    clock.set(datetime(2025, 10, 20, 8, 30, tzinfo=ROME))
    for i in range(n):
        clock.advance(minutes=rnd.randrange(5, 400), microseconds=rnd.randrange(1_000_000))
        case = make_case(None, group=rnd.choice(groups), priority=rnd.choice(list(Priority)))
        cases.append(case)
        for _ in range(rnd.randrange(6)):
            clock.advance(minutes=rnd.randrange(1, 300), microseconds=rnd.randrange(1_000_000))
            roll = rnd.random()
            if not case.is_open:
                if roll < 0.5:
                    services.change_status(agent, case, Status.OPEN)  # reopened
            elif roll < 0.3:
                services.reply_to_case(agent, case, body="Looking into it.")
            elif roll < 0.5:
                services.add_customer_message(case.contact, case, body="Any news?")
            elif roll < 0.7:
                services.change_status(agent, case, rnd.choice([Status.WAIT_CUSTOMER, Status.WAIT_THIRD_PARTY]))
            elif roll < 0.8:
                services.change_status(agent, case, Status.OPEN)
            elif roll < 0.9:
                services.change_status(agent, case, Status.RESOLVED)
            else:
                sweep_sla(clock.now)  # warnings and breaches recorded for some clocks
        db.session.flush()
    return cases


def _stored(case: Case) -> dict:
    return {c: getattr(case, c) for c in COLUMNS}


def test_the_fast_recompute_stores_what_each_case_computes_one_by_one(clock, make_hours, make_policy, make_case,
                                                                       make_user, make_group):
    rnd = random.Random(20251026)  # the night Rome leaves summer time is inside the window
    office = make_hours(name="Rome office", holidays=["2025-10-24", "2025-11-01", "2025-11-03"])
    night = make_hours(name="Night desk", timezone="America/New_York",
                       weekly={str(d): [["18:00", "24:00"]] for d in range(6)}, holidays=["2025-10-31"])
    policy = make_policy(None, first=60, next_response=180, resolution=900, warning_percent=75)
    rome_team, ny_team, anyone = make_group(name="Rome"), make_group(name="New York"), make_group(name="Anyone")
    sla.set_group_calendars(None, office, [rome_team])
    sla.set_group_calendars(None, night, [ny_team])
    agent = make_user()
    cases = _live_cases(rnd, clock, make_case, agent, [rome_team, ny_team, anyone], 40)
    deleted = next(c for c in cases if c.is_open)
    delete_record(agent, "case", deleted.id)  # in the recycle bin: left alone
    db.session.flush()
    untouched = _stored(deleted)
    events_before = {(e.id, e.case_id, e.kind, e.clock, e.at, e.reason) for e in db.session.scalars(select(SLAEvent))}

    # The admin's edit: new targets for every priority and a new warning threshold.
    policy.targets = {str(int(p)): {"first_response": 17 * int(p), "next_response": 45 + int(p), "resolution": 300 * int(p)}
                      for p in Priority}
    policy.warning_percent = 40
    db.session.flush()
    batches = []
    at = clock.advance(minutes=1)
    live = [c for c in cases if c.is_open and c.deleted_at is None]
    assert recompute_cases(policy, "policy Standard changed", at, batch=7, after_batch=lambda: batches.append(1)) == len(live)
    assert len(batches) == -(-len(live) // 7)  # every batch of 7 ran its own writes

    db.session.expire_all()
    fast = {c.id: _stored(c) for c in cases}
    assert fast[deleted.id] == untouched  # in the recycle bin: not recomputed
    for case in cases:
        if case is not deleted:
            sla.refresh_case(case)  # the engine, one case at a time, through the ORM
            assert _stored(case) == fast[case.id], case.number
    assert sum(1 for c in live if c.sla_paused_at is not None) > 0  # the data holds paused cases
    assert sum(1 for c in live if c.sla_warn_at is not None) > 0

    # Events: the old ones untouched, and one "policy changed" per recomputed case, saying why.
    events = list(db.session.scalars(select(SLAEvent)))
    assert {(e.id, e.case_id, e.kind, e.clock, e.at, e.reason) for e in events} >= events_before
    added = [e for e in events if (e.id, e.case_id, e.kind, e.clock, e.at, e.reason) not in events_before]
    assert sorted(e.case_id for e in added) == sorted(c.id for c in live)
    assert {(e.kind, e.at, e.reason, e.policy_id, e.clock) for e in added} == {
        (EventKind.POLICY_CHANGED.value, at, "policy Standard changed", policy.id, None)}


def test_a_recompute_of_some_priorities_leaves_the_others_alone(clock, make_hours, make_policy, make_case, make_user,
                                                                make_group):
    rnd = random.Random(7)
    office = make_hours(name="Rome office", holidays=["2025-11-03"])
    policy = make_policy(office, first=60, next_response=120, resolution=480)
    agent = make_user()
    cases = _live_cases(rnd, clock, make_case, agent, [make_group()], 16)
    before = {c.id: _stored(c) for c in cases}
    policy.targets = {**policy.targets, "2": {"first_response": 5, "next_response": 6, "resolution": 7}}
    db.session.flush()
    normal = [c for c in cases if c.is_open and c.priority == Priority.NORMAL]
    assert recompute_cases(policy, "targets for Normal changed", clock.now, batch=3, priorities=[2]) == len(normal)
    db.session.expire_all()
    for case in cases:
        if case.priority != Priority.NORMAL or not case.is_open:
            assert _stored(case) == before[case.id], case.number
        else:
            stored = _stored(case)
            sla.refresh_case(case)
            assert _stored(case) == stored, case.number
    assert any(_stored(c) != before[c.id] for c in normal)


# --- the replay against a plain one ------------------------------------------------------------


def _plain_evaluate(events, targets, calendar, warning_percent):
    """The clocks replayed the obvious way (the engine's first version): every clock's state
    made up front, enum comparisons, no shortcuts."""
    states = {clock: policies.ClockState(clock) for clock in Clock}
    pauses = []
    for event in events:
        kind, clock = event.kind, event.clock
        if kind == EventKind.PAUSED and clock is None:
            if not pauses or pauses[-1][1] is not None:
                pauses.append([event.at, None])
        elif kind == EventKind.RESUMED and clock is None:
            if pauses and pauses[-1][1] is None:
                pauses[-1][1] = event.at
        elif clock is not None:
            state = states[Clock(clock)]
            if kind == EventKind.STARTED:
                states[state.clock] = policies.ClockState(state.clock, cycle=state.cycle + 1, started_at=event.at)
            elif kind == EventKind.FULFILLED and state.running:
                state.fulfilled_at = state._stopped_at = event.at
            elif kind == EventKind.RESUMED and state._stopped_at is not None:
                state.stops.append([state._stopped_at, event.at])
                state.fulfilled_at = state._stopped_at = None
            elif kind in (EventKind.WARNED, EventKind.BREACHED) and (event.data or {}).get("cycle") == state.cycle:
                setattr(state, "warned" if kind == EventKind.WARNED else "breached", True)
    warns = bool(warning_percent) and 0 < warning_percent < 100
    for state in states.values():
        state.target = targets.get(state.clock)
        if state.started_at is None or state.target is None:
            continue
        spells = policies._spells(pauses + state.stops, state.started_at, state.fulfilled_at)
        state.due_at, state.paused = policies._deadline(calendar, state.started_at, state.target, spells)
        if warns and state.running:
            warn = math.ceil(state.target * warning_percent / 100)
            state.warn_at, _ = policies._deadline(calendar, state.started_at, warn, spells)
        state.paused = state.paused and state.running
    return states


_KINDS = [k.value for k in EventKind]
_CLOCKS = [None] + [c.value for c in Clock]
_CALENDAR = BusinessCalendar("Europe/Rome", {d: [("09:00", "13:00"), ("14:00", "18:00")] for d in range(5)},
                             {datetime(2025, 11, 3).date()})


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(_KINDS), st.sampled_from(_CLOCKS), st.integers(0, 3000),
                                st.integers(0, 3)), max_size=14),
       warning=st.sampled_from([None, 0, 50, 75, 99]), priority=st.sampled_from(list(Priority)),
       as_enums=st.booleans())
def test_the_replay_agrees_with_a_plain_one(steps, warning, priority, as_enums):
    at = datetime(2025, 10, 24, 16, 0, tzinfo=timezone.utc)
    events = []
    for kind, clock, minutes, cycle in steps:
        at += timedelta(minutes=minutes)
        if as_enums:  # the ORM's events carry strings; callers may pass the enums
            kind, clock = EventKind(kind), Clock(clock) if clock else None
        events.append(SimpleNamespace(kind=kind, clock=clock, at=at, data={"cycle": cycle}))
    targets = policies.targets_for({"1": {"first_response": 240, "resolution": 2400}, "2": {"next_response": 90},
                                    "3": {"first_response": 30, "next_response": 60, "resolution": 600}}, priority)
    fast = policies.evaluate(events, targets, _CALENDAR, warning)
    plain = _plain_evaluate(events, targets, _CALENDAR, warning)
    assert list(fast) == list(plain)
    assert fast == plain
    assert policies.summarize(fast) == policies.summarize(plain)

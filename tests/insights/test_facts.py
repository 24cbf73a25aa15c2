"""Case facts and the daily rollup, against hand-computed times on a Mon-Fri 09:00-17:00
calendar in Rome (reporting time zone Rome too)."""
from __future__ import annotations

import random
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.cases import services as cases
from helpdesk.cases.models import Status
from helpdesk.extensions import db
from helpdesk.insights import services
from helpdesk.insights.models import MEASURES, CaseFact, DailyCases

ROME = ZoneInfo("Europe/Rome")


def rome(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """An instant given on Rome's wall clock in November 2026 (UTC+1); 6 Nov is a Friday."""
    return datetime(2026, month, day, hour, minute, tzinfo=ROME).astimezone(timezone.utc)


@pytest.fixture
def office(app, monkeypatch, make_user, make_group):
    """The reporting zone, an office calendar, a default policy and two agents in one group."""
    from helpdesk.sla.services import save_business_hours, save_policy

    monkeypatch.setitem(app.config, "TIMEZONE", "Europe/Rome")
    hours = save_business_hours(None, None, name="Rome office", timezone="Europe/Rome",
                                weekly={str(d): [["09:00", "17:00"]] for d in range(5)}, holidays=[])
    targets = {str(p): {"first_response": 240, "resolution": 960} for p in (1, 2, 3, 4)}
    policy = save_policy(None, None, dict(name="Standard", business_hours_id=hours.id, targets=targets,
                                          pause_statuses=["wait_customer", "wait_third_party"],
                                          warning_percent=75, is_default=True))
    group = make_group(name="Support")
    ann, bob = make_user(name="Ann"), make_user(name="Bob")
    db.session.flush()
    return type("Office", (), dict(policy=policy, group=group, ann=ann, bob=bob, hours=hours))


def fact(case) -> CaseFact:
    db.session.expire_all()
    return db.session.get(CaseFact, case.id)


def rollup_rows() -> dict:
    rows = db.session.execute(select(DailyCases)).scalars().all()
    out = {}
    for r in rows:
        values = tuple(getattr(r, m) for m in MEASURES)
        if any(values):
            out[(r.dimension, r.day, r.group_id, r.agent_id, r.key)] = values
    return out


def agent_solved(agent_id: int) -> int:
    return sum(r.solved for r in db.session.scalars(
        select(DailyCases).where(DailyCases.dimension == "all", DailyCases.group_id == -1,
                                 DailyCases.agent_id == agent_id)))


def test_weekend_first_response_and_a_pause(office, freeze_clock, make_case):
    clock = freeze_clock(rome(6, 16))  # Friday 16:00
    case = make_case(group=office.group, assignee=office.ann)
    clock.set(rome(9, 10))  # Monday 10:00: the answer; the case waits for the customer
    cases.reply_to_case(office.ann, case, body="Try turning it off and on.")
    assert case.status == Status.WAIT_CUSTOMER
    clock.set(rome(9, 14))  # Monday 14:00: the customer answers, the clocks run again
    cases.add_customer_message(case.contact, case, body="Still jammed.")
    clock.set(rome(10, 11))  # Tuesday 11:00: solved
    cases.change_status(office.ann, case, Status.RESOLVED)

    assert services.refresh() >= 1
    f = fact(case)
    assert f.created_day == date(2026, 11, 6)
    assert f.first_response_day == date(2026, 11, 9)
    assert f.solved_day == date(2026, 11, 10)
    # Friday 16-17 and Monday 9-10; in wall time Friday 16:00 to Monday 10:00.
    assert (f.frt_business_minutes, f.frt_minutes) == (120, 66 * 60)
    # Friday 16-17, Monday 9-10 (10-14 paused), 14-17, Tuesday 9-11 = 7 h; wall time 91 h.
    assert (f.res_business_minutes, f.res_minutes) == (7 * 60, 91 * 60)
    assert (f.sla_fr, f.sla_res, f.sla_breached) == ("met", "met", False)
    assert f.reopen_count == 0 and f.live and not f.is_open


def test_a_reopened_case_counts_its_first_solution(office, freeze_clock, make_case):
    clock = freeze_clock(rome(9, 10))
    case = make_case(group=office.group, assignee=office.bob)
    clock.set(rome(9, 12))
    cases.change_status(office.bob, case, Status.RESOLVED)
    clock.set(rome(9, 13))
    cases.add_customer_message(case.contact, case, body="It broke again.")
    assert case.status == Status.OPEN
    clock.set(rome(11, 15))
    cases.change_status(office.bob, case, Status.RESOLVED)
    services.refresh()
    f = fact(case)
    assert f.reopen_count == 1
    assert f.solved_day == date(2026, 11, 9)
    assert (f.res_business_minutes, f.res_minutes) == (120, 120)
    key = ("all", date(2026, 11, 9), office.group.id, office.bob.id, "0")
    row = dict(zip(MEASURES, rollup_rows()[key]))
    assert (row["created"], row["solved"], row["reopened"]) == (1, 1, 1)


def test_a_reassignment_moves_the_case_between_agents(office, freeze_clock, make_case):
    clock = freeze_clock(rome(9, 10))
    case = make_case(group=office.group, assignee=office.ann)
    clock.set(rome(9, 11))
    cases.change_status(office.ann, case, Status.RESOLVED)
    services.refresh()
    assert (agent_solved(office.ann.id), agent_solved(office.bob.id)) == (1, 0)
    clock.set(rome(9, 12))
    cases.assign_case(office.ann, case, assignee=office.bob, keep_group=True)
    services.refresh()
    assert (agent_solved(office.ann.id), agent_solved(office.bob.id)) == (0, 1)


def test_days_are_counted_in_the_reporting_zone(office, freeze_clock, make_case):
    clock = freeze_clock(rome(10, 0, 30))  # Tuesday 00:30 in Rome is still Monday 23:30 in UTC
    late = make_case(group=office.group)
    clock.set(rome(9, 23, 30))
    early = make_case(group=office.group)
    services.refresh()
    assert fact(late).created_day == date(2026, 11, 10)
    assert fact(early).created_day == date(2026, 11, 9)
    days = {k[1]: v[0] for k, v in rollup_rows().items() if k[0] == "all" and k[2:4] == (-1, -1)}
    assert days == {date(2026, 11, 9): 1, date(2026, 11, 10): 1}


def test_deleting_a_case_takes_it_out_of_the_counts(office, freeze_clock, make_case, make_user):
    from helpdesk.recycle import services as recycle

    freeze_clock(rome(9, 10))
    case = make_case(group=office.group)
    services.refresh()
    assert sum(v[0] for k, v in rollup_rows().items() if k[0] == "all" and k[2:4] == (-1, -1)) == 1
    recycle.delete_record(make_user(role="admin"), "case", case.id)
    services.refresh()
    assert not fact(case).live
    assert rollup_rows() == {}


def test_an_sla_breach_recorded_by_the_sweep_is_picked_up(office, freeze_clock, make_case):
    from helpdesk.sla.jobs import sweep_sla

    clock = freeze_clock(rome(9, 9))
    case = make_case(group=office.group)
    services.refresh()
    assert fact(case).sla_fr is None
    clock.set(rome(9, 14))  # 4 business hours: the first response is due 13:00
    sweep_sla(clock.now)
    services.refresh()
    f = fact(case)
    assert (f.sla_fr, f.sla_fr_day, f.sla_breached) == ("breached", date(2026, 11, 9), True)


def test_refresh_and_rebuild_agree_after_random_changes(office, freeze_clock, make_case, make_contact):
    rng = random.Random(9)
    clock = freeze_clock(rome(2, 8))
    agents = [office.ann, office.bob, None]
    open_cases = []
    for step in range(60):
        clock.advance(minutes=rng.randint(10, 600))
        action = rng.random()
        if action < 0.3 or not open_cases:
            open_cases.append(make_case(group=office.group, assignee=rng.choice(agents[:2])))
        else:
            case = rng.choice(open_cases)
            agent = office.ann
            if action < 0.5:
                cases.reply_to_case(agent, case, body="An answer.")
            elif action < 0.65:
                if case.status != Status.RESOLVED:
                    cases.change_status(agent, case, Status.RESOLVED)
            elif action < 0.75 and case.status in (Status.RESOLVED, Status.WAIT_CUSTOMER):
                cases.add_customer_message(case.contact, case, body="Again.")
            elif action < 0.9:
                cases.assign_case(agent, case, assignee=rng.choice(agents), keep_group=True)
            else:
                from helpdesk.cases.models import Priority

                cases.change_priority(agent, case, rng.choice(list(Priority)))
        if rng.random() < 0.4:
            services.refresh()
    services.refresh()
    incremental = rollup_rows()
    assert incremental  # something to compare
    facts_before = {f.case_id: (f.solved_day, f.assignee_id, f.frt_business_minutes, f.reopen_count)
                    for f in db.session.scalars(select(CaseFact))}
    services.rebuild(batch=7)
    assert rollup_rows() == incremental
    assert {f.case_id: (f.solved_day, f.assignee_id, f.frt_business_minutes, f.reopen_count)
            for f in db.session.scalars(select(CaseFact))} == facts_before


def test_the_commands_rebuild_and_refresh(office, freeze_clock, make_case, runner):
    freeze_clock(rome(9, 10))
    make_case(group=office.group)
    result = runner.invoke(args=["insights", "rebuild", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "Rebuilt the facts of 1 cases" in result.output
    assert services.as_of() is not None
    result = runner.invoke(args=["insights", "refresh"])
    assert result.exit_code == 0, result.output


def test_the_periodic_job_builds_a_small_help_desk_then_keeps_it_up_to_date(office, freeze_clock, make_case):
    from helpdesk.insights.jobs import refresh_insights

    clock = freeze_clock(rome(9, 10))
    case = make_case(group=office.group)
    assert services.as_of() is None
    assert refresh_insights() == 1  # never built: built from scratch
    assert fact(case).is_open and services.as_of() == clock.now
    clock.set(rome(9, 11))
    cases.change_status(office.ann, case, Status.RESOLVED)
    assert refresh_insights() == 1
    assert fact(case).solved_day == date(2026, 11, 9)
    assert refresh_insights() == 0  # nothing changed since

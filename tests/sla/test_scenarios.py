"""The anchors' known SLA bugs, each as a scenario with time frozen."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from helpdesk.cases import services
from helpdesk.cases.models import Priority, Status
from helpdesk.extensions import db
from helpdesk.sla import services as sla
from helpdesk.sla.jobs import recompute_policy_cases
from helpdesk.sla.models import SLAEvent

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


def events(case) -> list[tuple]:
    return [(e.kind, e.clock) for e in db.session.scalars(
        select(SLAEvent).where(SLAEvent.case_id == case.id).order_by(SLAEvent.at, SLAEvent.id))]


def test_waiting_for_the_customer_pauses_every_clock_and_the_reply_resumes_them(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, next_response=120, resolution=480)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 10, 0))  # Monday
    case = make_case(agent, assignee=agent)
    assert case.resolution_due_at == rome(2025, 6, 3, 10, 0)  # 7 h on Monday, the 8th on Tuesday
    clock.set(rome(2025, 6, 2, 11, 0))
    services.reply_to_case(agent, case, body="Can you send a photo?")
    assert case.status == Status.WAIT_CUSTOMER
    assert case.sla_paused_at == rome(2025, 6, 2, 11, 0)
    assert case.sla_due_at is None and case.sla_check_at is None  # nothing can breach while paused
    clock.set(rome(2025, 6, 3, 10, 0))  # the customer answers on Tuesday
    services.add_customer_message(case.contact, case, body="Here it is.")
    assert case.status == Status.OPEN and case.sla_paused_at is None
    # 1 h of the 8 was used on Monday; the other 7 run from Tuesday 10:00, around lunch.
    assert case.resolution_due_at == rome(2025, 6, 3, 18, 0)
    assert case.next_response_due_at == rome(2025, 6, 3, 12, 0)
    assert case.first_response_due_at is None
    assert ("paused", None) in events(case) and ("resumed", None) in events(case)


def test_a_customer_follow_up_never_replaces_the_first_response_deadline(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=240, next_response=60)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(agent)
    assert case.first_response_due_at == rome(2025, 6, 2, 13, 0)  # the morning's 4 h
    clock.set(rome(2025, 6, 2, 9, 30))
    services.add_customer_message(case.contact, case, body="Any news?")
    assert case.first_response_due_at == rome(2025, 6, 2, 13, 0)
    assert case.next_response_due_at is None
    clock.set(rome(2025, 6, 2, 10, 0))
    services.reply_to_case(agent, case, body="Looking into it.", status=Status.OPEN)
    assert case.first_response_due_at is None and case.next_response_due_at is None
    clock.set(rome(2025, 6, 2, 10, 30))
    services.add_customer_message(case.contact, case, body="Thanks, and also…")
    assert case.next_response_due_at == rome(2025, 6, 2, 11, 30)
    clock.set(rome(2025, 6, 2, 11, 0))
    services.add_customer_message(case.contact, case, body="…one more thing")
    assert case.next_response_due_at == rome(2025, 6, 2, 11, 30)  # the oldest unanswered message counts
    clock.set(rome(2025, 6, 2, 11, 15))
    services.reply_to_case(agent, case, body="Both done.", status=Status.OPEN)
    assert case.next_response_due_at is None
    fulfilled = db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id, SLAEvent.kind == "fulfilled")).all()
    assert [(e.clock, e.data["late"]) for e in fulfilled] == [("first_response", False), ("next_response", False)]


def test_a_holiday_starting_at_midnight_stops_an_interval_that_ends_at_midnight(clock, make_hours, make_policy, make_case):
    weekly = {str(d): [["08:00", "24:00"]] for d in range(5)}
    make_policy(make_hours(weekly=weekly, holidays=["2025-12-25"]), first=120)
    clock.set(rome(2025, 12, 24, 23, 0))  # Wednesday, Christmas Eve
    case = make_case(None)
    # 23:00-24:00 on Wednesday, nothing on Christmas Day, 08:00-09:00 on Friday.
    assert case.first_response_due_at == rome(2025, 12, 26, 9, 0)


def test_the_lunch_break_does_not_count(clock, make_hours, make_policy, make_case):
    make_policy(make_hours(), first=60)
    clock.set(rome(2025, 6, 4, 12, 30))
    case = make_case(None)
    assert case.first_response_due_at == rome(2025, 6, 4, 14, 30)


def test_a_policy_change_mid_case_keeps_the_start_and_applies_the_new_targets(clock, make_hours, make_policy, make_case, make_user):
    hours = make_hours()
    slow = make_policy(hours, first=480, name="Standard")
    fast = make_policy(hours, first=120, name="Premium", is_default=False, conditions={"priorities": [4]})
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None)
    assert case.sla_policy == slow and case.first_response_due_at == rome(2025, 6, 2, 18, 0)
    clock.set(rome(2025, 6, 2, 10, 0))
    sla.change_case_policy(make_user(role="manager"), case, fast)
    assert case.first_response_due_at == rome(2025, 6, 2, 11, 0)
    # An admin edits the policy: its open cases are recomputed by a job.
    sla.save_policy(None, fast, {"name": "Premium", "business_hours_id": hours.id,
                                 "targets": {"2": {"first_response": "3h"}}, "pause_statuses": ["wait_customer"]})
    recompute_policy_cases(fast.id, "policy Premium changed")
    db.session.refresh(case)
    assert case.first_response_due_at == rome(2025, 6, 2, 12, 0)
    reasons = [e.reason for e in db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id, SLAEvent.kind == "policy_changed"))]
    assert reasons[0].startswith("default policy Standard") and "Standard → Premium" in reasons[1]
    assert reasons[-1] == "policy Premium changed"


def test_a_case_arriving_on_friday_evening_is_due_on_monday_even_across_dst(clock, make_hours, make_policy, make_case):
    weekly = {str(d): [["09:00", "17:00"]] for d in range(5)}
    make_policy(make_hours(timezone="America/New_York", weekly=weekly), first=120, resolution=600)
    clock.set(datetime(2025, 3, 7, 18, 30, tzinfo=NEW_YORK))  # Friday evening; clocks spring forward on Sunday
    case = make_case(None)
    assert case.first_response_due_at == datetime(2025, 3, 10, 11, 0, tzinfo=NEW_YORK)
    assert case.resolution_due_at == datetime(2025, 3, 11, 11, 0, tzinfo=NEW_YORK)


def test_raising_the_priority_recomputes_the_deadlines(clock, make_hours, make_policy, make_case, make_user):
    hours = make_hours()
    policy = make_policy(hours, first=480)
    sla.save_policy(None, policy, {"name": policy.name, "business_hours_id": hours.id, "is_default": True,
                                   "targets": {"2": {"first_response": 480}, "4": {"first_response": 30}},
                                   "pause_statuses": ["wait_customer"]})
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None)
    clock.set(rome(2025, 6, 2, 9, 10))
    services.change_priority(make_user(), case, Priority.URGENT)
    assert case.first_response_due_at == rome(2025, 6, 2, 9, 30)
    assert events(case)[-1] == ("policy_changed", None)


def test_resolving_fulfils_and_reopening_resumes_the_resolution_clock(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, resolution=240)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(agent, assignee=agent)
    clock.set(rome(2025, 6, 2, 10, 0))
    services.reply_to_case(agent, case, body="Fixed.", status=Status.RESOLVED)
    assert case.resolution_due_at is None and case.sla_due_at is None
    clock.set(rome(2025, 6, 3, 9, 0))
    services.add_customer_message(case.contact, case, body="It broke again.")
    assert case.status == Status.OPEN
    assert case.resolution_due_at == rome(2025, 6, 3, 12, 0)  # 1 h used, 3 h left
    assert case.next_response_due_at == rome(2025, 6, 3, 11, 0)


def test_without_any_policy_a_case_has_no_clocks(clock, make_case):
    case = make_case(None)
    assert case.sla_policy is None and case.sla_due_at is None and events(case) == []


def test_merging_stops_the_source_clocks_and_splitting_starts_new_ones(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    source, target = make_case(agent), make_case(agent)
    services.add_customer_message(target.contact, target, body="More detail.")
    services.merge_cases(agent, source, target)
    assert source.sla_due_at is None and source.first_response_due_at is None
    clock.set(rome(2025, 6, 2, 10, 0))
    split = services.split_message(agent, target.messages[-1])
    assert split.sla_policy is not None and split.first_response_due_at == rome(2025, 6, 2, 11, 0)

"""The sweep: warnings and breaches recorded once, escalations run once; and auto-close."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from helpdesk.cases import services
from helpdesk.cases.models import Priority, Status
from helpdesk.extensions import db
from helpdesk.mail.models import OutboundEmail
from helpdesk.sla import policies, services as sla
from helpdesk.sla.jobs import close_resolved_cases, sweep_sla
from helpdesk.sla.models import Clock, EventKind, SLAEvent

ROME = ZoneInfo("Europe/Rome")


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


def kinds(case) -> list[tuple]:
    return [(e.kind, e.clock) for e in db.session.scalars(
        select(SLAEvent).where(SLAEvent.case_id == case.id, SLAEvent.kind.in_(["warned", "breached"])).order_by(SLAEvent.id))]


def sla_mail(case) -> list[OutboundEmail]:
    return list(db.session.scalars(select(OutboundEmail).where(OutboundEmail.case_id == case.id,
                                                               OutboundEmail.dedupe_key.like("sla:%"))))


ESCALATE = [{"on": "warned", "clock": "any", "notify": ["assignee"]},
            {"on": "breached", "clock": "first_response", "notify": ["assignee", "managers"], "raise_priority": True}]


def test_warning_then_breach_each_recorded_and_escalated_once(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, warning_percent=75, escalations=ESCALATE)
    agent, manager = make_user(), make_user(role="manager")
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None, assignee=agent)
    assert case.sla_check_at == rome(2025, 6, 2, 9, 45)  # the warning comes first
    assert sweep_sla(rome(2025, 6, 2, 9, 44)) == 0
    assert sweep_sla(rome(2025, 6, 2, 9, 50)) == 1
    assert sweep_sla(rome(2025, 6, 2, 9, 55)) == 0  # a second sweep finds nothing new
    assert kinds(case) == [("warned", "first_response")]
    assert [m.to_addrs for m in sla_mail(case)] == [agent.email]
    db.session.refresh(case)
    assert case.sla_check_at == rome(2025, 6, 2, 10, 0)
    clock.set(rome(2025, 6, 2, 10, 5))
    assert sweep_sla() == 1
    assert sweep_sla() == 0
    db.session.refresh(case)
    assert kinds(case) == [("warned", "first_response"), ("breached", "first_response")]
    assert {m.to_addrs for m in sla_mail(case)} == {agent.email, manager.email}
    assert len(sla_mail(case)) == 3
    assert case.priority == Priority.HIGH  # raised by the escalation
    assert case.sla_check_at is None or case.sla_check_at > rome(2025, 6, 2, 10, 5)


def test_a_breach_another_sweep_recorded_first_is_not_escalated_again(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, warning_percent=None, escalations=ESCALATE)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None, assignee=agent)
    states = sla.refresh_case(case)
    state = states[Clock.FIRST_RESPONSE]
    # The other sweep got there between our read and our insert.
    assert sla.record_once(case.id, state, EventKind.BREACHED, at=state.due_at, policy_id=case.sla_policy_id, reason="x")
    assert not sla.record_once(case.id, state, EventKind.BREACHED, at=state.due_at, policy_id=case.sla_policy_id, reason="x")
    assert sweep_sla(rome(2025, 6, 2, 10, 30)) == 0
    assert sla_mail(case) == []
    assert db.session.scalar(select(func.count()).where(SLAEvent.case_id == case.id, SLAEvent.kind == "breached")) == 1


def test_a_paused_case_never_breaches_and_a_late_reply_records_the_breach(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, next_response=60, warning_percent=None)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(agent, assignee=agent)
    services.change_status(agent, case, Status.WAIT_THIRD_PARTY)
    assert sweep_sla(rome(2025, 6, 9, 9, 0)) == 0
    clock.set(rome(2025, 6, 3, 9, 0))
    services.change_status(agent, case, Status.OPEN)
    clock.set(rome(2025, 6, 3, 11, 0))  # an hour late
    services.reply_to_case(agent, case, body="Sorry for the wait.")
    assert kinds(case) == [("breached", "first_response")]
    assert sweep_sla(rome(2025, 6, 3, 12, 0)) == 0


def test_escalation_can_reassign(clock, make_hours, make_policy, make_case, make_user, make_group):
    lead, group = make_user(), make_group()
    make_policy(make_hours(), first=60, warning_percent=None,
                escalations=[{"on": "breached", "clock": "any", "notify": [], "assignee_id": lead.id, "group_id": group.id}])
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None)
    sweep_sla(rome(2025, 6, 2, 11, 0))
    db.session.refresh(case)
    assert case.assignee == lead and case.group == group and case.status == Status.ASSIGNED


def test_resolved_cases_close_after_the_configured_days(app, clock, make_case, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "AUTO_CLOSE_DAYS", 3)
    agent = make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    old, recent = make_case(agent), make_case(agent)
    services.change_status(agent, old, Status.RESOLVED)
    clock.set(rome(2025, 6, 4, 9, 0))
    services.change_status(agent, recent, Status.RESOLVED)
    assert close_resolved_cases(rome(2025, 6, 5, 10, 0)) == 1
    db.session.refresh(old)
    db.session.refresh(recent)
    assert old.status == Status.CLOSED and recent.status == Status.RESOLVED
    monkeypatch.setitem(app.config, "AUTO_CLOSE_DAYS", 0)
    assert close_resolved_cases(rome(2025, 7, 1)) == 0


def test_policy_selection_follows_the_order_and_falls_back_to_the_default(clock, make_hours, make_policy, make_case, make_organization, make_contact):
    hours = make_hours()
    vip = make_organization()
    default = make_policy(hours, name="Standard")
    urgent = make_policy(hours, name="Urgent", is_default=False, position=2, conditions={"priorities": [4]})
    gold = make_policy(hours, name="Gold", is_default=False, position=1, conditions={"organization_ids": [vip.id]})
    tagged = make_policy(hours, name="Billing", is_default=False, position=3, conditions={"tags": ["billing"]})
    assert make_case(None, contact=make_contact(organization=vip), priority=Priority.URGENT).sla_policy == gold
    assert make_case(None, priority=Priority.URGENT).sla_policy == urgent
    assert make_case(None, tags=["Billing"]).sla_policy == tagged
    plain = make_case(None)
    assert plain.sla_policy == default
    reason = db.session.scalar(select(SLAEvent.reason).where(SLAEvent.case_id == plain.id, SLAEvent.kind == "policy_changed"))
    assert reason == "default policy Standard: no other policy matched"


def test_describe_time_left():
    assert policies.describe_minutes(45) == "45 min"
    assert policies.describe_minutes(200) == "3 h 20 min"
    assert policies.describe_minutes(60 * 26) == "1 d 2 h"
    assert policies.parse_duration("1h30m") == 90 and policies.parse_duration("") is None


def test_a_deleted_case_is_never_escalated_and_leaves_the_sweep(clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, warning_percent=None, escalations=ESCALATE)
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None, assignee=make_user())
    case.deleted_at = clock.now
    db.session.flush()
    assert sweep_sla(rome(2025, 6, 2, 11, 0)) == 0
    db.session.refresh(case)
    assert case.sla_check_at is None and sla_mail(case) == []

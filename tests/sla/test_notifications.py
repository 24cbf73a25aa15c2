"""In-app notifications from the SLA sweep: the assignee (or the group), followers and escalations."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from helpdesk.cases import services
from helpdesk.extensions import db
from helpdesk.notifications.models import Notification
from helpdesk.sla.jobs import sweep_sla

ROME = ZoneInfo("Europe/Rome")


def rome(*args) -> datetime:
    return datetime(*args, tzinfo=ROME)


def inbox(case) -> list[tuple[int, str]]:
    return sorted((n.user_id, n.kind) for n in db.session.scalars(
        select(Notification).where(Notification.target_type == "case", Notification.target_id == case.id,
                                   Notification.kind.like("sla.%"))))


def test_the_assignee_and_followers_hear_of_a_warning_and_a_breach_once(clock, make_hours, make_policy, make_case,
                                                                         make_user):
    make_policy(make_hours(), first=60, warning_percent=75)
    agent, follower, bystander = make_user(), make_user(), make_user()
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None, assignee=agent)
    services.follow_case(follower, case)
    assert sweep_sla(rome(2025, 6, 2, 9, 50)) == 1
    assert sweep_sla(rome(2025, 6, 2, 9, 55)) == 0
    assert inbox(case) == sorted([(agent.id, "sla.warned"), (follower.id, "sla.warned")])
    note = db.session.scalar(select(Notification).where(Notification.user_id == agent.id, Notification.kind == "sla.warned"))
    assert note.title == f"{case.number} SLA about to breach: First response — {case.subject}"
    assert note.url == f"/cases/{case.id}" and "is due 2025-06-02 08:00 UTC" in note.body
    assert sweep_sla(rome(2025, 6, 2, 10, 5)) == 1
    assert sweep_sla(rome(2025, 6, 2, 10, 6)) == 0
    assert inbox(case) == sorted([(agent.id, "sla.warned"), (follower.id, "sla.warned"),
                                  (agent.id, "sla.breached"), (follower.id, "sla.breached")])
    assert bystander.id not in {u for u, _ in inbox(case)}


def test_an_unassigned_case_tells_its_group(clock, make_hours, make_policy, make_case, make_user, make_group):
    make_policy(make_hours(), first=60, warning_percent=None)
    ann, bob, inactive = make_user(), make_user(), make_user()
    inactive.active = False
    team = make_group(members=[ann, bob, inactive])
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None, group=team)
    assert sweep_sla(rome(2025, 6, 2, 10, 1)) == 1
    assert inbox(case) == sorted([(ann.id, "sla.breached"), (bob.id, "sla.breached")])


def test_an_escalation_to_managers_reaches_them_in_the_app_without_doubling_the_assignee(
        clock, make_hours, make_policy, make_case, make_user):
    make_policy(make_hours(), first=60, warning_percent=None,
                escalations=[{"on": "breached", "clock": "any", "notify": ["assignee", "managers"]}])
    agent, manager = make_user(), make_user(role="manager")
    clock.set(rome(2025, 6, 2, 9, 0))
    case = make_case(None, assignee=agent)
    assert sweep_sla(rome(2025, 6, 2, 10, 1)) == 1
    assert inbox(case) == sorted([(agent.id, "sla.breached"), (manager.id, "sla.breached")])
    to_manager = db.session.scalar(select(Notification).where(Notification.user_id == manager.id))
    assert "Escalated to you by the SLA policy." in to_manager.body

"""`flask demo seed` leaves what the insight dashboards need: SLA history, chats, ratings and facts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from helpdesk.cases.models import Case
from helpdesk.chat.models import ChatSession, ChatStatus
from helpdesk.extensions import db
from helpdesk.insights.models import CaseFact
from helpdesk.mail.models import EmailStatus, OutboundEmail
from helpdesk.satisfaction.models import Rating
from helpdesk.sla.models import SLAEvent, SLAPolicy
from helpdesk.types import utcnow


def _seed(runner, cases: int = 40):
    result = runner.invoke(args=["demo", "seed", "--cases", str(cases)])
    assert result.exit_code == 0, result.output
    return result


def test_demo_cases_run_under_sla_policies_with_their_history_dated_in_the_story(runner):
    _seed(runner)
    policies = {p.name: p for p in db.session.scalars(select(SLAPolicy))}
    assert set(policies) == {"Standard support", "Premium support"} and policies["Standard support"].is_default
    cases = db.session.scalars(select(Case)).all()
    assert all(c.sla_policy_id is not None for c in cases)
    for case in cases:
        events = db.session.scalars(select(SLAEvent).where(SLAEvent.case_id == case.id)).all()
        started = [e for e in events if e.kind == "started" and e.clock == "first_response"]
        assert len(started) == 1 and started[0].at == case.created_at  # the invented moment, not today
        fulfilled = [e for e in events if e.kind == "fulfilled" and e.clock == "first_response"]
        if case.first_response_at is not None:
            assert [e.at for e in fulfilled] == [case.first_response_at]
    kinds = set(db.session.scalars(select(SLAEvent.kind)))
    assert {"started", "fulfilled", "breached"} <= kinds  # some clocks were met, some were not
    assert any(c.is_open and c.sla_due_at is not None for c in cases)


def test_demo_seed_writes_finished_chats_over_the_last_weeks(runner):
    _seed(runner, cases=5)
    now = utcnow()
    chats = db.session.scalars(select(ChatSession)).all()
    assert len(chats) == 150
    assert all(c.status == ChatStatus.ENDED and c.duration_seconds is not None for c in chats)
    assert all(now - timedelta(days=62) < c.created_at < c.ended_at <= now for c in chats)
    answered = [c for c in chats if c.first_response_at is not None]
    assert answered and all(c.agent_id and c.wait_seconds is not None and c.first_response_seconds for c in answered)
    assert any(c.abandoned for c in chats) and any(c.missed and not c.abandoned for c in chats)
    assert any(c.rating for c in chats)
    assert len({c.created_at.date() for c in chats}) > 20  # spread over many days


def test_demo_ratings_follow_solved_cases_and_the_facts_are_built(runner):
    _seed(runner, cases=60)
    ratings = db.session.scalars(select(Rating)).all()
    assert ratings
    for rating in ratings:
        assert rating.case.resolved_at is not None and rating.created_at >= rating.case.resolved_at
    # Demo mail (low-rating alerts too) is history: nothing waits to be sent to invented people.
    assert set(db.session.scalars(select(OutboundEmail.status))) == {EmailStatus.SENT}
    assert db.session.scalar(select(func.count(CaseFact.case_id))) == 60


def test_demo_seed_again_adds_no_second_policy_or_chat_history(runner):
    _seed(runner, cases=3)
    chats = db.session.scalar(select(func.count(ChatSession.id)))
    _seed(runner, cases=3)
    assert db.session.scalar(select(func.count(SLAPolicy.id))) == 2
    assert db.session.scalar(select(func.count(ChatSession.id))) == chats
    assert db.session.scalar(select(func.count(CaseFact.case_id))) == 6

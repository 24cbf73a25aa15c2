"""Recycle bin fixtures: a movable clock and a few people with cases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import helpdesk.types


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    frozen = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    monkeypatch.setattr(helpdesk.types, "clock", frozen)
    return frozen


@pytest.fixture
def agent(make_user):
    return make_user(name="Ada Agent")


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Ann Admin")


@pytest.fixture
def acme(make_organization, make_contact, make_case, agent):
    """Acme with two contacts, each with a case."""
    org = make_organization(name="Acme Ltd")
    ann = make_contact(name="Ann Acme", organization=org)
    bob = make_contact(name="Bob Acme", organization=org)
    case_a = make_case(agent, contact=ann, subject="Ann's printer")
    case_b = make_case(agent, contact=bob, subject="Bob's laptop")
    return org, ann, bob, case_a, case_b

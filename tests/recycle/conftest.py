"""Recycle bin fixtures: a movable clock and a few people with cases."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest



@pytest.fixture
def clock(freeze_clock):
    return freeze_clock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


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

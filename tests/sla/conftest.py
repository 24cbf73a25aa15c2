"""SLA fixtures: frozen time, calendars and policies."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from helpdesk.extensions import db


@pytest.fixture
def clock(freeze_clock):
    return freeze_clock(datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def make_hours(app):
    from helpdesk.sla.services import save_business_hours

    counter = iter(range(1, 10_000))

    def make(timezone="Europe/Rome", weekly=None, holidays=(), name=None):
        weekly = weekly or {str(d): [["09:00", "13:00"], ["14:00", "18:00"]] for d in range(5)}
        return save_business_hours(None, None, name=name or f"Hours {next(counter)}", timezone=timezone, weekly=weekly,
                                   holidays=[{"date": d, "name": "Holiday"} for d in holidays])

    return make


@pytest.fixture
def make_policy(app):
    from helpdesk.sla.services import save_policy

    counter = iter(range(1, 10_000))

    def make(hours=None, first=60, next_response=120, resolution=480, priorities=(1, 2, 3, 4), **kw):
        targets = {str(p): {"first_response": first, "next_response": next_response, "resolution": resolution}
                   for p in priorities}
        data = dict(name=kw.pop("name", f"Policy {next(counter)}"), business_hours_id=hours.id if hours else None,
                    targets=targets, pause_statuses=kw.pop("pause_statuses", ["wait_customer", "wait_third_party"]),
                    warning_percent=kw.pop("warning_percent", 75), is_default=kw.pop("is_default", True), **kw)
        policy = save_policy(None, None, data)
        db.session.flush()
        return policy

    return make

"""Rows of the other domains a customer's One View and merge touch, made directly."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from helpdesk.extensions import db
from helpdesk.types import utcnow

_n = itertools.count(1)


@pytest.fixture
def make_asset(app):
    from helpdesk.assets.models import Asset, Product

    def make(contact=None, organization=None, **kw):
        n = next(_n)
        product = Product(name=f"Printer {n}", code=f"P-{n}")
        asset = Asset(serial_number=kw.pop("serial_number", f"SN-{n}"), product=product, contact=contact,
                      organization=organization, **kw)
        db.session.add(asset)
        db.session.flush()
        return asset

    return make


@pytest.fixture
def make_contract(app):
    from helpdesk.contracts.models import ServiceContract, TrackingUnit

    def make(contact=None, organization=None, **kw):
        kw.setdefault("name", f"Support plan {next(_n)}")
        kw.setdefault("start_date", date.today() - timedelta(days=10))
        kw.setdefault("end_date", date.today() + timedelta(days=300))
        kw.setdefault("tracking_unit", TrackingUnit.HOURS)
        kw.setdefault("total_units", 40)
        contract = ServiceContract(contact=contact, organization=organization, **kw)
        db.session.add(contract)
        db.session.flush()
        return contract

    return make


@pytest.fixture
def make_time_log(app):
    from helpdesk.contracts.models import TimeLog

    def make(case, user, minutes=30, **kw):
        log = TimeLog(case_id=case.id, user_id=user.id, minutes=minutes, stopped_at=utcnow(), **kw)
        db.session.add(log)
        db.session.flush()
        return log

    return make


@pytest.fixture
def make_rating(app):
    from helpdesk.satisfaction.models import Rating

    def make(case, score, comment=""):
        rating = Rating(case_id=case.id, contact_id=case.contact_id, score=score, comment=comment)
        db.session.add(rating)
        db.session.flush()
        return rating

    return make

"""Fixtures for products, assets, contracts and time: frozen time and make_* factories."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from helpdesk.extensions import db

_n = itertools.count(1)


@pytest.fixture
def clock(freeze_clock):
    return freeze_clock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def make_product(app):
    from helpdesk.assets.services import save_product

    def make(**kw):
        n = next(_n)
        kw.setdefault("name", f"Laser printer {n}")
        kw.setdefault("code", f"PRN-{n}")
        kw.setdefault("category", "Printers")
        return save_product(None, None, **kw)

    return make


@pytest.fixture
def make_asset(app, make_product):
    from helpdesk.assets.services import save_asset

    def make(**kw):
        kw.setdefault("serial_number", f"SN-{next(_n):06d}")
        if "product_id" not in kw:
            kw["product_id"] = (kw.pop("product", None) or make_product()).id
        for key in ("contact", "organization"):
            if key in kw:
                obj = kw.pop(key)
                kw[f"{key}_id"] = obj.id if obj else None
        return save_asset(None, None, kw)

    return make


@pytest.fixture
def make_contract(app):
    from helpdesk.contracts.services import save_contract

    def make(contact=None, organization=None, **kw):
        kw.setdefault("name", f"Support pack {next(_n)}")
        kw.setdefault("start_date", "2026-01-01")
        kw.setdefault("end_date", "2026-12-31")
        kw.setdefault("tracking_unit", "hours")
        kw.setdefault("total_units", 10)
        kw["contact_id"] = contact.id if contact else None
        kw["organization_id"] = organization.id if organization else None
        if "sla_policy" in kw:
            kw["sla_policy_id"] = kw.pop("sla_policy").id
        return save_contract(None, None, kw)

    return make


@pytest.fixture
def make_sla_policy(app):
    from helpdesk.sla.services import save_policy

    def make(name=None, first=60, is_default=False, **kw):
        targets = {str(p): {"first_response": first, "resolution": first * 8} for p in (1, 2, 3, 4)}
        policy = save_policy(None, None, dict(name=name or f"Policy {next(_n)}", targets=targets,
                                              pause_statuses=["wait_customer"], warning_percent=75,
                                              is_default=is_default, **kw))
        db.session.flush()
        return policy

    return make

"""Portal dates go through Flask-Babel in the visitor's language: Russian month names, Persian digits."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from helpdesk.extensions import db

MARCH_5 = datetime(2026, 3, 5, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def customer_with_things(make_customer, make_case):
    from helpdesk.assets.models import Asset, Product
    from helpdesk.contracts.models import ServiceContract

    contact = make_customer()
    case = make_case(contact=contact, subject="Dated case")
    case.created_at = case.updated_at = MARCH_5
    for message in case.messages:
        message.created_at = MARCH_5
    product = Product(name="Scanner S1", code="S1")
    db.session.add(product)
    db.session.flush()
    asset = Asset(serial_number="SN-DATED", product_id=product.id, contact_id=contact.id,
                  date_sold=date(2026, 1, 20), warranty_end=date(2027, 1, 20))
    contract = ServiceContract(name="Dated plan", contact_id=contact.id, start_date=date(2026, 1, 1),
                               end_date=date(2027, 1, 1), total_units=40, used_units=2)
    db.session.add_all([asset, contract])
    db.session.flush()
    return contact, case, asset, contract


def _pages(client, case, asset, contract):
    return {name: client.get(url).get_data(as_text=True) for name, url in [
        ("list", "/portal/"), ("case", f"/portal/cases/{case.id}"), ("asset", f"/portal/assets/{asset.id}"),
        ("assets", "/portal/assets"), ("contract", f"/portal/contracts/{contract.id}")]}


def test_russian_dates_have_russian_month_names(customer_with_things, portal_login):
    contact, case, asset, contract = customer_with_things
    client = portal_login(contact)
    client.post("/language", data={"language": "ru", "next": "/portal/"})
    pages = _pages(client, case, asset, contract)
    assert "05.03.2026" in pages["list"]  # short
    assert "5 мар. 2026" in pages["case"]  # opened (medium); the message time is short
    assert "20 января 2026" in pages["asset"] and "20 января 2027" in pages["asset"]
    assert "20 янв. 2027" in pages["assets"]
    assert "1 января 2026" in pages["contract"] and "1 января 2027" in pages["contract"]


def test_persian_dates_have_persian_digits(customer_with_things, portal_login):
    contact, case, asset, contract = customer_with_things
    client = portal_login(contact)
    client.post("/language", data={"language": "fa", "next": "/portal/"})
    pages = _pages(client, case, asset, contract)
    for name, html in pages.items():
        assert "۲۰۲۶" in html or "۲۰۲۷" in html, name
        assert "2026" not in html.split("<main", 1)[-1].replace('datetime="2026', ""), name  # no Latin years shown

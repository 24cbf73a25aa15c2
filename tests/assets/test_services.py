"""Products and assets: validation, uniqueness, deleted rows left out, links from a case."""
from __future__ import annotations

import pytest

from helpdesk.assets import queries, services
from helpdesk.assets.policies import clean_serial, warranty_state
from helpdesk.contracts.services import link_case
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.extensions import db
from helpdesk.types import utcnow


def test_a_duplicate_serial_number_is_refused_naming_the_field(make_asset, make_product):
    make_asset(serial_number="ab-1234")
    with pytest.raises(ValidationFailed) as exc:
        make_asset(serial_number="  AB-1234 ")
    assert "AB-1234 is already registered" in exc.value.errors["serial_number"]


def test_a_deleted_assets_serial_number_is_still_taken(make_asset):
    asset = make_asset(serial_number="X-1")
    asset.deleted_at = utcnow()
    with pytest.raises(ValidationFailed) as exc:
        make_asset(serial_number="X-1")
    assert "recycle bin" in exc.value.errors["serial_number"]


def test_a_duplicate_product_code_is_refused(make_product):
    make_product(code="PRN-200")
    with pytest.raises(ValidationFailed) as exc:
        make_product(code="prn-200")
    assert "code" in exc.value.errors


def test_asset_validation_names_every_field(app):
    with pytest.raises(ValidationFailed) as exc:
        services.save_asset(None, None, {"serial_number": "", "product_id": "999", "date_sold": "2026-05-01",
                                         "warranty_end": "yesterday", "status": "lost"})
    assert set(exc.value.errors) == {"serial_number", "product_id", "warranty_end", "status"}


def test_an_asset_takes_its_contacts_organization(make_asset, make_contact, make_organization):
    org = make_organization()
    asset = make_asset(contact=make_contact(organization=org))
    assert asset.organization == org


def test_deleted_products_and_assets_are_left_out(make_asset, make_product):
    product = make_product(name="Gone printer")
    asset = make_asset(product=product)
    product.deleted_at = asset.deleted_at = utcnow()
    db.session.flush()
    assert product not in queries.products()
    assert asset not in queries.assets(queries.AssetFilter())[0]
    with pytest.raises(NotFound):
        queries.get_asset(asset.id)
    with pytest.raises(NotFound):
        queries.get_product(product.id)


def test_asset_filters(clock, make_asset, make_product, make_contact):
    scanners = make_product(name="Scanner")
    carla = make_contact()
    mine = make_asset(product=scanners, contact=carla, warranty_end="2026-03-20")
    old = make_asset(product=scanners, warranty_end="2025-01-01", status="retired")
    other = make_asset()

    def found(**args):
        return set(queries.assets(queries.AssetFilter(**args))[0])

    assert found(product=str(scanners.id)) == {mine, old}
    assert found(contact=str(carla.id)) == {mine}
    assert found(status="retired") == {old}
    assert found(warranty="ending") == {mine}
    assert found(warranty="expired") == {old}
    assert other in found(warranty="none")


def test_keyset_pages_of_assets(make_asset, make_product):
    product = make_product()
    made = {make_asset(product=product).id for _ in range(7)}
    seen, after = [], ""
    while True:
        rows, after = queries.assets(queries.AssetFilter(product=str(product.id), after=after or ""), limit=3)
        seen += [a.id for a in rows]
        if not after:
            break
    assert sorted(seen) == sorted(made)


def test_linking_an_asset_sets_its_product_and_tells_followers(clock, make_user, make_case, make_asset, make_contact):
    from helpdesk.notifications.models import Notification
    from helpdesk.notifications.services import follow

    agent, watcher = make_user(), make_user()
    carla = make_contact()
    asset = make_asset(contact=carla)
    follow(watcher, "asset", asset.id)
    case = make_case(agent, contact=carla)
    link_case(agent, case, {"asset_id": str(asset.id), "product_id": ""})
    assert case.asset == asset and case.product == asset.product
    note = db.session.scalar(db.select(Notification).where(Notification.user_id == watcher.id))
    assert note.title == f"{case.number} is about {asset.serial_number}" and note.url == f"/cases/{case.id}"


def test_an_asset_of_another_product_is_refused(clock, make_user, make_case, make_asset, make_product):
    agent = make_user()
    asset = make_asset()
    case = make_case(agent)
    link_case(agent, case, {"asset_id": str(asset.id)})
    with pytest.raises(ValidationFailed) as exc:
        link_case(agent, case, {"product_id": str(make_product().id), "asset_id": str(asset.id)})
    assert "product_id" in exc.value.errors


def test_policies():
    from datetime import date

    assert clean_serial(" ab  12 ") == "AB 12"
    today = date(2026, 3, 2)
    assert warranty_state(None, today) == "none"
    assert warranty_state(date(2026, 3, 1), today) == "expired"
    assert warranty_state(date(2026, 3, 2), today) == "ending"
    assert warranty_state(date(2026, 6, 1), today) == "active"

"""Product and asset pages: permissions, forms, the duplicate serial 422, filters, follow."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.assets.models import Asset, Product
from helpdesk.contracts.services import link_case
from helpdesk.extensions import db

HTMX = {"HX-Request": "true"}


@pytest.mark.parametrize("path", ["/assets", "/products", "/assets/new"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role, product_edit", [("agent", 403), ("manager", 200), ("admin", 200)])
def test_only_managers_edit_products_but_agents_record_assets(client, login, make_user, role, product_edit):
    login(make_user(role=role))
    assert client.get("/products").status_code == 200
    assert client.get("/products/new").status_code == product_edit
    assert client.get("/assets/new").status_code == 200


def test_a_manager_creates_a_product(client, login, make_user):
    login(make_user(role="manager"))
    response = client.post("/products/new", data={"name": "Label printer", "code": "LBL-1", "category": "Printers"})
    assert response.status_code == 302
    product = db.session.scalar(select(Product).where(Product.code == "LBL-1"))
    assert "Label printer" in client.get(f"/products/{product.id}").get_data(as_text=True)


def test_an_agent_registers_an_asset_and_a_duplicate_serial_gets_422(client, login, make_user, make_product, make_contact):
    login(make_user())
    product, carla = make_product(name="Laser 200"), make_contact(name="Carla")
    data = {"serial_number": "LZ-0001", "product_id": product.id, "contact_id": carla.id, "status": "in_service",
            "date_sold": "2026-01-10", "warranty_end": "2028-01-10", "notes": "Front desk"}
    response = client.post("/assets/new", data=data)
    assert response.status_code == 302
    asset = db.session.scalar(select(Asset).where(Asset.serial_number == "LZ-0001"))
    html = client.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "Laser 200" in html and "Carla" in html and "Until 2028-01-10" in html
    response = client.post("/assets/new", data={**data, "serial_number": "lz-0001"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="serial_number-error"' in html and "Serial number LZ-0001 is already registered." in html


def test_a_duplicate_serial_as_json_names_the_field(client, login, make_user, make_asset):
    login(make_user())
    asset = make_asset(serial_number="J-1")
    response = client.post("/assets/new", data={"serial_number": "J-1", "product_id": asset.product_id},
                           headers={"Accept": "application/json"})
    assert response.status_code == 422 and "serial_number" in response.get_data(as_text=True)


def test_the_asset_page_lists_its_cases(clock, client, login, make_user, make_asset, make_case, make_contact):
    agent = make_user()
    carla = make_contact()
    asset = make_asset(contact=carla)
    case = make_case(agent, contact=carla, subject="Paper tray cracked")
    link_case(agent, case, {"asset_id": str(asset.id)})
    unrelated = make_case(agent, subject="Unrelated problem")
    login(agent)
    html = client.get(f"/assets/{asset.id}").get_data(as_text=True)
    assert "Paper tray cracked" in html and unrelated.subject not in html


def test_the_asset_list_filters_over_htmx(clock, client, login, make_user, make_asset, make_product):
    login(make_user())
    scanners = make_product(name="Scanner")
    make_asset(serial_number="SCAN-1", product=scanners, warranty_end="2025-01-01")
    make_asset(serial_number="OTHER-1")
    response = client.get(f"/assets?product={scanners.id}&warranty=expired", headers=HTMX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="assets-table"') and "<html" not in html
    assert "SCAN-1" in html and "OTHER-1" not in html and "expired" in html
    full = client.get("/assets?q=other").get_data(as_text=True)
    assert "OTHER-1" in full and "SCAN-1" not in full and "<html" in full


def test_following_an_asset(client, login, make_user, make_asset):
    agent = make_user()
    asset = make_asset()
    login(agent)
    assert "Follow" in client.get(f"/assets/{asset.id}").get_data(as_text=True)
    response = client.post(f"/assets/{asset.id}/follow", data={"follow": "1"})
    assert response.status_code == 302
    assert "Unfollow" in client.get(f"/assets/{asset.id}").get_data(as_text=True)


def test_unknown_ids_are_404(client, login, make_user):
    login(make_user(role="admin"))
    for path in ("/assets/999999", "/products/999999", "/assets/999999/edit"):
        assert client.get(path).status_code == 404

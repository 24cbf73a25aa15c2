"""The case page's links and timer in Chromium, at phone width; the contract and asset pages.

Set HELPDESK_SCREENSHOTS=DIR to keep screenshots of each page at 1280 and 360 px.
"""
from __future__ import annotations

import itertools
import os

import pytest
from playwright.sync_api import expect

from helpdesk.assets.services import save_asset, save_product
from helpdesk.cases import services as cases
from helpdesk.contracts import services
from helpdesk.people.services import create_contact, create_organization, create_user
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    browser_type_launch_args,
    live_app,
    live_server,
    seed,
    sign_in,
)

pytestmark = pytest.mark.browser
_n = itertools.count(1)
SHOTS = os.environ.get("HELPDESK_SCREENSHOTS")


def shoot(page, name):
    if SHOTS:
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)


@pytest.fixture
def world(seed):
    n = next(_n)

    def build():
        agent = create_user(None, email=f"tina{n}@staff.example", name=f"Tina {n}", password=PASSWORD, role="manager")
        org = create_organization(None, name=f"Globex {n}", domain=f"globex{n}.example")
        carla = create_contact(None, name="Carla Customer", email=f"carla{n}@globex{n}.example", organization=org)
        product = save_product(None, None, name="Laser 200", code=f"LZ-{n}", category="Printers")
        asset = save_asset(None, None, {"serial_number": f"LZ{n}-0001", "product_id": product.id, "contact_id": carla.id,
                                        "warranty_end": "2030-01-01"})
        contract = services.save_contract(None, None, {
            "name": f"Globex 40 hours {n}", "organization_id": org.id, "start_date": "2020-01-01",
            "end_date": "2099-12-31", "tracking_unit": "hours", "total_units": "40"})
        case = cases.open_case(agent, subject=f"Toner streaks {n}", body="Grey lines on every page", contact=carla,
                               assignee=agent)
        services.log_time(agent, case, minutes="1h30m", note="Cleaned the drum")
        return {"email": agent.email, "case": case.id, "asset": asset.id, "serial": asset.serial_number,
                "contract": contract.id}

    return seed(build)


def test_timer_and_links_on_the_case_page_at_phone_width(page, live_server, world):
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, live_server, world["email"])
    page.goto(f"{live_server}/cases/{world['case']}")
    panel = page.locator("#case-time")
    expect(panel).to_contain_text("Time: 1 h 30 min")
    page.get_by_role("button", name="Start timer").click()
    expect(panel).to_contain_text("Timer running since")
    page.get_by_role("button", name="Stop timer").click()
    expect(panel).to_contain_text("Time: 1 h 31 min")
    expect(page.get_by_role("button", name="Start timer")).to_be_visible()

    links = page.locator("#case-links")
    expect(links).to_contain_text("Counts against Globex 40 hours")
    page.locator("#link-asset").select_option(label=f"{world['serial']} (Laser 200)")
    links.get_by_role("button", name="Save links").click()
    expect(page.locator("#timeline")).to_contain_text("changed asset")
    expect(page.locator("#link-product")).to_have_value(page.locator("#link-product option", has_text="Laser 200").get_attribute("value"))
    # The workspace came back whole: the main form carries the new version and still saves.
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#toasts")).not_to_contain_text("changed by someone else")
    shoot(page, "case")


def test_manual_time_entry_reports_a_bad_duration(page, live_server, world):
    sign_in(page, live_server, world["email"])
    page.goto(f"{live_server}/cases/{world['case']}")
    page.get_by_text("Log time by hand").click()
    page.locator("#time-minutes").fill("a while")
    page.locator("#case-time").get_by_role("button", name="Log time").click()
    expect(page.locator("#case-time")).to_contain_text("Time spent write minutes")
    page.locator("#time-minutes").fill("20")
    page.locator("#case-time").get_by_role("button", name="Log time").click()
    expect(page.locator("#case-time")).to_contain_text("Time: 1 h 50 min")


def test_contract_asset_and_report_pages(page, live_server, world):
    sign_in(page, live_server, world["email"])
    page.goto(f"{live_server}/contracts/{world['contract']}")
    expect(page.locator("#units-used")).to_have_text("1.5")
    expect(page.locator("#units-remaining")).to_have_text("38.5")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()
    shoot(page, "contract")
    page.goto(f"{live_server}/contracts")
    shoot(page, "contracts")
    page.goto(f"{live_server}/assets/{world['asset']}")
    expect(page.locator("h1")).to_contain_text(world["serial"])
    shoot(page, "asset")
    page.get_by_role("link", name="Laser 200").click()
    expect(page.locator("h1")).to_contain_text("Laser 200")
    expect(page.locator("#assets-table")).to_contain_text(world["serial"])
    shoot(page, "product")
    page.goto(f"{live_server}/assets")
    shoot(page, "assets")
    page.goto(f"{live_server}/assets/new")
    shoot(page, "asset-form")
    page.goto(f"{live_server}/reports/hours")
    expect(page.locator("#hours-total")).to_contain_text("logged")
    shoot(page, "hours")

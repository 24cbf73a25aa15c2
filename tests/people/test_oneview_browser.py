"""The One View in Chromium: key figures, filtering the timeline, loading older events."""
from __future__ import annotations

import itertools
import os

import pytest
from playwright.sync_api import expect

from helpdesk.cases import services as cases
from helpdesk.people.services import create_contact, create_organization, create_user
from tests.browser.conftest import PASSWORD, browser_type_launch_args, live_app, live_server, seed, sign_in  # noqa: F401

pytestmark = pytest.mark.browser
_n = itertools.count(1)


@pytest.fixture
def customer(seed):
    n = next(_n)

    def build():
        agent = create_user(None, email=f"oneview{n}@staff.example", name=f"Olga {n}", password=PASSWORD)
        org = create_organization(None, name=f"Initech {n}", domain=f"initech{n}.example")
        peter = create_contact(None, name="Peter Gibbons", email=f"peter{n}@initech{n}.example", organization=org,
                               role="technical")
        for i in range(18):
            case = cases.open_case(agent, subject=f"TPS report {i:02d}", body="Missing cover sheet", contact=peter)
            cases.reply_to_case(agent, case, body=f"Did you get the memo {i:02d}?")
        return {"email": agent.email, "contact_id": peter.id}

    return seed(build)


def _shot(page, name):
    folder = os.environ.get("HELPDESK_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=True)


def test_filter_the_timeline_and_load_older_events(page, live_server, customer):
    sign_in(page, live_server, customer["email"])
    page.goto(f"{live_server}/contacts/{customer['contact_id']}")
    expect(page.get_by_role("heading", name="Peter Gibbons")).to_be_visible()
    expect(page.locator('[data-figure="open-cases"]')).to_have_text("18")
    events = page.locator("#timeline-events > li.timeline-event")
    expect(events).to_have_count(30)
    expect(page.locator('#timeline-events li[data-kind="case"]').first).to_be_visible()
    _shot(page, "oneview-1280")

    page.get_by_text("Messages", exact=True).click()  # the filter toggle
    expect(page.locator('#timeline-events li[data-kind="case"]')).to_have_count(0)
    expect(events).to_have_count(30)
    expect(page.locator("#timeline-events").get_by_text("Did you get the memo 17?")).to_be_visible()

    page.get_by_role("link", name="Older events").click()
    expect(events).to_have_count(36)  # 18 opening messages and 18 replies
    expect(page.locator("#timeline-more")).to_have_count(0)
    expect(page.locator("#timeline-events").get_by_text("Missing cover sheet").first).to_be_visible()
    kinds = set(page.locator("#timeline-events > li.timeline-event").evaluate_all("els => els.map(e => e.dataset.kind)"))
    assert kinds == {"message"}

    page.get_by_text("Messages", exact=True).click()  # off again: everything
    expect(page.locator('#timeline-events li[data-kind="case"]').first).to_be_visible()

    page.set_viewport_size({"width": 360, "height": 780})
    _shot(page, "oneview-360")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width} px wide)"

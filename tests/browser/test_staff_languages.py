"""The staff case page in Russian and in Persian (right to left), wide and at 360 px."""
import itertools
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.cases import services
from helpdesk.cases.models import Priority
from helpdesk.people.services import create_contact, create_user, set_user_language
from tests.browser.conftest import PASSWORD, sign_in

SHOTS = Path("/tmp/shots/h6")
_n = itertools.count(1)


@pytest.mark.parametrize("language, direction, reply_button", [("ru", "ltr", "Отправить ответ"),
                                                                 ("fa", "rtl", "ارسال پاسخ")])
def test_the_case_page_in_the_agents_language(page, live_server, seed, language, direction, reply_button):
    n = next(_n)

    def build():
        agent = create_user(None, email=f"lang{language}{n}@staff.example", name=f"Agent {n}", password=PASSWORD)
        contact = create_contact(None, name="Carla Customer", email=f"carla.lang{language}{n}@customer.example")
        case = services.open_case(agent, subject="Printer jammed on floor 2", body="Paper stuck in tray 2.",
                                  contact=contact, assignee=agent, priority=Priority.HIGH)
        services.reply_to_case(agent, case, body="Please open tray 2 and remove the sheet.")
        set_user_language(agent, agent, language)
        return agent.email, case.id

    email, case_id = seed(build)
    page.set_extra_http_headers({"Accept-Language": "it"})  # the browser's language must not matter
    sign_in(page, live_server, email)
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/cases/{case_id}")
        expect(page.locator("html")).to_have_attribute("dir", direction)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_role("button", name=reply_button)).to_be_attached()
        page.screenshot(path=str(SHOTS / f"case-{language}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{language} at {width}px scrolls sideways by {overflow}px"
    page.goto(f"{live_server}/preferences")
    expect(page.locator("#language")).to_have_value(language)
    page.screenshot(path=str(SHOTS / f"preferences-{language}-360.png"), full_page=True)

"""The insights dashboards in Chromium: filter bar with htmx, charts drawn, a number through to its cases.

Set HELPDESK_SCREENSHOTS=DIR to keep screenshots of each dashboard at 1280 and 360 px.
"""
from __future__ import annotations

import itertools
import os
import random
from datetime import timedelta

import pytest
from playwright.sync_api import expect

import helpdesk.types
from helpdesk.cases import services as cases
from helpdesk.cases.models import Channel, Priority, Status
from helpdesk.extensions import db
from helpdesk.people.services import create_contact, create_group, create_organization, create_user
from tests.browser.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    browser_type_launch_args,
    live_app,
    live_server,
    seed,
    sign_in,
)

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HELPDESK_SCREENSHOTS")
_n = itertools.count(1)


def shoot(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(150)  # Chart.js redraws on resize
            page.screenshot(path=os.path.join(SHOTS, f"insights-{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})


def history(n: int, days: int = 45, count: int = 150) -> dict:
    """Cases over the last weeks, most answered and many solved, at their own moments."""
    real = helpdesk.types.clock
    now = real()
    rng = random.Random(n)
    try:
        manager = create_user(None, email=f"mona{n}@staff.example", name=f"Mona {n}", password=PASSWORD, role="manager")
        groups = [create_group(None, name=f"{name} {n}") for name in ("Billing", "Hardware", "Network")]
        agents = [create_user(None, email=f"{name.lower()}{n}@staff.example", name=f"{name} {n}", password=PASSWORD)
                  for name in ("Alice", "Bruno", "Chen", "Dana")]
        orgs = [create_organization(None, name=f"{name} {n}", domain=f"{name.lower()}{n}.example")
                for name in ("Globex", "Initech", "Umbrella", "Hooli")]
        contacts = [create_contact(None, name=f"Customer {i}", email=f"c{i}@{orgs[i % 4].domain}", organization=orgs[i % 4])
                    for i in range(12)]
        moments = sorted(now - timedelta(minutes=rng.uniform(5, days * 24 * 60)) for _ in range(count))
        for i, opened in enumerate(moments):
            helpdesk.types.clock = lambda t=opened: t
            agent = rng.choice(agents)
            case = cases.open_case(None, subject=f"Printer problem {i}", body="It does not print.",
                                   contact=rng.choice(contacts), group=rng.choice(groups), assignee=agent,
                                   priority=rng.choice(list(Priority)),
                                   channel=rng.choice([Channel.EMAIL, Channel.WEB, Channel.PHONE]))
            answered = opened + timedelta(minutes=rng.expovariate(1 / 180))
            if rng.random() < 0.85 and answered < now:
                helpdesk.types.clock = lambda t=answered: t
                cases.reply_to_case(agent, case, body="We are looking into it.")
                solved = answered + timedelta(minutes=rng.expovariate(1 / 900))
                if rng.random() < 0.75 and solved < now:
                    helpdesk.types.clock = lambda t=solved: t
                    cases.change_status(agent, case, Status.RESOLVED)
            db.session.flush()
        chats(rng, now, days, agents, contacts, n)
    finally:
        helpdesk.types.clock = real
    from helpdesk.insights import services

    services.refresh_all(commit=db.session.flush)
    return {"email": manager.email, "group": groups[0].name}


def chats(rng, now, days, agents, contacts, n, count=80):
    """Chats at their moments: most answered after a wait and rated, some left waiting."""
    from helpdesk.chat import services as chat_services
    from helpdesk.chat.models import ChatTopic

    topics = [ChatTopic(name=f"{name} {n}") for name in ("Orders", "Technical help")]
    db.session.add_all(topics)
    db.session.flush()
    for _ in range(count):
        started = now - timedelta(minutes=rng.uniform(60, days * 24 * 60))
        helpdesk.types.clock = lambda t=started: t
        contact = rng.choice(contacts)
        chat = chat_services.start_chat(contact, name=contact.name, email=contact.email, topic=rng.choice(topics),
                                        message="Hello, my order has not arrived.")
        waited = started + timedelta(seconds=rng.expovariate(1 / 90))
        helpdesk.types.clock = lambda t=waited: t
        if rng.random() < 0.15:
            chat_services.end_chat(None, chat, by="visitor")  # gave up waiting
            continue
        agent = rng.choice(agents)
        chat_services.accept_chat(agent, chat)
        chat_services.send_agent_message(agent, chat, "Let me check that for you.")
        ended = waited + timedelta(minutes=rng.uniform(2, 25))
        helpdesk.types.clock = lambda t=ended: t
        chat_services.end_chat(agent, chat)
        if rng.random() < 0.6:
            chat_services.rate_chat(chat, rng.choice([3, 4, 5, 5, 5]))


@pytest.fixture
def world(seed):
    return seed(lambda: history(next(_n)))


# Chart.js is a deferred script: a canvas can be in the page before Chart exists.
FIRST_DRAWN = "() => { const c = document.querySelector('canvas[data-chart]'); return Boolean(c && window.Chart && Chart.getChart(c)); }"
ALL_DRAWN = "() => Boolean(window.Chart) && [...document.querySelectorAll('canvas[data-chart]')].every((c) => Chart.getChart(c))"


def chart_drawn(page) -> bool:
    return page.evaluate(FIRST_DRAWN)


def test_a_manager_narrows_the_range_and_follows_a_number_to_its_cases(page, live_server, world):
    sign_in(page, live_server, world["email"])
    page.get_by_role("link", name="Insights").click()
    expect(page.locator("#insights-period")).to_contain_text("30 days")
    expect(page.locator("canvas[data-chart]").first).to_be_visible()
    page.wait_for_function(FIRST_DRAWN)
    shoot(page, "helpdesk")

    # A preset swaps the board through htmx, pushes the URL, and the charts are drawn again.
    page.get_by_role("link", name="7 days").click()
    expect(page.locator("#insights-period")).to_contain_text("(7 days")
    assert "range=7d" in page.url
    page.wait_for_function(FIRST_DRAWN)
    assert chart_drawn(page)

    # Dates typed into the filter bar do the same.
    today = page.locator("#filter-to").input_value()
    page.locator("#filter-from").fill(today)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#insights-period")).to_contain_text("(1 day,")
    assert f"from={today}" in page.url
    page.go_back()
    expect(page.locator("#insights-period")).to_contain_text("(7 days")
    page.wait_for_function(ALL_DRAWN)

    # A point of a chart leads to its records too.
    target = page.evaluate("""() => {
        const canvases = [...document.querySelectorAll('canvas[data-chart]')];
        for (const [n, canvas] of canvases.entries()) {
            const chart = Chart.getChart(canvas);
            const hrefs = chart.data.datasets[0].hrefs || [];
            const i = chart.data.datasets[0].data.findIndex((v, j) => v > 0 && hrefs[j]);
            if (i < 0) continue;
            const point = chart.getDatasetMeta(0).data[i];
            return {n, x: point.x, y: (point.y + (point.base ?? point.y)) / 2, href: hrefs[i]};
        }
        return null; }""")
    assert target, "no chart with links"
    page.locator("canvas[data-chart]").nth(target["n"]).click(position={"x": target["x"], "y": target["y"]})
    page.wait_for_url(f"{live_server}{target['href']}")
    expect(page.locator("#drilldown-summary")).to_be_visible()
    page.go_back()

    # Choosing a group applies at once; "All groups" takes it back.
    page.locator("#filter-group").select_option(label=world["group"])
    page.wait_for_url("**group=*")
    expect(page.locator("#filter-group option:checked")).to_have_text(world["group"])
    page.locator("#filter-group").select_option(label="All groups")
    page.wait_for_url(lambda url: "group=" not in url or "group=&" in url or url.endswith("group="))

    # The 90 days hold every case; a headline number leads to the cases behind it.
    page.get_by_role("link", name="90 days").click()
    expect(page.locator("#insights-period")).to_contain_text("(90 days")
    figure = page.locator("#insights-board .insights-figure a").first
    number = figure.inner_text().replace(",", "")
    figure.click()
    expect(page.locator("#drilldown-cases")).to_be_visible()
    expect(page.locator("#drilldown-summary")).to_contain_text(f"{int(number):,} case")
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text("Help desk")
    shoot(page, "drilldown")
    page.locator("#drilldown-cases tbody a").first.click()
    expect(page).to_have_url(f"{live_server}/cases/" + page.url.rsplit("/", 1)[-1])


def test_every_dashboard_draws_at_desktop_and_phone_width(page, live_server, world):
    sign_in(page, live_server, world["email"])
    page.goto(f"{live_server}/insights/")
    tabs = page.locator(".insights-tabs a").all_inner_texts()
    assert "Help desk" in tabs and "SLA" in tabs
    for i, tab in enumerate(tabs):
        page.locator(".insights-tabs a").nth(i).click()
        expect(page.locator(".insights-tabs a.active")).to_have_text(tab)
        if page.locator("canvas[data-chart]").count():
            page.wait_for_function(ALL_DRAWN)
        page.set_viewport_size({"width": 360, "height": 800})
        # Chart.js follows the new width on its next frame; then nothing is wider than the phone.
        page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        page.set_viewport_size({"width": 1280, "height": 900})
        shoot(page, tab.lower().replace(" ", "-"))
    page.goto(f"{live_server}/insights/reports/new")
    shoot(page, "report-form")
    page.get_by_label("Name").fill("Monday summary")
    page.get_by_label("Other email addresses").fill("boss@customer.example")
    page.get_by_role("button", name="Save report").click()
    row = page.locator("#reports-table tbody tr", has_text="Monday summary")
    expect(row).to_contain_text("every Monday at 07:00")
    row.get_by_role("button", name="Send now").click()
    expect(page.locator("#flash")).to_contain_text("to 1 recipient")
    page.set_viewport_size({"width": 360, "height": 800})
    page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    shoot(page, "reports")

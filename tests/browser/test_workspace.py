"""The agent's day in the browser: sign in, queue, filter, case, reply, status, board."""
import itertools

import pytest
from playwright.sync_api import expect

from helpdesk.cases import services
from helpdesk.cases.models import Case, Priority, Status
from helpdesk.extensions import db
from helpdesk.people.services import create_contact, create_user
from tests.browser.conftest import PASSWORD, sign_in

_n = itertools.count(1)


@pytest.fixture
def world(seed):
    n = next(_n)

    def build():
        agent = create_user(None, email=f"ada{n}@staff.example", name=f"Ada {n}", password=PASSWORD)
        contact = create_contact(None, name="Carla Customer", email=f"carla{n}@customer.example")
        printer = services.open_case(agent, subject=f"Printer jammed {n}", body="Paper stuck in tray 2",
                                     contact=contact, assignee=agent, priority=Priority.HIGH)
        vpn = services.open_case(agent, subject=f"VPN drops every hour {n}", body="Since Monday",
                                 contact=contact, assignee=agent, priority=Priority.LOW)
        return {"email": agent.email, "printer": (printer.id, printer.subject), "vpn": (vpn.id, vpn.subject)}

    return seed(build)


def case_status(live_app, case_id):
    with live_app.app_context():
        return db.session.get(Case, case_id).status


def test_sign_in_filter_open_reply_and_change_status(page, live_server, live_app, world):
    sign_in(page, live_server, world["email"])
    expect(page.get_by_role("heading", name="My open")).to_be_visible()
    table = page.locator("#case-list")
    expect(table).to_contain_text(world["printer"][1])
    expect(table).to_contain_text(world["vpn"][1])

    page.locator("#filter-priority-3").check()  # High
    expect(table).not_to_contain_text(world["vpn"][1])
    expect(table).to_contain_text(world["printer"][1])
    assert "priority=3" in page.url  # the filtered queue is bookmarkable

    page.get_by_role("link", name=world["printer"][1]).click()
    expect(page.get_by_role("heading", name=world["printer"][1])).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Paper stuck in tray 2")

    page.locator("#reply-body").fill("Please open tray 2 and remove the sheet.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("#timeline")).to_contain_text("Please open tray 2 and remove the sheet.")
    expect(page.locator("#timeline")).to_contain_text("Public reply")
    assert case_status(live_app, world["printer"][0]) == Status.WAIT_CUSTOMER

    page.locator("#case-fields select[name=status]").select_option("resolved")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#case-workspace .case-header")).to_contain_text("Resolved")
    assert case_status(live_app, world["printer"][0]) == Status.RESOLVED


def test_keyboard_opens_the_next_case(page, live_server, world):
    sign_in(page, live_server, world["email"])
    page.locator("body").press("j")
    page.locator("body").press("Enter")
    expect(page.locator("#case-workspace")).to_be_visible()


def test_drag_on_the_kanban_board_changes_status(page, live_server, live_app, world):
    page.set_viewport_size({"width": 1920, "height": 1080})  # every lane on screen
    sign_in(page, live_server, world["email"])
    page.goto(f"{live_server}/cases/board?queue=mine")
    case_id = world["vpn"][0]
    card = page.locator(f"#card-{case_id}")
    target = page.locator('[data-kanban-column][data-status="wait_third_party"]')
    expect(card).to_be_visible()
    card.drag_to(target)
    expect(target.locator(f"#card-{case_id}")).to_be_visible()
    expect(page.locator(f'#card-{case_id}[data-status="wait_third_party"]')).to_be_visible()
    assert case_status(live_app, case_id) == Status.WAIT_THIRD_PARTY
    page.reload()
    expect(page.locator(f'[data-kanban-column][data-status="wait_third_party"] #card-{case_id}')).to_be_visible()


def test_wrong_password_says_so(page, live_server, world):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(world["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Wrong email or password.")).to_be_visible()


def test_status_menu_on_a_card_moves_it_without_dragging(page, live_server, live_app, world):
    page.set_viewport_size({"width": 360, "height": 800})
    sign_in(page, live_server, world["email"])
    page.goto(f"{live_server}/cases/board?queue=open")
    case_id = world["printer"][0]
    page.locator(f"#move-{case_id}").select_option("open")
    expect(page.locator(f'[data-kanban-column][data-status="open"] #card-{case_id}')).to_be_attached()
    assert case_status(live_app, case_id) == Status.OPEN
    assert "queue=open" in page.url  # back on the same board

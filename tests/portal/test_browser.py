"""The portal in Debian's Chromium: the whole customer journey, Persian right-to-left, inert HTML."""
from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import app_config

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"
SHOTS = None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A portal app on its own SQLite file, served from a thread: the browser's requests commit."""
    tmp = tmp_path_factory.mktemp("portal-live")
    app = create_app(app_config(tmp, f"sqlite:///{tmp / 'live.db'}", WTF_CSRF_ENABLED=True,
                                EDGE_PACKAGES=["knowledge_base", "portal"], BASE_URL="http://portal.test",
                                KB_SEARCH_INDEX_DIR=str(tmp / "index"), PORTAL_POLL_SECONDS=1))
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def run(app, fn):
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def last_mail(app, text):
    from helpdesk.mail.models import OutboundEmail

    with app.app_context():
        mails = db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id.desc())).all()
        return next(m.body_text for m in mails if text in m.body_text)


def local(link: str, base: str) -> str:
    return link.replace("http://portal.test", base)


def test_invitation_new_case_reply_agent_answer_and_rating(live, page, tmp_path):
    app, base = live

    def seed():
        from helpdesk.people.services import create_contact, create_organization, create_user
        from helpdesk.portal_access.services import invite_contact
        from knowledge_base import services as kb

        org = create_organization(None, name="Journey Org", domain="journey.example")
        contact = create_contact(None, name="Jade Journey", email="jade@journey.example", organization=org)
        agent = create_user(None, email="agent@journey.example", name="Alex Agent", password=PASSWORD, role="manager")
        article = kb.create_article(agent, title="Printer paper jam", visibility="public",
                                    body="Open tray 2 and pull the jammed paper out gently.")
        kb.change_status(agent, article, "published")
        invite_contact(agent, contact)
        return contact.id, agent.id

    contact_id, agent_id = run(app, seed)
    invitation = re.search(r"http://portal\.test/portal/invitation/\S+", last_mail(app, "/portal/invitation/")).group(0)

    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(local(invitation, base))
    page.get_by_label("New password").fill("jade-long-password")
    page.get_by_label("Repeat the password").fill("jade-long-password")
    page.get_by_role("button", name="Save and sign in").click()
    expect(page.locator("h1")).to_have_text("My cases")
    page.screenshot(path=str(tmp_path / "cases-360.png"), full_page=True)

    page.get_by_role("link", name="New case").first.click()
    page.get_by_label("Subject").fill("Paper jam in tray")
    expect(page.locator("#suggestions")).to_contain_text("Printer paper jam", timeout=20_000)
    page.get_by_label("Description").fill("The printer stops with a paper jam every morning.")
    page.screenshot(path=str(tmp_path / "new-case-360.png"), full_page=True)
    page.get_by_role("button", name="Send the case").click()
    expect(page.locator(".alert-success")).to_contain_text("We received your case")
    case_url = page.url

    page.get_by_label("Your message").fill("It happens with the recycled paper only.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#conversation")).to_contain_text("recycled paper only")

    def agent_answers():
        from helpdesk.cases import services as cases
        from helpdesk.cases.models import Case
        from helpdesk.people.models import User

        case = db.session.scalars(select(Case).where(Case.contact_id == contact_id)).one()
        cases.reply_to_case(db.session.get(User, agent_id), case, body="Please use 80 g/m² paper; that fixes it.")
        return case.id

    case_id = run(app, agent_answers)
    # The open page picks the answer up by itself (it polls the conversation).
    expect(page.locator("#conversation")).to_contain_text("80 g/m² paper", timeout=20_000)
    expect(page.locator("#conversation")).to_contain_text("Support team")
    page.screenshot(path=str(tmp_path / "case-360.png"), full_page=True)

    def resolve():
        from helpdesk.cases import services as cases
        from helpdesk.cases.models import Case, Status
        from helpdesk.people.models import User

        cases.change_status(db.session.get(User, agent_id), db.session.get(Case, case_id), Status.RESOLVED)

    run(app, resolve)
    rating_link = re.search(r"http://portal\.test/portal/rate/\S+score=5", last_mail(app, "score=5")).group(0)
    page.goto(local(rating_link, base))
    expect(page.get_by_label(re.compile("Excellent"))).to_be_checked()
    page.get_by_label("Anything to add? (optional)").fill("Fast and clear!")
    page.get_by_role("button", name="Send rating").click()
    expect(page.locator("h1")).to_have_text("Thank you for your rating")

    def rating():
        from helpdesk.satisfaction.models import Rating

        r = db.session.scalars(select(Rating).where(Rating.case_id == case_id)).one()
        return r.score, r.comment, r.agent_id

    assert run(app, rating)[:2] == (5, "Fast and clear!")
    page.goto(case_url)
    expect(page.locator("body")).to_contain_text("Your rating: 5 of 5")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "case-1280.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_persian_pages_render_right_to_left(live, page, tmp_path):
    app, base = live
    page.set_viewport_size({"width": 1280, "height": 800})
    page.context.add_cookies([{"name": "lang", "value": "fa", "url": base}])
    page.goto(f"{base}/portal/login")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    expect(page.locator("h1")).to_have_text("ورود به حساب پشتیبانی")
    brand = page.locator(".navbar-brand").bounding_box()
    assert brand["x"] > 1280 / 2  # the brand sits on the right in RTL
    label = page.locator("label[for=email]").bounding_box()
    field = page.locator("#email").bounding_box()
    assert abs((label["x"] + label["width"]) - (field["x"] + field["width"])) < 30  # labels align right
    page.screenshot(path=str(tmp_path / "fa-login-1280.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"{base}/help/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "fa-help-360.png"), full_page=True)


XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b onmouseover="window.__xss=3">bold</b>'


def test_html_typed_into_portal_fields_is_inert_for_customer_and_agent(live, page, browser, tmp_path):
    app, base = live

    def seed():
        from helpdesk.people.services import create_contact, create_user, hash_password

        contact = create_contact(None, name="Xena Xss", email="xena@xss.example")
        contact.portal_enabled, contact.portal_password_hash = True, hash_password(PASSWORD)
        contact.portal_session_token = "xena-token"
        create_user(None, email="agent@xss.example", name="Ari Agent", password=PASSWORD, role="agent")

    run(app, seed)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/portal/login")
    page.get_by_label("Email").fill("xena@xss.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{base}/portal/profile")
    page.locator("#name").fill("Xena " + XSS[:150])
    page.get_by_role("button", name="Save", exact=True).click()
    page.goto(f"{base}/portal/cases/new")
    page.get_by_label("Subject").fill("Subject " + XSS[:200])
    page.get_by_label("Description").fill("Body " + XSS)
    page.get_by_role("button", name="Send the case").click()
    page.get_by_label("Your message").fill("Reply " + XSS)
    page.get_by_role("button", name="Send").click()
    page.reload()
    expect(page.locator("h1.case-title")).to_contain_text("<img src=x")  # shown as text
    assert page.evaluate("window.__xss") is None and page.locator("#conversation img").count() == 0
    page.locator("#conversation b").first.hover() if page.locator("#conversation b").count() else None
    assert page.evaluate("window.__xss") is None
    case_path = re.search(r"/portal/cases/(\d+)", page.url).group(1)

    staff = browser.new_page()
    staff.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    staff.goto(f"{base}/login")
    staff.get_by_label("Email").fill("agent@xss.example")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff.goto(f"{base}/cases/{case_path}")
    expect(staff.locator("body")).to_contain_text("Reply")
    for b in staff.locator(".timeline b, .message b, article b").all()[:3]:
        b.hover()
    assert staff.evaluate("window.__xss") is None
    staff.goto(f"{base}/cases?queue=open")
    expect(staff.locator("body")).to_contain_text("Subject <img")
    assert staff.evaluate("window.__xss") is None and dialogs == []
    staff.screenshot(path=str(tmp_path / "staff-xss.png"), full_page=True)
    staff.close()

"""Two Chromium contexts, a visitor and an agent, chat through a live server; the visitor's
connection drops and resumes without losing or doubling a message."""
from __future__ import annotations

import os
import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, sign_in
from tests.conftest import app_config

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("HELPDESK_SCREENSHOTS")  # a folder to keep screenshots in, when set


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chat-live")
    app = create_app(app_config(tmp, f"sqlite:///{tmp / 'live.db'}", WTF_CSRF_ENABLED=True,
                                EDGE_PACKAGES=["knowledge_base", "portal"], KB_SEARCH_INDEX_DIR=str(tmp / "index")))
    with app.app_context():
        db.create_all()
        from helpdesk.chat import services
        from helpdesk.chat.models import ChatTopic
        from helpdesk.people.services import create_group, create_user

        group = create_group(None, name="Web shop")
        agent = create_user(None, email="chat-agent@staff.example", name="Alma Agent", password=PASSWORD, role="agent")
        agent.groups.append(group)
        db.session.add(ChatTopic(name="Orders", group=group))
        db.session.flush()
        services.set_availability(agent, "online", 3)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture(autouse=True)
def _patient_expect():
    # Two browsers and a server share two busy cores: allow live updates more than the default 5 s.
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_visitor_and_agent_chat_and_a_dropped_connection_resumes(browser, chat_server):
    visitor_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    agent_ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        visitor, agent = visitor_ctx.new_page(), agent_ctx.new_page()
        visitor.goto(f"{chat_server}/chat/widget?page=https://shop.example/cart")
        _shot(visitor, "widget-start-360")
        visitor.get_by_label("Your name").fill("Vera Visitor")
        visitor.get_by_label("Email").fill("vera@visitor.example")
        visitor.get_by_label("How can we help?").fill("My parcel is late")
        visitor.get_by_role("button", name="Start chat").click()
        expect(visitor.locator(".chat-log")).to_contain_text("My parcel is late")
        expect(visitor.locator("#chat-status")).to_contain_text("Alma Agent will be with you")

        sign_in(agent, chat_server, "chat-agent@staff.example")
        agent.goto(f"{chat_server}/chat")
        agent.locator("#my-chats").get_by_text("Vera Visitor").click()
        expect(agent).to_have_url(re.compile(r"/chat/\d+$"))
        agent.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")
        expect(agent.locator(".chat-pane")).to_contain_text("shop.example/cart")
        agent.get_by_role("button", name="Accept").click()
        expect(agent.locator(".chat-log")).to_contain_text("Alma Agent joined the chat.")
        # Accepting swaps the pane in: type into the new composer, not the one being replaced.
        agent.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')")
        box = agent.get_by_role("textbox", name="Message")
        box.fill("Hello Vera, let me check")
        box.press("Enter")
        expect(agent.locator(".chat-log")).to_contain_text("Hello Vera, let me check")
        expect(visitor.locator(".chat-log")).to_contain_text("Hello Vera, let me check")
        expect(visitor.locator("#chat-status")).to_contain_text("You are talking with Alma Agent")

        visitor.get_by_role("textbox", name="Message").fill("Order 1234")
        expect(agent.locator("[data-chat-typing]")).to_contain_text("Vera Visitor is typing")
        visitor.get_by_role("textbox", name="Message").press("Enter")
        expect(agent.locator(".chat-log")).to_contain_text("Order 1234")

        # The visitor's network drops; the agent writes twice meanwhile; the network returns.
        expect(visitor.locator("[data-chat]")).to_have_attribute("data-connected", "yes")
        visitor_ctx.set_offline(True)
        expect(visitor.locator("[data-chat]")).to_have_attribute("data-connected", "no")
        for text in ("Found your parcel", "It arrives tomorrow"):
            box.fill(text)
            box.press("Enter")
            expect(agent.locator(".chat-log")).to_contain_text(text)
        expect(visitor.locator(".chat-log")).not_to_contain_text("Found your parcel")
        visitor_ctx.set_offline(False)
        expect(visitor.locator(".chat-log")).to_contain_text("It arrives tomorrow")
        bodies = visitor.locator(".chat-log .chat-msg").all_inner_texts()
        assert sum("Found your parcel" in b for b in bodies) == 1
        assert sum("It arrives tomorrow" in b for b in bodies) == 1
        seqs = visitor.locator(".chat-log .chat-msg").evaluate_all("els => els.map(e => +e.dataset.seq)")
        assert seqs == list(range(1, len(seqs) + 1))  # every message once, in order
        _shot(visitor, "widget-chat-360")
        _shot(agent, "console-1280")
        agent.set_viewport_size({"width": 360, "height": 740})
        _shot(agent, "console-360")

        agent.get_by_role("button", name="End", exact=True).click()
        expect(visitor.locator("#chat-status")).to_contain_text("This chat has ended")
        expect(visitor.get_by_role("textbox", name="Message")).to_be_hidden()
        visitor.get_by_text("4 of 5").click()
        visitor.get_by_role("button", name="Send rating").click()
        expect(visitor.locator("#chat-status")).to_contain_text("rating it 4/5")
        _shot(visitor, "widget-ended-360")
    finally:
        visitor_ctx.close()
        agent_ctx.close()

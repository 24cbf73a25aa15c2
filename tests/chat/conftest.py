"""Chat fixtures: topics, agents who are online in a group, frozen time."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import app_config


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    """The shared test app with the portal (the widget) and the knowledge base (the bot) loaded."""
    folder = tmp_path_factory.mktemp("chat-app")
    app = create_app(app_config(folder, database_url, EDGE_PACKAGES=["knowledge_base", "portal"],
                                CHAT_ALLOWED_ORIGINS=["https://shop.example"], KB_SEARCH_INDEX_DIR=str(folder / "index")))
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def clock(freeze_clock):
    return freeze_clock(datetime(2025, 6, 2, 10, 0, tzinfo=timezone.utc))  # a Monday morning


@pytest.fixture
def make_topic(app, make_group):
    from helpdesk.chat.models import ChatTopic, Routing

    def make(name=None, group=None, routing=Routing.LEAST_LOADED, bot=False, hours=None):
        topic = ChatTopic(name=name or f"Topic {make_group().id}", group=group or make_group(), routing=routing,
                          bot_enabled=bot, business_hours=hours)
        db.session.add(topic)
        db.session.flush()
        return topic

    return make


@pytest.fixture
def make_agent(app, make_user):
    from helpdesk.chat import services

    def make(group=None, capacity=3, online=True, role="agent"):
        user = make_user(role=role)
        if group is not None:
            user.groups.append(group)
        db.session.flush()
        services.set_availability(user, "online" if online else "offline", capacity)
        return user

    return make


@pytest.fixture
def start(app):
    from helpdesk.chat import services

    def run(topic, name="Vera Visitor", email="vera@visitor.example", message="Hello, my printer is on fire", **kw):
        return services.start_chat(None, name=name, email=email, topic=topic, message=message, **kw)

    return run

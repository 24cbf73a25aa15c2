"""Portal fixtures: the shared test app with the portal loaded, customers with portal access."""
from __future__ import annotations

import re

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import app_config

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    """The session app of tests/conftest.py, with the portal's blueprints and tables."""
    folder = tmp_path_factory.mktemp("portal-app")
    app = create_app(app_config(folder, database_url, EDGE_PACKAGES=["knowledge_base", "portal"],
                                BASE_URL="http://portal.test", KB_SEARCH_INDEX_DIR=str(folder / "index")))
    with app.app_context():
        db.create_all()  # adds only what is missing: the core's tables are there already
    return app


@pytest.fixture(autouse=True)
def _index_dir(_app, tmp_path):
    """Each test writes its own search index: the database rolls back, a folder would not."""
    from knowledge_base import search

    _app.config["KB_SEARCH_INDEX_DIR"] = str(tmp_path / "index")
    search._forget_searchers()
    yield
    search._forget_searchers()


@pytest.fixture
def make_article(app, make_user):
    """A published knowledge-base article (public unless told otherwise), indexed after the commit."""
    from knowledge_base import services

    def make(title="How to reset your password", body="Open **Settings** and choose *Reset password*.",
             visibility="public", **kw):
        editor = make_user(role="manager")
        article = services.create_article(editor, title=title, body=body, visibility=visibility, **kw)
        services.change_status(editor, article, "published")
        db.session.flush()
        return article

    return make


@pytest.fixture
def make_customer(app, make_contact, make_organization):
    """A contact with portal access and a password; role "member" or "org_manager"."""
    from helpdesk.people.services import hash_password

    def make(organization=None, role="member", **kw):
        contact = make_contact(organization=organization, **kw)
        contact.portal_enabled = True
        contact.portal_role = role
        contact.portal_password_hash = hash_password(PASSWORD)
        contact.portal_session_token = f"token-{contact.id}"
        db.session.flush()
        return contact

    return make


@pytest.fixture
def portal_login(app):
    """Sign a customer in through the portal's form; returns a client of their own."""
    def do(contact, password=PASSWORD):
        c = app.test_client()
        response = c.post("/portal/login", data={"email": contact.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return do


@pytest.fixture
def outbox(app):
    """The emails queued so far, newest last."""
    from sqlalchemy import select

    from helpdesk.mail.models import OutboundEmail

    def read():
        return db.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)).all()

    return read


def link_in(body: str, path: str) -> str:
    """The path of the first link in an email body that contains `path` (without the host)."""
    match = re.search(r"http://portal\.test(\S*" + re.escape(path) + r"\S*)", body)
    assert match, f"no link with {path} in:\n{body}"
    return match.group(1)

"""Knowledge-base fixtures: the shared test app with the knowledge base loaded, an index folder
per test, article factories and the multilingual fixture set."""
from __future__ import annotations

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import app_config


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    """The session app of tests/conftest.py, with the knowledge base's blueprint, commands and tables."""
    folder = tmp_path_factory.mktemp("kb-app")
    app = create_app(app_config(folder, database_url, EDGE_PACKAGES=["knowledge_base"],
                                KB_SEARCH_INDEX_DIR=str(folder / "index")))
    with app.app_context():
        db.create_all()  # adds only what is missing: the core's tables are there already
    return app


@pytest.fixture(autouse=True)
def _index_dir(_app, tmp_path):
    """Each test writes its own index: the database rolls back, a folder would not."""
    from knowledge_base import search

    _app.config["KB_SEARCH_INDEX_DIR"] = str(tmp_path / "index")
    search._forget_searchers()
    yield
    search._forget_searchers()


@pytest.fixture
def make_app(make_app):
    """The shared real-commit apps, with the knowledge base loaded."""
    return lambda **overrides: make_app(**{"EDGE_PACKAGES": ["knowledge_base"], **overrides})


@pytest.fixture
def editor(make_user):
    return make_user(role="manager")


@pytest.fixture
def agent(make_user):
    return make_user(role="agent")


@pytest.fixture
def make_article(app, editor):
    """make_article(title=..., body=..., publish=True, ...): an article, published unless told not."""
    from knowledge_base import services

    def make(title="How to reset your password", body="Open **Settings** and choose *Reset password*.",
             publish=True, actor=None, **kw):
        article = services.create_article(actor or editor, title=title, body=body, **kw)
        if publish:
            services.change_status(editor, article, "published")
        db.session.flush()
        return article

    return make


@pytest.fixture
def commit():
    """Commit the test's work: the index jobs run right after, as they would in production."""
    def do():
        db.session.commit()

    return do

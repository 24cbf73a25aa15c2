"""Shared fixtures: one database per run (SQLite or a private PostgreSQL), a rollback per test,
and make_* factories."""
from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta, timezone

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient

import helpdesk.types
from helpdesk import create_app
from helpdesk.extensions import db

TEST_DB = os.environ.get("HELPDESK_TEST_DB", "sqlite")
_counter = itertools.count(1)


def pytest_report_header(config):
    return f"helpdesk test database: {TEST_DB}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if TEST_DB == "postgresql":
        from tests.postgres import private_postgres

        with private_postgres() as url:
            yield url
    elif TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        raise pytest.UsageError(f"HELPDESK_TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")


def app_config(tmp_path, database_url, **extra) -> dict:
    return {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "WTF_CSRF_ENABLED": False,
        "EDGE_PACKAGES": [],
        "REDIS_URL": None,
        "SMTP_HOST": None,
        **extra,
    }


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    app = create_app(app_config(tmp_path_factory.mktemp("app"), database_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


class FreshRequestClient(FlaskClient):
    """Requests run inside the test's app context (for the rollback). Make each one see
    what a real request would: the test's data committed, and a fresh `g` (Flask-Login
    caches the user there)."""

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def app(_app, tmp_path):
    """The app inside one outer transaction that is rolled back after the test."""
    _app.config.update(ATTACHMENT_DIR=str(tmp_path / "attachments"), OUTBOX_DIR=str(tmp_path / "outbox"),
                       WTF_CSRF_ENABLED=False)
    with _app.app_context():
        engines = db._app_engines[_app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        _app.test_client_class = FreshRequestClient
        try:
            yield _app
        finally:
            db.session.remove()
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def make_app(tmp_path):
    """Apps on a SQLite file of their own, where commits are real: for threads and worker
    processes that share the file. Keyword arguments override the config."""
    made = []

    def make(**overrides):
        folder = tmp_path / f"app{len(made)}"
        app = create_app(app_config(folder, f"sqlite:///{folder / 'helpdesk.db'}", **overrides))
        with app.app_context():
            db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app):
    return db.session


# --- factories ----------------------------------------------------------------------------


@pytest.fixture
def make_user(app):
    from helpdesk.people.services import create_user

    def make(role="agent", **kw):
        n = next(_counter)
        kw.setdefault("email", f"{role}{n}@staff.example")
        kw.setdefault("name", f"{role.capitalize()} {n}")
        kw.setdefault("password", "correct-horse-battery")
        user = create_user(None, role=role, **kw)
        db.session.flush()
        return user

    return make


@pytest.fixture
def make_group(app):
    from helpdesk.people.services import create_group

    def make(**kw):
        kw.setdefault("name", f"Group {next(_counter)}")
        return create_group(None, **kw)

    return make


@pytest.fixture
def make_organization(app):
    from helpdesk.people.services import create_organization

    def make(**kw):
        n = next(_counter)
        kw.setdefault("name", f"Org {n}")
        kw.setdefault("domain", f"org{n}.example")
        return create_organization(None, **kw)

    return make


@pytest.fixture
def make_contact(app):
    from helpdesk.people.services import create_contact

    def make(**kw):
        n = next(_counter)
        kw.setdefault("name", f"Customer {n}")
        kw.setdefault("email", f"customer{n}@mail.example")
        return create_contact(None, **kw)

    return make


@pytest.fixture
def make_case(app, make_contact):
    from helpdesk.cases.services import open_case

    def make(actor=None, **kw):
        kw.setdefault("subject", f"Printer on floor {next(_counter)} is jammed")
        kw.setdefault("body", "It shows error E-42 and will not print.")
        if "contact" not in kw:
            kw["contact"] = make_contact()
        return open_case(actor, **kw)

    return make


@pytest.fixture
def login(client):
    def do(user, password="correct-horse-battery", c=None):
        c = c or client
        response = c.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return do


class FrozenClock:
    """What helpdesk.types.utcnow() answers while a test's `clock` fixture is in use."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> datetime:
        self.now = when.astimezone(timezone.utc)
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def freeze_clock(monkeypatch):
    """freeze_clock(when) stops the app's clock at `when` for this test; folders' `clock` fixtures
    pick their own starting moment with it."""
    def freeze(now: datetime) -> FrozenClock:
        frozen = FrozenClock(now)
        monkeypatch.setattr(helpdesk.types, "clock", frozen)
        return frozen

    return freeze

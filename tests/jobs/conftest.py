"""Apps on a SQLite file of their own, where commits are real: for threads and worker processes."""
from __future__ import annotations

import pytest

from helpdesk.extensions import db


def _create_app(config):
    # INTERIM until helpdesk.create_app imports: a minimal app with the same extensions.
    try:
        from helpdesk import create_app

        return create_app(config)
    except ImportError:
        from flask import Flask

        from helpdesk import config as config_module, jobs, models  # noqa: F401
        from helpdesk.database import configure_engine

        app = Flask("helpdesk", instance_path=config["INSTANCE_PATH"])
        app.config.update(config_module.load(app.instance_path, config))
        db.init_app(app)
        with app.app_context():
            configure_engine(db.engine)
        jobs.init_app(app)
        import os
        os.makedirs(app.instance_path, exist_ok=True)
        return app


@pytest.fixture
def make_app(tmp_path):
    made = []

    def make(**overrides):
        folder = tmp_path / f"app{len(made)}"
        config = {
            "ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'helpdesk.db'}",
            "INSTANCE_PATH": str(folder / "instance"),
            "ATTACHMENT_DIR": str(folder / "attachments"),
            "OUTBOX_DIR": str(folder / "outbox"),
            "EDGE_PACKAGES": [],
            "REDIS_URL": None,
            "SMTP_HOST": None,
            "WTF_CSRF_ENABLED": False,
            **overrides,
        }
        app = _create_app(config)
        with app.app_context():
            db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    # INTERIM: the shared fixture, through the fallback above.
    from tests.conftest import test_config

    app = _create_app(test_config(tmp_path_factory.mktemp("app"), database_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app

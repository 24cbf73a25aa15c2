"""Apps on a SQLite file of their own, where commits are real: for threads and worker processes."""
from __future__ import annotations

import pytest

from helpdesk import create_app
from helpdesk.extensions import db


@pytest.fixture
def make_app(tmp_path):
    """Build apps whose database is a file of their own; a worker process can share it."""
    made = []

    def make(**overrides):
        folder = tmp_path / f"app{len(made)}"
        app = create_app({
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
        })
        with app.app_context():
            db.create_all()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

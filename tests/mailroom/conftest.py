"""Mailroom fixtures: the shared test app with the mailroom loaded, mailboxes and mail builders."""
from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone

import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import app_config

CORPUS = __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "corpora" / "email"


@pytest.fixture(scope="session")
def _app(tmp_path_factory, database_url):
    """The session app of tests/conftest.py, with the mailroom's blueprint, commands and tables."""
    app = create_app(app_config(tmp_path_factory.mktemp("mailroom-app"), database_url, EDGE_PACKAGES=["mailroom"],
                                MAILROOM_INBOUND_TOKEN="test-token"))
    with app.app_context():
        db.create_all()  # adds only what is missing: the core's tables are there already
    return app


@pytest.fixture
def make_mailbox(app):
    from mailroom.services import create_mailbox

    def make(address="support@helpdesk.example", **kw):
        kw.setdefault("name", "Support")
        kw.setdefault("auto_reply", False)
        return create_mailbox(None, address=address, **kw)

    return make


@pytest.fixture
def mailbox(make_mailbox):
    return make_mailbox()


def build_mail(*, sender="Ann Customer <ann@customer.example>", to="support@helpdesk.example", subject="Printer jam",
               body="The printer on floor 3 jams.", message_id=None, cc=None, in_reply_to=None, references=None,
               headers=None, html=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc))
    msg["Message-ID"] = message_id or make_msgid(domain="customer.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


@pytest.fixture
def deliver(app, mailbox):
    """Store a mail (committing, which runs its processing) and return the reloaded InboundEmail."""
    from mailroom.models import InboundEmail
    from mailroom.services import store_inbound

    def do(raw: bytes, box=None, channel="cli"):
        inbound, _ = store_inbound(raw, box or mailbox, channel)
        db.session.expire_all()
        return db.session.get(InboundEmail, inbound.id)

    return do


@pytest.fixture
def make_app(make_app):
    """The shared real-commit apps, with the mailroom loaded."""
    return lambda **overrides: make_app(**{"EDGE_PACKAGES": ["mailroom"], **overrides})


GENERATOR = CORPUS.parents[1] / "tools" / "gen_email_corpus.py"


def generate_corpus(out, n=300, seed=7, **options) -> list[dict]:
    """Run ../shared/tools/gen_email_corpus.py; return its manifest rows in arrival order."""
    import json
    import subprocess
    import sys

    args = [sys.executable, str(GENERATOR), "--n", str(n), "--seed", str(seed), "--out", str(out)]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    subprocess.run(args, check=True, capture_output=True)
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines() if line.strip()]

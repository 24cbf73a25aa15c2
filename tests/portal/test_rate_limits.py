"""Self sign-up and the help center's contact form email whatever address is typed in: a few per
address and per client IP an hour (PORTAL_EMAILS_PER_ADDRESS / _PER_IP / _WINDOW_MINUTES), then 429."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from helpdesk.extensions import db


def _contact(client, email, ip="198.51.100.7", **headers):
    return client.post("/help/contact", data={"name": "Vera", "email": email, "subject": "Printer", "body": "Jammed."},
                       environ_base={"REMOTE_ADDR": ip}, headers=headers)


@pytest.fixture
def limits(app):
    saved = {k: app.config[k] for k in ("PORTAL_EMAILS_PER_ADDRESS", "PORTAL_EMAILS_PER_IP", "PORTAL_SIGNUP")}
    yield app.config
    app.config.update(saved)


@pytest.fixture
def clock(freeze_clock):
    return freeze_clock(datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc))


def test_the_contact_form_mails_one_address_three_times_an_hour(client, outbox, limits, clock):
    for _ in range(3):
        assert _contact(client, "vera@visitor.example").status_code == 200
    sent = len(outbox())
    refused = _contact(client, "vera@visitor.example")
    assert refused.status_code == 429
    assert "Too many requests. Try again in 61 minute(s)." in refused.get_data(as_text=True)
    assert len(outbox()) == sent  # nothing more mailed
    assert _contact(client, "other@visitor.example").status_code == 200  # another address is fine

    clock.advance(minutes=61)
    assert _contact(client, "vera@visitor.example").status_code == 200


def test_one_client_ip_is_limited_across_addresses(client, outbox, limits, clock):
    limits["PORTAL_EMAILS_PER_IP"] = 2
    assert _contact(client, "a@visitor.example").status_code == 200
    assert _contact(client, "b@visitor.example").status_code == 200
    assert _contact(client, "c@visitor.example").status_code == 429
    assert _contact(client, "c@visitor.example", ip="203.0.113.9").status_code == 200


def test_the_refusal_is_in_the_visitors_language(client, limits, clock):
    limits["PORTAL_EMAILS_PER_ADDRESS"] = 1
    assert _contact(client, "vera@visitor.example").status_code == 200
    refused = _contact(client, "vera@visitor.example", **{"Accept-Language": "ru"})
    assert refused.status_code == 429 and "Слишком много запросов" in refused.get_data(as_text=True)


def test_sign_up_shares_the_allowance_and_invalid_forms_do_not_spend_it(client, outbox, limits, clock):
    limits["PORTAL_SIGNUP"] = "open"
    form = {"name": "Dora", "email": "dora@open.example", "password": "long-enough-password"}
    for _ in range(5):  # invalid: 422, nothing mailed, nothing counted
        assert client.post("/portal/signup", data={**form, "password": "short"}).status_code == 422
    assert _contact(client, "dora@open.example").status_code == 200
    for _ in range(2):
        assert client.post("/portal/signup", data=form).status_code == 200
    sent = len(outbox())
    refused = client.post("/portal/signup", data=form)
    assert refused.status_code == 429 and "Too many requests" in refused.get_data(as_text=True)
    assert len(outbox()) == sent
    db.session.rollback()

"""Fixtures for outbound mail: a real SMTP listener, and the app pointed at it."""
from __future__ import annotations

import pytest

from tests.services import free_port, smtp_server


@pytest.fixture
def smtp(app, monkeypatch):
    """An SMTP listener on a free loopback port; the app sends its mail there."""
    with smtp_server() as listener:
        monkeypatch.setitem(app.config, "SMTP_HOST", listener.host)
        monkeypatch.setitem(app.config, "SMTP_PORT", listener.port)
        monkeypatch.setitem(app.config, "SMTP_SECURITY", "none")
        monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 5)
        yield listener


@pytest.fixture
def dead_smtp(app, monkeypatch):
    """The app sends to a loopback port where nothing listens."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", free_port())
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 5)


"""Signed, expiring tokens for links sent by email (invitations, resets, ratings, confirmations)."""
from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from helpdesk.errors import NotFound

# How long each kind of link works.
MAX_AGE = {
    "invite": 7 * 24 * 3600,
    "reset": 2 * 3600,
    "signup": 2 * 24 * 3600,
    "rating": 60 * 24 * 3600,
    "contact": 2 * 24 * 3600,
}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in MAX_AGE:
        raise KeyError(purpose)
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"helpdesk.portal.{purpose}")


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str) -> dict:
    """The payload, or NotFound for a tampered, expired or foreign token (the same answer for all)."""
    try:
        payload = _serializer(purpose).loads(token or "", max_age=MAX_AGE[purpose])
    except (BadSignature, UnicodeError, ValueError):
        raise NotFound("This link is not valid any more.") from None
    if not isinstance(payload, dict):
        raise NotFound("This link is not valid any more.")
    return payload


def fingerprint(*parts: str | None) -> str:
    """A short digest of a record's secrets: a token carrying it dies once they change."""
    return hashlib.sha256("\x00".join(p or "" for p in parts).encode()).hexdigest()[:16]


def site_link(path: str) -> str:
    """An absolute link, for emails written outside a request (BASE_URL + path)."""
    return f"{current_app.config.get('BASE_URL', 'http://localhost:5000').rstrip('/')}{path}"


def portal_link(path: str) -> str:
    return site_link(f"/portal{path}")

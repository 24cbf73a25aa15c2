"""The portal's own sign-in, kept apart from staff sessions.

A signed cookie of its own (`helpdesk_portal`) carries the contact's id and portal session
token; Flask-Login and the staff session cookie are never touched, so a staff member and a
customer can be signed in side by side in one browser, and signing out of one leaves the
other. Changing Contact.portal_session_token (new password, "sign out everywhere") ends
every portal session of that contact at once.
"""
from __future__ import annotations

import functools

from flask import current_app, g, jsonify, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from helpdesk.extensions import db
from helpdesk.i18n import use_language
from helpdesk.people.models import Contact

COOKIE = "helpdesk_portal"
MAX_AGE = 30 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="helpdesk.portal.session")


def load_contact() -> None:
    """before_request of the portal and help center: g.contact is the signed-in customer or None."""
    g.contact = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer().loads(raw, max_age=MAX_AGE)
        except BadSignature:
            data = None
        if isinstance(data, dict) and isinstance(data.get("c"), int):
            contact = db.session.get(Contact, data["c"])
            if (contact is not None and contact.is_live and contact.portal_enabled and contact.portal_session_token
                    and contact.portal_session_token == data.get("t")):
                g.contact = contact
    if g.contact is not None and g.contact.language:
        use_language(g.contact.language)


def sign_in(response, contact: Contact):
    value = _serializer().dumps({"c": contact.id, "t": contact.portal_session_token})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax",
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def sign_out(response):
    response.delete_cookie(COOKIE, httponly=True, samesite="Lax")
    return response


def login_required(view):
    """Send an anonymous visitor to the portal sign-in (htmx: HX-Redirect)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("contact") is None:
            target = url_for("portal.login", next=request.full_path if request.method == "GET" else None)
            if request.headers.get("HX-Request") == "true":
                response = jsonify(error="Please sign in again.")
                response.status_code = 401
                response.headers["HX-Redirect"] = target
                return response
            return redirect(target)
        return view(*args, **kwargs)

    return wrapped

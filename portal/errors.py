"""Portal errors in the portal's own layout; every 404 says the same, whatever the reason."""
from __future__ import annotations

from flask import g, render_template, request
from werkzeug.exceptions import HTTPException

from helpdesk.errors import HelpdeskError
from helpdesk.extensions import db


def handle_errors(bp) -> None:
    """Called once per blueprint, where the blueprint is defined."""

    @bp.errorhandler(HelpdeskError)
    def helpdesk_error(exc: HelpdeskError):
        db.session.rollback()
        return error_page(exc.status_code)

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_page(exc.code or 500)


def error_page(code: int):
    if request.headers.get("HX-Request") == "true":
        return "", code
    g.setdefault("contact", None)
    return render_template("portal/error.html", code=code), code

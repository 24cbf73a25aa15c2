"""What every view shares: htmx-aware rendering, error pages, template filters."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from helpdesk.errors import Conflict, HelpdeskError, TooLarge, ValidationFailed
from helpdesk.extensions import db, htmx


def is_partial_request() -> bool:
    """An htmx request that wants a fragment (not a history restore, which needs the full page)."""
    return bool(htmx) and not htmx.history_restore_request


def render(full_template: str, partial_template: str | None = None, status: int = 200, **context):
    """The full page, or only its partial for htmx; the response varies on HX-Request."""
    template = partial_template if partial_template and is_partial_request() else full_template
    response = make_response(render_template(template, **context), status)
    response.headers.add("Vary", "HX-Request")
    return response


def _error_response(code: int, title: str, message: str, changes: list[str] | None = None):
    if request.headers.get("HX-Request") == "true":
        text = message + ("".join(f"\n• {c}" for c in changes) if changes else "")
        response = make_response(text, code)
        response.mimetype = "text/plain"
        return response
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=title, message=message, changes=changes or []), code
    return render_template("errors/error.html", code=code, title=title, message=message, changes=changes or []), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HelpdeskError)
    def handle_helpdesk_error(exc: HelpdeskError):
        db.session.rollback()
        return _error_response(exc.status_code, exc.title, exc.message, getattr(exc, "changes", None))

    @app.errorhandler(StaleDataError)
    def handle_stale(exc):
        db.session.rollback()
        return _error_response(409, Conflict.title, "Someone else saved a change to this case at the same moment. Reload and try again.")

    @app.errorhandler(RequestEntityTooLarge)
    def handle_too_large(exc):
        limit = app.config["MAX_ATTACHMENT_BYTES"] // (1024 * 1024)
        return _error_response(413, TooLarge.title, f"The upload is too large: each file may be at most {limit} MB.")

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        return _error_response(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        if app.testing:
            raise exc
        app.logger.exception("unexpected error (request %s)", g.get("request_id", "-"))
        return _error_response(500, "Something went wrong", "The error was logged. Please try again.")

    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["ago"] = format_ago
    app.jinja_env.filters["filesize"] = format_filesize
    app.jinja_env.globals["ValidationFailed"] = ValidationFailed
    # Core templates offer an edge package's action only when that package is loaded.
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in app.view_functions


def format_when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def format_ago(value: datetime | None, now: datetime | None = None) -> Markup | str:
    if value is None:
        return ""
    now = now or datetime.now(timezone.utc)
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        text = gettext("just now")
    elif seconds < 3600:
        text = gettext("%(n)d min ago", n=seconds // 60)
    elif seconds < 86400:
        text = gettext("%(n)d h ago", n=seconds // 3600)
    elif seconds < 86400 * 30:
        text = gettext("%(n)d d ago", n=seconds // 86400)
    else:
        text = value.strftime("%Y-%m-%d")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(value.isoformat(), format_when(value), text)


def format_filesize(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)

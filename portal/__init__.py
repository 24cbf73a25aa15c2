"""Customer portal: the self-service cabinet (/portal) and the help center (/help).

The portal reads only through customer-scoped queries (portal/queries.py, portal/kb.py) and
changes state only through the core's services. Its sign-in is a cookie of its own
(portal/auth.py), apart from staff sessions.
"""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from helpdesk.cases.models import Status
from helpdesk.i18n import serve_visitors

# What a customer is told about their case: fewer states than the agents work with.
CUSTOMER_STATUS = {
    Status.NEW: lazy_gettext("Received"),
    Status.ASSIGNED: lazy_gettext("In progress"),
    Status.OPEN: lazy_gettext("In progress"),
    Status.WAIT_THIRD_PARTY: lazy_gettext("In progress"),
    Status.WAIT_CUSTOMER: lazy_gettext("Awaiting your reply"),
    Status.RESOLVED: lazy_gettext("Resolved"),
    Status.CLOSED: lazy_gettext("Closed"),
}


def init_app(app: Flask) -> None:
    from portal import account_views, chat, help_views, models, staff_views, views  # noqa: F401
    from portal.commands import cli

    # How often an open case page asks for new replies.
    app.config.setdefault("PORTAL_POLL_SECONDS", 20)
    app.register_blueprint(views.bp)
    app.register_blueprint(help_views.bp)
    app.register_blueprint(staff_views.bp)
    chat.init_app(app)  # the chat widget (portal/chat)
    serve_visitors(app, views.bp.name, help_views.bp.name, chat.views.bp.name)  # picker and browser choose the language
    app.cli.add_command(cli)
    app.jinja_env.globals["customer_status"] = lambda status: CUSTOMER_STATUS[Status(status)]


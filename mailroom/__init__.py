"""Mailroom: inbound email becomes cases and replies thread back."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Register the mailroom's tables, views, commands and the outbound hook."""
    from helpdesk.mail import services as mail_services
    from mailroom import jobs, models  # noqa: F401  (tables and periodic jobs register on import)
    from mailroom.commands import cli
    from mailroom.services import compose_outbound
    from mailroom.views import bp

    app.config.setdefault("MAILROOM_INBOUND_TOKEN", _env("MAILROOM_INBOUND_TOKEN"))
    app.config.setdefault("MAILROOM_ACK_LIMIT", int(_env("MAILROOM_ACK_LIMIT") or 5))
    app.config.setdefault("MAILROOM_CREATE_ORGANIZATIONS", (_env("MAILROOM_CREATE_ORGANIZATIONS") or "").lower()
                          in {"1", "true", "yes", "on"})
    app.extensions["mailroom"] = True
    app.register_blueprint(bp)
    app.cli.add_command(cli)
    if compose_outbound not in mail_services.compose_hooks:
        mail_services.compose_hooks.append(compose_outbound)


def _env(name: str) -> str | None:
    from helpdesk.config import _env as env

    return env(name)

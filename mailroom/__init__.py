"""Mailroom: inbound email becomes cases and replies thread back."""
from flask import Flask


def init_app(app: Flask) -> None:
    """Register the mailroom's tables, views, commands and the outbound hook."""
    from helpdesk.mail import services as mail_services
    from mailroom import jobs, models, queries  # noqa: F401  (tables and periodic jobs register on import)
    from mailroom.commands import cli
    from mailroom.services import compose_outbound
    from mailroom.views import bp

    app.config.setdefault("MAILROOM_INBOUND_TOKEN", _env("MAILROOM_INBOUND_TOKEN"))
    app.config.setdefault("MAILROOM_ACK_LIMIT", int(_env("MAILROOM_ACK_LIMIT") or 5))
    app.config.setdefault("MAILROOM_CREATE_ORGANIZATIONS", (_env("MAILROOM_CREATE_ORGANIZATIONS") or "").lower()
                          in {"1", "true", "yes", "on"})
    app.config.setdefault("MAILBOX_KEY", _env("MAILBOX_KEY"))  # Fernet keys of the IMAP passwords (mailroom/crypto.py)
    # Same sender and same subject within this many days continues a case (0: off).
    app.config.setdefault("MAILROOM_SUBJECT_THREAD_DAYS", int(_env("MAILROOM_SUBJECT_THREAD_DAYS") or 0))
    app.extensions["mailroom"] = True
    app.register_blueprint(bp)
    app.cli.add_command(cli)
    if compose_outbound not in mail_services.compose_hooks:
        mail_services.compose_hooks.append(compose_outbound)
    # The case page shows why each mail joined the case and who is copied (templates/cases/).
    app.add_template_global(queries.thread_reasons, "mailroom_thread_reasons")
    app.add_template_global(queries.case_watchers, "mailroom_case_watchers")


def _env(name: str) -> str | None:
    from helpdesk.config import _env as env

    return env(name)

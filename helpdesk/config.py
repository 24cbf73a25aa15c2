"""Configuration read from HELPDESK_* environment variables."""
from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "HELPDESK_"
DEV_ENVIRONMENTS = {"development", "demo", "testing"}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the process should not start."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(PREFIX + name)
    return default if value is None or value == "" else value


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be a whole number, not {value!r}") from exc


def _int_list(name: str, default: list[int]) -> list[int]:
    value = _env(name)
    if value is None:
        return default
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name} must be whole numbers separated by commas, not {value!r}") from exc


def load(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (and test overrides)."""
    overrides = overrides or {}
    env = overrides.get("ENV") or _env("ENV", "production")
    instance = Path(instance_path)
    secret = overrides.get("SECRET_KEY") or _env("SECRET_KEY")
    if not secret:
        if env not in DEV_ENVIRONMENTS:
            raise ConfigError(
                f"{PREFIX}SECRET_KEY is required when {PREFIX}ENV is {env!r} "
                f"(set {PREFIX}ENV=development for a local run)"
            )
        secret = "dev-only-not-secret"
    config = {
        "ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", f"sqlite:///{instance / 'helpdesk.db'}"),
        "REDIS_URL": _env("REDIS_URL"),
        "CASE_NUMBER_PREFIX": _env("CASE_NUMBER_PREFIX", "CS-"),
        "EDGE_PACKAGES": [p for p in (_env("EDGE_PACKAGES", "mailroom,knowledge_base,portal") or "").split(",") if p],
        "ATTACHMENT_DIR": _env("ATTACHMENT_DIR", str(instance / "attachments")),
        "MAX_ATTACHMENT_BYTES": _int("MAX_ATTACHMENT_MB", 20) * 1024 * 1024,
        "OUTBOX_DIR": _env("OUTBOX_DIR", str(instance / "outbox")),
        "MAIL_FROM": _env("MAIL_FROM", "Help Desk <support@localhost>"),
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_USERNAME": _env("SMTP_USERNAME"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_SECURITY": _env("SMTP_SECURITY", "none"),  # none, starttls or ssl
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", 30),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_LOCK_MINUTES": _int("LOGIN_LOCK_MINUTES", 15),
        "PAGE_SIZE": _int("PAGE_SIZE", 50),
        # Where staff reach the web app; links in emails (the notification digest) start with it.
        "BASE_URL": (_env("BASE_URL", "http://localhost:5000") or "").rstrip("/"),
        "TICKER_SECONDS": _int("TICKER_SECONDS", 60),
        # The time zone whose days the insights count in (an IANA name such as Europe/Rome).
        "TIMEZONE": _env("TIMEZONE", "UTC"),
        # Resolved cases close after this many days without a customer reply; 0 never closes them.
        "AUTO_CLOSE_DAYS": _int("AUTO_CLOSE_DAYS", 7),
        # Deleted records stay in the recycle bin this many days, then a periodic job purges them.
        "RECYCLE_RETENTION_DAYS": _int("RECYCLE_RETENTION_DAYS", 30),
        # Customer portal and satisfaction (issue 7): self sign-up off, "domains" (an organization's
        # domain links the new user to it) or "open"; a rating at or below CSAT_LOW_SCORE (1-5)
        # "reopen"s the case or "alert"s the managers by email.
        "PORTAL_SIGNUP": _env("PORTAL_SIGNUP", "off"),
        # Self sign-up and the help center's contact form email whoever is named: at most this
        # many emails per address, and per client IP, in PORTAL_EMAIL_WINDOW_MINUTES.
        "PORTAL_EMAILS_PER_ADDRESS": _int("PORTAL_EMAILS_PER_ADDRESS", 3),
        "PORTAL_EMAILS_PER_IP": _int("PORTAL_EMAILS_PER_IP", 10),
        "PORTAL_EMAIL_WINDOW_MINUTES": _int("PORTAL_EMAIL_WINDOW_MINUTES", 60),
        "CSAT_LOW_SCORE": _int("CSAT_LOW_SCORE", 2),
        "CSAT_LOW_RATING_ACTION": _env("CSAT_LOW_RATING_ACTION", "alert"),
        # Live chat: the sites that may embed the widget (space or comma separated origins such as
        # https://www.example.com), and how long a routed chat waits for its agent to accept.
        "CHAT_ALLOWED_ORIGINS": [o.rstrip("/") for o in (_env("CHAT_ALLOWED_ORIGINS", "") or "").replace(",", " ").split() if o],
        "CHAT_ACCEPT_SECONDS": _int("CHAT_ACCEPT_SECONDS", 60),
        # Seconds before each retry of a failed job under rq, e.g. "30,120,600".
        "JOB_RETRY_INTERVALS": _int_list("JOB_RETRY_INTERVALS", [30, 120, 600]),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SECURE_COOKIES", env not in DEV_ENVIRONMENTS),
        "REMEMBER_COOKIE_SECURE": _bool("SECURE_COOKIES", env not in DEV_ENVIRONMENTS),
        "WTF_CSRF_TIME_LIMIT": None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }
    # Flask rejects a request body above this before any view runs (413).
    config["MAX_CONTENT_LENGTH"] = config["MAX_ATTACHMENT_BYTES"] * 5 + 1024 * 1024
    config.update(overrides)
    if config["SMTP_SECURITY"] not in {"none", "starttls", "ssl"}:
        raise ConfigError(f"{PREFIX}SMTP_SECURITY must be none, starttls or ssl")
    try:
        ZoneInfo(config["TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"{PREFIX}TIMEZONE must be an IANA time zone such as Europe/Rome, not {config['TIMEZONE']!r}") from exc
    return config
